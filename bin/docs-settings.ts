// npm run docs:settings: rewrite the settings table of docs/operations.md
// (between <!-- settings-table:start --> and <!-- settings-table:end -->)
// from the settings' schema, server/config.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withSettingsTable } from '../cli/settings-table.ts';

const page = fileURLToPath(new URL('../docs/operations.md', import.meta.url));
const before = readFileSync(page, 'utf8');
const after = withSettingsTable(before);
if (after !== before) writeFileSync(page, after);
process.stderr.write(`docs:settings: ${page} ${after === before ? 'was current' : 'updated'}\n`);
