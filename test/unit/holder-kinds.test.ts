import t from 'tap';
import {
  CHANNEL_PREFIX,
  channelEntryHolder,
  CLIENT_PREFIX,
  clientHolder,
  dependentHolder,
  FIRE_AND_FORGET,
  type Holder,
  holderId,
  isDependentHolder,
  parseChannelEntryHolder,
  parseClientHolder,
  parseHolder,
  prefixEnd,
  QUEUE_PREFIX,
  queueItemHolder,
  TASK_PREFIX,
  VARIABLE_PREFIX,
  variableHolder,
} from '../../server/state/holder-kinds.ts';

/** Names a hostile caller might pick: the separator, LIKE's wildcards and escape, another kind's prefix, a quote. */
const HOSTILE = ['a', 'a:b', 'a:1', '1', 'a%', '%', 'a_b', '_', 'a\\b', 'task:x', 'client:c', 'channel:a:2', "o'brien", 'ff', 'x:', ':x', 'é'];

t.test('every kind of holder round-trips through its text, hostile names included', async (t) => {
  const holders: Holder[] = [{ kind: 'fireAndForget' }];
  for (const name of HOSTILE) {
    holders.push({ kind: 'client', clientId: name }, { kind: 'task', key: name }, { kind: 'variable', name });
    for (const n of [0, 1, 7, 12345, Number.MAX_SAFE_INTEGER]) holders.push({ kind: 'channel', name, seq: n }, { kind: 'queue', name, id: n });
  }
  const texts = new Set<string>();
  for (const holder of holders) {
    const text = holderId(holder);
    texts.add(text);
    t.same(parseHolder(text), holder, `${holder.kind} ${JSON.stringify(holder)} as ${text}`);
  }
  t.equal(texts.size, holders.length, 'no two holders share a text');
});

t.test('the constructors write what the stored holders have always been', async (t) => {
  t.equal(clientHolder('c1'), 'client:c1');
  t.equal(dependentHolder('inc-1'), 'task:inc-1');
  t.equal(FIRE_AND_FORGET, 'ff');
  t.equal(channelEntryHolder('jobs:eu', 12), 'channel:jobs:eu:12');
  t.equal(queueItemHolder('work', 3), 'queue:work:3');
  t.equal(variableHolder('v:1'), 'variable:v:1');
});

t.test('the seq or id is what follows the last colon, and names may hold colons', async (t) => {
  t.same(parseChannelEntryHolder('channel:a:1:2'), { channel: 'a:1', seq: 2 });
  t.same(parseHolder('queue:task:9:10'), { kind: 'queue', name: 'task:9', id: 10 });
  t.same(parseChannelEntryHolder('channel:task:x:3'), { channel: 'task:x', seq: 3 }, 'a channel named like another kind is still a channel');
  t.equal(parseClientHolder('channel:client:c:1'), undefined);
  t.notOk(isDependentHolder('channel:task:x:3'));
  t.ok(isDependentHolder('task:channel:a:1'));
});

t.test('text no constructor writes is no holder', async (t) => {
  for (const text of [
    '',
    'f',
    'ffx',
    'client:',
    'task:',
    'variable:',
    'channel:',
    'channel:a',
    'channel::1',
    'channel:a:',
    'channel:a:01',
    'channel:a:-1',
    'channel:a:1.5',
    'channel:a:1e3',
    'channel:a: 1',
    'channel:a:9007199254740993',
    'queue:a:x',
    'Client:c1',
    'TASK:k',
    'lease:x',
  ]) {
    t.equal(parseHolder(text), undefined, JSON.stringify(text));
  }
});

t.test('the prefixes are safe to write into SQL, and prefixEnd bounds exactly the values that start with one', async (t) => {
  const prefixes = [CLIENT_PREFIX, TASK_PREFIX, CHANNEL_PREFIX, QUEUE_PREFIX, VARIABLE_PREFIX];
  for (const prefix of prefixes) {
    t.match(prefix, /^[a-z]+:$/, `${prefix}: no quote, no LIKE wildcard, one case`);
    for (const other of prefixes) if (other !== prefix) t.notOk(other.startsWith(prefix), `${other} does not start with ${prefix}`);
  }
  t.notOk(FIRE_AND_FORGET.includes(':'), 'fire-and-forget starts with no prefix');
  t.equal(prefixEnd('client:'), 'client;');
  const inRange = (text: string): boolean => text >= TASK_PREFIX && text < prefixEnd(TASK_PREFIX);
  for (const name of HOSTILE) {
    t.ok(inRange(dependentHolder(name)), `task:${name} is in the range`);
    for (const other of [clientHolder(name), channelEntryHolder(name, 1), queueItemHolder(name, 1), variableHolder(name), FIRE_AND_FORGET]) {
      t.notOk(inRange(other), `${other} is not`);
    }
  }
  t.notOk(inRange('task'), 'the prefix without its colon is not in it');
  t.notOk(inRange('TASK:x'), 'nor another case');
});
