// The client must run in browsers: bundling it for the browser must not pull in Node.
import { build } from 'esbuild';
import t from 'tap';
import { ROOT } from '../helpers/processes.ts';

t.test('client/index.ts bundles for the browser with no Node built-in', async (t) => {
  const result = await build({
    entryPoints: [`${ROOT}client/index.ts`],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  t.same(result.errors, []);
  const inputs = Object.keys(result.metafile.inputs);
  t.same(inputs.filter((file) => file.startsWith('node:') || /\/(ws|better-sqlite3|pino|fastify)\//.test(file)), [], 'no Node-only module in the bundle');
  const size = result.outputFiles[0].contents.length;
  t.ok(size < 400_000, `bundle is ${Math.round(size / 1024)} KiB`);
});
