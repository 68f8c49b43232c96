// Reads every case-NNNN.parquet of a directory written by sw_lake_fuzz_roundtrip with hyparquet
// and with DuckDB, and compares each row with case-NNNN.expected.jsonl.
//   LAKE_READERS=$(bash tests/lake/setup-readers.sh) node tests/lake/fuzz_check.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import { readHyparquet, readDuckdb, stable } from './readers.mjs';

const dir = process.argv[2];
const cases = fs.readdirSync(dir).filter((f) => /^case-\d+\.parquet$/.test(f)).sort();
let failures = 0;
let rows = 0;
const report = (name, reader, message) => {
  failures++;
  if (failures <= 20) console.log(`FAIL ${name} (${reader}): ${message}`);
};
for (const file of cases) {
  const name = file.replace('.parquet', '');
  const full = path.join(dir, file);
  const expected = fs.readFileSync(path.join(dir, `${name}.expected.jsonl`), 'utf8').split('\n').filter(Boolean)
    .map((l) => stable(JSON.parse(l)));
  rows += expected.length;
  for (const [reader, read] of [['hyparquet', () => readHyparquet(full)], ['duckdb', () => readDuckdb([full])]]) {
    let got;
    try {
      got = (await read()).map(stable);
    } catch (e) {
      report(name, reader, `cannot read: ${e.message}`);
      continue;
    }
    if (got.length !== expected.length) {
      report(name, reader, `${got.length} rows, expected ${expected.length}`);
      continue;
    }
    const bad = got.findIndex((g, i) => g !== expected[i]);
    if (bad >= 0) report(name, reader, `row ${bad}\n  got      ${got[bad]}\n  expected ${expected[bad]}`);
  }
}
console.log(`fuzz_check: ${cases.length} files, ${rows} rows, each read by hyparquet and DuckDB: ${failures} failures`);
process.exit(failures ? 1 : 0);
