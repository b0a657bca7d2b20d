// The README and docs/ stand alone in a clone and say what the code does:
// every relative link resolves to a file (and heading) of the repository and
// none leaves it; every route the app registers is in the HTTP API reference
// with the scope it needs, every error code with its status, every setting in
// the operations page with its flag and variable; the performance page's
// table is what bench:table makes of the files it names; and every example
// that shows its output is marked to be run (test/integration/examples.test.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { RouteOptions } from 'fastify';
import t from 'tap';
import { parseDocuments } from '../../bench/compare.ts';
import { END, renderTable, START } from '../../bench/results-table.ts';
import { withSettingsTable } from '../../cli/settings-table.ts';
import { ERRORS } from '../../schemas/errors.ts';
import { buildApp } from '../../server/app.ts';
import { parseConfig, SETTINGS } from '../../server/config.ts';
import { anchorsOf, docFiles, linksOf, MARKER, readDoc, withoutCode } from '../helpers/docs.ts';
import { ROOT } from '../helpers/processes.ts';

const PAGES = ['architecture', 'channels', 'cli', 'coordination', 'http-api', 'operations', 'performance', 'postgresql', 'python', 'security', 'streams', 'tasks'];

t.test('the README links every page of docs/', async (t) => {
  const readme = readDoc('README.md');
  for (const page of PAGES) t.match(readme, `](docs/${page}.md`, `the README links docs/${page}.md`);
  t.same(
    docFiles().filter((f) => f.startsWith('docs/')),
    PAGES.map((p) => `docs/${p}.md`),
    'docs/ holds these pages and no other',
  );
});

t.test('every link resolves inside the repository', async (t) => {
  let checked = 0;
  for (const file of docFiles()) {
    for (const link of linksOf(file)) {
      const where = `${file}:${link.line}: ${link.target}`;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) {
        t.match(link.target, /^(https?|mailto):/, `${where}: a web address, not a file of this machine`);
        continue;
      }
      checked++;
      const [path, anchor] = link.target.split('#', 2) as [string, string | undefined];
      t.notOk(isAbsolute(path), `${where}: relative, not absolute`);
      const target = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), decodeURIComponent(path));
      const inside = relative(ROOT, target);
      t.ok(inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside), `${where}: stays inside the repository`);
      t.ok(existsSync(target), `${where}: the file exists`);
      if (anchor !== undefined && existsSync(target) && statSync(target).isFile() && target.endsWith('.md')) {
        t.ok(anchorsOf(readFileSync(target, 'utf8')).has(anchor), `${where}: ${inside} has a heading #${anchor}`);
      }
    }
  }
  t.ok(checked > 50, `the pages link each other (${checked} relative links checked)`);
});

t.test('anchors are GitHub’s', async (t) => {
  const anchors = anchorsOf('# Queues, variables and locks\n## `GET /events`: the firehose\n## Limits\n## Limits\n```\n# not a heading\n```\n');
  t.same([...anchors], ['queues-variables-and-locks', 'get-events-the-firehose', 'limits', 'limits-1']);
});

t.test('every example that shows its output is marked to be run', async (t) => {
  for (const file of docFiles()) {
    const text = readDoc(file);
    for (const match of text.matchAll(/(<!-- [^>]*-->\s*)?```(\w*)\n([\s\S]*?)```/g)) {
      const [, marker, lang, code] = match;
      const curlWithOutput = /curl .*localhost:8786/.test(code) && /^# \{/m.test(code);
      const exampleFile = lang === 'ts' && /^\/\/ Run against `npm start`/m.test(code);
      if (!curlWithOutput && !exampleFile) continue;
      t.match(marker ?? '', new RegExp(`<!-- ${MARKER}: `), `${file}: the ${lang} block at offset ${match.index} is run by test/integration/examples.test.ts`);
    }
  }
});

t.test('every route the app registers is in docs/http-api.md, with the scope it needs', async (t) => {
  const registered = new Map<string, string>();
  const app = await buildApp({
    config: parseConfig({ db: ':memory:', insecure: true, logLevel: 'silent' }),
    logger: false,
    onRoute: (route: RouteOptions) => {
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue; // every GET answers HEAD too
        const scope = (route.config as { scope?: string } | undefined)?.scope ?? (route.url.startsWith('/docs') ? 'public' : 'client');
        registered.set(`${method} ${route.url}`, scope);
      }
    },
  });
  await app.ready();
  await app.close();
  t.ok(registered.size > 60, `${registered.size} routes registered`);

  const documented = new Map<string, string>();
  const reference = readDoc('docs/http-api.md');
  for (const match of reference.matchAll(/^\|\s*`(GET|POST|PUT|DELETE|PATCH|OPTIONS) (\/[^`\s]*)`\s*\|\s*([a-z]+)/gm)) {
    const route = `${match[1]} ${match[2]}`;
    t.notOk(documented.has(route), `${route} is documented once`);
    documented.set(route, match[3]);
  }
  // A documented `/prefix/*` covers what a plugin serves under it (the OpenAPI UI's files).
  const covering = (route: string): string | undefined =>
    documented.has(route) ? route : [...documented.keys()].find((d) => d.endsWith('/*') && route.startsWith(d.slice(0, -1)));
  for (const [route, scope] of registered) {
    const entry = covering(route);
    if (!t.ok(entry, `${route} is in docs/http-api.md`)) continue;
    t.equal(documented.get(entry as string), scope, `${route}: the reference gives the scope the route needs (${scope})`);
  }
  for (const route of documented.keys()) {
    const served = registered.has(route) || (route.endsWith('/*') && [...registered.keys()].some((r) => r.startsWith(route.slice(0, -1))));
    t.ok(served, `${route}, in docs/http-api.md, is a route the app registers`);
  }
});

t.test('every error code of the catalog is in docs/http-api.md, with its status', async (t) => {
  const rows = new Map<string, string>();
  for (const match of readDoc('docs/http-api.md').matchAll(/^\| (\d{3}|—) \| `(SLUICE_ERR_[A-Z_]+)` \|/gm)) rows.set(match[2], match[1]);
  for (const [code, { status }] of Object.entries(ERRORS)) {
    t.equal(rows.get(code), status === 0 ? '—' : String(status), `${code} (${status || 'client side'})`);
  }
  t.equal(rows.size, Object.keys(ERRORS).length, 'and no code the catalog does not have');
});

t.test('docs/operations.md’s settings table is what `npm run docs:settings` makes of the settings’ schema', async (t) => {
  const page = readDoc('docs/operations.md');
  t.equal(page, withSettingsTable(page), 'the table is current: run `npm run docs:settings` to refresh it');
  const rows = new Map<string, string>();
  for (const match of page.matchAll(/^\| (`--[a-z-]+`|—) \| `(SLUICE_[A-Z_]+)` \|/gm)) rows.set(match[2], match[1]);
  for (const s of SETTINGS) {
    if (s.aliasOf) {
      t.notOk(rows.has(s.env), `${s.name}: an older name, no row of its own`);
      t.match(page, s.flag as string, `${s.name}: named in the row of ${s.aliasOf}`);
      continue;
    }
    t.equal(rows.get(s.env), s.flag ? `\`${s.flag}\`` : '—', `${s.name}: a row for ${s.env}, ${s.flag ?? 'no flag'}`);
  }
  t.ok(rows.has('SLUICE_LOG_FORMAT'), 'and --log-format, which the CLI reads itself');
});

t.test('docs/performance.md’s table is what `npm run bench:table` makes of the files it names', async (t) => {
  const page = readDoc('docs/performance.md');
  const start = page.indexOf(`${START}\n`);
  const end = page.indexOf(`\n${END}`);
  t.ok(start >= 0 && end > start, 'the page has the generated section');
  const section = page.slice(start + START.length + 1, end + 1);
  const command = /Generated by `npm run bench:table -- ([^`]+)`/.exec(section);
  if (!t.ok(command, 'the section names the files it was made from')) return;
  const files = (command as RegExpExecArray)[1].split(' ');
  const documents = files.flatMap((file) => parseDocuments(readFileSync(join(ROOT, file), 'utf8')));
  t.equal(section, renderTable(documents, files), 'the table is current: run the command it names to refresh it');
  t.notMatch(readDoc('README.md'), START, 'the README has no results table of its own');
});

t.test('links and headings inside code are not links or headings', async (t) => {
  t.equal(withoutCode('a `b` c\n```\nd\n```\ne').replace(/\s+/g, ' ').trim(), 'a c e');
});
