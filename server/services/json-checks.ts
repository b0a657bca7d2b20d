/**
 * Checks on JSON that must not recurse: what they look at comes from callers
 * and workers, and may nest hundreds of thousands of levels deep, which would
 * overflow the stack of any recursive walk (JSON.stringify's included) long
 * before it overflows memory. Each is one loop with an explicit depth count.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** The walk's stack, reused between calls (the walk is synchronous): nothing allocated per node. */
const pending: unknown[] = [];
const levels: number[] = [];

/**
 * How deeply arrays and objects nest in a parsed JSON value (a scalar is 0
 * levels, [] is 1), counting no further than stopAbove + 1. A walk with an
 * explicit stack; JSON.parse does not recurse either (V8's parser is
 * iterative), so a value of any depth can be parsed and then measured here
 * before anything recursive sees it.
 */
export function nestingOf(value: unknown, stopAbove: number): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  let top = 0;
  let high = 0;
  pending[0] = value;
  levels[0] = 1;
  while (top >= 0) {
    const item = pending[top] as Record<string, unknown>;
    const level = levels[top];
    top--;
    if (level > deepest) {
      deepest = level;
      if (deepest > stopAbove) break;
    }
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) {
        const child: unknown = item[i];
        if (child !== null && typeof child === 'object') {
          pending[++top] = child;
          levels[top] = level + 1;
        }
      }
    } else {
      for (const key in item) {
        const child = item[key];
        if (child !== null && typeof child === 'object') {
          pending[++top] = child;
          levels[top] = level + 1;
        }
      }
    }
    if (top > high) high = top;
  }
  // Let go of what the stack held.
  for (let i = 0; i <= high; i++) pending[i] = undefined;
  return deepest;
}

/** Does a parsed JSON value nest arrays and objects more than `limit` levels deep? */
export function nestsDeeper(value: unknown, limit: number): boolean {
  return nestingOf(value, limit) > limit;
}

/** What is wrong with a JSON text: not JSON at all, or nested deeper than allowed. `at` is the offending character's index. */
export type JsonTextProblem = { kind: 'syntax'; at: number } | { kind: 'depth'; at: number };

/** Open containers, reused between calls: 1 for an array, 2 for an object. */
let open = new Uint8Array(64);
const ARRAY = 1;
const OBJECT = 2;

/**
 * Check that `text` is exactly one JSON value (RFC 8259, as JSON.parse reads
 * it) whose arrays and objects nest at most `maxDepth` levels, in one pass
 * and without building anything. The depth is checked as the text is read,
 * so a value nested a million levels deep costs no more than its first
 * maxDepth + 1 brackets.
 */
export function checkJsonText(text: string, maxDepth: number): JsonTextProblem | undefined {
  if (open.length <= maxDepth) open = new Uint8Array(maxDepth + 1);
  const n = text.length;
  let depth = 0;
  let i = skipSpace(text, 0);
  for (;;) {
    // A value starts at i.
    if (i >= n) return { kind: 'syntax', at: i };
    const c = text.charCodeAt(i);
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return { kind: 'depth', at: i };
      open[depth] = c === OPEN_ARRAY ? ARRAY : OBJECT;
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === (c === OPEN_ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT)) {
        depth--;
        i++;
      } else {
        if (c === OPEN_OBJECT) {
          i = memberName(text, i);
          if (i < 0) return { kind: 'syntax', at: -i - 1 };
        }
        continue;
      }
    } else if (c === QUOTE) {
      i = stringToken(text, i);
      if (i < 0) return { kind: 'syntax', at: -i - 1 };
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = numberToken(text, i);
      if (i < 0) return { kind: 'syntax', at: -i - 1 };
    } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
      i += 4;
    } else if (text.startsWith('false', i)) {
      i += 5;
    } else {
      return { kind: 'syntax', at: i };
    }
    // After a value: close what it ends, until a comma or the end.
    for (;;) {
      i = skipSpace(text, i);
      if (depth === 0) return i === n ? undefined : { kind: 'syntax', at: i };
      const d = text.charCodeAt(i);
      if (d === COMMA) {
        i = skipSpace(text, i + 1);
        if (open[depth] === OBJECT) {
          i = memberName(text, i);
          if (i < 0) return { kind: 'syntax', at: -i - 1 };
        }
        break;
      }
      if ((d === CLOSE_ARRAY && open[depth] === ARRAY) || (d === CLOSE_OBJECT && open[depth] === OBJECT)) {
        depth--;
        i++;
        continue;
      }
      return { kind: 'syntax', at: i };
    }
  }
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** `"name" :` and the space after it; the index of the value that follows, or -(index of the fault) - 1. */
function memberName(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -i - 1;
  const end = stringToken(text, i);
  if (end < 0) return end;
  const colon = skipSpace(text, end);
  if (text.charCodeAt(colon) !== COLON) return -colon - 1;
  return skipSpace(text, colon + 1);
}

/** The next control character, backslash or quote at or after lastIndex. */
const STRING_STOP = /[\x00-\x1f"\\]/g;

/** A string starting at the quote at i: the index after its closing quote, or -(index of the fault) - 1. */
function stringToken(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    // Where the string stops being plain characters. Short strings (keys,
    // most values) are read here; past 16 characters the regex engine
    // takes over, which goes through a long string far faster.
    const near = Math.min(j + 16, text.length);
    while (j < near && isPlain(text.charCodeAt(j))) j++;
    if (j === near) {
      STRING_STOP.lastIndex = j;
      const stop = STRING_STOP.exec(text);
      if (stop === null) return -text.length - 1;
      j = stop.index;
    }
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c !== BACKSLASH) return -j - 1; // a control character
    const e = text.charCodeAt(++j);
    if (e === 0x75) {
      // \uXXXX
      for (let k = 1; k <= 4; k++) if (!isHex(text.charCodeAt(j + k))) return -(j + k) - 1;
      j += 5;
    } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      j++;
    } else {
      return -j - 1;
    }
  }
}

function isPlain(c: number): boolean {
  return c >= 0x20 && c !== QUOTE && c !== BACKSLASH;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at i: the index after it, or -(index of the fault) - 1. */
function numberToken(text: string, i: number): number {
  if (text.charCodeAt(i) === MINUS) i++;
  const first = text.charCodeAt(i);
  if (first === ZERO) i++;
  else if (first > ZERO && first <= NINE) i = digits(text, i + 1);
  else return -i - 1;
  if (text.charCodeAt(i) === DOT) {
    const start = i + 1;
    i = digits(text, start);
    if (i === start) return -i - 1;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    const start = i;
    i = digits(text, start);
    if (i === start) return -i - 1;
  }
  return i;
}

function digits(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i); // NaN past the end
    if (!(c >= ZERO && c <= NINE)) return i;
    i++;
  }
}
