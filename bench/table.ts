// npm run bench:table -- FILE... [--readme PATH]: rewrite the README's results
// table (between <!-- bench-table:start --> and <!-- bench-table:end -->) from
// the JSON that `npm run bench` and `npm run bench:peers` print. Each file may
// hold several documents one after another. For each figure, a full run beats
// a --quick one and the latest run wins, so
// `npm run bench:table -- bench/results/*.json` shows the newest figures.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDocuments } from './compare.ts';
import { renderTable, replaceSection } from './readme-table.ts';

const { values, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { readme: { type: 'string', default: fileURLToPath(new URL('../README.md', import.meta.url)) } },
});
if (files.length === 0) {
  process.stderr.write('usage: npm run bench:table -- FILE... [--readme README.md]\n');
  process.exit(2);
}
const documents = files.flatMap((file) => {
  try {
    return parseDocuments(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message} (is it JSON only? \`npm run -s\` keeps npm's own header out of the output)`);
  }
});
const readme = readFileSync(values.readme, 'utf8');
const table = renderTable(
  documents,
  files.map((file) => relative(process.cwd(), file)),
);
writeFileSync(values.readme, replaceSection(readme, table));
process.stderr.write(`bench:table: ${values.readme} updated from ${documents.length} document(s) in ${files.length} file(s)\n`);
