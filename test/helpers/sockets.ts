// Raw sockets for the tests that play a hostile peer: upgrades sent by hand,
// and the descriptors a process holds.
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import WebSocket from 'ws';

/** Open descriptors of a process (Linux). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface Refusal {
  /** The status line's code, 0 if none came. */
  status: number;
  /** The scheduler closed the connection by itself (it did not wait for us to). */
  closedByServer: boolean;
}

/**
 * Send an upgrade request by hand and read the answer. The connection is left
 * open from this side until the scheduler closes it or waitCloseMs passes;
 * then it is closed from here, as a client that gave up would.
 */
export function rawUpgrade(port: number, request: string, waitCloseMs = 2000): Promise<Refusal> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let status = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, closedByServer });
    };
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      text += chunk;
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match && status === 0) {
        status = Number(match[1]);
        timer = setTimeout(() => finish(false), waitCloseMs);
      }
    });
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/**
 * Open a WebSocket as a worker would: a 503 (the scheduler shedding load, as
 * it does while its event loop lags on a busy machine) is tried again after a
 * moment; any other refusal, an error, or no open socket within timeoutMs
 * rejects, naming what happened.
 */
export async function openWebSocket(url: string, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<WebSocket> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const socket = new WebSocket(url, { headers: options.headers ?? {} });
    socket.on('error', () => undefined);
    const outcome = await new Promise<'open' | number | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error(`no open WebSocket at ${url} within ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
      const settle = (value: 'open' | number | Error): void => {
        clearTimeout(timer);
        resolve(value);
      };
      socket.once('open', () => settle('open'));
      socket.once('unexpected-response', (_request, response) => {
        response.resume();
        settle(response.statusCode ?? 0);
      });
      socket.once('error', (error: Error) => settle(error));
    });
    if (outcome === 'open') return socket;
    socket.terminate();
    if (outcome === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    throw typeof outcome === 'number' ? new Error(`the upgrade to ${url} was refused: ${outcome}`) : outcome;
  }
}

export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    host: 'localhost',
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
}


export interface RawRun {
  key: string;
  fn: string;
  args: string;
  kwargs: string | null;
  attempt: number;
}

/**
 * A worker played by hand over the protocol: hello, then whatever the test
 * sends. It answers nothing by itself but heartbeats (every second, so that
 * it outlives the scheduler's worker TTL); it keeps what the scheduler sends.
 */
export class RawWorker {
  readonly socket: WebSocket;
  readonly name: string;
  readonly runs: RawRun[] = [];
  readonly cancels: Array<{ key: string; attempt: number; reason: string }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  id = '';
  readonly #listeners = new Set<() => void>();

  private constructor(socket: WebSocket, name: string) {
    this.socket = socket;
    this.name = name;
    this.closed = new Promise((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
    socket.on('error', () => undefined);
    const heartbeat = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN && this.id !== '') socket.send('{"type":"heartbeat"}');
    }, 1000);
    heartbeat.unref();
    socket.once('close', () => clearInterval(heartbeat));
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; workerId?: string; tasks?: RawRun[]; items?: RawWorker['cancels'] };
      if (message.type === 'welcome') this.id = message.workerId ?? '';
      if (message.type === 'run') this.runs.push(...(message.tasks ?? []));
      if (message.type === 'cancel') this.cancels.push(...(message.items ?? []));
      for (const listener of this.#listeners) listener();
    });
  }

  /** Connect with a worker token and say hello; resolves once welcomed. */
  static async connect(url: string, options: { token?: string; name: string; functions: string[]; concurrency?: number; teardown?: { teardown(fn: () => unknown): void } }): Promise<RawWorker> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws/worker`, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} });
    const worker = new RawWorker(socket, options.name);
    options.teardown?.teardown(() => socket.terminate());
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    });
    worker.send({ type: 'hello', protocol: 1, name: options.name, functions: options.functions, concurrency: options.concurrency ?? 100 });
    await worker.#until(() => worker.id !== '', 'the welcome', 10_000);
    return worker;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The run message for this key (its latest attempt), waiting for it. */
  async run(key: string, timeoutMs = 10_000): Promise<RawRun> {
    await this.#until(() => this.runs.some((r) => r.key === key), `the run of ${key}`, timeoutMs);
    return this.runs.filter((r) => r.key === key).at(-1) as RawRun;
  }

  /** Report a finished task with this result text, taken as it is. */
  finish(run: RawRun, result: string): void {
    this.send(`{"type":"report","items":[{"key":${JSON.stringify(run.key)},"attempt":${run.attempt},"status":"finished","result":${JSON.stringify(result)}}]}`);
  }

  #until(pred: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(check);
        reject(new Error(`raw worker ${this.name}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }
}
