// The package as its users get it: packed (npm pack, which builds dist/lib),
// installed into a project of its own, and used from plain JavaScript — no
// tsx, no TypeScript hooks (Node does not strip types inside node_modules).
// The tarball's dependencies are linked from this repository's node_modules
// instead of downloaded: devDependencies are not linked, so a runtime import
// of one fails here as it would in a user's install.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import t from 'tap';
import { tempDir } from '../helpers/cluster.ts';
import { Proc, ROOT } from '../helpers/processes.ts';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
/** The environment of a plain `node`: none of the hooks tap or tsx put in NODE_OPTIONS. */
const plainEnv = { ...process.env, NODE_OPTIONS: '' };

const app = tempDir(t);
const modules = join(app, 'node_modules');
const installed = join(modules, 'sluice');

// npm pack runs the prepare script (the build) and lists what the tarball holds.
const packed = await run('npm', ['pack', '--json', '--pack-destination', app], { cwd: ROOT, timeout: 120_000, env: plainEnv });
const { filename, files } = (JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0];
mkdirSync(installed, { recursive: true });
await run('tar', ['-xzf', join(app, filename), '-C', installed, '--strip-components=1']);
for (const name of [...Object.keys(pkg.dependencies), '@types/node']) {
  mkdirSync(dirname(join(modules, name)), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
}
mkdirSync(join(modules, '.bin'));
symlinkSync('../sluice/bin/sluice.js', join(modules, '.bin', 'sluice'));
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'an-app', private: true, type: 'module' }));

/** Write a script into the app and run it with a plain `node`; resolves with what it printed. */
async function node(file: string, source: string, args: string[] = []): Promise<string> {
  writeFileSync(join(app, file), source);
  const { stdout } = await run(process.execPath, [file, ...args], { cwd: app, env: plainEnv, timeout: 30_000 });
  return stdout;
}

t.test('the tarball holds the built library and the command, not the tests', async (t) => {
  const paths = new Set(files.map((f) => f.path));
  for (const entry of ['client/index', 'client/node', 'stream/index', 'stream/node-index', 'worker/index', 'schemas/index']) {
    t.ok(paths.has(`dist/lib/${entry}.js`), `dist/lib/${entry}.js`);
    t.ok(paths.has(`dist/lib/${entry}.d.ts`), `dist/lib/${entry}.d.ts`);
    t.ok(paths.has(`dist/lib/${entry}.js.map`), `dist/lib/${entry}.js.map`);
  }
  t.ok(paths.has('bin/sluice.js') && paths.has('cli/main.ts') && paths.has('migrations/001_tasks.sql'), 'the command and what it runs');
  t.notOk([...paths].some((p) => p.startsWith('test/') || p.startsWith('bench/') || p.startsWith('python/') || p === 'dist/sluice.mjs'), 'no tests, benches, Python or local bundle');
});

t.test('plain node imports every entry point', async (t) => {
  const printed = await node(
    'entries.mjs',
    `const names = {};
for (const entry of ['sluice/client', 'sluice/stream', 'sluice/worker', 'sluice/schemas']) names[entry] = Object.keys(await import(entry)).sort();
names.resolved = [import.meta.resolve('sluice/client'), import.meta.resolve('sluice/stream')];
console.log(JSON.stringify(names));`,
  );
  const names = JSON.parse(printed) as Record<string, string[]> & { resolved: string[] };
  t.match(names.resolved[0], /node_modules\/sluice\/dist\/lib\/client\/node\.js$/, 'Node gets the undici client, built');
  t.match(names.resolved[1], /node_modules\/sluice\/dist\/lib\/stream\/node-index\.js$/, 'and the streams with the file operators');
  for (const name of ['Client', 'Future', 'Channel', 'Queue', 'Lock', 'SluiceError', 'asCompleted', 'wait', 'fireAndForget']) t.ok(names['sluice/client'].includes(name), `sluice/client exports ${name}`);
  for (const name of ['Stream', 'ClusterStream', 'StreamError']) t.ok(names['sluice/stream'].includes(name), `sluice/stream exports ${name}`);
  for (const name of ['TaskSpec', 'SnapshotFrame', 'AckBody', 'ConsumerPosition']) t.ok(names['sluice/schemas'].includes(name), `sluice/schemas exports ${name}`);
  for (const name of ['getClient', 'getTask', 'secede', 'Worker', 'loadTasks']) t.ok(names['sluice/worker'].includes(name), `sluice/worker exports ${name}`);
  for (const name of ['TaskSpec', 'SubmitBody', 'ERRORS', 'ErrorBody', 'pureKey', 'WorkerMessage']) t.ok(names['sluice/schemas'].includes(name), `sluice/schemas exports ${name}`);

  const required = await node('require.cjs', `const { Client } = require('sluice/client'); console.log(typeof Client);`);
  t.equal(required, 'function\n', 'a CommonJS program (a Lambda handler) can require() it too');
});

t.test('TypeScript programs type-check against the declarations, in Node and in a browser', async (t) => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'lib', 'tsc.js'); // not bin/tsc: see bin/build.js
  writeFileSync(
    join(app, 'typed.ts'),
    `import { Client, type Future } from 'sluice/client';
import { Stream } from 'sluice/stream';
import { getClient, getTask } from 'sluice/worker';
import { TaskSpec, type ErrorBody } from 'sluice/schemas';
export async function total(url: string): Promise<number> {
  const client = await Client.connect(url);
  const future: Future<number> = client.submit<number>('inc', [1]);
  const source = new Stream<number>();
  source.map((x) => x + 1).sink(() => undefined);
  const spec = TaskSpec.parse({ fn: 'inc', args: [1] });
  const error: ErrorBody | undefined = undefined;
  void getClient; void getTask; void spec; void error;
  return await future;
}
`,
  );
  writeFileSync(
    join(app, 'browser.ts'),
    `import { Client } from 'sluice/client';
export async function handler(): Promise<number> {
  const client = await Client.connect(location.origin);
  return await client.submit<number>('inc', [1]);
}
`,
  );
  const base = { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022' };
  writeFileSync(join(app, 'tsconfig.node.json'), JSON.stringify({ compilerOptions: { ...base, module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] }, files: ['typed.ts'] }));
  writeFileSync(join(app, 'tsconfig.browser.json'), JSON.stringify({ compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] }, files: ['browser.ts'] }));
  for (const config of ['tsconfig.node.json', 'tsconfig.browser.json']) {
    const checked = await run(process.execPath, [tsc, '-p', config], { cwd: app, env: plainEnv, timeout: 120_000 }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    t.equal(checked, '', `${config}: no type errors, declarations included (skipLibCheck off)`);
  }
});

t.test('a plain JavaScript tasks module runs on the installed `sluice worker`; a plain JavaScript client calls it', async (t) => {
  const bin = join(modules, '.bin', 'sluice');
  writeFileSync(
    join(app, 'tasks.js'),
    `import { getClient, getTask } from 'sluice/worker';
export const inc = (x) => x + 1;
/** A task that submits a task: getClient() from the package the worker runs. */
export async function incTwice(x) {
  const client = getClient();
  return { result: await client.submit('inc', [await client.submit('inc', [x])]), key: getTask().key };
}
`,
  );
  const scheduler = new Proc(['scheduler', '--port', '0', '--insecure', '--db', join(app, 'sluice.db')], { command: bin, cwd: app, env: plainEnv });
  t.teardown(() => scheduler.stop('SIGKILL'));
  const url = (await scheduler.waitForLog((e) => e.msg === 'sluice scheduler ready', 60_000)).url as string;
  const worker = new Proc(['worker', '--tasks', 'tasks.js', '--scheduler', url, '--name', 'js-worker'], { command: bin, cwd: app, env: plainEnv });
  t.teardown(() => worker.stop('SIGKILL'));
  await worker.waitForLog((e) => e.msg === 'worker starting', 30_000);

  const printed = await node(
    'client.mjs',
    `import { Client } from 'sluice/client';
const client = await Client.connect(process.argv[2]);
console.log(JSON.stringify(await client.submit('incTwice', [40], { key: 'js-task' }).result({ timeoutMs: 20000 })));
await client.close();`,
    [url],
  );
  t.same(JSON.parse(printed), { result: 42, key: 'js-task' }, 'the task ran, and getClient() and getTask() worked inside it');
});

t.test('a Lambda-style handler bundles sluice/client without server code', async (t) => {
  writeFileSync(
    join(app, 'handler.js'),
    `import { Client } from 'sluice/client';
export async function handler(event) {
  const client = await Client.connect(process.env.SLUICE_SCHEDULER, { token: process.env.SLUICE_TOKEN });
  try {
    return { statusCode: 200, body: JSON.stringify(await client.submit('inc', [event.x])) };
  } finally {
    await client.close();
  }
}
`,
  );
  for (const platform of ['browser', 'node'] as const) {
    const result = await build({
      absWorkingDir: app,
      entryPoints: ['handler.js'],
      bundle: true,
      minify: true,
      platform,
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    const code = result.outputFiles[0].contents;
    t.ok(inputs.some((p) => p.includes(`node_modules/sluice/dist/lib/client/${platform === 'node' ? 'node' : 'index'}.js`)), `${platform}: the built client`);
    t.same(inputs.filter((p) => /\/(server|cli)\/|better-sqlite3|fastify|\/zod\/|pino/.test(p)), [], `${platform}: no server module, no zod, no logger`);
    if (platform === 'browser') {
      t.same(inputs.filter((p) => p.includes('undici')), [], 'browser: no undici (fetch is the browser’s)');
      t.same(inputs.filter((p) => p.includes('schemas/error-catalog')), [], 'browser: the errors the client raises itself, not the server’s catalog of messages');
      // A guard against a dependency pulled in by mistake (zod alone would pass it), not the aim (25 kB): ~48 kB today.
      t.ok(code.length <= 64_000, `browser: ${code.length} bytes minified (at most 64,000)`);
    }
    t.comment(`${platform} bundle of a handler importing sluice/client: ${code.length} bytes minified, ${gzipSync(code).length} gzipped`);
  }
});
