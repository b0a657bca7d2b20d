import t from 'tap';
import { JsonValue } from '../../schemas/coordination.ts';
import { findDependencies, pureKey, randomKey, replaceDependencies } from '../../schemas/keys.ts';

t.test('randomKey: fn-<32 hex digits>, unique, and in the order the keys were made', async (t) => {
  const keys = Array.from({ length: 10_000 }, () => randomKey('inc'));
  for (const key of keys.slice(0, 100)) t.match(key, /^inc-[0-9a-f]{32}$/);
  t.equal(new Set(keys).size, keys.length, 'no two alike');
  // Keys from later milliseconds sort after earlier ones, whatever their random part.
  const times = [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_999, 1_800_000_000_000, 2 ** 47];
  const made = times.flatMap((ms) => [randomKey('inc', ms), randomKey('inc', ms)]);
  const byTime = made.map((key, i) => ({ key, ms: times[Math.floor(i / 2)] }));
  const sorted = [...byTime].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  t.same(sorted.map((k) => k.ms), [...times.flatMap((ms) => [ms, ms])]);
  t.equal(randomKey('inc', 1_700_000_000_000).slice(4, 16), (1_700_000_000_000).toString(16).padStart(12, '0'));
});

t.test('pureKey: the same call gives the same key, whatever the order of object keys', async (t) => {
  t.equal(pureKey('add', [1, { a: 1, b: 2 }]), pureKey('add', [1, { b: 2, a: 1 }]));
  t.not(pureKey('add', [1, 2]), pureKey('add', [2, 1]));
  t.match(pureKey('add', [1, 2]), /^add-[0-9a-f]{32}$/);
});

t.test('findDependencies and replaceDependencies: every reference, in order, at any depth', async (t) => {
  const value = [1, { $future: 'a' }, { x: [{ $future: 'b' }, { $future: 'a' }], y: { $future: 'c', other: 1 } }];
  t.same(findDependencies(value, { k: { $future: 'd' } }), ['a', 'b', 'd'], 'first-seen order; an object with more fields is not a reference');
  t.same(replaceDependencies(value, (key) => key.toUpperCase()), [1, 'A', { x: ['B', 'A'], y: { $future: 'c', other: 1 } }]);
  t.equal(replaceDependencies({ $future: 'a' }, () => 42), 42);
  t.equal(findDependencies(1, 'x', null).length, 0);
  const proto = JSON.parse('{"__proto__": {"polluted": true}, "a": {"$future": "k"}}');
  const copied = replaceDependencies(proto, () => 1) as Record<string, unknown>;
  t.same(Object.keys(copied), ['__proto__', 'a'], 'an own __proto__ field stays a field');
  t.equal(Object.getPrototypeOf(copied), Object.prototype);

  // 200,000 levels: far past the stack of a recursive walk.
  let deep: unknown = { $future: 'bottom' };
  for (let i = 0; i < 200_000; i++) deep = i % 2 ? [deep] : { v: deep };
  t.same(findDependencies(deep), ['bottom']);
  let replaced = replaceDependencies(deep, () => 'found');
  for (let i = 199_999; i >= 0; i--) replaced = i % 2 ? (replaced as unknown[])[0] : (replaced as { v: unknown }).v;
  t.equal(replaced, 'found');
  const checked = JsonValue('item').safeParse([deep, { $future: 'not a key' }]);
  t.notOk(checked.success, 'the future references of a stored value are checked at any depth');
  t.same(checked.error?.issues.map((issue) => issue.path), [[1, '$future']]);
});
