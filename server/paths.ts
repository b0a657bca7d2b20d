import { fileURLToPath } from 'node:url';

/**
 * The package's root directory. This module sits one level below it, as does
 * the scheduler's bundle (dist/sluice.mjs, see bin/bundle.js), so this one URL
 * is right from the sources and from the bundle. Modules deeper in the tree
 * find sluice's files from here, not from their own import.meta.url.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../', import.meta.url));
