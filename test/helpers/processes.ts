import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
export const TASKS = fileURLToPath(new URL('../fixtures/tasks.ts', import.meta.url));

// tap records which files every process of a test loads (for coverage and
// --changed): it preloads @tapjs/processinfo into the test through
// NODE_OPTIONS, and that module puts itself back into the NODE_OPTIONS of
// every process the test starts. Coverage is off here, and in a child the
// preload costs most of a second of CPU (a scheduler's start: 1.4 s without
// it, 2.2 s with it) for a record nothing reads. Processes the tests start run
// without it: its spawn listener is dropped, and its entry in NODE_OPTIONS,
// which children inherit, is removed; the test process itself keeps it.
const spawnHooks = (globalThis as Record<symbol, { listeners?: unknown[] } | undefined>)[Symbol.for('process-on-spawn@*:singletonId')];
if (Array.isArray(spawnHooks?.listeners)) spawnHooks.listeners.length = 0;
if (process.env.NODE_OPTIONS) {
  const kept = process.env.NODE_OPTIONS.split(/\s+/).filter((option) => option !== '' && !/@tapjs[\\/]processinfo/.test(option));
  if (kept.length > 0) process.env.NODE_OPTIONS = kept.join(' ');
  else delete process.env.NODE_OPTIONS;
}

/** The bit of tap's Test these helpers use, so they work with any test object. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A child process whose output is kept, line by line, for waiting on and for diagnosis. */
export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly #listeners = new Set<(line: string) => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `sluice ...args`; with `script`, `node --import tsx script ...args`; with `command`, `command ...args`. */
  constructor(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; script?: string; command?: string } = {}) {
    const [file, argv] = options.command
      ? [options.command, args]
      : [process.execPath, options.script ? ['--import', 'tsx', options.script, ...args] : [BIN, ...args]];
    this.child = spawn(file, argv, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          this.lines.push(line);
          for (const listener of this.#listeners) listener(line);
        }
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolve with the first log line (parsed JSON) that matches, waiting up to timeoutMs. */
  waitForLog(match: (entry: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const test = (line: string): boolean => {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return false;
        }
        if (!match(entry)) return false;
        cleanup();
        resolve(entry);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching log line within ${timeoutMs} ms; output so far:\n${this.lines.slice(-30).join('\n')}`));
      }, timeoutMs);
      const onExit = (): void => {
        cleanup();
        reject(new Error(`process exited before the log line; output:\n${this.lines.slice(-30).join('\n')}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(test);
        this.child.off('exit', onExit);
      };
      if (this.lines.some(test)) return;
      this.#listeners.add(test);
      this.child.once('exit', onExit);
    });
  }

  /** Send a signal; resolves when the process has exited (SIGKILL after timeoutMs). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** Poll until fn returns a truthy value; throws with `what` after timeoutMs. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 15_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Whether a process runs. A zombie counts as ended: processes that outlive
 * their parent (a daemonised server) are reparented to init, which may be
 * slow to reap them.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/** A loopback port that was free a moment ago (nothing listens on it once this resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The promise, or a rejection naming what did not settle within ms (real time). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
