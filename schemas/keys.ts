import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import stringify from 'safe-stable-stringify';
import { FUTURE_REF } from './constants.ts';

/**
 * How keys are derived, shared by the scheduler and the client so that a
 * client knows a future's key the moment it submits (Dask's tokenize).
 * Canonical JSON (object keys sorted) makes {a, b} and {b, a} the same task.
 */

const canonical = stringify.configure({ deterministic: true, circularValue: TypeError, bigint: false });

/** fn-<32 hex digits of sha256 over the canonical JSON of [fn, args, kwargs]>. */
export function pureKey(fn: string, args: unknown, kwargs?: unknown): string {
  const text = canonical([fn, args, kwargs ?? null]) ?? 'null';
  return `${fn}-${bytesToHex(sha256(utf8ToBytes(text))).slice(0, 32)}`;
}

/**
 * Random bytes are drawn from the system's CSPRNG 4 KB at a time: one draw
 * per key cost more than the rest of making the key (a call into the
 * crypto library each time).
 */
let pool = new Uint8Array(0);
let poolAt = 0;

function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += bytes;
  return bytesToHex(pool.subarray(poolAt - bytes, poolAt));
}

/**
 * fn-<32 hex digits>: the time in ms (12 digits), then 80 random bits. Keys
 * made one after another sort one after another, as UUIDv7 does, so the
 * store's index of keys grows at its end: a commit of a thousand new tasks
 * writes a few index pages, not a thousand scattered ones.
 */
export function randomKey(prefix: string, now: number = Date.now()): string {
  return `${prefix}-${now.toString(16).padStart(12, '0')}${randomHex(10)}`;
}

/** A random identifier for a client session. */
export function randomId(): string {
  return randomHex(12);
}

/** Is this value a dependency reference, {"$future": "<key>"}? */
export function isFutureRef(value: unknown): value is { [FUTURE_REF]: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const ref = (value as Record<string, unknown>)[FUTURE_REF];
  return typeof ref === 'string' && Object.keys(value).length === 1;
}

/** Shared by every task without dependencies. */
const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);

/**
 * Every key referenced by {"$future": key} anywhere inside the values, in
 * first-seen order. Iterative, as every walk over a caller's value is: a
 * value may nest deeper than the stack goes.
 */
export function findDependencies(...values: unknown[]): readonly string[] {
  let found: Set<string> | undefined;
  const stack: unknown[] = [];
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && typeof values[i] === 'object') stack.push(values[i]);
  while (stack.length > 0) {
    const v = stack.pop() as object;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) if (v[i] !== null && typeof v[i] === 'object') stack.push(v[i]);
    } else if (isFutureRef(v)) {
      (found ??= new Set()).add(v[FUTURE_REF]);
    } else {
      const children = Object.values(v);
      for (let i = children.length - 1; i >= 0; i--) if (children[i] !== null && typeof children[i] === 'object') stack.push(children[i]);
    }
  }
  return found ? [...found] : NO_DEPENDENCIES;
}

/** A deep copy of value with every {"$future": key} replaced by resolve(key); iterative, like findDependencies. */
export function replaceDependencies(value: unknown, resolve: (key: string) => unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isFutureRef(value)) return resolve(value[FUTURE_REF]);
  const copy = (v: object): Record<string, unknown> => (Array.isArray(v) ? new Array(v.length) : {}) as Record<string, unknown>;
  const root = copy(value);
  const stack: Array<[object, Record<string, unknown>]> = [[value, root]];
  while (stack.length > 0) {
    const [source, target] = stack.pop() as [object, Record<string, unknown>];
    for (const [k, v] of Object.entries(source)) {
      let out: unknown = v;
      if (v !== null && typeof v === 'object') {
        if (isFutureRef(v)) out = resolve(v[FUTURE_REF]);
        else {
          out = copy(v);
          stack.push([v, out as Record<string, unknown>]);
        }
      }
      // An own "__proto__" (JSON.parse makes one) stays a plain field, as JSON has it.
      if (k === '__proto__') Object.defineProperty(target, k, { value: out, enumerable: true, writable: true, configurable: true });
      else target[k] = out;
    }
  }
  return root;
}
