// One-in operators: unique, starmap, remove, slice, frequencies, filter
// without a predicate, scan with its state. Cases and expected outputs are
// streamz's (streamz/tests/test_core.py), in sluice's names.
import t from 'tap';
import { Stream } from '../../stream/index.ts';

t.test('unique: history is an LRU, a repeated value is refreshed (streamz test_unique_history)', async (t) => {
  const source = new Stream<number>();
  const L = source.unique({ history: 2 }).sinkToList();
  for (const x of [1, 2, 1, 2, 1, 2]) await source.emit(x);
  t.same(L, [1, 2]);
  await source.emit(3);
  await source.emit(2);
  t.same(L, [1, 2, 3]);
  await source.emit(1);
  t.same(L, [1, 2, 3, 1]);
  await source.emit(2); // refreshes 2
  await source.emit(3); // knocks out 1
  await source.emit(2); // refreshes 2
  t.same(L, [1, 2, 3, 1, 3]);

  const other = new Stream<number>();
  const M = other.unique({ history: 2 }).sinkToList();
  for (const x of [1, 2, 1, 3, 1]) await other.emit(x);
  t.same(M, [1, 2, 3], '1 was seen again before 3 came, so 3 evicted 2, not 1');
});
