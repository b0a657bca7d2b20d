import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Proc, type Teardown, TASKS, waitFor } from './processes.ts';

export interface SchedulerOptions {
  /** SQLite file; a fresh one in a temporary directory by default. */
  db?: string;
  /** Listen on this port (to restart on the same address); a free one by default. */
  port?: number;
  /** More flags for `sluice scheduler`. */
  args?: string[];
  /** Run without authentication (the default for tests); false: the args give tokens. */
  insecure?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * A PostgreSQL store (db a postgres:// URL): return once it listens, leading or standing by.
   * By default the helper waits until it leads and serves (after the lease of a leader killed
   * before it has lapsed).
   */
  standby?: boolean;
}

export interface SchedulerProc {
  proc: Proc;
  url: string;
  port: number;
  db: string;
}

/** A temporary directory, removed at teardown. */
export function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Start the real scheduler process on a free port; it is stopped at teardown. */
export async function startScheduler(t: Teardown, options: SchedulerOptions = {}): Promise<SchedulerProc> {
  const db = options.db ?? join(tempDir(t), 'sluice.db');
  const proc = new Proc(
    ['scheduler', '--port', String(options.port ?? 0), '--db', db, '--log-level', 'info', ...(options.insecure === false ? [] : ['--insecure']), ...(options.args ?? [])],
    { env: options.env },
  );
  t.teardown(() => proc.stop('SIGKILL'));
  const ready = await proc.waitForLog((e) => e.msg === 'sluice scheduler ready', 20_000);
  if (/^postgres(?:ql)?:\/\//.test(db) && !options.standby) await proc.waitForLog((e) => e.msg === 'leading: serving', 60_000);
  const url = ready.url as string;
  return { proc, url, port: Number(new URL(url).port), db };
}

export interface WorkerProcOptions {
  tasks?: string;
  concurrency?: number;
  name?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Where to look for it once started (the url by default; give one when url lists several schedulers). */
  joinedAt?: string;
}

let workerCount = 0;

/** Start a real worker process and wait until the scheduler lists it; it is stopped at teardown. */
export async function startWorker(t: Teardown, url: string, options: WorkerProcOptions = {}): Promise<Proc & { name: string }> {
  const name = options.name ?? `test-worker-${process.pid}-${++workerCount}`;
  const proc = new Proc([
    'worker',
    '--scheduler',
    url,
    '--tasks',
    options.tasks ?? TASKS,
    '--concurrency',
    String(options.concurrency ?? 4),
    '--name',
    name,
    ...(options.args ?? []),
  ], { env: options.env });
  t.teardown(() => proc.stop('SIGKILL'));
  const headers: Record<string, string> = options.env?.SLUICE_TOKEN ? { authorization: `Bearer ${options.env.SLUICE_TOKEN}` } : {};
  await waitFor(async () => (await api(options.joinedAt ?? url, headers).get<Array<{ name: string }>>('/workers')).body.some((w) => w.name === name), `worker ${name} to join`, 20_000);
  return Object.assign(proc, { name });
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** curl-style JSON requests against the scheduler. */
export function api(base: string, headers: Record<string, string> = {}) {
  const call = async <T>(method: string, path: string, body?: unknown, raw?: string): Promise<Answer<T>> => {
    const response = await fetch(base + path, {
      method,
      headers: body === undefined && raw === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  };
  return {
    get: <T = any>(path: string) => call<T>('GET', path),
    post: <T = any>(path: string, body?: unknown) => call<T>('POST', path, body),
    put: <T = any>(path: string, body?: unknown) => call<T>('PUT', path, body),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
    /** POST a body given as raw text (for malformed JSON). */
    raw: <T = any>(method: string, path: string, text: string) => call<T>(method, path, undefined, text),
  };
}

export interface Session {
  /** The public session id: what observers see (GET /locks, the firehose). */
  id: string;
  /** The credential only the session's owner holds; sent as the sluice-client header. */
  session: string;
  /** The headers given, with sluice-client set to the credential. */
  headers: Record<string, string>;
}

/** Start a client session (POST /clients) with these headers (a token, say); its headers act as it. */
export async function createSession(base: string, headers: Record<string, string> = {}): Promise<Session> {
  const answer = await api(base, headers).post<{ id: string; session: string }>('/clients');
  if (answer.status !== 201) throw new Error(`POST /clients answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return { ...answer.body, headers: { ...headers, 'sluice-client': answer.body.session } };
}

export interface SseReader {
  events: EventSourceMessage[];
  /** Resolves with the events so far once pred holds for them (rejects after timeoutMs). */
  until(pred: (events: EventSourceMessage[]) => boolean, timeoutMs?: number): Promise<EventSourceMessage[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
  status: number;
  /** A refused stream's answer ({ error: { code, message } }), and its headers. */
  body?: any;
  headers: Headers;
}

/** Read an SSE stream as a browser would, keeping every event (unless onEvent takes them). */
export async function readSse(
  url: string,
  headers: Record<string, string> = {},
  t?: Teardown,
  onEvent?: (event: EventSourceMessage) => void,
): Promise<SseReader> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  let body: unknown;
  if (response.status !== 200) {
    const text = await response.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const events: EventSourceMessage[] = [];
  const listeners = new Set<() => void>();
  const parser = createParser({
    onEvent: (event) => {
      if (onEvent) onEvent(event);
      else events.push(event);
      for (const listener of listeners) listener();
    },
  });
  const ended = (async () => {
    if (!response.body || body !== undefined) return;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // aborted
    } finally {
      for (const listener of listeners) listener();
    }
  })();
  const reader: SseReader = {
    events,
    status: response.status,
    body,
    headers: response.headers,
    ended,
    close: () => controller.abort(),
    until(pred, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pred(events)) {
            cleanup();
            resolve(events);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`SSE condition not met within ${timeoutMs} ms; events: ${JSON.stringify(events.slice(-10))}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
  t?.teardown(() => reader.close());
  return reader;
}
