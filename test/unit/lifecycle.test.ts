import t from 'tap';
import { Lifecycle, type Service } from '../../server/lifecycle.ts';

function recorder(name: string, log: string[]): Service {
  return {
    start: () => void log.push(`start ${name}`),
    drain: async (graceMs) => {
      log.push(`drain ${name} ${graceMs}`);
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`drained ${name}`);
    },
    disconnect: () => void log.push(`disconnect ${name}`),
    close: () => void log.push(`close ${name}`),
  };
}

t.test('services start in order, drain together, disconnect in order and close in reverse, each step once', async (t) => {
  const log: string[] = [];
  let commits = 0;
  const lifecycle = new Lifecycle({ committed: async () => void commits++, afterCommit: (fn) => fn() });
  lifecycle.add(recorder('storage', log));
  lifecycle.add(recorder('scheduler', log));
  lifecycle.add(recorder('queues', log));
  await lifecycle.start();
  await lifecycle.start();
  t.same(log.splice(0), ['start storage', 'start scheduler', 'start queues']);

  t.equal(lifecycle.closing, false);
  t.doesNotThrow(() => lifecycle.assertOpen());
  const ended: string[] = [];
  lifecycle.onDrain(() => ended.push('a wait'));
  const takenBack = lifecycle.onDrain(() => ended.push('taken back'));
  takenBack();

  const drained = lifecycle.drain(5000);
  t.equal(lifecycle.closing, true, 'closing as soon as the drain begins');
  t.throws(() => lifecycle.assertOpen(), { code: 'SLUICE_ERR_SHUTTING_DOWN' });
  t.same(ended, ['a wait'], 'the waits end first, at once');
  t.same(log, ['drain storage 5000', 'drain scheduler 5000', 'drain queues 5000'], 'every drain begins at once, in order');
  t.equal(lifecycle.drain(0), drained, 'a second drain is the first one');
  await drained;
  t.equal(commits, 1, 'what the drains wrote is committed');
  log.splice(0);
  t.equal(lifecycle.onDrain(() => ended.push('late'))(), undefined);

  await Promise.all([lifecycle.close(), lifecycle.close()]);
  t.same(log, ['disconnect storage', 'disconnect scheduler', 'disconnect queues', 'close queues', 'close scheduler', 'close storage']);
  t.same(ended, ['a wait'], 'a wait registered after the drain began is never run');
});

t.test('close without a drain drains first', async (t) => {
  const log: string[] = [];
  const lifecycle = new Lifecycle();
  lifecycle.add(recorder('only', log));
  await lifecycle.close();
  t.same(log, ['drain only 0', 'drained only', 'disconnect only', 'close only']);
});
