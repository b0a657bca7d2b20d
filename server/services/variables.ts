import { EventEmitter } from 'node:events';
import type { Fence } from '../../schemas/variables.ts';
import { errors } from '../errors.ts';
import type { FutureRefs } from './future-refs.ts';
import type { Leases } from './leases.ts';
import type { Presence } from '../http/reply-delivery.ts';
import type { Caller } from './holds.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { CommitPoint } from '../storage/ports.ts';
import { variableHolder } from '../state/holder-kinds.ts';
import type { VariableStore } from '../storage/sqlite/variable-store.ts';
import { WaitLine, type WaitOptions, type WaitingCalls } from './wait-line.ts';

/** Events about variables, for the firehose and the metrics: names only, never values. */
export interface VariableEvents {
  'variable:set': [name: string];
  /** Emitted only when a variable that was set is deleted. */
  'variable:deleted': [name: string];
}

/**
 * Variables (Dask's Variable): one JSON value per name, durable, read from
 * the store on demand. The futures in a value are held while it is the
 * value; a reader with a client session holds them too before it is
 * answered, so overwriting the variable cannot pull a future from under it.
 */
export class Variables {
  readonly events = new EventEmitter<VariableEvents>();
  readonly #lifecycle: Lifecycle;
  /** Callers waiting at once, across every kind of wait (--max-waiting-calls). */
  readonly #calls: WaitingCalls;
  readonly #store: VariableStore;
  readonly #commits: CommitPoint;
  readonly #refs: FutureRefs;
  readonly #leases: Leases;
  /** Readers waiting for a variable to be set, by name. */
  readonly #waiting = new Map<string, WaitLine<void>>();
  /** How many variables are set; their names and values stay in the store. */
  #count = 0;

  constructor(lifecycle: Lifecycle, calls: WaitingCalls, commits: CommitPoint, store: VariableStore, refs: FutureRefs, leases: Leases) {
    this.#lifecycle = lifecycle;
    this.#calls = calls;
    this.#commits = commits;
    this.#store = store;
    this.#refs = refs;
    this.#leases = leases;
  }

  start(): void {
    this.#count = this.#store.count();
  }

  /** How many variables are set. */
  get count(): number {
    return this.#count;
  }

  drain(): void {
    for (const line of this.#waiting.values()) line.rejectAll(errors.shuttingDown());
  }

  /**
   * Set the value; answers {name, value} as JSON text. With a fence, only
   * while that lease is held (409 otherwise, nothing written). Waiting
   * readers are answered once it is committed.
   */
  set(name: string, value: unknown, fence?: Fence): string {
    this.#lifecycle.assertOpen();
    if (fence) this.#leases.assertHeld(fence);
    const keys = this.#refs.check(value);
    const before = this.#store.refs(name);
    const wasSet = this.#store.isSet(name);
    const json = JSON.stringify(value);
    this.#store.setVariable(name, json, keys, Date.now());
    // Hold the new futures before letting go of the old ones: a key in both stays held throughout.
    this.#refs.hold(keys, variableHolder(name));
    this.#refs.release(
      before.filter((key) => !keys.includes(key)),
      variableHolder(name),
    );
    if (!wasSet) this.#count++;
    this.events.emit('variable:set', name);
    const line = this.#waiting.get(name);
    if (line) this.#commits.afterCommit(() => this.#wake(name, line));
    return answer(name, json);
  }

  /** {name, value} as JSON text; waits up to timeoutMs for it to be set (undefined: 404 at once if it is not). */
  async get(name: string, caller: Caller, timeoutMs: number | undefined, presence?: Presence): Promise<string> {
    for (;;) {
      const json = this.#store.value(name);
      if (json !== undefined) {
        if (caller.clientId) this.#refs.giveTo(this.#store.refs(name), caller);
        return answer(name, json);
      }
      if (timeoutMs === undefined) throw errors.variableUnset(name);
      this.#lifecycle.assertOpen();
      const started = Date.now();
      await this.#wait(name, { timeoutMs, what: `variable ${name} to be set`, presence });
      timeoutMs -= Date.now() - started;
    }
  }

  /** Unset the variable; its futures are let go. Idempotent. */
  delete(name: string): void {
    this.#lifecycle.assertOpen();
    const keys = this.#store.refs(name);
    const wasSet = this.#store.deleteVariable(name);
    this.#refs.release(keys, variableHolder(name));
    if (wasSet) {
      this.#count--;
      this.events.emit('variable:deleted', name);
    }
  }

  async #wait(name: string, options: WaitOptions): Promise<void> {
    let line = this.#waiting.get(name);
    if (!line) this.#waiting.set(name, (line = new WaitLine(this.#calls)));
    try {
      await line.wait(undefined, options);
    } finally {
      if (line.size === 0 && this.#waiting.get(name) === line) this.#waiting.delete(name);
    }
  }

  #wake(name: string, line: WaitLine<void>): void {
    if (this.#store.value(name) === undefined) return; // deleted again before the commit
    for (const waiter of [...line]) waiter.resolve();
  }
}

function answer(name: string, json: string): string {
  return `{"name":${JSON.stringify(name)},"value":${json}}`;
}
