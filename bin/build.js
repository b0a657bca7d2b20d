#!/usr/bin/env node
// Builds the library — sluice/client, sluice/stream, sluice/worker and
// sluice/schemas — to JavaScript in dist/lib, so that any JavaScript program
// imports it without TypeScript hooks (Node does not strip types inside
// node_modules). `npm ci` and `npm pack` run it (the prepare script).
//
// - JavaScript: esbuild, one .js file and source map per source file, the
//   tree of the sources kept (dist/lib/client/index.js for client/index.ts),
//   relative imports rewritten from .ts to .js. esbuild is a dependency (the
//   scheduler's bundle and the dashboard use it), so a production install
//   (npm ci --omit=dev) builds this too.
// - Declarations: tsc (tsconfig.lib.json), .d.ts with maps back to the
//   sources, when TypeScript (a devDependency) is installed; a production
//   install skips them: only a type checker reads them.
//
// The output is built beside dist/lib and moved into place, so a program
// starting meanwhile sees the old build or the new one, never a mix.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The library's directories: what they import must stay inside them (no server code). */
const LIB_DIRS = ['client', 'schemas', 'stream', 'worker'];
const OUT = join(ROOT, 'dist', 'lib');

/** Every TypeScript source of the library, relative to the root. */
function sources() {
  return LIB_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => join(dir, file)),
  );
}

/** Every import stays an import; relative ones point at the built .js and must stay in the library. */
const keepImports = {
  name: 'sluice-keep-imports',
  /** @param {import('esbuild').PluginBuild} build */
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (!args.path.startsWith('.')) return { path: args.path, external: true };
      const target = relative(ROOT, resolve(args.resolveDir, args.path));
      if (!LIB_DIRS.includes(target.split(sep)[0])) {
        return { errors: [{ text: `${relative(ROOT, args.importer)} imports ${args.path}, outside the library (${LIB_DIRS.join(', ')})` }] };
      }
      return { path: args.path.replace(/\.ts$/, '.js'), external: true };
    });
  },
};

/** @param {string} outdir */
async function buildJavaScript(outdir) {
  const esbuild = await import('esbuild');
  try {
    await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: sources(),
      outdir,
      outbase: '.',
      bundle: true, // for the plugin to see each import; every import stays external
      plugins: [keepImports],
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      sourcemap: true,
      logLevel: 'warning',
    });
  } finally {
    await esbuild.stop();
  }
}

/**
 * The tsc of the TypeScript devDependency, or undefined in a production
 * install. lib/tsc.js rather than bin/tsc: a file without an extension is
 * loaded as CommonJS first, which a require hook (tap's process tracking,
 * say) turns into an error.
 */
export function tscPath() {
  try {
    const pkg = createRequire(import.meta.url).resolve('typescript/package.json');
    return join(dirname(pkg), 'lib', 'tsc.js');
  } catch {
    return undefined;
  }
}

/** @param {string} tsc @param {string} outdir */
function buildDeclarations(tsc, outdir) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.lib.json'), '--outDir', outdir], { cwd: ROOT, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve(undefined) : reject(new Error(`tsc (declarations) exited with ${signal ?? code}`))));
  });
}

export async function buildLibrary() {
  const started = performance.now();
  const tmp = `${OUT}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const tsc = tscPath();
    await Promise.all([buildJavaScript(tmp), tsc ? buildDeclarations(tsc, tmp) : undefined]);
    const old = `${OUT}.old.${process.pid}`;
    try {
      renameSync(OUT, old);
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error; // no build yet, or another build moved it
    }
    try {
      renameSync(tmp, OUT);
    } catch (error) {
      // A build running at the same time put its output there first: the same output.
      if (!existsSync(OUT)) throw error;
      rmSync(tmp, { recursive: true, force: true });
    }
    rmSync(old, { recursive: true, force: true });
    const ms = Math.round(performance.now() - started);
    const declarations = tsc ? 'with type declarations' : 'without type declarations (TypeScript is not installed)';
    process.stderr.write(`sluice: built dist/lib ${declarations} in ${ms} ms\n`);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildLibrary().catch((error) => {
    process.stderr.write(`sluice: the build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
