#!/usr/bin/env node
// sluice's command line, cli/main.ts.
//
// `scheduler` and `up` run a scheduler in this process, for a long time: they
// load sluice from its bundle (bin/bundle.js), without TypeScript hooks. Every
// other command, workers first, registers tsx so that TypeScript tasks modules
// load directly (and so does the scheduler if the bundle cannot be built),
// and resolves `sluice/...` in a tasks module to those same sources
// (source-conditions.js).
import { register as registerHooks } from 'node:module';
import { schedulerBundle } from './bundle.js';

const command = process.argv[2];
const bundle = command === 'scheduler' || command === 'up' ? await schedulerBundle() : undefined;
if (bundle) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  registerHooks('./source-conditions.js', import.meta.url);
  await import('../cli/main.ts');
}
