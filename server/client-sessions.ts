import type { SseStream } from './sse/sse-stream.ts';

interface Lease {
  timer: NodeJS.Timeout;
  /** When the session was last seen (a request as it, or its stream closing). */
  seenAt: number;
}

/**
 * Client sessions: each TypeScript client keeps one SSE stream open, on which
 * it hears about the futures it holds. A session with no stream open and no
 * request for longer than the lease expires (`onExpire`: its holds are
 * released and it ends), like a Dask client that stopped heartbeating.
 */
export class ClientSessions {
  readonly #streams = new Map<string, Set<SseStream>>();
  readonly #leases = new Map<string, Lease>();
  readonly #leaseMs: number;
  readonly #onExpire: (clientId: string) => void;

  constructor(leaseMs: number, onExpire: (clientId: string) => void) {
    this.#leaseMs = leaseMs;
    this.#onExpire = onExpire;
  }

  attach(clientId: string, stream: SseStream): void {
    this.#clearLease(clientId);
    let set = this.#streams.get(clientId);
    if (!set) this.#streams.set(clientId, (set = new Set()));
    set.add(stream);
    stream.onClose(() => {
      set.delete(stream);
      // end() and closeAll() unlist the set first: closing on purpose starts no lease.
      if (set.size === 0 && this.#streams.get(clientId) === set) {
        this.#streams.delete(clientId);
        this.touch(clientId);
      }
    });
  }

  /** A client was seen (or known from a previous run): unless it is connected, its lease runs from now. */
  touch(clientId: string): void {
    if (this.#streams.has(clientId)) return;
    const now = Date.now();
    const lease = this.#leases.get(clientId);
    if (lease) lease.seenAt = now;
    else this.#leases.set(clientId, { seenAt: now, timer: this.#arm(clientId, this.#leaseMs) });
  }

  isConnected(clientId: string): boolean {
    return this.#streams.has(clientId);
  }

  get connected(): number {
    return this.#streams.size;
  }

  /** Write a frame to every stream of the client, if it has any. */
  send(clientId: string, frame: string): void {
    const set = this.#streams.get(clientId);
    if (!set) return;
    for (const stream of set) stream.write(frame);
  }

  /** The client said goodbye: close its streams and forget its lease. */
  end(clientId: string): void {
    this.#clearLease(clientId);
    const set = this.#streams.get(clientId);
    this.#streams.delete(clientId);
    if (set) for (const stream of set) stream.close();
  }

  /** Shutdown: close every stream, stop every lease timer. */
  closeAll(): void {
    for (const lease of this.#leases.values()) clearTimeout(lease.timer);
    this.#leases.clear();
    const all = [...this.#streams.values()];
    this.#streams.clear();
    for (const set of all) for (const stream of set) stream.close();
  }

  /** A timer per lease, moved on when it fires early rather than on every touch. */
  #arm(clientId: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const lease = this.#leases.get(clientId);
      if (!lease) return;
      const left = lease.seenAt + this.#leaseMs - Date.now();
      if (left > 0) {
        lease.timer = this.#arm(clientId, left);
        return;
      }
      this.#leases.delete(clientId);
      this.#onExpire(clientId);
    }, ms);
    timer.unref();
    return timer;
  }

  #clearLease(clientId: string): void {
    const lease = this.#leases.get(clientId);
    if (lease) {
      clearTimeout(lease.timer);
      this.#leases.delete(clientId);
    }
  }
}
