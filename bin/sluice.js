#!/usr/bin/env node
// sluice's command line. Registers tsx so that sluice's TypeScript sources and
// TypeScript tasks modules load directly, then hands over to cli/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
