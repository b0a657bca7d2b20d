// The per-request and per-result cost of the nesting and JSON checks, in
// process (no scheduler): node --import tsx bench/json-checks.ts
// Prints JSON: nanoseconds per call, each beside what it guards (parsing the
// same body, the old way of building a dependant's arguments).
import secureJson from 'secure-json-parse';
import { replaceDependencies } from '../schemas/keys.ts';
import { checkJsonText, nestingOf } from '../server/services/json-checks.ts';
import { machine, round } from './lib.ts';

const MAX_DEPTH = 64;

/** Nanoseconds per call of fn, after a warm-up, as the best of five rounds. */
function ns(fn: () => unknown, minMs = 200): number {
  let sink: unknown;
  let n = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = fn();
    if (Number(process.hrtime.bigint() - start) > minMs * 1e5) break;
    n *= 2;
  }
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  if (sink === Symbol.for('never')) process.stdout.write('');
  return best;
}

const parseOptions = { protoAction: 'error', constructorAction: 'error' } as const;
const bodies: Record<string, string> = {
  'append, one task': JSON.stringify({ tasks: [{ fn: 'inc', args: [1], pure: false }] }),
  'put, one item': JSON.stringify({ item: { video: 1, title: 'a title of some length', tags: ['a', 'b'] } }),
  'put, 100 items': JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ video: i, title: `title ${i}`, meta: { size: i * 10, tags: ['x', 'y'] } })) }),
  'append, 1000 tasks': JSON.stringify({ tasks: Array.from({ length: 1000 }, (_, i) => ({ fn: 'inc', args: [i], pure: false })) }),
  'variable, 64 KiB of text': JSON.stringify({ value: { text: 'lorem ipsum '.repeat(5_500) } }),
};
const results: Record<string, string> = {
  'a number': '42',
  'a small object': JSON.stringify({ ok: true, values: [1, 2, 3], name: 'result' }),
  '1 KiB': JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ i, s: `value ${i}` }))),
  '64 KiB': JSON.stringify(Array.from({ length: 2_500 }, (_, i) => ({ i, s: `value ${i}` }))),
  '1 MiB of text': JSON.stringify('x'.repeat(1 << 20)),
};

// The JSON body parser's check: nothing for a body too short to pass the limit, else a walk of the parsed body.
// Beside it, the other way to do it: a pass over the text that skips strings, before parsing.
const body = Object.fromEntries(
  Object.entries(bodies).map(([name, text]) => {
    const parse = ns(() => secureJson.parse(text, undefined, parseOptions));
    const parsed: unknown = JSON.parse(text);
    const walk = text.length <= 2 * (MAX_DEPTH + 1) + 1 ? 0 : ns(() => nestingOf(parsed, MAX_DEPTH + 3));
    const scan = ns(() => textDepth(text, MAX_DEPTH + 3));
    return [name, { bytes: text.length, parseNs: round(parse, 0), checkNs: round(walk, 0), addedPercent: round((100 * walk) / parse, 1), textScanNs: round(scan, 0) }];
  }),
);
const result = Object.fromEntries(
  Object.entries(results).map(([name, text]) => {
    const parse = ns(() => JSON.parse(text));
    const check = ns(() => checkJsonText(text, MAX_DEPTH));
    return [name, { bytes: text.length, checkNs: round(check, 0), jsonParseNs: round(parse, 0) }];
  }),
);

/** Nesting counted over the text, strings skipped: the alternative to walking the parsed body. */
function textDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        c = text.charCodeAt(i);
        if (c === 0x22) break;
        if (c === 0x5c) i++;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

// A dependant's arguments: decoded, replaced, encoded (before) against the reference spliced as text (now).
const REF = /\{"\$future":"([^"\\]*)"\}/g;
const dependants = Object.fromEntries(
  [
    ['a chain link: [ref], result 42', '[{"$future":"inc-0123456789abcdef"}]', '42'],
    ['[ref, 1], result of 64 KiB', '[{"$future":"inc-0123456789abcdef"},1]', results['64 KiB']],
  ].map(([name, args, dep]) => {
    const values = new Map([['inc-0123456789abcdef', dep]]);
    const before = ns(() => {
      const parsed = new Map([...values].map(([k, v]) => [k, JSON.parse(v)]));
      return JSON.stringify(replaceDependencies(JSON.parse(args), (key) => parsed.get(key)));
    });
    const now = ns(() => args.replace(REF, (ref, key: string) => values.get(key) ?? ref));
    return [name, { beforeNs: round(before, 0), nowNs: round(now, 0) }];
  }),
);

process.stdout.write(`${JSON.stringify({ suite: 'json-checks', machine: machine(), maxDepth: MAX_DEPTH, body, result, dependants }, null, 2)}\n`);
