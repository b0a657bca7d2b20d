import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, isRunning, type Teardown } from './processes.ts';

/**
 * A PostgreSQL for tests: by default a private cluster made from the
 * postgresql binaries (Debian's package puts them in
 * /usr/lib/postgresql/<version>/bin): initdb into a temporary directory,
 * pg_ctl start on a free loopback port with its unix socket in that
 * directory, `synchronous_commit = on` and fsync as PostgreSQL sets it.
 * Stopping it stops the server and removes the directory.
 *
 * With SLUICE_TEST_POSTGRES_URL set (postgres://USER:PASSWORD@HOST:PORT/DB,
 * a role allowed to CREATE DATABASE, PostgreSQL 13 or later), no server is
 * started: each call makes a database of its own on that server and drops it
 * when stopped.
 *
 * As root, initdb refuses to run, so the cluster belongs to an unprivileged
 * user: SLUICE_TEST_POSTGRES_USER, else `postgres` (which Debian's package
 * creates), else `nobody`. That user must be able to reach the temporary
 * directory (os.tmpdir(), /tmp by default).
 */
export interface PostgresServer {
  /** postgres://… of the test database, with its password. */
  url: string;
  /** The test database's name. */
  database: string;
  /** The private cluster, when one was started (not with SLUICE_TEST_POSTGRES_URL). */
  cluster?: PrivateCluster;
  /** Stop the server (or drop the database on an existing server). Safe to call twice. */
  stop(): Promise<void>;
}

export interface PrivateCluster {
  /** The temporary directory: data/, the server's log, its unix socket. */
  dir: string;
  dataDir: string;
  logFile: string;
  port: number;
  /** The directory holding the unix socket (.s.PGSQL.<port>). */
  socketDir: string;
  /** The postmaster's process id. */
  pid: number;
  /** The directory of initdb, pg_ctl and postgres. */
  bin: string;
}

export interface StartPostgresOptions {
  /** Addresses to listen on besides the unix socket; ['127.0.0.1'] by default. */
  listenAddresses?: string[];
  /** More postgresql.conf lines, as name → value (values are written as given: quote strings). */
  settings?: Record<string, string>;
  /** More pg_hba.conf lines (clients from other addresses than loopback: `host all all 10.1.2.0/24 scram-sha-256`). */
  hba?: string[];
}

const DIR_PREFIX = 'sluice-pg-';
const OWNER_FILE = 'owner.pid';
const DATABASE = 'sluice';
const SUPERUSER = 'postgres';

/** Start a PostgreSQL (see PostgresServer); it is stopped at teardown, however the test ends. */
export async function startPostgres(t: Teardown, options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const server = await launchPostgres(options);
  t.teardown(() => server.stop());
  return server;
}

/** Start a PostgreSQL without a test to tie it to (benchmarks); call stop() when done. */
export async function launchPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const external = process.env.SLUICE_TEST_POSTGRES_URL;
  if (external) return databaseOn(external);
  return startCluster(options);
}

/** The directory holding initdb and pg_ctl, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  const hasPrograms = (bin: string): boolean => ['initdb', 'pg_ctl', 'postgres'].every((p) => existsSync(join(bin, p)));
  // Set, it is the only place looked at: a wrong setting is an error, not a reason to use another version.
  const fromEnv = process.env.SLUICE_POSTGRES_BIN;
  if (fromEnv) return hasPrograms(fromEnv) ? fromEnv : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions.map((version) => join(root, version, 'bin')).find(hasPrograms);
}

// ── a private cluster ─────────────────────────────────────────────────────

/** Clusters of this process still running, stopped at exit if a test did not. */
const running = new Set<PrivateCluster>();
let exitHookInstalled = false;

async function startCluster(options: StartPostgresOptions): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) {
    const where = process.env.SLUICE_POSTGRES_BIN
      ? `SLUICE_POSTGRES_BIN=${process.env.SLUICE_POSTGRES_BIN} holds no initdb, pg_ctl and postgres`
      : 'no initdb, pg_ctl and postgres under /usr/lib/postgresql/<version>/bin';
    throw new Error(
      `PostgreSQL is not installed: ${where}. ` +
        "Install Debian's postgresql package (.ci/run does), set SLUICE_POSTGRES_BIN to the directory holding them, " +
        'or set SLUICE_TEST_POSTGRES_URL to use an existing server',
    );
  }
  sweepAbandonedClusters(bin);
  installExitHook();

  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  const runAs = clusterUser();
  const password = randomBytes(18).toString('hex');
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    chownSync(dir, runAs.uid, runAs.gid);
    chownSync(passwordFile, runAs.uid, runAs.gid);
  }
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const cluster: PrivateCluster = { dir, dataDir, logFile, port: 0, socketDir: dir, pid: 0, bin };

  try {
    // --no-sync: a cluster that lives for one test need not be on disk before it starts;
    // the server itself runs with fsync and synchronous_commit as in production.
    await run(bin, 'initdb', runAs, dir, [
      '--pgdata', dataDir, '--username', SUPERUSER, '--pwfile', passwordFile, '--auth', 'scram-sha-256',
      '--encoding', 'UTF8', '--locale', 'C', '--no-sync', '--no-instructions',
    ]);
    rmSync(passwordFile);
    const listen = (options.listenAddresses ?? ['127.0.0.1']).join(',');
    const conf = {
      listen_addresses: `'${listen}'`,
      unix_socket_directories: `'${dir}'`,
      synchronous_commit: 'on',
      fsync: 'on',
      max_connections: '100',
      ...options.settings,
    };
    appendFileSync(join(dataDir, 'postgresql.conf'), `\n# sluice test cluster\n${Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
    if (options.hba?.length) appendFileSync(join(dataDir, 'pg_hba.conf'), `\n# sluice test cluster\n${options.hba.join('\n')}\n`);
    // A port free now may be taken before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      cluster.port = await freePort();
      running.add(cluster);
      try {
        await run(bin, 'pg_ctl', runAs, dir, ['start', '--pgdata', dataDir, '--wait', '--timeout', '60', '--log', logFile, '--options', `-p ${cluster.port}`]);
        break;
      } catch (error) {
        running.delete(cluster);
        const log = readLog(logFile);
        if (attempt < 3 && /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(log)) continue;
        throw new Error(`${(error as Error).message}\nserver log:\n${log}`);
      }
    }
    cluster.pid = Number.parseInt(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8'), 10);
    const url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${cluster.port}/${DATABASE}`;
    await statement(url.replace(/\/[^/]*$/, '/postgres'), `CREATE DATABASE ${DATABASE}`);
    let stopped: Promise<void> | undefined;
    return {
      url,
      database: DATABASE,
      cluster,
      stop: () => (stopped ??= stopCluster(cluster, runAs)),
    };
  } catch (error) {
    await stopCluster(cluster, runAs);
    throw error;
  }
}

async function stopCluster(cluster: PrivateCluster, runAs: User | undefined): Promise<void> {
  try {
    if (existsSync(join(cluster.dataDir, 'postmaster.pid'))) {
      try {
        await run(cluster.bin, 'pg_ctl', runAs, cluster.dir, ['stop', '--pgdata', cluster.dataDir, '--mode', 'fast', '--wait', '--timeout', '30']);
      } catch {
        killPostmaster(cluster);
      }
    }
  } finally {
    running.delete(cluster);
    rmSync(cluster.dir, { recursive: true, force: true });
  }
}

/** Kill -9 the postmaster (its backends end with it) and wait until it is gone. */
function killPostmaster(cluster: { dataDir: string; pid: number }): void {
  let pid = cluster.pid;
  try {
    pid = Number.parseInt(readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8'), 10) || pid;
  } catch {
    // no pid file: the pid seen at start, if any
  }
  // Only the postmaster of this data directory: a pid from an old file may be another process's now.
  if (!pid || !commandLine(pid).includes(cluster.dataDir)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 5000;
  while (isRunning(pid) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
}

/**
 * Clusters whose test process died without stopping them (SIGKILL, a crash):
 * their directory names a process that no longer exists. Stop and remove them.
 */
function sweepAbandonedClusters(bin: string): void {
  const base = tmpdir();
  for (const name of readdirSync(base)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(base, name);
    let owner: number;
    try {
      owner = Number.parseInt(readFileSync(join(dir, OWNER_FILE), 'utf8'), 10);
    } catch {
      continue; // not one of ours, or being made right now
    }
    if (!owner || isRunning(owner)) continue;
    const dataDir = join(dir, 'data');
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      spawnSync(join(bin, 'pg_ctl'), ['stop', '--pgdata', dataDir, '--mode', 'immediate', '--wait', '--timeout', '10'], { stdio: 'ignore', ...asUser(clusterUser()), cwd: dir });
      killPostmaster({ dataDir, pid: 0 });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test that ended without its teardown: nothing may outlive the process.
  process.once('exit', () => {
    for (const cluster of running) {
      spawnSync(join(cluster.bin, 'pg_ctl'), ['stop', '--pgdata', cluster.dataDir, '--mode', 'immediate', '--wait', '--timeout', '10'], {
        stdio: 'ignore',
        cwd: cluster.dir,
        ...asUser(clusterUser()),
      });
      killPostmaster(cluster);
      rmSync(cluster.dir, { recursive: true, force: true });
    }
  });
}

// ── a database on an existing server ──────────────────────────────────────

async function databaseOn(adminUrl: string): Promise<PostgresServer> {
  const database = `sluice_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await statement(adminUrl, `CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  let stopped: Promise<void> | undefined;
  return { url: url.toString(), database, stop: () => (stopped ??= statement(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)) };
}

// ── small parts ───────────────────────────────────────────────────────────

/** Run one statement of the helper's own on a connection of its own. */
async function statement(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

interface User {
  uid: number;
  gid: number;
  name: string;
}

/** Who runs the cluster: undefined (this process's user) unless this process is root. */
function clusterUser(): User | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const candidates = [process.env.SLUICE_TEST_POSTGRES_USER, 'postgres', 'nobody'].filter((n): n is string => Boolean(n));
  for (const name of candidates) {
    const found = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
    const fields = found.status === 0 ? found.stdout.trim().split(':') : [];
    if (fields.length >= 4 && fields[2] !== '0') return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw new Error(`running as root, and none of these users exists to own the test cluster (initdb refuses root): ${candidates.join(', ')}`);
}

function asUser(user: User | undefined): { uid?: number; gid?: number } {
  return user ? { uid: user.uid, gid: user.gid } : {};
}

/** Run one of PostgreSQL's programs; rejects with its output when it fails. */
function run(bin: string, program: string, user: User | undefined, cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // LC_ALL: the programs' messages in English, whatever the machine's locale.
    const child = spawn(join(bin, program), args, {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...(user ? { HOME: cwd, USER: user.name } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asUser(user),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args[0]} failed (${signal ?? `exit ${code}`}): ${output.trim()}`));
    });
  });
}


function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Why PostgreSQL tests cannot run here (its binaries are missing and no server is given), or undefined when they can. */
export function postgresMissing(): string | undefined {
  if (process.env.SLUICE_TEST_POSTGRES_URL || findPostgresBin()) return undefined;
  return "PostgreSQL is not installed (no initdb, pg_ctl and postgres under /usr/lib/postgresql/<version>/bin, nor SLUICE_POSTGRES_BIN); install Debian's postgresql package or set SLUICE_TEST_POSTGRES_URL";
}

/** A fresh database on the server (one per test, on a cluster shared by a file's tests); dropped at teardown. Answers its URL. */
export async function createDatabase(t: Teardown, server: PostgresServer, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await statement(server.url, `CREATE DATABASE ${name}`);
  t.teardown(() => statement(server.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined));
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}
