import type { FutureStatus } from '../schemas/common.ts';
import { CLIENT_HEADER } from '../schemas/constants.ts';
import type { RouteEvents } from '../schemas/http-api.ts';
import { pureKey, randomId, randomKey } from '../schemas/keys.ts';
import { pathOf, type Route, type RouteId, ROUTES } from '../schemas/routes.ts';
import type { TaskSpecInput } from '../schemas/tasks.ts';
import { errors, SluiceError } from './errors.ts';
import { openEventStream, type EventStream, type EventStreamOptions } from './event-stream.ts';
import { Future, FutureState, type FutureOwner } from './future.ts';
import { type CallArgs, Http, isTransient } from './http.ts';
import { type FetchLike, fetchTransport, type Transport } from './transport.ts';
import { kAppend, kAttach, kCall, kCancel, kConfigure, kDetach, kRequest, kSession, kStream, kValue } from './symbols.ts';
import { Channel, type ChannelOptions } from './channel.ts';
import type { ChannelInfo } from '../schemas/channels.ts';
import { Flag } from './flag.ts';
import { Lock, Semaphore } from './lease.ts';
import { Queue, type QueueOptions } from './queue.ts';
import { Topic } from './topic.ts';
import { Variable } from './variable.ts';

export interface ClientOptions {
  /** How to speak HTTP; `sluice/client` picks undici in Node and fetch in browsers. */
  transport?: Transport;
  /** A fetch to use instead (for the default transport). */
  fetch?: FetchLike;
  /** A bearer token (client, worker or admin), sent as Authorization on every request and stream. */
  token?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /**
   * How long to keep retrying a request while the scheduler is unreachable
   * or restarting (ms, default 60 s): a call gives up with
   * SLUICE_ERR_UNREACHABLE once this long has passed since its first try.
   * Submissions, appends and the like queued before the client ever
   * connected fail the same way after this long. Unless connectTimeoutMs is
   * given, it is also how long Client.connect waits.
   */
  retryForMs?: number;
  /** The most items sent in one request. */
  batchSize?: number;
  /** Client.connect gives up after this long (ms); default: retryForMs if given, else 10 s. */
  connectTimeoutMs?: number;
  /**
   * With several schedulers: a request not answered within this long (ms)
   * is sent to another one, as an unreachable scheduler's (a leader cut off
   * by the network answers nothing). Default 30 s, above the 20 s a wait
   * takes per request. Not used with one scheduler.
   */
  requestTimeoutMs?: number;
}

export interface SubmitOptions {
  /** Keyword arguments, passed to the function as one last object argument. */
  kwargs?: Record<string, unknown>;
  /** Use this key instead of deriving one. */
  key?: string;
  /** true (default): the key is a hash of fn and arguments, so identical submissions share a task. */
  pure?: boolean;
  /** Higher runs first. */
  priority?: number;
  /** How many times a task that throws is run again. */
  retries?: number;
  /** Time limit of each attempt. */
  timeoutMs?: number;
}

type Command =
  | { kind: 'submit'; spec: TaskSpecInput; state: FutureState }
  | { kind: 'hold'; state: FutureState; cancelled?: boolean }
  | { kind: 'release'; key: string }
  | { kind: 'forget'; key: string }
  | { kind: 'append'; channel: string; key: string; fail: (error: Error) => void; after?: Promise<void> }
  | { kind: 'configure'; channel: string; maxlen: number | null | undefined; done: (info: ChannelInfo) => void; fail: (error: Error) => void }
  | { kind: 'barrier'; done: () => void };

const closedError = (): SluiceError => errors.closedBeforeSent();

/** The longest wait between retries of a request (ms). */
const MAX_DELAY_MS = 2_000;
/** The same with several schedulers, and the longest between reconnections of a stream: a failover is over sooner. */
const MAX_DELAY_SEVERAL_MS = 500;
/** With several schedulers, a stream silent this long (ms) is read again, from another scheduler if that one does not serve. */
const IDLE_SEVERAL_MS = 30_000;

/**
 * A connection to a sluice scheduler (Dask's Client). Submitting returns a
 * Future at once; what the client sends is queued, coalesced per event-loop
 * turn, and sent in order in the background. The client hears about its
 * futures on one SSE stream. Works in Node and in browsers.
 */
export class Client implements FutureOwner {
  /** Resolves once the status stream is open. */
  readonly ready: Promise<void>;
  readonly #http: Http;
  /** The session's public id ('' until the scheduler has issued it). */
  #id = '';
  /** Settles once the scheduler has issued this client its session (POST /clients). */
  readonly #session: Promise<void>;
  /** A new session being started, after the scheduler said the last one ended. */
  #renewing: Promise<void> | undefined;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  readonly #retryForMs: number;
  readonly #batchSize: number;
  readonly #states = new Map<string, FutureState>();
  readonly #registry = new FinalizationRegistry<string>((key) => this.#unref(key));
  #stream: EventStream | undefined;
  /** Channels made by this client: their streams close with it. */
  readonly #channels = new Set<Channel>();
  /** Queues, variables, topics, flags, locks and semaphores made by this client: their waits and streams end with it. */
  readonly #coordination = new Set<{ close(): void }>();
  /** Commands not sent yet: those from #outboxHead on (taking from the front of an array is O(n)). */
  #outbox: Command[] = [];
  #outboxHead = 0;
  /** The unsent hold of each key this client has never told the scheduler about: a release before it is sent cancels both. */
  readonly #unsentHolds = new Map<string, Extract<Command, { kind: 'hold' }>>();
  #pumping = false;
  #opened = false;
  #closed = false;
  /** Aborted on close: ends the waits between retries. */
  readonly #closer = new AbortController();
  #fatal: Error | undefined;

  /**
   * Connect and wait until the status stream is open. Several schedulers
   * sharing one store (one leads, the others stand by) are given as an array
   * or as one comma-separated string: the client finds the one that leads,
   * and moves to another by itself when it stops serving.
   */
  static async connect(url: string | readonly string[], options: ClientOptions = {}): Promise<Client> {
    const client = new this(url, options);
    const timeoutMs = options.connectTimeoutMs ?? options.retryForMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        client.ready,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(errors.noAnswer(client.urls.join(', '), timeoutMs)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      await client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /**
   * A client that connects in the background; everything queued meanwhile is
   * sent once it is. It first asks the scheduler for a session (POST
   * /clients), then opens the session's status stream.
   */
  constructor(url: string | readonly string[], options: ClientOptions = {}) {
    this.#retryForMs = options.retryForMs ?? 60_000;
    this.#batchSize = options.batchSize ?? 1000;
    const transport = options.transport ?? fetchTransport(options.fetch);
    const auth: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    this.#http = new Http(url, { transport, headers: { ...options.headers, ...auth }, requestTimeoutMs: options.requestTimeoutMs });
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.#session = this.#retrying(() => this.#startSession(), false);
    this.#session.catch((error: unknown) => this.#fail(error as Error));
  }

  /** The scheduler this client talks to now (with several, the one it found leading). */
  get url(): string {
    return this.#http.base;
  }

  /** Every scheduler this client was given, in order. */
  get urls(): readonly string[] {
    return this.#http.schedulers.all;
  }

  /** This session's public id: what others see of it (lease holders, the dashboard). '' until the scheduler has issued it. */
  get id(): string {
    return this.#id;
  }

  /** Submit fn(...args). Returns a Future at once; the task is sent in the background. */
  submit<T = unknown>(fn: string, args: unknown[] = [], options: SubmitOptions = {}): Future<T> {
    this.#assertOpen();
    const { key: given, pure = true, kwargs, ...rest } = options;
    const key = given ?? (pure ? pureKey(fn, args, kwargs) : randomKey(fn));
    let state = this.#states.get(key);
    if (!state || state.status === 'error' || state.status === 'cancelled' || state.status === 'lost') {
      const fresh = new FutureState(key);
      fresh.refs = state?.refs ?? 0;
      this.#states.set(key, (state = fresh));
    }
    state.submitting();
    this.#send({ kind: 'submit', spec: { fn, args, kwargs, key, ...rest }, state });
    return new Future<T>(key, this);
  }

  /** submit(fn, args) for each args list. */
  map<T = unknown>(fn: string, argsList: Iterable<unknown[]>, options: Omit<SubmitOptions, 'key'> = {}): Array<Future<T>> {
    if ('key' in options) throw new TypeError('map derives a key per task; it takes no key option');
    return [...argsList].map((args) => this.submit<T>(fn, args, options));
  }

  /** The results of futures, in order. errors: 'raise' (default) rejects with the first error; 'skip' leaves those out. */
  async gather<T>(futures: ReadonlyArray<Future<T>>, options?: { errors?: 'raise' | 'skip' }): Promise<T[]>;
  async gather<T>(future: Future<T>, options?: { errors?: 'raise' | 'skip' }): Promise<T>;
  async gather<T>(futures: Future<T> | ReadonlyArray<Future<T>>, options: { errors?: 'raise' | 'skip' } = {}): Promise<T | T[]> {
    if (futures instanceof Future) return futures.result();
    if (options.errors === 'skip') {
      const settled = await Promise.allSettled(futures.map((f) => f.result()));
      return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    }
    return Promise.all(futures.map((f) => f.result()));
  }

  /** Store values on the scheduler as finished futures. */
  async scatter<T>(data: readonly T[]): Promise<Array<Future<T>>> {
    this.#assertOpen();
    await this.flush();
    const { keys } = await this.#retrying(() => this.#http.call(ROUTES.scatter, { body: { data } }));
    return keys.map((key, i) => {
      let state = this.#states.get(key);
      if (!state) this.#states.set(key, (state = new FutureState(key)));
      state.settle({ key, status: 'finished', result: data[i] });
      return new Future<T>(key, this);
    });
  }

  /** Cancel tasks (and what depends on them). */
  async cancel(futures: Future | ReadonlyArray<Future>): Promise<void> {
    const list = futures instanceof Future ? [futures] : futures;
    await Promise.all(list.map((f) => f.cancel()));
  }

  /** Keep these tasks running, and their results for the retention period, even after this client lets go. */
  fireAndForget(futures: Future | ReadonlyArray<Future>): void {
    const list = futures instanceof Future ? [futures] : futures;
    for (const future of list) this.#send({ kind: 'forget', key: future.key });
  }

  /** A channel: a named, ordered, durable stream of futures shared by every client (created if it does not exist). */
  channel<T = unknown>(name: string, options: ChannelOptions = {}): Channel<T> {
    this.#assertOpen();
    const channel = new Channel<T>(this, name, options);
    this.#channels.add(channel as Channel);
    return channel;
  }

  /** A durable FIFO queue shared by every client (Dask's Queue); created on first put, or here with maxsize. */
  queue<T = unknown>(name: string, options: QueueOptions = {}): Queue<T> {
    return this.#track(new Queue<T>(this, name, options));
  }

  /** A durable named value shared by every client (Dask's Variable). */
  variable<T = unknown>(name: string): Variable<T> {
    return this.#track(new Variable<T>(this, name));
  }

  /** A pub/sub topic (Dask's Pub/Sub): publish, and iterate over what is published. Not persisted. */
  topic<T = unknown>(name: string): Topic<T> {
    return this.#track(new Topic<T>(this, name));
  }

  /** A durable event flag (Dask's Event): set, clear, wait. */
  event(name: string): Flag {
    return this.#track(new Flag(this, name));
  }

  /** A lock with leases (Dask's Lock); acquiring answers a fencing token. */
  lock(name: string): Lock {
    return this.#track(new Lock(this, name));
  }

  /** A semaphore of maxLeases leases (Dask's Semaphore). */
  semaphore(name: string, maxLeases = 1): Semaphore {
    return this.#track(new Semaphore(this, name, maxLeases));
  }

  /** Resolves when everything queued so far has been acknowledged by the scheduler. */
  flush(): Promise<void> {
    if (this.#outbox.length === this.#outboxHead && !this.#pumping) return Promise.resolve();
    return new Promise((done) => this.#send({ kind: 'barrier', done }));
  }

  /**
   * Send what is queued (waiting up to timeoutMs if the scheduler cannot be
   * reached), release this client's futures, and close the stream.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    if (this.#opened) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.flush(), new Promise((resolve) => (timer = setTimeout(resolve, options.timeoutMs ?? 5_000)))]);
      clearTimeout(timer);
    }
    this.#closed = true;
    this.#closer.abort();
    this.#stream?.close();
    for (const channel of this.#channels) channel.close();
    for (const object of this.#coordination) object.close();
    if (this.#id) {
      await this.#http.call(ROUTES.clientClose, { params: { id: this.#id } }).catch(() => undefined);
    }
    this.#failAll(errors.closedBeforeEnded());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** How this client speaks HTTP. */
  get transport(): Transport {
    return this.#http.transport;
  }

  /** The headers this client sends (its session's credential among them, once issued). */
  get headers(): Record<string, string> {
    return this.#http.headers;
  }

  /**
   * Low-level request with this client's headers, once it has its session;
   * for routes the client has no method for. T is the caller's to choose:
   * the reply is not checked against it.
   */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#inSession(() => this.#http.request(method, path, body)) as Promise<T>;
  }

  // ── what Future calls ──────────────────────────────────────────────────

  [kAttach](future: Future): FutureState {
    let state = this.#states.get(future.key);
    if (!state) {
      this.#states.set(future.key, (state = new FutureState(future.key)));
      const hold = { kind: 'hold' as const, state };
      this.#unsentHolds.set(future.key, hold);
      this.#send(hold);
    }
    state.refs++;
    this.#registry.register(future, future.key, future);
    return state;
  }

  [kDetach](future: Future): void {
    this.#registry.unregister(future);
    this.#unref(future.key);
  }

  async [kValue](state: FutureState): Promise<unknown> {
    if (state.error) throw state.error;
    if (!state.hasValue) {
      const outcome = await this.#http.call(ROUTES.futureResult, { params: { key: state.key }, query: { timeout: 0 } });
      state.value = outcome.result;
      state.hasValue = true;
    }
    return state.value;
  }

  /** `after`: the submission (by another client) that must be answered before the key is sent. */
  [kAppend](channel: string, key: string, fail: (error: Error) => void, after?: Promise<void>): void {
    this.#assertOpen();
    this.#send({ kind: 'append', channel, key, fail, after });
  }

  [kConfigure](channel: string, maxlen: number | null | undefined, callbacks: { done: (info: ChannelInfo) => void; fail: (error: Error) => void }): void {
    this.#send({ kind: 'configure', channel, maxlen, ...callbacks });
  }

  /** A call of a route, retried while the scheduler restarts or cannot be reached (up to retryForMs); signal ends it. */
  [kCall]<R extends Route<RouteId>>(route: R, ...args: CallArgs<R['operationId']>) {
    return this.#retrying(() => this.#http.call(route, ...args));
  }

  /** A call of a route, once, as this client's session: a failure is the caller's to retry. */
  [kRequest]<R extends Route<RouteId>>(route: R, ...args: CallArgs<R['operationId']>) {
    return this.#inSession(() => this.#http.call(route, ...args));
  }

  /**
   * The options of an SSE stream of `path` read through this client: on the
   * scheduler in use at each (re)connection, moving on when it does not serve.
   */
  [kStream](path: string): Pick<EventStreamOptions, 'url' | 'transport' | 'headers' | 'onDrop' | 'maxDelayMs' | 'idleTimeoutMs'> {
    let base = this.#http.base;
    const schedulers = this.#http.schedulers;
    return {
      url: () => (base = schedulers.current) + path,
      transport: this.#http.transport,
      headers: this.#http.headers,
      onDrop: (error) => schedulers.streamDropped(base, error),
      maxDelayMs: schedulers.several ? MAX_DELAY_SEVERAL_MS : undefined,
      // A leader cut off by the network sends nothing, not even its heartbeats (every 15 s): notice sooner than the usual 45 s.
      idleTimeoutMs: schedulers.several ? IDLE_SEVERAL_MS : undefined,
    };
  }

  /** The session's public id, once the scheduler has issued it. */
  async [kSession](): Promise<string> {
    await this.#session;
    await this.#renewing;
    return this.#id;
  }

  async [kCancel](key: string): Promise<FutureStatus> {
    await this.flush();
    const { status } = await this.#inSession(() => this.#http.call(ROUTES.cancel, { params: { key } }));
    this.#states.get(key)?.settle({ key, status });
    return status;
  }

  // ── the outbox ─────────────────────────────────────────────────────────

  #send(command: Command): void {
    this.#outbox.push(command);
    if (!this.#pumping) {
      this.#pumping = true;
      queueMicrotask(() => void this.#pump());
    }
  }

  /**
   * Send queued commands in order, runs of the same kind as one request.
   * Before the client has ever connected, it waits for that up to
   * retryForMs; then what is queued fails with SLUICE_ERR_UNREACHABLE.
   */
  async #pump(): Promise<void> {
    if (!this.#opened && !(await this.#readyWithin(this.#retryForMs))) {
      this.#pumping = false;
      this.#dropOutbox(this.#fatal ?? (this.#closed ? closedError() : errors.noAnswer(this.urls.join(', '), this.#retryForMs)));
      return;
    }
    while (this.#outboxHead < this.#outbox.length && !this.#fatal && !this.#closed) {
      const run = this.#takeRun();
      if (run.length > 0) await this.#deliver(run);
    }
    this.#pumping = false;
    this.#dropOutbox(this.#fatal ?? closedError());
  }

  /** True once the status stream is open; false if it is not within ms (or was refused). */
  async #readyWithin(ms: number): Promise<boolean> {
    const wait = this.#sleep(ms);
    try {
      return await Promise.race([this.ready.then(() => true, () => false), wait.done.then(() => false)]);
    } finally {
      wait.cancel();
    }
  }

  /** What is still queued will not be sent: barriers are passed, the rest fails with error. */
  #dropOutbox(error: Error): void {
    const left = this.#outbox.slice(this.#outboxHead);
    this.#outbox = [];
    this.#outboxHead = 0;
    this.#unsentHolds.clear();
    for (const command of left) {
      if (command.kind === 'barrier') command.done();
      else if (command.kind === 'submit' || (command.kind === 'hold' && !command.cancelled)) command.state.fail(error);
      else if (command.kind === 'append' || command.kind === 'configure') command.fail(error);
    }
  }

  /** The next run of commands of one kind, up to the batch size, leaving out cancelled holds. */
  #takeRun(): Command[] {
    const outbox = this.#outbox;
    const run: Command[] = [];
    let i = this.#outboxHead;
    for (; i < outbox.length && run.length < this.#batchSize; i++) {
      const command = outbox[i];
      if (command.kind === 'hold' && command.cancelled) continue;
      if (run.length > 0 && command.kind !== run[0].kind) break;
      if (command.kind === 'hold' && this.#unsentHolds.get(command.state.key) === command) this.#unsentHolds.delete(command.state.key);
      run.push(command);
    }
    this.#outboxHead = i;
    if (i > 4096 && i * 2 > outbox.length) {
      this.#outbox = outbox.slice(i);
      this.#outboxHead = 0;
    }
    return run;
  }

  async #deliver(run: Command[]): Promise<void> {
    const kind = run[0].kind;
    if (kind === 'barrier') {
      for (const c of run) (c as Extract<Command, { kind: 'barrier' }>).done();
      return;
    }
    try {
      await this.#retrying(() => this.#request(run));
    } catch (error) {
      if (run.length > 1 && (kind === 'submit' || kind === 'hold') && !isTransient(error)) {
        // One bad item refuses the whole request: find it by sending one by one.
        for (const command of run) await this.#deliver([command]);
        return;
      }
      for (const command of run) {
        if (command.kind === 'submit' || command.kind === 'hold') command.state.fail(error as Error);
        if (command.kind === 'append' || command.kind === 'configure') command.fail(error as Error);
      }
    }
    if (kind === 'submit') for (const command of run) (command as Extract<Command, { kind: 'submit' }>).state.submitted();
  }

  async #request(run: Command[]): Promise<void> {
    switch (run[0].kind) {
      case 'submit': {
        const tasks = run.map((c) => (c as Extract<Command, { kind: 'submit' }>).spec);
        await this.#http.call(ROUTES.submit, { body: { tasks } });
        return;
      }
      case 'hold': {
        const states = run.map((c) => (c as Extract<Command, { kind: 'hold' }>).state);
        const { futures } = await this.#http.call(ROUTES.hold, { body: { keys: states.map((s) => s.key) } });
        for (const [i, message] of futures.entries()) states[i].settle(message);
        return;
      }
      case 'release': {
        const keys = run.map((c) => (c as Extract<Command, { kind: 'release' }>).key);
        await this.#http.call(ROUTES.release, { body: { keys } });
        return;
      }
      case 'forget': {
        const keys = run.map((c) => (c as Extract<Command, { kind: 'forget' }>).key);
        await this.#http.call(ROUTES.fireAndForget, { body: { keys } });
        return;
      }
      case 'append':
        await this.#appendRun(run as Array<Extract<Command, { kind: 'append' }>>);
        return;
      case 'configure':
        for (const command of run as Array<Extract<Command, { kind: 'configure' }>>) {
          const info = await this.#http.call(ROUTES.channelConfigure, { params: { name: command.channel }, body: command.maxlen === undefined ? {} : { maxlen: command.maxlen } });
          command.done(info);
        }
        return;
    }
  }

  /**
   * Appends, one request per channel, in order within each channel. A
   * request that is retried after a lost answer carries the same idempotency
   * key, so it is not appended twice.
   */
  async #appendRun(run: Array<Extract<Command, { kind: 'append' }>>): Promise<void> {
    // Another client's future: its key exists on the scheduler once that client's submission is answered.
    const submissions = run.flatMap((command) => (command.after ? [command.after] : []));
    if (submissions.length > 0) await Promise.all(submissions);
    const byChannel = new Map<string, Array<Extract<Command, { kind: 'append' }>>>();
    for (const command of run) {
      const list = byChannel.get(command.channel);
      if (list) list.push(command);
      else byChannel.set(command.channel, [command]);
    }
    for (const [channel, commands] of byChannel) {
      const body = { keys: commands.map((c) => c.key), idempotencyKey: randomId() };
      try {
        await this.#retrying(() => this.#http.call(ROUTES.channelAppend, { params: { name: channel }, body }));
      } catch (error) {
        if (commands.length > 1 && !isTransient(error)) {
          for (const command of commands) await this.#deliver([command]);
        } else {
          for (const command of commands) command.fail(error as Error);
        }
      }
    }
  }

  /**
   * Run fn as this client's session, retrying transient failures (scheduler
   * restarting or unreachable) until retryForMs has passed since the first
   * try; the last wait is cut to end at that moment, and one more try is
   * made then.
   */
  async #retrying<T>(fn: () => Promise<T>, inSession = true): Promise<T> {
    const deadline = Date.now() + this.#retryForMs;
    // With several schedulers, the next try goes to another one: a standby answers at once, and a new leader is found sooner.
    const maxDelay = this.#http.schedulers.several ? MAX_DELAY_SEVERAL_MS : MAX_DELAY_MS;
    let delay = 50;
    for (;;) {
      try {
        return await (inSession ? this.#inSession(fn) : fn());
      } catch (error) {
        const left = deadline - Date.now();
        if (!isTransient(error) || left <= 0 || this.#closed) throw error;
        await this.#sleep(Math.min(delay, left)).done;
        if (this.#closed) throw error;
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }

  // ── the session ────────────────────────────────────────────────────────

  /** Ask the scheduler for a session, send its credential from now on, and open its status stream. */
  async #startSession(): Promise<void> {
    const { id, session } = await this.#http.call(ROUTES.clientStart);
    if (this.#closed) {
      await this.#http.call(ROUTES.clientClose, { params: { id } }).catch(() => undefined);
      return;
    }
    this.#id = id;
    this.#http.headers[CLIENT_HEADER] = session;
    this.#stream?.close();
    this.#stream = openEventStream({
      ...this[kStream](pathOf(ROUTES.clientEvents, { id })),
      onEvent: (event) => {
        if (event.event === 'status') {
          const message = JSON.parse(event.data) as RouteEvents<'clientEvents'>['status'];
          this.#states.get(message.key)?.settle(message);
        } else if (event.event === 'ready') {
          if (this.#opened) this.#resync();
          this.#opened = true;
          this.#resolveReady();
        }
      },
      onFatal: (error) => {
        if (sessionGone(error) && !this.#closed) {
          this.#renew(session).catch((renewal: unknown) => this.#fail(renewal as Error));
          return;
        }
        this.#fail(error as Error);
      },
    });
  }

  /**
   * fn, once this client has its session. If the scheduler says the session
   * has ended (it was idle longer than its lease, or an admin ended it), a new
   * one is started and fn runs again, once: what this client holds is asked
   * for again under the new session when its stream opens.
   */
  async #inSession<T>(fn: () => Promise<T>): Promise<T> {
    await this.#session;
    await this.#renewing;
    const credential = this.#http.headers[CLIENT_HEADER];
    try {
      return await fn();
    } catch (error) {
      if (!sessionGone(error) || this.#closed) throw error;
      await this.#renew(credential);
      return fn();
    }
  }

  /** Start a new session in place of `stale`, unless that was done already. */
  #renew(stale: string | undefined): Promise<void> {
    if (this.#http.headers[CLIENT_HEADER] !== stale) return this.#renewing ?? Promise.resolve();
    this.#renewing ??= this.#retrying(() => this.#startSession(), false).finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /** The client cannot go on: everything waiting fails with this error. */
  #fail(error: Error): void {
    if (this.#closed) return;
    this.#fatal = error;
    this.#rejectReady(error);
    this.#failAll(error);
  }

  /** Wait ms, or less if the client closes meanwhile (or the wait is cancelled). */
  #sleep(ms: number): { done: Promise<void>; cancel: () => void } {
    const signal = this.#closer.signal;
    let cancel!: () => void;
    const done = new Promise<void>((resolve) => {
      cancel = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', cancel);
        resolve();
      };
      const timer = setTimeout(cancel, signal.aborted ? 0 : ms);
      signal.addEventListener('abort', cancel, { once: true });
    });
    return { done, cancel };
  }

  // ── internals ──────────────────────────────────────────────────────────

  #unref(key: string): void {
    const state = this.#states.get(key);
    if (!state) return;
    if (--state.refs > 0) return;
    this.#states.delete(key);
    const unsent = this.#unsentHolds.get(key);
    if (unsent) {
      // The scheduler never heard of this future from us: nothing to let go.
      unsent.cancelled = true;
      this.#unsentHolds.delete(key);
      return;
    }
    if (!this.#closed) this.#send({ kind: 'release', key });
  }

  /** The stream reopened (a network blip, or the scheduler restarted): ask again about what is pending. */
  #resync(): void {
    // A future whose first hold is still queued needs no second one.
    for (const state of this.#states.values()) if (!state.done && !this.#unsentHolds.has(state.key)) this.#send({ kind: 'hold', state });
  }

  #track<O extends { close(): void }>(object: O): O {
    this.#assertOpen();
    this.#coordination.add(object);
    return object;
  }

  #failAll(error: Error): void {
    for (const state of this.#states.values()) state.fail(error);
  }

  #assertOpen(): void {
    if (this.#closed) throw errors.clientClosed();
    if (this.#fatal) throw this.#fatal;
  }
}

/** The scheduler does not know this client's session any more: it ended, or the scheduler's store was replaced. */
function sessionGone(error: unknown): boolean {
  return error instanceof SluiceError && (error.code === 'SLUICE_ERR_SESSION_ENDED' || error.code === 'SLUICE_ERR_SESSION_INVALID');
}
