// sluice/stream, like the client, must run in browsers: bundling it for the browser must not pull in Node.
import { build } from 'esbuild';
import t from 'tap';
import { ROOT } from '../helpers/processes.ts';

t.test('stream/index.ts bundles for the browser with no Node built-in', async (t) => {
  const result = await build({
    entryPoints: [`${ROOT}stream/index.ts`],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  t.same(result.errors, []);
  const inputs = Object.keys(result.metafile.inputs);
  t.same(inputs.filter((file) => file.startsWith('node:') || /\/(ws|better-sqlite3|pino|fastify|zod)\//.test(file)), [], 'no Node-only module (nor zod) in the bundle');
  t.ok(inputs.some((file) => file.endsWith('stream/nodes/buffer.ts')), 'the operators are in it');
});
