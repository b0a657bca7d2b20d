import type { SseStream } from './sse/sse-stream.ts';

/**
 * Client sessions: each TypeScript client keeps one SSE stream open, on which
 * it hears about the futures it holds. A session whose stream has been gone
 * longer than the lease has its holds released (`onExpire`), like a Dask
 * client that stopped heartbeating.
 */
export class ClientSessions {
  readonly #streams = new Map<string, Set<SseStream>>();
  readonly #leases = new Map<string, NodeJS.Timeout>();
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

  /** A client was seen (or known from a previous run): start its lease unless it is connected. */
  touch(clientId: string): void {
    if (this.#streams.has(clientId) || this.#leases.has(clientId)) return;
    const timer = setTimeout(() => {
      this.#leases.delete(clientId);
      this.#onExpire(clientId);
    }, this.#leaseMs);
    timer.unref();
    this.#leases.set(clientId, timer);
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
    for (const timer of this.#leases.values()) clearTimeout(timer);
    this.#leases.clear();
    const all = [...this.#streams.values()];
    this.#streams.clear();
    for (const set of all) for (const stream of set) stream.close();
  }

  #clearLease(clientId: string): void {
    const timer = this.#leases.get(clientId);
    if (timer) {
      clearTimeout(timer);
      this.#leases.delete(clientId);
    }
  }
}
