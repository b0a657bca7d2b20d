import fc from 'fast-check';
import t from 'tap';
import { checkJsonText, nestingOf, nestsDeeper } from '../../server/services/json-checks.ts';

/** JSON.parse's verdict, and the nesting of what it read. */
function reference(text: string): { valid: boolean; depth: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { valid: false, depth: 0 };
  }
  return { valid: true, depth: depthOf(value) };
}

/** Recursive, as a reference for the walks under test (the values it gets are shallow). */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

const deep = (levels: number, inner = ''): string => '['.repeat(levels) + inner + ']'.repeat(levels);

t.test('checkJsonText agrees with JSON.parse on what is JSON', async (t) => {
  const samples = [
    '0', '-0', '1.5e+10', '1E5', '-1.25', '"a"', '"\\u00e9\\n\\"\\\\\\/"', 'true', 'false', 'null', '[]', '{}', ' [1, {"a": [null, "b"]}] ',
    '\n{"a":1}\t', '"\u2028"', '"\\ud800"', '{"":""}', '[[], {}, [[]]]',
    '', ' ', '01', '1.', '.5', '+1', '1e', '1e+', '-', 'Infinity', 'NaN', '[1,]', '{"a":1,}', "'a'", '"\\x41"', '"a\tb"', '"\u0000"',
    '\u00a01', '/*c*/1', '0x10', '{a:1}', '"\\u00zz"', '1,"status":"error","injected":true', 'not json', '1 2', '{"a":1}{"b":2}', '[1]]',
    '\f1', '[1 2]', '{"a" 1}', '{"a":}', '{,}', '[,]', '{"a":1 "b":2}', 'tru', 'nul', 'falsey', '"unterminated', '"\\', '"\\u12"', '[', '{"a":[}', '[}', '{]',
  ];
  for (const text of samples) {
    const name = JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    t.equal(checkJsonText(text, 1000) === undefined, reference(text).valid, name);
  }
  const json = fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v, null, Math.random() < 0.3 ? 2 : undefined));
  fc.assert(
    fc.property(fc.oneof(json, fc.string(), json.chain((text) => fc.tuple(fc.nat(text.length), fc.string({ maxLength: 2 })).map(([at, junk]) => text.slice(0, at) + junk + text.slice(at + 1)))), (text) => {
      const { valid, depth } = reference(text);
      const problem = checkJsonText(text, 1000);
      if ((problem === undefined) !== valid) return false;
      // The depth check: within the limit passes, one level over fails with 'depth'.
      if (valid && depth > 0) {
        if (checkJsonText(text, depth) !== undefined) return false;
        if (checkJsonText(text, depth - 1)?.kind !== 'depth') return false;
      }
      return true;
    }),
    { numRuns: 5000, seed: 16 },
  );
});

t.test('checkJsonText checks depth as it reads, without recursion', async (t) => {
  t.equal(checkJsonText(deep(64), 64), undefined);
  t.same(checkJsonText(deep(65), 64), { kind: 'depth', at: 64 });
  t.same(checkJsonText(deep(1_000_000), 64), { kind: 'depth', at: 64 }, 'a million levels cost 65 characters');
  t.same(checkJsonText('{"a":'.repeat(100) + '1' + '}'.repeat(100), 10), { kind: 'depth', at: 50 });
  t.same(checkJsonText('["[[[[[[[[[["]', 2), undefined, 'brackets inside strings do not count');
  t.same(checkJsonText('[1,"x"]x', 10), { kind: 'syntax', at: 7 });
});

t.test('nestingOf measures a parsed value, and stops past the limit', async (t) => {
  t.equal(nestingOf(1, 0), 0);
  t.equal(nestingOf([], 5), 1);
  t.equal(nestingOf({ a: [{ b: [] }, 1, 'x'] }, 10), 4);
  t.equal(nestingOf(JSON.parse(deep(10)), 4), 5, 'stops one past the limit');
  t.equal(nestingOf(JSON.parse(deep(200_000)), 64), 65);
  t.equal(nestingOf(JSON.parse(deep(200_000)), 300_000), 200_000, 'and measures any depth');
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, limit) => {
      const { depth } = reference(JSON.stringify(value));
      return nestingOf(value, limit) === Math.min(depth, limit + 1);
    }),
    { numRuns: 3000, seed: 16 },
  );
});

t.test('nestsDeeper walks a parsed value without recursion', async (t) => {
  t.notOk(nestsDeeper(1, 0));
  t.notOk(nestsDeeper([], 1));
  t.ok(nestsDeeper([], 0));
  t.ok(nestsDeeper({ a: [{ b: [] }] }, 3));
  t.notOk(nestsDeeper({ a: [{ b: [] }] }, 4));
  t.ok(nestsDeeper(JSON.parse(deep(200_000)), 64), 'a value 200,000 levels deep');
});
