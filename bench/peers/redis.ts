// A private redis-server for the BullMQ figures: Debian's binary on a free
// loopback port, its files in a temporary directory, Redis's default settings
// otherwise. It is stopped when the bench is done, fails, or is interrupted.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/processes.ts';

export interface RedisServer {
  port: number;
  version: string;
  stop(): Promise<void>;
}

/** redis-server's version, or undefined when there is no redis-server on the PATH. */
export function redisVersion(): string | undefined {
  const answer = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (answer.error || answer.status !== 0) return undefined;
  return /v=(\S+)/.exec(answer.stdout)?.[1] ?? answer.stdout.trim();
}


export async function startRedis(): Promise<RedisServer> {
  const version = redisVersion();
  if (version === undefined) throw new Error('no redis-server on the PATH');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Even when the bench throws past every finally, or exits on a signal (bench/peers.ts turns SIGINT and SIGTERM into an exit), no redis-server outlives it.
  const killNow = (): void => void child.kill('SIGKILL');
  const onExit = (): void => {
    killNow();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(killNow, 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await ready(child, exited);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, version, stop };
}

/** Resolves once redis-server logs that it accepts connections. */
function ready(child: ChildProcess, exited: Promise<void>): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready within 10 s:\n${output}`)), 10_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited:\n${output}`));
    });
  });
}
