import type { FutureStatus } from '../../schemas/common.ts';
import type { HolderId } from '../state/holder-kinds.ts';

/** Who is calling: a client session, or an anonymous caller (curl). */
export interface Caller {
  clientId?: string;
}

/**
 * What a service that keeps futures (channel entries, queue items,
 * variables) needs of the tasks: to hold keys, let go of them, give them to
 * a caller, and know where a key stands. The task service implements it;
 * a service gets one in its constructor. Each call changes the core at once
 * and joins the turn's commit, as the service's own writes do.
 */
export interface Holds {
  /**
   * `holder` keeps these keys: a pending task runs on, an ended one is kept
   * past its retention period. Every key must be known (see knownStatus).
   */
  hold(keys: readonly string[], holder: HolderId): void;
  /**
   * `holder` lets go of these keys: a pending task that nobody holds any
   * more and no task needs is cancelled, an ended one nothing else holds
   * starts its retention period.
   */
  release(keys: readonly string[], holder: HolderId): void;
  /**
   * The caller now has these keys: its client session holds them; for an
   * anonymous caller (curl) pending tasks run on as fire-and-forget, and
   * ended ones are kept for the retention period.
   */
  giveTo(keys: readonly string[], caller: Caller): void;
  /** Throws 404 naming the key if it is unknown or forgotten; an ended key's final status, undefined while it is pending. */
  knownStatus(key: string): FutureStatus | undefined;
  /** Where the key stands now: pending, its final status, or undefined if it is unknown or forgotten. */
  status(key: string): FutureStatus | undefined;
}
