import t from 'tap';
import { hasHolder, holderCount, holdersFrom, listHolders, withHolder, withoutHolder, type Holders } from '../../server/state/holders.ts';

t.test('one holder is a string, a second makes a Set, and every operation agrees on who holds', async (t) => {
  let holders: Holders = holdersFrom([]);
  t.equal(holders, undefined);
  t.equal(holderCount(holders), 0);
  t.same([...listHolders(holders)], []);

  holders = withHolder(holders, 'client:a');
  t.equal(holders, 'client:a', 'one holder: the bare string');
  t.equal(withHolder(holders, 'client:a'), 'client:a', 'adding it again changes nothing');
  t.ok(hasHolder(holders, 'client:a'));
  t.notOk(hasHolder(holders, 'client:ab'), 'a holder is matched whole, not as a substring');
  t.same([...listHolders(holders)], ['client:a'], 'listed as one holder, not as its characters');

  holders = withHolder(holders, 'ff');
  t.type(holders, Set);
  t.equal(holderCount(holders), 2);
  t.same([...listHolders(holders)], ['client:a', 'ff']);

  holders = withoutHolder(holders, 'client:a');
  t.same([...listHolders(holders)], ['ff']);
  t.notOk(hasHolder(holders, 'client:a'));
  holders = withoutHolder(holders, 'ff');
  t.equal(holderCount(holders), 0);

  t.equal(withoutHolder('ff', 'client:a'), 'ff', 'removing someone else leaves the holder');
  t.equal(withoutHolder('ff', 'ff'), undefined);
  t.same([...listHolders(holdersFrom(['x', 'y', 'x']))], ['x', 'y']);
});
