import net from 'node:net';
import type { Teardown } from './processes.ts';

/** An HTTP answer read off a raw socket. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON, if it is JSON. */
  json: any;
}

/** Parse the first HTTP/1.1 answer in what a raw socket received. */
export function parseAnswer(text: string): RawAnswer | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const body = text.slice(end + 4, length === undefined ? undefined : end + 4 + length);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body, json };
}

/**
 * A TCP connection to the scheduler, for what an HTTP client would hide:
 * requests sent in pieces, slowly, or not valid HTTP at all. It is
 * destroyed at teardown.
 */
export class RawConnection {
  readonly socket: net.Socket;
  /** Everything received so far. */
  received = '';
  /** Resolves with how long the connection lasted (ms) when the scheduler closes it. */
  readonly closed: Promise<number>;
  readonly #opened = Date.now();
  #trickle: NodeJS.Timeout | undefined;

  constructor(t: Teardown, port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => {
      this.received += chunk;
    });
    this.socket.on('error', () => undefined); // a write after the scheduler hung up: EPIPE, ECONNRESET
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.stopTrickle();
        resolve(Date.now() - this.#opened);
      }),
    );
    t.teardown(() => this.destroy());
  }

  /** Resolves once connected. */
  async connected(): Promise<this> {
    if (!this.socket.connecting) return this;
    await new Promise((resolve) => this.socket.once('connect', resolve));
    return this;
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text, 'latin1');
  }

  /** Write `chunk` every intervalMs until the connection closes. */
  trickle(chunk: string, intervalMs: number): void {
    this.#trickle = setInterval(() => this.write(chunk), intervalMs);
  }

  stopTrickle(): void {
    clearInterval(this.#trickle);
  }

  /** How long the connection lasted once the scheduler closed it, or undefined if it is still open after withinMs. */
  async closedWithin(withinMs: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const open = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), withinMs);
    });
    const lasted = await Promise.race([this.closed, open]);
    clearTimeout(timer);
    return lasted;
  }

  /** The first answer received, once it has come whole (rejects after timeoutMs). */
  async answer(timeoutMs = 10_000): Promise<RawAnswer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = parseAnswer(this.received);
      if (answer && (answer.headers['content-length'] === undefined || answer.body.length >= Number(answer.headers['content-length']))) return answer;
      if (Date.now() > deadline) throw new Error(`no whole answer within ${timeoutMs} ms; received: ${JSON.stringify(this.received.slice(0, 500))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  destroy(): void {
    this.stopTrickle();
    this.socket.destroy();
  }
}

/** Send one raw request with `Connection: close` semantics and read the answer. */
export async function rawRequest(t: Teardown, port: number, text: string, timeoutMs = 10_000): Promise<RawAnswer> {
  const connection = await new RawConnection(t, port).connected();
  connection.write(text);
  try {
    return await connection.answer(timeoutMs);
  } finally {
    connection.destroy();
  }
}
