// An independent Delta reader for the lake tests: replays a table's _delta_log as the Delta
// protocol says (in JavaScript, sharing no code with the C++ library: JSON commits, and the
// checkpoint read with hyparquet), then reads every live file with DuckDB and with hyparquet.
//
//   LAKE_READERS=... node tests/lake/read_table.mjs TABLE [--replay checkpoint|json] [--no-rows]
//
// Prints one JSON document:
//   {version, checkpoint, protocol, partitionColumns, schema, txns: {appId: version},
//    files: [{path, size, partitionValues, numRecords, duckdbRows, hyparquetRows, duckdbCount}],
//    rows: [{...columns, ...partition values}], problems: [...]}
// Rows are DuckDB's (canonical form of readers.mjs) with the partition values of their file;
// every file's hyparquet rows must equal its DuckDB rows, and DuckDB's count(*) and the
// footer's row count (parquet_file_metadata) must equal the log's numRecords.
import fs from 'node:fs';
import path from 'node:path';
import { readHyparquet, readDuckdb, queryDuckdb, stable } from './readers.mjs';

const table = process.argv[2];
const args = process.argv.slice(3);
const replay = args.includes('--replay') ? args[args.indexOf('--replay') + 1] : 'checkpoint';
const withRows = !args.includes('--no-rows');
const problems = [];
const logDir = path.join(table, '_delta_log');

const names = fs.readdirSync(logDir);
const commits = names.filter((n) => /^\d{20}\.json$/.test(n)).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
const state = { protocol: null, metaData: null, files: new Map(), tombstones: new Map(), txns: new Map() };

function apply(action) {
  if (action.protocol) state.protocol = action.protocol;
  if (action.metaData) state.metaData = action.metaData;
  if (action.txn) state.txns.set(action.txn.appId, action.txn.version);
  if (action.remove) {
    state.files.delete(action.remove.path);
    state.tombstones.set(action.remove.path, action.remove);
  }
  if (action.add) {
    state.tombstones.delete(action.add.path);
    state.files.set(action.add.path, action.add);
  }
}

let start = 0;
let checkpoint = null;
if (replay === 'checkpoint' && fs.existsSync(path.join(logDir, '_last_checkpoint'))) {
  const last = JSON.parse(fs.readFileSync(path.join(logDir, '_last_checkpoint'), 'utf8'));
  checkpoint = last.version;
  const file = path.join(logDir, `${String(checkpoint).padStart(20, '0')}.checkpoint.parquet`);
  const rows = await readHyparquet(file);
  if (rows.length !== last.size) problems.push(`checkpoint ${checkpoint}: ${rows.length} rows, _last_checkpoint says ${last.size}`);
  for (const row of rows) {
    for (const [kind, value] of Object.entries(row)) {
      if (value === null) continue;
      // hyparquet gives int64 as strings in canonical form; the log has numbers.
      const fix = (o) => {
        for (const k of ['version', 'size', 'modificationTime', 'deletionTimestamp', 'createdTime', 'lastUpdated'])
          if (typeof o[k] === 'string') o[k] = Number(o[k]);
        return o;
      };
      apply({ [kind]: fix({ ...value }) });
    }
  }
  start = checkpoint + 1;
} else if (commits[0] !== 0) {
  problems.push(`the JSON log starts at ${commits[0]}`);
}
let version = start - 1;
for (const v of commits.filter((c) => c >= start)) {
  if (v !== version + 1) {
    problems.push(`gap in the log before version ${v}`);
    break;
  }
  const text = fs.readFileSync(path.join(logDir, `${String(v).padStart(20, '0')}.json`), 'utf8');
  for (const line of text.split('\n')) if (line.trim()) apply(JSON.parse(line));
  version = v;
}
if (!state.protocol || state.protocol.minReaderVersion > 1) problems.push(`protocol ${JSON.stringify(state.protocol)}`);

const partitionColumns = state.metaData?.partitionColumns ?? [];
const schema = JSON.parse(state.metaData?.schemaString ?? '{"fields":[]}');
const files = [];
const rows = [];
for (const [uri, add] of [...state.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const rel = decodeURIComponent(uri);
  const full = path.join(table, rel);
  const stats = add.stats ? JSON.parse(add.stats) : {};
  const entry = { path: rel, size: add.size, partitionValues: add.partitionValues, numRecords: stats.numRecords ?? null };
  if (!fs.existsSync(full)) {
    problems.push(`${rel}: listed by the log but missing`);
    files.push(entry);
    continue;
  }
  if (fs.statSync(full).size !== add.size) problems.push(`${rel}: size ${fs.statSync(full).size}, the log says ${add.size}`);
  const quoted = `'${full.replaceAll("'", "''")}'`;
  const [{ n }] = await queryDuckdb(`SELECT count(*) AS n FROM read_parquet(${quoted}, hive_partitioning = false)`);
  const [{ num_rows: footerRows }] = await queryDuckdb(`SELECT num_rows FROM parquet_file_metadata(${quoted})`);
  entry.duckdbCount = Number(n);
  if (Number(n) !== entry.numRecords) problems.push(`${rel}: DuckDB counts ${n} rows, the log's numRecords is ${entry.numRecords}`);
  if (Number(footerRows) !== Number(n)) problems.push(`${rel}: footer says ${footerRows} rows, DuckDB read ${n}`);
  if (withRows) {
    const fromDuck = await readDuckdb([full]);
    const fromHy = await readHyparquet(full);
    entry.duckdbRows = fromDuck.length;
    entry.hyparquetRows = fromHy.length;
    const a = fromDuck.map(stable);
    const b = fromHy.map(stable);
    const bad = a.findIndex((x, i) => x !== b[i]);
    if (a.length !== b.length || bad >= 0)
      problems.push(`${rel}: hyparquet and DuckDB disagree${bad >= 0 ? ` at row ${bad}: ${b[bad]} vs ${a[bad]}` : ''}`);
    for (const r of fromDuck) rows.push({ ...r, ...add.partitionValues });
  }
  files.push(entry);
}
const txns = Object.fromEntries([...state.txns].sort());
process.stdout.write(JSON.stringify({
  version, checkpoint, protocol: state.protocol, partitionColumns, schema, txns, files, rows, problems,
}) + '\n');
