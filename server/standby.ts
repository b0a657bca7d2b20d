import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { StandbyHealth } from '../schemas/cluster.ts';
import { errors } from './errors.ts';
import { VERSION } from './version.ts';

/** How long a caller of a standby is asked to wait before it tries again (s): about a lease's poll. */
const RETRY_AFTER_S = 1;

/**
 * What a scheduler that does not lead answers: GET /health 503 `{ role:
 * "standby", leader }`, every other request (and a worker's WebSocket
 * upgrade) 503 SLUICE_ERR_STANDBY naming the leader's URL, so that load
 * balancers, clients and workers find the leader. It reads nothing and
 * keeps nothing: the leader is asked of `leader()` at each request.
 */
export class StandbyResponder {
  readonly #leader: () => string | null;
  readonly #startedAt = Date.now();

  constructor(leader: () => string | null) {
    this.#leader = leader;
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    const [status, body] = this.#answer(req.method, req.url);
    // The request's body is not wanted: drop it rather than leave it in the socket.
    req.resume();
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'retry-after': String(RETRY_AFTER_S),
    });
    res.end(body);
  }

  /** A WebSocket upgrade (a worker): the same 503, written on the socket, which is then closed. */
  upgrade(req: IncomingMessage, socket: Duplex): void {
    const [status, body] = this.#answer(req.method, req.url);
    socket.on('error', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Retry-After: ${RETRY_AFTER_S}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  #answer(method: string | undefined, url: string | undefined): [number, string] {
    const leader = this.#leader();
    const path = (url ?? '').split('?')[0];
    if ((method === 'GET' || method === 'HEAD') && path === '/health') {
      const health: StandbyHealth = { status: 'standby', role: 'standby', leader, version: VERSION, uptimeS: Math.round((Date.now() - this.#startedAt) / 1000) };
      return [503, JSON.stringify(health)];
    }
    return [503, JSON.stringify(errors.standby(leader))];
  }
}
