import t from 'tap';
import { Heap } from '../../server/state/heap.ts';

t.test('pops in order', async (t) => {
  const heap = new Heap<number>((a, b) => a < b);
  const values = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500);
  for (const v of values) heap.push(v);
  t.equal(heap.size, 500);
  const out: number[] = [];
  while (heap.size > 0) out.push(heap.pop() as number);
  t.same(out, [...values].sort((a, b) => a - b));
  t.equal(heap.pop(), undefined);
});
