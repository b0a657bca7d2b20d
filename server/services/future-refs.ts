import { findDependencies } from '../../schemas/keys.ts';
import type { Caller, Holds } from './holds.ts';
import type { HolderId } from '../state/holder-kinds.ts';

/**
 * Futures inside stored values: every {"$future": key} in a queue item or a
 * variable is held by it (holders queue:<name>:<id>, variable:<name>), so the
 * task keeps running and its result is kept for as long as the value is
 * stored, across restarts.
 */
export class FutureRefs {
  readonly #holds: Holds;

  constructor(holds: Holds) {
    this.#holds = holds;
  }

  /** The keys a value refers to. Throws 404 naming the first unknown or forgotten one. */
  check(value: unknown): readonly string[] {
    const keys = findDependencies(value);
    this.checkKeys(keys);
    return keys;
  }

  /** Throws 404 naming the first of these keys that is unknown or forgotten. */
  checkKeys(keys: readonly string[]): void {
    for (const key of keys) this.#holds.knownStatus(key);
  }

  hold(keys: readonly string[], holder: HolderId): void {
    if (keys.length > 0) this.#holds.hold(keys, holder);
  }

  release(keys: readonly string[], holder: HolderId): void {
    if (keys.length > 0) this.#holds.release(keys, holder);
  }

  /**
   * The caller now has these futures: a client session holds them (its
   * Future objects let go later); for an anonymous caller (curl) pending
   * tasks are kept running, as its own submissions are, and results are
   * kept for the retention period.
   */
  giveTo(keys: readonly string[], caller: Caller): void {
    this.#holds.giveTo(keys, caller);
  }

  /** What `holder` held goes to the caller; taken before let go, so a pending task is never unheld in between. */
  handOver(keys: readonly string[], holder: HolderId, caller: Caller): void {
    this.giveTo(keys, caller);
    this.release(keys, holder);
  }
}
