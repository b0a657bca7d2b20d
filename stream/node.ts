import { GraphContext } from './context.ts';
import { combineErrors, StreamEndedError } from './errors.ts';
import { Waiters } from './gate.ts';
import { disposeItem, shareItem } from './item.ts';
import { concatMeta, failMeta, type Held, holdUntil, type Meta, releaseMeta, retainMeta } from './metadata.ts';

/** What receiving an item returns: nothing when it was taken at once, a promise when taking it takes time. */
export type Maybe = void | Promise<void>;

const RESOLVED = Promise.resolve();

/**
 * One operator of a pipeline: the engine under Stream and ClusterStream.
 *
 * Items move by calls, not through queues: `push(x)` hands x to every
 * downstream node's `receive`, which returns when that node has *taken* x
 * (immediately, or a promise). So `await source.emit(x)` waits for every
 * branch, async sinks included — that is the backpressure — and an error
 * thrown while taking x travels back to that emit. Nodes that decouple their
 * output from their input (buffer, delay, windows, sources) run a pump of
 * their own, and keep the errors it meets for the next emit that reaches them
 * or for end(): none is dropped, and a pump never dies of one.
 *
 * Ending travels the same way: `finish()` reaches a node once every upstream
 * has finished; the node waits for what it is still taking, flushes (windows
 * emit what they hold, buffers drain), then finishes its downstream nodes.
 */
export abstract class Node {
  /** The operator as users wrote it (`map`, `buffer(5)`), for messages. */
  readonly operator: string;
  context: GraphContext;
  readonly upstreams: Node[] = [];
  readonly downstreams: Node[] = [];
  readonly #endedUpstreams = new Set<Node>();
  #inflight = 0;
  readonly #idle = new Waiters();
  #closed = false;
  #aborted = false;
  #finishing: Promise<void> | undefined;

  constructor(operator: string, upstreams: readonly Node[] = [], context?: GraphContext) {
    this.operator = operator;
    this.context = context ?? upstreams[0]?.context ?? new GraphContext();
    this.context.add(this);
    for (const upstream of upstreams) upstream.#link(this);
  }

  /**
   * Take item x (with its metadata list, if any) from upstream `from`;
   * returns once x is taken. The node owns x from here on. A node that keeps
   * x after returning (a buffer, a window) retains `meta` until it has
   * handed x on (see metadata.ts); the others just pass `meta` on with
   * whatever they emit for x.
   */
  protected abstract accept(x: unknown, from: Node | undefined, meta: Meta): Maybe;

  /** All upstreams have finished and nothing is being taken: emit what is held back. */
  protected flush(): Maybe {}

  /** Errors a pump met that no emit has taken yet (decoupling nodes). Taking them clears them. */
  protected takeLateErrors(): unknown[] {
    return [];
  }

  /** Upstream `from` has finished (others may still be open). */
  protected onUpstreamEnded(_from: Node): void {}

  /** Whether upstream `node` has finished. */
  protected hasEnded(node: Node): boolean {
    return this.#endedUpstreams.has(node);
  }

  /** A source starts producing here (SourceNode); other nodes have nothing of their own to start. */
  protected startSelf(): Promise<void> | undefined {
    return undefined;
  }

  /**
   * streamz's start(): start every source upstream of this node (this one
   * included, if it is a source). Resolves when all of them have finished.
   */
  startSources(): Promise<void> {
    const seen = new Set<Node>();
    const runs: Array<Promise<void>> = [];
    const visit = (node: Node): void => {
      if (seen.has(node)) return;
      seen.add(node);
      const run = node.startSelf();
      if (run) runs.push(run);
      for (const upstream of node.upstreams) visit(upstream);
    };
    visit(this);
    return Promise.all(runs).then(() => undefined);
  }

  /** End at this point: no more items; resolves when everything downstream has finished. */
  end(): Promise<void> {
    return this.finish();
  }

  /** The pipeline is cancelled: let go of held items, reject whoever waits (with `reason`). */
  protected onAbort(_reason: unknown): void {}

  /** Called by the context when the pipeline is cancelled. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#closed = true;
    this.#idle.wakeAll();
    this.onAbort(reason);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Upstream `node` was connected after this node was made (zip and combineLatest make room for it). */
  protected onUpstreamAdded(_node: Node): void {}

  /** Upstream `node` is about to be disconnected; throw to refuse (combineLatest's last emitOn input). */
  protected beforeUpstreamRemoved(_node: Node): void {}

  /** Upstream `node` was disconnected: nothing more comes from it. */
  protected onUpstreamRemoved(_node: Node): void {}

  /**
   * Feed this node's items into `downstream` too. Connecting the same pair
   * twice makes one edge (items are not delivered twice); the downstream is
   * told again, which lets zip take the stream in one more place.
   */
  connect(downstream: Node): void {
    this.#link(downstream);
    downstream.onUpstreamAdded(this);
  }

  #link(downstream: Node): void {
    if (downstream.context !== this.context) {
      const from = downstream.context;
      for (const node of this.context.absorb(from)) (node as Node).context = this.context;
    }
    if (this.downstreams.includes(downstream)) return;
    this.downstreams.push(downstream);
    downstream.upstreams.push(this);
  }

  disconnect(downstream: Node): void {
    const i = this.downstreams.indexOf(downstream);
    if (i < 0) return;
    downstream.beforeUpstreamRemoved(this);
    this.downstreams.splice(i, 1);
    downstream.upstreams.splice(downstream.upstreams.indexOf(this), 1);
    downstream.#endedUpstreams.delete(this);
    downstream.onUpstreamRemoved(this);
    const rest = downstream.upstreams;
    if (rest.length > 0 && rest.every((u) => downstream.#endedUpstreams.has(u))) void downstream.#startFinish().catch(() => undefined);
  }

  /** Called by an upstream node (or emit at this point). */
  receive(x: unknown, from: Node | undefined, meta?: Meta): Maybe {
    if (this.context.cancelled) {
      disposeItem(x);
      throw this.context.reason;
    }
    if (this.#closed) {
      disposeItem(x);
      throw new StreamEndedError(this.operator);
    }
    return this.track(this.accept(x, from, meta));
  }

  /**
   * Push x at this point, into every downstream branch (streamz's emit).
   * With metadata, the emit holds x's references until every branch has
   * taken it.
   */
  emit(x: unknown, meta?: Meta): Promise<void> {
    if (this.context.cancelled) return Promise.reject(this.context.reason);
    if (this.#closed) return Promise.reject(new StreamEndedError(this.operator));
    try {
      return (meta === undefined ? this.track(this.push(x)) : this.track(this.pushHeld(x, meta))) ?? RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** emit(x, meta) for a caller that holds meta's references itself (a source, whose error policy decides whether a failure counts). */
  protected emitUnheld(x: unknown, meta: Meta): Promise<void> {
    if (this.context.cancelled) return Promise.reject(this.context.reason);
    if (this.#closed) return Promise.reject(new StreamEndedError(this.operator));
    try {
      return this.track(this.push(x, meta)) ?? RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * push(x, meta), holding meta's references until every branch has taken x
   * (and recording a failure on them if one failed). For what a node emits
   * out of items it holds (a window's list, a zip's tuple): it may then let
   * go of those items' own holds at once.
   */
  protected pushHeld(x: unknown, meta: Meta): Maybe {
    if (meta === undefined) return this.push(x);
    retainMeta(meta);
    let result: Maybe;
    try {
      result = this.push(x, meta);
    } catch (error) {
      failMeta(meta, error);
      throw error;
    }
    if (!result) {
      releaseMeta(meta);
      return;
    }
    return holdUntil(result, meta);
  }

  /** Count work in progress, so that finishing waits for it. */
  protected track(result: Maybe): Maybe {
    if (!result) return;
    this.#inflight++;
    return result.then(
      () => this.#settled(),
      (error: unknown) => {
        this.#settled();
        throw error;
      },
    );
  }

  #settled(): void {
    if (--this.#inflight === 0) this.#idle.wakeAll();
  }

  protected async whenIdle(): Promise<void> {
    while (this.#inflight > 0 && !this.context.cancelled) await this.#idle.wait();
  }

  /**
   * Emit `value`, one item made of the held items `from` (a window's list,
   * a zip's tuple), carrying all their metadata. The items' own holds are
   * let go at once: the emission holds their references from here until it
   * has been taken.
   */
  protected pushCombined(value: unknown, from: readonly Held[]): Maybe {
    const meta = concatMeta(from.map((h) => h.meta));
    if (meta === undefined) return this.push(value);
    try {
      return this.pushHeld(value, meta);
    } finally {
      for (const h of from) releaseMeta(h.meta);
    }
  }

  /**
   * Hand x to every downstream node. Returns when all have taken it; throws
   * (or rejects with) the error of a branch that failed, an AggregateError if
   * several did. Every branch gets x even when another one fails.
   */
  protected push(x: unknown, meta?: Meta): Maybe {
    const n = this.downstreams.length;
    if (n === 0) {
      disposeItem(x);
      return;
    }
    if (n === 1) return this.downstreams[0].receive(x, this, meta);
    const downstreams = this.downstreams.slice();
    const items = shareItem(x, n);
    let pending: Array<Promise<void>> | undefined;
    let errors: unknown[] | undefined;
    for (let i = 0; i < n; i++) {
      try {
        const result = downstreams[i].receive(items[i], this, meta);
        if (result) (pending ??= []).push(result);
      } catch (error) {
        (errors ??= []).push(error);
      }
    }
    if (!pending) {
      if (errors) throw combineErrors(errors, `${errors.length} branches of ${this.operator} failed`);
      return;
    }
    return Promise.allSettled(pending).then((results) => {
      for (const r of results) if (r.status === 'rejected') (errors ??= []).push(r.reason);
      if (errors) throw combineErrors(errors, `${errors.length} branches of ${this.operator} failed`);
    });
  }

  /**
   * `from` has no more items (undefined: end at this point, whatever the
   * upstreams). Resolves once this node and everything downstream of it has
   * finished; rejects with the errors no emit took, or with the cancellation.
   */
  finish(from?: Node): Promise<void> {
    if (from) {
      this.#endedUpstreams.add(from);
      this.onUpstreamEnded(from);
      if (this.upstreams.some((u) => !this.#endedUpstreams.has(u))) return RESOLVED;
    }
    return this.#startFinish();
  }

  #startFinish(): Promise<void> {
    this.#finishing ??= this.#finish();
    return this.#finishing;
  }

  async #finish(): Promise<void> {
    this.#closed = true;
    const errors: unknown[] = [];
    if (!this.context.cancelled) {
      try {
        await this.whenIdle();
        await this.flush();
      } catch (error) {
        errors.push(error);
      }
    }
    const results = await Promise.allSettled(this.downstreams.map((d) => d.finish(this)));
    if (this.context.cancelled) throw this.context.reason;
    for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    errors.push(...this.takeLateErrors());
    if (errors.length > 0) throw combineErrors(errors, `${this.operator} ended with errors`);
  }
}
