import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { PACKAGE_ROOT } from '../paths.ts';

const DASHBOARD = join(PACKAGE_ROOT, 'dashboard/');

export interface DashboardAssets {
  html: string;
  js: string;
  css: string;
}

let assets: Promise<DashboardAssets> | undefined;

/**
 * The dashboard page and its bundle. esbuild (already here: tsx runs on it)
 * bundles dashboard/src with Preact, uPlot and the styles into one script and
 * one stylesheet, once, on first request, and keeps them in memory: the page
 * needs nothing beyond the scheduler, no CDN.
 */
export function dashboardAssets(): Promise<DashboardAssets> {
  assets ??= (async () => {
    const [html, result] = await Promise.all([
      readFile(`${DASHBOARD}index.html`, 'utf8'),
      build({
        entryPoints: { app: `${DASHBOARD}src/main.tsx` },
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2020',
        minify: true,
        write: false,
        outdir: `${DASHBOARD}dist`,
        jsx: 'automatic',
        jsxImportSource: 'preact',
        logLevel: 'silent',
      }),
    ]);
    const file = (ext: string): string => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
    return { html, js: file('.js'), css: file('.css') };
  })();
  assets.catch(() => {
    assets = undefined;
  });
  return assets;
}
