// npm run bench:table -- FILE... [--page PATH]: rewrite the results table of
// docs/performance.md (between <!-- bench-table:start --> and <!-- bench-table:end -->) from
// the JSON that `npm run bench` and `npm run bench:peers` print. Each file may
// hold several documents one after another. For each figure, a full run beats
// a --quick one and the latest run wins, so
// `npm run bench:table -- bench/results/*.json` shows the newest figures.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDocuments } from './compare.ts';
import { renderTable, replaceSection } from './results-table.ts';

const { values, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { page: { type: 'string', default: fileURLToPath(new URL('../docs/performance.md', import.meta.url)) } },
});
if (files.length === 0) {
  process.stderr.write('usage: npm run bench:table -- FILE... [--page docs/performance.md]\n');
  process.exit(2);
}
const documents = files.flatMap((file) => {
  try {
    return parseDocuments(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message} (is it JSON only? \`npm run -s\` keeps npm's own header out of the output)`);
  }
});
const page = readFileSync(values.page, 'utf8');
const table = renderTable(
  documents,
  files.map((file) => relative(process.cwd(), file)),
);
writeFileSync(values.page, replaceSection(page, table));
process.stderr.write(`bench:table: ${values.page} updated from ${documents.length} document(s) in ${files.length} file(s)\n`);
