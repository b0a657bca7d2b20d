// The scheduler's bundle: sluice's TypeScript sources as one JavaScript file,
// dist/sluice.mjs, built by esbuild from cli/main.ts (packages stay imports).
// A process that loads it needs no TypeScript hooks: tsx's hooks run on a
// thread with a heap of its own, ~25 MB that a long-running scheduler would
// carry for nothing, and they transform each module at every start.
//
// dist/sluice.inputs.json lists the sources the bundle was built from with
// their mtimes; the bundle is rebuilt when one of them changes, so it is
// never older than the sources. Builds write to a file of their own and rename
// it into place: schedulers starting together cannot read half a bundle.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const BUNDLE = join(DIST, 'sluice.mjs');
const INPUTS = join(DIST, 'sluice.inputs.json');

/** @returns {boolean} */
function upToDate() {
  try {
    statSync(BUNDLE);
    /** @type {Record<string, number>} */
    const inputs = JSON.parse(readFileSync(INPUTS, 'utf8'));
    return Object.entries(inputs).every(([file, mtimeMs]) => statSync(join(ROOT, file)).mtimeMs === mtimeMs);
  } catch {
    return false;
  }
}

async function build() {
  const esbuild = await import('esbuild');
  const started = Date.now();
  try {
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ['cli/main.ts'],
      outfile: BUNDLE,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    /** @type {Record<string, number>} */
    const inputs = {};
    for (const file of Object.keys(result.metafile.inputs)) {
      const { mtimeMs } = statSync(join(ROOT, file));
      // A source saved while the build ran may not be in it: record it as changed.
      inputs[file] = mtimeMs < started ? mtimeMs : 0;
    }
    mkdirSync(DIST, { recursive: true });
    const tmp = `${BUNDLE}.${process.pid}`;
    writeFileSync(tmp, result.outputFiles[0].contents);
    renameSync(tmp, BUNDLE);
    writeFileSync(`${INPUTS}.${process.pid}`, JSON.stringify(inputs));
    renameSync(`${INPUTS}.${process.pid}`, INPUTS);
  } finally {
    await esbuild.stop();
  }
}

/**
 * The URL of an up-to-date bundle, built first if need be; undefined when it
 * cannot be built (dist/ not writable, say), and the caller falls back to tsx.
 * @returns {Promise<string | undefined>}
 */
export async function schedulerBundle() {
  try {
    if (!upToDate()) await build();
    return pathToFileURL(BUNDLE).href;
  } catch {
    return undefined;
  }
}
