/**
 * The client sessions service: the credentials it issues and checks
 * (SessionCredentials), each session's lease, the SSE streams on which a
 * session hears about the futures it holds, and its end. It knows nothing of
 * tasks: when a session ends, `release` (the task service's) lets go of
 * what it held; the task service tells it of ended futures through the
 * `SessionNotices` port.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Service } from '../lifecycle.ts';
import type { IssuedSession, SessionCredentials } from '../http/session-credentials.ts';
import type { SseStream } from '../http/sse/sse-stream.ts';
import { parseClientHolder } from '../state/holder-kinds.ts';

interface Lease {
  timer: NodeJS.Timeout;
  /** When the session was last seen (a request as it, or its stream closing). */
  seenAt: number;
}

/** What the task service needs of the sessions: to count a session as seen, and to tell sessions of their futures. */
export interface SessionNotices {
  /** A session was seen (it submitted, held, scattered): unless it is connected, its lease runs from now. */
  touch(clientId: string): void;
  /** Write a frame to every stream of the session, if it has any. */
  send(clientId: string, frame: string): void;
  /** Write a frame (made once, when a session is among them) to the sessions among a task's holders. */
  sendToHolders(holders: Iterable<string>, frame: () => string): void;
}

export interface ClientSessionsParts {
  credentials: SessionCredentials;
  /** How long a session lives with no stream open and no request (--client-lease-ms). */
  leaseMs: number;
  /** Let go of everything the session held (the task service's releaseClient). */
  release(clientId: string): void;
  /** Sessions known from a previous run beyond the live credentials (holders in the store), given a lease at start. */
  knownIds(): Iterable<string>;
  log: FastifyBaseLogger;
}

/**
 * Client sessions: each TypeScript client keeps one SSE stream open, on which
 * it hears about the futures it holds. A session with no stream open and no
 * request for longer than the lease expires (its holds are released and it
 * ends), like a Dask client that stopped heartbeating.
 */
export class ClientSessions implements Service, SessionNotices {
  /** Issues and checks session credentials. */
  readonly credentials: SessionCredentials;
  readonly #streams = new Map<string, Set<SseStream>>();
  readonly #leases = new Map<string, Lease>();
  readonly #leaseMs: number;
  readonly #release: (clientId: string) => void;
  readonly #knownIds: () => Iterable<string>;
  readonly #log: FastifyBaseLogger;

  constructor(parts: ClientSessionsParts) {
    this.credentials = parts.credentials;
    this.#leaseMs = parts.leaseMs;
    this.#release = parts.release;
    this.#knownIds = parts.knownIds;
    this.#log = parts.log;
  }

  /** Sessions of a previous run (and holders from before sessions were credentials) get a lease from now. */
  start(): void {
    for (const clientId of new Set([...this.credentials.ids(), ...this.#knownIds()])) this.touch(clientId);
  }

  /** Shutdown: session streams end (clients retry against the next run); no lease runs out meanwhile. */
  drain(): void {
    this.closeAll();
  }

  disconnect(): void {
    this.closeAll();
  }

  /** Live sessions. */
  get size(): number {
    return this.credentials.size;
  }

  /** A new session for `identity`, with a lease from now. Committed with the turn's writes; answer it once they are. */
  issue(identity: string): IssuedSession {
    const issued = this.credentials.issue(identity);
    this.touch(issued.id);
    return issued;
  }

  /** The session a credential acts as (see SessionCredentials.verify), now seen. */
  verify(credential: string, identity: string): string {
    const clientId = this.credentials.verify(credential, identity);
    this.touch(clientId);
    return clientId;
  }

  /** End a session (its owner said goodbye, an admin ended it, or it was idle past its lease): its streams close, its credential stops working, its holds go. */
  end(clientId: string): void {
    this.#clearLease(clientId);
    const set = this.#streams.get(clientId);
    this.#streams.delete(clientId);
    if (set) for (const stream of set) stream.close();
    this.credentials.end(clientId);
    this.#release(clientId);
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

  send(clientId: string, frame: string): void {
    const set = this.#streams.get(clientId);
    if (!set) return;
    for (const stream of set) stream.write(frame);
  }

  sendToHolders(holders: Iterable<string>, frame: () => string): void {
    let text: string | undefined;
    for (const holder of holders) {
      const clientId = parseClientHolder(holder);
      if (clientId === undefined) continue;
      text ??= frame();
      this.send(clientId, text);
    }
  }

  /** Close every stream, stop every lease timer. */
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
      this.#log.info({ clientId }, 'client session idle longer than its lease: ending it, releasing its futures');
      this.end(clientId);
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
