import { execFile, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { isRunning, type Teardown } from './processes.ts';

/**
 * Test hosts on a private network, for tests that cut a machine off: each
 * host is a network namespace with one interface (eth0) plugged into a bridge
 * that lives in a namespace of its own (the "switch"), so nothing of the
 * network touches the machine's own interfaces unless the test attaches the
 * root namespace (where the test itself runs) with attachRoot().
 *
 *   root ──(veth, optional)──┐
 *   host a ──(veth)── switch: bridge ── (veth)── host b
 *
 * Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2's `ip`; where
 * namespaces cannot be made, netnsUnavailable() says why, for the test to
 * skip with. Everything is removed at teardown, and namespaces left behind by
 * a test process that was killed are removed by the next makeNetwork().
 *
 * Addresses are in a /24 of 10.0.0.0/8 picked at random and not routed on
 * this machine; traffic stays in the namespaces made here.
 */
export interface TestNetwork {
  /** The first three octets of the network's addresses, e.g. '10.213.7'. */
  readonly prefix: string;
  /** Make a host: a namespace with eth0 on the bridge and the next address. */
  addHost(label?: string): Promise<TestHost>;
  /** Connect the root namespace (this process) to the network; answers its address there. */
  attachRoot(): Promise<string>;
  /**
   * Cut a host off. 'drop' (the default) takes its port off the bridge: the
   * host keeps its link and every packet it sends or is sent is lost, as
   * behind a failed switch or router. 'down' takes the link down: the host
   * sees its cable unplugged.
   */
  cut(host: TestHost, how?: 'drop' | 'down'): Promise<void>;
  /** Plug a cut host back in. */
  restore(host: TestHost): Promise<void>;
  /** Remove every namespace (and what runs in them) and interface made. Safe to call twice. */
  remove(): Promise<void>;
}

export interface TestHost {
  readonly label: string;
  /** The network namespace's name (for `ip netns exec`). */
  readonly namespace: string;
  /** Its address on the test network. */
  readonly address: string;
  /** The command line that runs file with args inside the host: ['ip', [...]]. */
  command(file: string, args?: string[]): [string, string[]];
  /** Run a command inside the host to its end; answers its exit code and output. */
  run(file: string, args?: string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const PREFIX = 'sluice-';

let unavailable: string | null | undefined;

/** Why test hosts cannot be made here (for a test's skip), or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (unavailable !== undefined) return unavailable ?? undefined;
  unavailable = probe() ?? null;
  return unavailable ?? undefined;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are a Linux feature';
  const version = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return "iproute2's `ip` is not installed (apt-get install iproute2; .ci/run does)";
  const name = `${PREFIX}${process.pid}-probe`;
  const added = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (added.status !== 0) return `cannot make a network namespace here (it needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN): ${added.stderr.trim()}`;
  const veth = spawnSync('ip', ['-n', name, 'link', 'add', 'name', 've0', 'type', 'veth', 'peer', 'name', 've1'], { encoding: 'utf8' });
  const bridge = spawnSync('ip', ['-n', name, 'link', 'add', 'name', 'br0', 'type', 'bridge'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', name]);
  if (veth.status !== 0) return `cannot make veth pairs here: ${veth.stderr.trim()}`;
  if (bridge.status !== 0) return `cannot make a bridge here: ${bridge.stderr.trim()}`;
  return undefined;
}

let networks = 0;
const live = new Set<() => void>();
let exitHookInstalled = false;

/** Make an empty test network; removed at teardown. Throws where netnsUnavailable() says why. */
export async function makeNetwork(t: Teardown): Promise<TestNetwork> {
  const why = netnsUnavailable();
  if (why) throw new Error(why);
  sweepAbandoned();
  installExitHook();

  const id = `${PREFIX}${process.pid}-${++networks}`;
  const switchNs = `${id}-sw`;
  const prefix = await freePrefix();
  const hosts: Array<{ host: TestHost; port: string }> = [];
  const namespaces = [switchNs];
  let rootLink: string | undefined;
  let removed: Promise<void> | undefined;

  const removeSync = (): void => {
    for (const ns of [...namespaces].reverse()) deleteNamespaceSync(ns);
    if (rootLink) spawnSync('ip', ['link', 'del', rootLink]);
  };
  live.add(removeSync);

  const remove = (): Promise<void> =>
    (removed ??= (async () => {
      live.delete(removeSync);
      removeSync();
    })());
  t.teardown(remove);

  await ip(['netns', 'add', switchNs]);
  await ip(['-n', switchNs, 'link', 'set', 'lo', 'up']);
  await ip(['-n', switchNs, 'link', 'add', 'name', 'br0', 'type', 'bridge']);
  await ip(['-n', switchNs, 'link', 'set', 'br0', 'up']);

  const network: TestNetwork = {
    prefix,
    async addHost(label) {
      const index = hosts.length + 1;
      const namespace = `${id}-h${index}`;
      const port = `p${index}`;
      const address = `${prefix}.${10 + index}`;
      namespaces.push(namespace);
      await ip(['netns', 'add', namespace]);
      await ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
      await ip(['-n', switchNs, 'link', 'add', 'name', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
      await ip(['-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
      await ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
      const host: TestHost = {
        label: label ?? `h${index}`,
        namespace,
        address,
        command: (file, args = []) => ['ip', ['netns', 'exec', namespace, file, ...args]],
        run: (file, args = [], timeoutMs = 10_000) =>
          new Promise((resolve) => {
            execFile('ip', ['netns', 'exec', namespace, file, ...args], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
              const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
              resolve({ code, stdout, stderr });
            });
          }),
      };
      hosts.push({ host, port });
      return host;
    },
    async attachRoot() {
      if (rootLink) return `${prefix}.1`;
      // The name must be free in the root namespace, shared with everything else on the machine.
      rootLink = `sl${process.pid.toString(36)}r${networks.toString(36)}`.slice(0, 15);
      await ip(['link', 'add', 'name', rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', switchNs]);
      await ip(['-n', switchNs, 'link', 'set', 'root', 'master', 'br0', 'up']);
      await ip(['addr', 'add', `${prefix}.1/24`, 'dev', rootLink]);
      await ip(['link', 'set', rootLink, 'up']);
      return `${prefix}.1`;
    },
    async cut(host, how = 'drop') {
      const port = portOf(host);
      if (how === 'down') await ip(['-n', switchNs, 'link', 'set', port, 'down']);
      else await ip(['-n', switchNs, 'link', 'set', port, 'nomaster']);
    },
    async restore(host) {
      const port = portOf(host);
      await ip(['-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
    },
    remove,
  };

  function portOf(host: TestHost): string {
    const found = hosts.find((h) => h.host === host);
    if (!found) throw new Error(`${host.label} is not a host of this network`);
    return found.port;
  }

  return network;
}

/** Kill what still runs in a namespace (processes this test started there), then delete it. */
function deleteNamespaceSync(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of pids.stdout?.split('\n').filter(Boolean) ?? []) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', ns]);
}

/** Namespaces of test processes that died without removing them. */
function sweepAbandoned(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of list.stdout?.split('\n') ?? []) {
    const name = line.split(' ')[0];
    const match = /^sluice-(\d+)-/.exec(name ?? '');
    if (!match || !name) continue;
    const owner = Number(match[1]);
    if (owner === process.pid || isRunning(owner)) continue;
    deleteNamespaceSync(name);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const removeSync of live) removeSync();
  });
}

/** A /24 of 10.0.0.0/8 that no route of this machine covers. */
async function freePrefix(): Promise<string> {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  const taken = routes
    .split('\n')
    .map((line) => /^(?:\S+ )?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== '0.0.0.0')
    .map((m) => ({ net: toInt(m[1]), bits: Number(m[2] ?? 32) }));
  for (let attempt = 0; attempt < 100; attempt++) {
    const prefix = `10.${randomInt(200, 255)}.${randomInt(0, 256)}`;
    const net = toInt(`${prefix}.0`);
    const overlaps = taken.some(({ net: other, bits }) => {
      const bitsBoth = Math.min(bits, 24);
      const mask = bitsBoth === 0 ? 0 : (~0 << (32 - bitsBoth)) >>> 0;
      return ((net & mask) >>> 0) === ((other & mask) >>> 0);
    });
    if (!overlaps) return prefix;
  }
  throw new Error('no free /24 in 10.200.0.0–10.254.255.0 for a test network');
}

function toInt(address: string): number {
  return address.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { encoding: 'utf8', timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}
