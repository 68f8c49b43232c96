// Independent Parquet readers for the lake tests: DuckDB (@duckdb/node-api) and hyparquet (pure
// JavaScript; ZSTD and Snappy pages through hyparquet-compressors), and a canonical form of their
// rows that both share with the C++ tests' expectations:
//   int64 and timestamps (epoch milliseconds) as decimal strings, doubles as numbers, strings,
//   booleans, lists as arrays, structs and maps as objects, null.
// Load with: const r = await import(`${dir}/readers.mjs`) after NODE_PATH-free resolution: the
// packages are resolved from LAKE_READERS (the directory tests/lake/setup-readers.sh prints).
import { createRequire } from 'node:module';
import path from 'node:path';

const base = process.env.LAKE_READERS;
if (!base) throw new Error('LAKE_READERS is not set (run tests/lake/setup-readers.sh)');
const requireFrom = createRequire(path.join(base, 'package.json'));
const resolve = (name) => requireFrom.resolve(name);

const hyparquet = await import(resolve('hyparquet'));
const { compressors } = await import(resolve('hyparquet-compressors'));
const duckdb = await import(resolve('@duckdb/node-api'));

export function canon(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return String(v.getTime());
  if (Array.isArray(v)) return v.map(canon);
  const name = v.constructor?.name ?? '';
  if (name.startsWith('DuckDBTimestamp')) {
    if ('micros' in v) return (BigInt(v.micros) / 1000n).toString();
    if ('millis' in v) return BigInt(v.millis).toString();
  }
  if (name === 'DuckDBListValue' || name === 'DuckDBArrayValue') return v.items.map(canon);
  if (name === 'DuckDBStructValue') return canonObject(v.entries);
  if (name === 'DuckDBMapValue') {
    const o = {};
    for (const { key, value } of v.entries) o[String(key)] = canon(value);
    return o;
  }
  if (name === 'DuckDBDateValue') return v.days;
  if (v instanceof Map) {
    const o = {};
    for (const [key, value] of v) o[String(key)] = canon(value);
    return o;
  }
  if (name === 'Object' || name === '') return canonObject(v);
  throw new Error(`cannot canonicalize a ${name}: ${String(v)}`);
}

function canonObject(o) {
  const out = {};
  for (const [k, x] of Object.entries(o)) out[k] = canon(x);
  return out;
}

// Every row of one file, with hyparquet.
export async function readHyparquet(file) {
  const buffer = await hyparquet.asyncBufferFromFile(file);
  const rows = await hyparquet.parquetReadObjects({ file: buffer, compressors });
  return rows.map(canonObject);
}

// The footer as hyparquet parses it (row count, schema, row groups).
export async function metadataHyparquet(file) {
  const buffer = await hyparquet.asyncBufferFromFile(file);
  return hyparquet.parquetMetadataAsync(buffer);
}

let connection = null;
async function duck() {
  if (!connection) {
    const instance = await duckdb.DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  }
  return connection;
}

const quote = (s) => `'${s.replaceAll("'", "''")}'`;

// Every row of the files (in order, file by file) with DuckDB's read_parquet. Partition columns
// are not in the files (Delta keeps them in the log): hive_partitioning stays off.
export async function readDuckdb(files, { filename = false } = {}) {
  if (files.length === 0) return [];
  const con = await duck();
  const list = `[${files.map(quote).join(', ')}]`;
  const sql = `SELECT * FROM read_parquet(${list}, hive_partitioning = false${filename ? ', filename = true' : ''})`;
  const result = await con.runAndReadAll(sql);
  return result.getRowObjects().map(canonObject);
}

// Runs any query (cross-checks of metadata: parquet_metadata, parquet_schema).
export async function queryDuckdb(sql) {
  const con = await duck();
  const result = await con.runAndReadAll(sql);
  return result.getRowObjects().map(canonObject);
}

export function stable(v) {
  return JSON.stringify(v);
}
