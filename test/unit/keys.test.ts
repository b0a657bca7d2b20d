import t from 'tap';
import { pureKey, randomKey } from '../../schemas/keys.ts';

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
