import { errors } from './errors.ts';
import type { CommitPoint } from './storage/ports.ts';

/**
 * A part of the app with a life of its own: a service, the storage, a
 * plugin's timers. Each step is optional; the Lifecycle drives them all.
 */
export interface Service {
  /** Load what it needs and start its timers (in the order services were added). */
  start?(): void | Promise<void>;
  /**
   * Stop taking work: end long waits and streams (their callers retry
   * against the next run), let what runs finish up to graceMs. Every
   * service's drain is called in the order they were added, at once, and
   * awaited together.
   */
  drain?(graceMs: number): void | Promise<void>;
  /**
   * End the connections it keeps open beyond a request (worker sockets,
   * streams), once drained: the server then waits for the requests in flight.
   */
  disconnect?(): void;
  /**
   * Let go of what it holds: sockets, timers, files. Called once every
   * service has drained and the requests in flight have ended, in the
   * reverse order services were added (the storage, added first, closes last).
   */
  close?(): void | Promise<void>;
}

/**
 * Starting and stopping the app, from one place. Services are added in the
 * order they are built (the storage first); `start` starts them in that
 * order; `drain` refuses new work (`closing`, `assertOpen`), ends every wait
 * registered with `onDrain`, drains every service and awaits the commit of
 * what they wrote meanwhile; `disconnect` drains if that was not done, then
 * ends the services' connections; `close` disconnects if that was not done,
 * then closes them in reverse order. Each step runs once, however often it
 * is asked. The app runs `disconnect` when it begins to close (Fastify's
 * preClose) and `close` once its requests have ended (onClose); the process
 * (SchedulerHost) calls `drain` first with the grace period.
 */
export class Lifecycle {
  readonly #services: Service[] = [];
  readonly #commits: CommitPoint | undefined;
  #onDrain = new Set<() => void>();
  #started: Promise<void> | undefined;
  #draining: Promise<void> | undefined;
  #disconnected: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  /** commits: awaited at the end of the drain, so that what draining wrote is durable. */
  constructor(commits?: CommitPoint) {
    this.#commits = commits;
  }

  /** Add a service; returns it. */
  add<S extends Service>(service: S): S {
    this.#services.push(service);
    return service;
  }

  /** Whether shutdown has begun: new work is refused. */
  get closing(): boolean {
    return this.#draining !== undefined;
  }

  /** Throws 503 SLUICE_ERR_SHUTTING_DOWN once shutdown has begun. */
  assertOpen(): void {
    if (this.#draining) throw errors.shuttingDown();
  }

  /**
   * Run fn when the drain begins (a wait or a stream ending itself); returns
   * the way to take it back. Once the drain has begun fn is never run: check
   * `assertOpen` first.
   */
  onDrain(fn: () => void): () => void {
    if (this.#draining) return () => undefined;
    this.#onDrain.add(fn);
    return () => this.#onDrain.delete(fn);
  }

  start(): Promise<void> {
    this.#started ??= (async () => {
      for (const service of this.#services) await service.start?.();
    })();
    return this.#started;
  }

  drain(graceMs: number): Promise<void> {
    this.#draining ??= (async () => {
      const waits = [...this.#onDrain];
      this.#onDrain.clear();
      for (const fn of waits) fn();
      await Promise.all(this.#services.map((service) => service.drain?.(graceMs)));
      // A failed commit has already answered its writers: there is nothing left to wait for.
      await this.#commits?.committed().catch(() => undefined);
    })();
    return this.#draining;
  }

  disconnect(): Promise<void> {
    this.#disconnected ??= (async () => {
      await this.drain(0);
      for (const service of this.#services) service.disconnect?.();
    })();
    return this.#disconnected;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.disconnect();
      for (const service of [...this.#services].reverse()) await service.close?.();
    })();
    return this.#closed;
  }
}
