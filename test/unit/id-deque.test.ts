import t from 'tap';
import { IdDeque } from '../../server/state/id-deque.ts';

t.test('first in, first out; compacts as it goes', async (t) => {
  const line = new IdDeque();
  for (let i = 1; i <= 5000; i++) line.push(i);
  const out: number[] = [];
  for (let i = 0; i < 4000; i++) out.push(line.shift() as number);
  t.same(out, Array.from({ length: 4000 }, (_, i) => i + 1));
  t.equal(line.length, 1000);
  t.same([...line], Array.from({ length: 1000 }, (_, i) => i + 4001));
});

t.test('ids put back go to their place in line', async (t) => {
  const line = new IdDeque();
  for (const id of [1, 2, 3, 4, 5, 6]) line.push(id);
  const a = [line.shift(), line.shift()] as number[]; // 1, 2
  const b = [line.shift()] as number[]; // 3
  line.restore(b);
  t.same([...line], [3, 4, 5, 6], 'back at the front, where the head had room');
  line.restore(a);
  t.same([...line], [1, 2, 3, 4, 5, 6]);
  line.shift();
  line.shift();
  line.push(7);
  line.restore([2, 1]);
  t.same([...line], [1, 2, 3, 4, 5, 6, 7], 'unsorted input is sorted');
  const taken = [line.shift(), line.shift(), line.shift()] as number[]; // 1, 2, 3
  line.restore([taken[1]]);
  line.restore([taken[0], taken[2]]);
  t.same([...line], [1, 2, 3, 4, 5, 6, 7], 'interleaved returns merge in order');
  const empty = new IdDeque();
  empty.restore([9, 8]);
  t.same([...empty], [8, 9]);
  t.equal(empty.shift(), 8);
  t.equal(empty.shift(), 9);
  t.equal(empty.shift(), undefined);
});
