// The Docker image, checked without a Docker engine: what the Dockerfile
// copies exists and is what the package needs, and its production install —
// `npm ci --omit=dev`, no TypeScript, no test tools — starts and serves. That
// last part is a real check of the split between dependencies and
// devDependencies: a package imported at run time but listed among the
// devDependencies fails it.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { api, tempDir } from '../helpers/cluster.ts';
import { Proc, ROOT, waitFor } from '../helpers/processes.ts';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  files: string[];
  devDependencies: Record<string, string>;
  exports: Record<string, { 'sluice-source'?: unknown }>;
};
/** The library's directories, which the prepare script builds: where the exports' sources are. */
const LIB_DIRS = [...new Set(Object.values(pkg.exports).flatMap((e) => JSON.stringify(e['sluice-source'] ?? '').match(/\.\/\w+(?=\/)/g) ?? []))].map((d) => d.slice(2));

interface Stage {
  from: string;
  /** COPY sources from the build context. */
  copies: string[];
  /** COPY --from=<stage> sources. */
  copiesFromStage: string[];
  lines: string[];
}

/** The Dockerfile's stages, with what each copies (continuation lines joined). */
function stages(): Stage[] {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const result: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [instruction, ...rest] = line.split(/\s+/);
    if (instruction === 'FROM') result.push({ from: rest[0], copies: [], copiesFromStage: [], lines: [] });
    const stage = result.at(-1) as Stage;
    stage.lines.push(line);
    if (instruction !== 'COPY') continue;
    const fromStage = rest[0].startsWith('--from=');
    const args = rest.filter((a) => !a.startsWith('--'));
    (fromStage ? stage.copiesFromStage : stage.copies).push(...args.slice(0, -1));
  }
  return result;
}

const [build, runtime] = stages();

t.test('the Dockerfile copies files that exist, and everything the package needs', async (t) => {
  t.same(LIB_DIRS.sort(), ['client', 'schemas', 'stream', 'worker'], 'the library’s directories, from package.json');
  t.equal(stages().length, 2, 'a build stage and a runtime stage');
  for (const source of [...build.copies, ...runtime.copies]) t.ok(existsSync(join(ROOT, source)), `${source} exists`);
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  for (const source of [...build.copies, ...runtime.copies]) t.notOk(ignored.includes(source), `${source} is not in .dockerignore`);

  for (const dir of LIB_DIRS) t.ok(build.copies.includes(dir), `the build stage has ${dir}/, which the prepare script builds`);
  t.ok(build.copies.includes('bin') && build.copies.includes('package-lock.json'), 'and bin/build.js and the lockfile');
  t.ok(build.lines.some((l) => /^RUN .*npm ci --omit=dev/.test(l)), 'the build stage installs production dependencies only');
  t.notOk(build.lines.some((l) => /npm (ci|install)(?! --omit=dev)/.test(l)), 'and no other install');

  const inImage = new Set([...runtime.copies, ...runtime.copiesFromStage.map((p) => p.replace(/^\/app\//, ''))]);
  for (const entry of pkg.files) t.ok(inImage.has(entry.replace(/\/$/, '')), `the image has ${entry} (package.json files)`);
  t.ok(inImage.has('node_modules'), 'and the production node_modules');
  t.notOk(runtime.lines.some((l) => /apt-get|g\+\+/.test(l)), 'no compilers in the image that runs');
  t.ok(runtime.lines.some((l) => /^USER node$/.test(l)), 'it runs as node');
  t.ok(runtime.lines.some((l) => /chown node:node \/data/.test(l)), '/data belongs to node');

  const majors = [build.from, runtime.from].map((image) => Number(/^node:(\d+)-/.exec(image)?.[1]));
  t.equal(majors[0], majors[1], 'both stages on one Node');
  t.ok(pkg.engines.node.includes(`>=${majors[0]}`) || pkg.engines.node.includes(`^${majors[0]}.`), `Node ${majors[0]} is in engines (${pkg.engines.node})`);
});

t.test('the production install starts and serves: npm ci --omit=dev, the build without TypeScript, sluice up', async (t) => {
  const app = tempDir(t);
  // The build stage: its COPYs, then npm ci --omit=dev. Its install scripts are
  // left out (--ignore-scripts) for time: better-sqlite3's compilation comes from
  // this repository's node_modules, and the prepare script is run as npm would.
  for (const source of build.copies) cpSync(join(ROOT, source), join(app, source), { recursive: true });
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, timeout: 300_000, env: { ...process.env, NODE_OPTIONS: '' } });
  for (const dev of Object.keys(pkg.devDependencies)) t.notOk(existsSync(join(app, 'node_modules', dev)), `${dev} (a devDependency) is not installed`);
  cpSync(join(ROOT, 'node_modules', 'better-sqlite3', 'build'), join(app, 'node_modules', 'better-sqlite3', 'build'), { recursive: true });
  const built = await run(process.execPath, ['bin/build.js'], { cwd: app, timeout: 120_000 });
  t.match(built.stderr, /built dist\/lib without type declarations \(TypeScript is not installed\)/);
  t.ok(existsSync(join(app, 'dist', 'lib', 'client', 'index.js')), 'the library is built');
  t.notOk(readdirSync(join(app, 'dist', 'lib', 'client')).some((f) => f.endsWith('.d.ts')), 'without declarations');

  // The runtime stage: its COPYs over the build stage's output, the bundle built as the image does.
  for (const source of runtime.copies) cpSync(join(ROOT, source), join(app, source), { recursive: true });
  await run(process.execPath, ['bin/sluice.js', 'scheduler', '--help'], { cwd: app, timeout: 120_000 });
  t.ok(existsSync(join(app, 'dist', 'sluice.mjs')), 'the scheduler bundle is built');

  const env = { ...process.env, NODE_ENV: 'production' };
  const up = new Proc(['bin/sluice.js', 'up', '--insecure', '--port', '0', '--db', join(app, 'data.db'), '--workers', '1', '--tasks', 'examples/tasks.ts', '--log-format', 'pretty'], {
    command: process.execPath,
    cwd: app,
    env,
  });
  t.teardown(() => up.stop('SIGKILL'));
  const url = await waitFor(() => {
    if (!up.running) throw new Error(`sluice up exited:\n${up.lines.slice(-20).join('\n')}`);
    return up.lines.map((line) => /sluice is ready at (http:\/\/[^:]+:\d+):/.exec(line)?.[1]).find(Boolean);
  }, 'the ready line', 60_000);
  const http = api(url);
  await waitFor(async () => (await http.get('/workers')).body.length === 1, 'the local worker', 60_000);
  const submitted = await http.post('/tasks', { fn: 'double', args: [21] });
  t.same((await http.get(`/futures/${submitted.body.key}/result?timeout=30`)).body.result, 42, 'a task runs on the local worker');
  const dashboard = await fetch(`${url}/dashboard`);
  t.equal(dashboard.status, 200, 'the dashboard bundles (preact, uplot)');
  const batch = await new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = execFile(process.execPath, ['bin/sluice.js', 'submit', 'inc', '--batch', '-', '--wait', '--scheduler', url], { cwd: app, env, timeout: 60_000 }, (error, stdout) =>
      resolve({ code: error ? 1 : 0, stdout }),
    );
    child.stdin?.end('[1]\n[2]\n');
  });
  t.equal(batch.code, 0, 'submit --batch runs (cli-progress)');
  t.same(batch.stdout.trim().split('\n').map((line) => JSON.parse(line).result), [2, 3]);
  t.same(await up.stop('SIGTERM', 30_000), { code: 0, signal: null }, 'and it stops cleanly');
});
