// A module hook that bin/sluice.js registers for the commands that run on the
// TypeScript sources (all but the scheduler's): `sluice/...` imported from a
// tasks module resolves under the "sluice-source" export condition, to the
// same source files the command runs. Without it a tasks module would get
// the built copy (dist/lib) beside the sources, and getClient(), getTask()
// and secede() would look for the running task in the other copy.

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'sluice' || specifier.startsWith('sluice/')) {
    return nextResolve(specifier, { ...context, conditions: [...context.conditions, 'sluice-source'] });
  }
  return nextResolve(specifier, context);
}
