import { spawnSync } from 'node:child_process';
import t from 'tap';
import { makeNetwork, netnsUnavailable } from '../helpers/netns.ts';
import { isRunning, Proc, waitFor } from '../helpers/processes.ts';

// A server that answers with its own name, started inside a test host.
const SERVER = `require('node:http').createServer((q, s) => s.end('hello from a')).listen(8080, '0.0.0.0', () => console.log('listening'))`;

const namespaces = (): string => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

t.test('test hosts: B reaches A, cutting A off stops that, restoring brings it back', async (t) => {
  const why = netnsUnavailable();
  if (why) return t.plan(0, why);
  const network = await makeNetwork(t);
  const a = await network.addHost('a');
  const b = await network.addHost('b');
  const rootAddress = await network.attachRoot();
  t.match(a.address, new RegExp(`^${network.prefix.replaceAll('.', '\\.')}\\.\\d+$`), 'hosts get addresses on the network');

  const [file, args] = a.command(process.execPath, ['-e', SERVER]);
  const server = new Proc(args, { command: file });
  t.teardown(() => server.stop('SIGKILL'));
  await waitFor(() => server.lines.includes('listening'), 'the server in A to listen', 15_000);

  // curl inside B: --max-time bounds a request whose packets are dropped.
  const fromB = () => b.run('curl', ['-sS', '--max-time', '1', `http://${a.address}:8080/`], 10_000);
  const fromRoot = async (): Promise<string> => (await fetch(`http://${a.address}:8080/`, { signal: AbortSignal.timeout(1000) })).text();

  const first = await fromB();
  t.equal(first.stdout, 'hello from a', `B reaches A: ${first.stderr}`);
  t.equal(await fromRoot(), 'hello from a', `the test process reaches A from ${rootAddress}`);
  const local = await a.run('curl', ['-sS', '--max-time', '1', `http://127.0.0.1:8080/`]);
  t.equal(local.stdout, 'hello from a', 'A reaches itself on its own loopback');

  await network.cut(a);
  const cut = await fromB();
  t.not(cut.code, 0, `with A cut off, B's request fails (curl exit ${cut.code}: ${cut.stderr.trim()})`);
  await t.rejects(fromRoot(), 'and so does the test process’s');
  t.ok(server.running, 'A itself still runs');

  await network.restore(a);
  await waitFor(async () => (await fromB()).stdout === 'hello from a', 'B to reach A again', 15_000);
  t.pass('restored, B reaches A again');

  await network.cut(a, 'down');
  const link = await a.run('ip', ['link', 'show', 'eth0']);
  t.match(link.stdout, /NO-CARRIER/, 'A sees its cable unplugged');
  t.not((await fromB()).code, 0, 'with A’s link down, B’s request fails');
  await network.restore(a);
  await waitFor(async () => (await fromB()).stdout === 'hello from a', 'B to reach A again after the link came back', 15_000);
  t.pass('link back up, B reaches A again');

  const pid = server.pid;
  await network.remove();
  await waitFor(() => !isRunning(pid), 'the server in A to be gone', 5000);
  t.pass('removing the network ends what ran in it');
  t.notOk(namespaces().includes(a.namespace), 'its namespaces are gone');
  t.notOk(spawnSync('ip', ['-4', 'addr', 'show'], { encoding: 'utf8' }).stdout.includes(`${rootAddress}/24`), 'and so is the root namespace’s address on it');
});
