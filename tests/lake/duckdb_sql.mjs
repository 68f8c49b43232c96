// Runs SQL in DuckDB (@duckdb/node-api) and prints the last statement's rows as JSON (canonical
// form of readers.mjs). Statements are separated by ";\n".
//   LAKE_READERS=... node tests/lake/duckdb_sql.mjs FILE.sql
import fs from 'node:fs';
import { queryDuckdb } from './readers.mjs';

const statements = fs.readFileSync(process.argv[2], 'utf8').split(/;\s*\n/).map((s) => s.trim()).filter(Boolean);
let rows = [];
for (const s of statements) rows = await queryDuckdb(s);
process.stdout.write(JSON.stringify(rows) + '\n');
