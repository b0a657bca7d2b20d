/**
 * Callers waiting for tasks to end (GET /futures/:key/result, gather): each
 * waits up to its timeout, until its caller leaves, or until shutdown
 * begins, and holds places in the budget of waiting calls
 * (--max-waiting-calls) meanwhile. The task service calls `ended` as it
 * announces each committed outcome.
 */
import { errors } from '../errors.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { OutcomeRecord } from './outcomes.ts';
import type { Presence } from '../http/reply-delivery.ts';
import type { WaitingCalls } from './wait-line.ts';

export class TaskWaits {
  readonly #calls: WaitingCalls;
  readonly #lifecycle: Pick<Lifecycle, 'assertOpen' | 'onDrain'>;
  readonly #waiters = new Map<string, Set<(outcome: OutcomeRecord) => void>>();

  constructor(calls: WaitingCalls, lifecycle: Pick<Lifecycle, 'assertOpen' | 'onDrain'>) {
    this.#calls = calls;
    this.#lifecycle = lifecycle;
  }

  /** The task of this key ended (committed): its waiters get the outcome. */
  ended(key: string, outcome: OutcomeRecord): void {
    const waiters = this.#waiters.get(key);
    if (waiters) for (const done of [...waiters]) done(outcome);
  }

  /**
   * Wait for these pending keys to end; answers the outcomes (when `keep`)
   * of those that ended meanwhile. Rejects with 408 after timeoutMs (`what`
   * names what was waited for), once the caller is gone, or with 503 when
   * shutdown begins; each key holds one waiting call meanwhile.
   */
  wait(keys: readonly string[], timeoutMs: number, presence: Presence | undefined, what: string, keep: boolean): Promise<Map<string, OutcomeRecord>> {
    if (timeoutMs <= 0) return Promise.reject(errors.timedOut(what, 0));
    if (presence?.gone) return Promise.reject(errors.callerGone());
    this.#lifecycle.assertOpen();
    const giveBack = this.#calls.take(keys.length);
    return new Promise((resolve, reject) => {
      const ended = new Map<string, OutcomeRecord>();
      const stops: Array<() => void> = [];
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        giveBack();
        clearTimeout(timer);
        for (const stop of stops) stop();
        if (error) reject(error);
        else resolve(ended);
      };
      let left = keys.length;
      for (const key of keys) {
        let set = this.#waiters.get(key);
        if (!set) this.#waiters.set(key, (set = new Set()));
        const waiters = set;
        const done = (outcome: OutcomeRecord): void => {
          if (keep) ended.set(key, outcome);
          waiters.delete(done);
          if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
          if (--left === 0) finish();
        };
        waiters.add(done);
        stops.push(() => {
          waiters.delete(done);
          if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        });
      }
      const timer = setTimeout(() => finish(errors.timedOut(what, timeoutMs / 1000)), timeoutMs);
      stops.push(this.#lifecycle.onDrain(() => finish(errors.shuttingDown())));
      if (presence) stops.push(presence.onGone(() => finish(errors.callerGone())));
    });
  }
}
