import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FN_PATTERN } from '../schemas/common.ts';

export type TaskFunction = (...args: any[]) => unknown;

/**
 * Import a tasks module: each exported function is a task under its export
 * name. TypeScript modules load too (the CLI runs under tsx).
 */
export async function loadTasks(modulePath: string): Promise<Map<string, TaskFunction>> {
  const module = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
  const functions = new Map<string, TaskFunction>();
  for (const [name, value] of Object.entries(module)) {
    if (typeof value !== 'function' || name === 'default') continue;
    if (!FN_PATTERN.test(name)) throw new Error(`${modulePath}: the export ${name} is not a valid function name`);
    functions.set(name, value as TaskFunction);
  }
  if (functions.size === 0) throw new Error(`${modulePath} exports no functions; a tasks module exports its task functions by name`);
  return functions;
}
