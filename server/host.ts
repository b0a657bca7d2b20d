import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import { type DestinationStream, pino } from 'pino';
import { type BuildOptions, buildApp, httpServerOptions } from './app.ts';
import type { SchedulerConfig } from './config.ts';
import { StandbyResponder } from './standby.ts';
import { Leadership } from './storage/postgres/leadership.ts';
import { StorageHealth } from './storage/storage-health.ts';
import { checkIntegrity, type IntegrityReport, StoreDamagedError } from './storage/sqlite/integrity.ts';
import { isPostgresUrl, withoutPassword } from './storage/postgres/postgres-storage.ts';
import { isMemoryStore, StoreLock } from './storage/sqlite/store-lock.ts';

/** While writes are refused, how often the store is asked whether it takes them again (ms). */
const PROBE_INTERVAL_MS = 1000;
/** The room a probe wants free on the disk: enough that the writes let in after it have room too. */
const PROBE_BYTES = 1024 * 1024;
/** How long an app being replaced may take to finish the requests it serves. */
const RETIRE_WAIT_MS = 10_000;
/** A rebuild that failed (the store cannot even be read) is tried again after this long. */
const REBUILD_RETRY_MS = 2000;

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HostOptions {
  /**
   * Several schedulers on one store: the contender for leadership, made once
   * the host listens, with the URL others use for it (--advertise-url, or
   * where it listens). The host then serves only while it leads, and stands
   * by otherwise (StandbyResponder); without it, the host leads alone.
   */
  leadership?: (advertiseUrl: string) => Leadership;
  /** Builds the app that serves (while it leads, with leadership): buildApp by default. */
  buildApp?: (options: BuildOptions) => Promise<FastifyInstance>;
}

/**
 * What an app sees as its HTTP server: the host's server, one level removed,
 * so that the app that serves can be replaced without closing the port. The
 * host forwards 'upgrade' (WebSockets) and 'clientError' to the app mounted
 * now; Fastify and @fastify/websocket listen for them here.
 */
class ServerFacade extends EventEmitter {
  readonly #server: () => Server | undefined;
  constructor(server: () => Server | undefined) {
    super();
    this.#server = server;
  }
  address(): ReturnType<Server['address']> {
    return this.#server()?.address() ?? null;
  }
  /** Fastify checks that it exists (forceCloseConnections); the host closes the connections, not an app. */
  closeIdleConnections(): void {}
}

/** The contender of a scheduler whose store is PostgreSQL (--db postgres://…). */
function postgresLeadership(config: SchedulerConfig): (advertiseUrl: string) => Leadership {
  return (url) =>
    new Leadership({
      // Named, so that an operator sees the schedulers' sessions in pg_stat_activity.
      connection: { connectionString: config.db, application_name: 'sluice scheduler' },
      url,
      leaseMs: config.leaderLeaseMs,
    });
}

/** An app mounted on the host's server, and its requests in flight. */
class Mount {
  readonly app: FastifyInstance;
  readonly facade: ServerFacade;
  readonly handler: RequestHandler;
  #inflight = 0;
  #idle: Array<() => void> = [];

  constructor(app: FastifyInstance, facade: ServerFacade, handler: RequestHandler) {
    this.app = app;
    this.facade = facade;
    this.handler = handler;
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    this.#inflight++;
    res.once('close', () => {
      if (--this.#inflight > 0) return;
      for (const resolve of this.#idle.splice(0)) resolve();
    });
    this.handler(req, res);
  }

  /** Resolves once no request of this app is in flight (or after timeoutMs). */
  idle(timeoutMs: number): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/**
 * The scheduler process: it holds the store's lock, listens, and mounts the
 * app that serves. When a commit fails (the disk is full), memory and disk
 * disagree; the host then does what a restart does without letting go of the
 * port: it builds a fresh app from disk, mounts it, and retires the old one
 * (its waiting calls and streams end as on a restart, and clients resume).
 * Writes are refused (507 SLUICE_ERR_STORAGE) while the store cannot take
 * them; every second a probe commit asks whether it can, and writes resume
 * by themselves when it does (after one more rebuild if something changed
 * memory in the meantime that could not be written).
 */
export class SchedulerHost {
  readonly config: SchedulerConfig;
  readonly log: FastifyBaseLogger;
  readonly storage = new StorageHealth();
  #lock: StoreLock | undefined;
  #server: Server | undefined;
  #mount: Mount | undefined;
  #rebuilding: Promise<void> | undefined;
  /** The app mounted when writes were last let in: its first failed commit starts a rebuild. */
  #writableMount: Mount | undefined;
  #probe: NodeJS.Timeout | undefined;
  /** A probe is under way (a store over a network answers it later). */
  #probing = false;
  #stopping = false;
  readonly #buildApp: (options: BuildOptions) => Promise<FastifyInstance>;
  /** Several schedulers on one store: leadership among them, and what is answered while this one does not lead. */
  #leadership: Leadership | undefined;
  #standby: StandbyResponder | undefined;
  /** The app being built after leadership was gained. */
  #gaining: Promise<void> | undefined;

  private constructor(config: SchedulerConfig, log: FastifyBaseLogger, options: HostOptions = {}) {
    this.config = config;
    this.log = log;
    this.#buildApp = options.buildApp ?? buildApp;
  }

  /**
   * Take the store (refused, before anything is read or bound, when another
   * process holds it), check it (refused if damaged), build the app and
   * listen. The check runs on a thread of its own while the app loads the
   * store; the port is bound once both are done. Logs go to `logStream`
   * (pino's JSON lines on stdout when none is given).
   */
  static async start(config: SchedulerConfig, logStream?: DestinationStream, hostOptions: HostOptions = {}): Promise<SchedulerHost> {
    const options = { level: config.logLevel };
    const host = new SchedulerHost(config, logStream ? pino(options, logStream) : pino(options), hostOptions);
    // PostgreSQL: the schedulers on one database contend, one leads and the others stand by.
    const leadership = hostOptions.leadership ?? (isPostgresUrl(config.db) ? postgresLeadership(config) : undefined);
    if (leadership) {
      await host.#standBy(leadership).catch((error: unknown) => {
        if (hostOptions.leadership) throw error;
        throw new Error(`the PostgreSQL store ${withoutPassword(config.db)} could not be reached: ${(error as Error).message}`, { cause: error });
      });
      return host;
    }
    // Not a SQLite file: in memory, or PostgreSQL (whose exclusivity is the leadership lease).
    const memory = isMemoryStore(config.db) || isPostgresUrl(config.db);
    host.#lock = memory ? undefined : StoreLock.acquire(config.db, 'sluice scheduler');
    try {
      const started = performance.now();
      const checked: Promise<IntegrityReport> = memory ? Promise.resolve({ problems: [] }) : checkIntegrity(config.db, config.integrityCheck);
      const damaged = async (): Promise<StoreDamagedError | undefined> => {
        const { problems } = await checked;
        return problems.length > 0 ? new StoreDamagedError(config.db, problems) : undefined;
      };
      // A damaged store may fail the load itself: the check's finding is the better message.
      host.#mount = await host.#build().catch(async (error: unknown) => {
        throw (await damaged()) ?? error;
      });
      const damage = await damaged();
      if (damage) throw damage;
      const { failed } = await checked;
      if (failed) host.log.warn({ check: config.integrityCheck, reason: failed }, 'the store could not be checked; starting without the check');
      else if (!memory && config.integrityCheck !== 'off') host.log.info({ check: config.integrityCheck, ms: Math.round(performance.now() - started) }, 'store checked: sound');
      host.#writableMount = host.#mount;
      await host.#listen();
    } catch (error) {
      await host.#mount?.app.close().catch(() => undefined);
      host.#lock?.release();
      throw error;
    }
    host.storage.on('storage:failed', (error, writer) => host.#onFailure(writer));
    return host;
  }

  /** The app serving now (another one after a rebuild); none on a standby. */
  get app(): FastifyInstance {
    return this.#mount?.app as FastifyInstance;
  }

  /** 'leader' while it serves; 'standby' while another scheduler on the same store leads. */
  get role(): 'leader' | 'standby' {
    return this.#mount ? 'leader' : 'standby';
  }

  /** The URL others use for this scheduler: --advertise-url, or where it listens. */
  get advertiseUrl(): string {
    return this.config.advertiseUrl ?? this.url;
  }

  /** The addresses it is bound to. */
  addresses(): string[] {
    const address = this.#server?.address();
    return typeof address === 'object' && address ? [address.address] : [];
  }

  /** Where it listens, as http://host:port. */
  get url(): string {
    const address = this.#server?.address();
    const port = typeof address === 'object' && address ? address.port : this.config.port;
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
  }

  /**
   * Drain (503 to new requests, running tasks finish up to graceMs), end
   * streams and sockets, let the requests in flight finish, settle what
   * their replies carried, commit and close the store, release the lock.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#probe);
    await this.#rebuilding;
    await this.#gaining;
    const mount = this.#mount;
    if (mount) await mount.app.lifecycle.drain(graceMs);
    const server = this.#server as Server;
    const closed = new Promise((resolve) => server.close(resolve));
    await mount?.app.close();
    // Its last writes are in: a leader gives its lease up, and a standby takes over at its next try.
    await this.#leadership?.close();
    server.closeAllConnections();
    await closed;
    this.#lock?.release();
  }

  // ── internals ──────────────────────────────────────────────────────────

  /**
   * Several schedulers on one store: listen, answering as a standby, and
   * contend for leadership; serve while leading (#gain), stand by again when
   * leadership is lost (#lose).
   */
  async #standBy(contender: (advertiseUrl: string) => Leadership): Promise<void> {
    this.#server = this.#createServer(httpServerOptions(this.config));
    this.#standby = new StandbyResponder(() => this.#leadership?.leader?.url ?? null);
    await this.#listen();
    const leadership = contender(this.advertiseUrl);
    this.#leadership = leadership;
    leadership.on('leadership:gained', ({ term }) => this.#gain(term));
    leadership.on('leadership:lost', ({ term, reason }) => void this.#lose(term, reason));
    leadership.on('leadership:observed', (leader) => this.log.info({ leader: leader.url, term: leader.term }, 'another scheduler leads'));
    leadership.on('leadership:error', (error) => this.log.warn({ err: error }, 'leadership: the database could not be reached'));
    try {
      await leadership.start();
    } catch (error) {
      await leadership.close().catch(() => undefined);
      const server = this.#server;
      await new Promise((resolve) => server.close(resolve));
      throw error;
    }
    if (leadership.role !== 'leader') this.log.info({ leader: leadership.leader?.url ?? null, url: this.advertiseUrl }, 'standing by: another scheduler leads');
  }

  /** Leadership gained: build the app from the store and serve it, unless leadership is lost meanwhile. */
  #gain(term: number): void {
    if (this.#stopping || this.#gaining) return;
    const leadership = this.#leadership as Leadership;
    const started = performance.now();
    this.log.info({ term, url: this.advertiseUrl }, 'leading: loading the state from the store');
    this.#gaining = (async () => {
      let fresh: Mount | undefined;
      while (!fresh && !this.#stopping && leadership.term === term) {
        try {
          fresh = await this.#build();
        } catch (error) {
          this.log.error({ err: error }, `the state could not be loaded; trying again in ${REBUILD_RETRY_MS} ms`);
          await new Promise((resolve) => setTimeout(resolve, REBUILD_RETRY_MS));
        }
      }
      if (!fresh) return;
      if (this.#stopping || leadership.term !== term) {
        await fresh.app.close().catch(() => undefined);
        return;
      }
      this.#mount = fresh;
      this.#writableMount = fresh;
      this.log.info({ term, url: this.advertiseUrl, loadMs: Math.round(performance.now() - started) }, 'leading: serving');
    })().finally(() => {
      this.#gaining = undefined;
      // Lost and gained again while the app was being built: build for the new term.
      const now = leadership.term;
      if (now !== undefined && now !== term && !this.#mount) this.#gain(now);
    });
  }

  /** Leadership lost: answer as a standby from now on, and drop the app (its writes would be refused anyway). */
  async #lose(term: number, reason: string): Promise<void> {
    if (this.#stopping) return;
    const mount = this.#mount;
    this.#mount = undefined;
    this.#writableMount = undefined;
    this.log.warn({ term, reason }, 'no longer leading: standing by');
    if (!mount) return;
    void mount.app.lifecycle.drain(0);
    await mount.app.close().catch((error: unknown) => this.log.error({ err: error }, 'closing the app of a lost leadership failed'));
  }

  async #build(): Promise<Mount> {
    const facade = new ServerFacade(() => this.#server);
    let handler: RequestHandler | undefined;
    const app = await this.#buildApp({
      config: this.config,
      loggerInstance: this.log,
      // A store in memory cannot be rebuilt from disk, and a PostgreSQL leader whose commit failed
      // may have been fenced: a failed commit stops the process there.
      storage: isMemoryStore(this.config.db) || isPostgresUrl(this.config.db) ? undefined : this.storage,
      // PostgreSQL: the store writes under the term this host leads at, and gives it up when a commit fails.
      leadership: this.#leadership,
      serverFactory: (fastifyHandler, options) => {
        handler = fastifyHandler;
        this.#server ??= this.#createServer(options);
        return facade as unknown as Server;
      },
    });
    const mount = new Mount(app, facade, handler as RequestHandler);
    // Added last, so it closes first: the services and the store close once
    // every request of this app has ended (its replies' verdicts are then final).
    app.lifecycle.add({ close: () => mount.idle(RETIRE_WAIT_MS) });
    await app.ready();
    return mount;
  }

  /** The HTTP server, with the settings Fastify would give its own. */
  #createServer(options: FastifyServerOptions): Server {
    const server = createServer((options as { http?: ServerOptions }).http ?? {}, (req, res) => {
      const mount = this.#mount;
      if (mount) mount.serve(req, res);
      else if (this.#standby) this.#standby.serve(req, res);
      else res.destroy();
    });
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    if ((options.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket as number;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!this.#mount && this.#standby) this.#standby.upgrade(req, socket);
      else if (!this.#mount?.facade.emit('upgrade', req, socket, head)) socket.destroy();
    });
    server.on('clientError', (error: Error, socket: Duplex) => {
      if (!this.#mount?.facade.emit('clientError', error, socket)) socket.destroy();
    });
    return server;
  }

  async #listen(): Promise<void> {
    const server = this.#server as Server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.config.port, host: this.config.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.log.info(`Server listening at ${this.url}`);
  }

  /** A commit failed in some app's store. */
  #onFailure(writer: object): void {
    if (this.#stopping) return;
    this.#startProbing();
    const mount = this.#mount;
    // An app being replaced, or one not mounted yet: the probe sees its failure once it is mounted.
    if (!mount || mount.app.store !== writer) return;
    // The first failure since writes were let in rebuilds at once, so that reads
    // come from disk; a later one (something in the rebuilt app that could not
    // be written) waits for the store to take writes again (#probeOnce).
    if (mount === this.#writableMount) {
      this.#writableMount = undefined;
      void this.#rebuild('a commit failed');
    }
  }

  #startProbing(): void {
    if (this.#probe) return;
    this.#probe = setInterval(() => void this.#probeOnce(), PROBE_INTERVAL_MS);
    this.#probe.unref();
  }

  async #probeOnce(): Promise<void> {
    const mount = this.#mount;
    if (this.#rebuilding || this.#stopping || this.#probing || !mount) return;
    this.#probing = true;
    try {
      await mount.app.store.probe(PROBE_BYTES);
    } catch (error) {
      this.log.debug({ err: error }, 'the store does not take writes yet');
      return;
    } finally {
      this.#probing = false;
    }
    if (this.#stopping || this.#mount !== mount) return;
    clearInterval(this.#probe);
    this.#probe = undefined;
    const diverged = mount.app.store.failed !== undefined;
    this.log.info({ refusedForMs: Date.now() - (this.storage.refusal?.since ?? Date.now()), rebuild: diverged }, 'the store takes writes again');
    this.storage.resume();
    if (diverged) void this.#rebuild('writes resume, and memory holds changes that could not be written');
    else this.#writableMount = mount;
  }

  /**
   * Replace the app with one built from disk, as a restart would: the old one
   * answers 503 (retry) from now on, the new one is mounted once it has loaded
   * the store, then the old one is closed.
   */
  #rebuild(reason: string): Promise<void> {
    if (this.#rebuilding) return this.#rebuilding;
    const old = this.#mount;
    if (!old) return Promise.resolve();
    this.log.warn({ reason, writable: this.storage.writable }, 'rebuilding the scheduler’s state from disk, as a restart does, without closing the port');
    void old.app.lifecycle.drain(0);
    this.#rebuilding = (async () => {
      let fresh: Mount | undefined;
      while (!fresh && !this.#stopping) {
        try {
          fresh = await this.#build();
        } catch (error) {
          this.log.error({ err: error }, `the state could not be rebuilt from disk; trying again in ${REBUILD_RETRY_MS} ms`);
          await new Promise((resolve) => setTimeout(resolve, REBUILD_RETRY_MS));
        }
      }
      if (!fresh) return;
      // Stopping, or no longer leading (the app was dropped meanwhile): this one is not wanted either.
      if (this.#stopping || this.#mount !== old) {
        await fresh.app.close().catch(() => undefined);
        return;
      }
      this.#mount = fresh;
      if (this.storage.writable) this.#writableMount = fresh;
      this.log.info({ writable: this.storage.writable }, 'rebuilt from disk; serving');
      await old.app.close().catch((error: unknown) => this.log.error({ err: error }, 'closing the replaced app failed'));
    })().finally(() => {
      this.#rebuilding = undefined;
    });
    return this.#rebuilding;
  }
}
