/**
 * The tasks module `npm start` loads: each exported function is a task,
 * callable by its export name (`{"fn": "inc", "args": [10]}`).
 */

export function inc(x: number): number {
  return x + 1;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function double(x: number): number {
  return 2 * x;
}

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Resolves with `value` after `ms` milliseconds. */
export async function sleep(ms: number, value: unknown = null): Promise<unknown> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
}

/** Always throws, to see how errors travel. */
export function fail(message = 'this task always fails'): never {
  throw new Error(message);
}

export function random(): number {
  return Math.random();
}
