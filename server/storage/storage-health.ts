import { EventEmitter } from 'node:events';
import { errors } from '../errors.ts';

export interface StorageEvents {
  /** A commit failed: `error` is why; `writer` is the storage whose writer it ended. */
  'storage:failed': [error: Error, writer: object];
  /** The store takes writes again. */
  'storage:resumed': [];
}

/**
 * Whether the store takes writes. A failed commit refuses writes (507
 * SLUICE_ERR_STORAGE) from then on, before anything is changed in memory;
 * `resume()` lets them in again once a probe commit has succeeded. It
 * outlives the app it is given to: after a failed commit the process builds a
 * fresh app from disk, which must know that writes are still refused.
 */
export class StorageHealth extends EventEmitter<StorageEvents> {
  #refusing: Error | undefined;
  #since: number | undefined;

  get writable(): boolean {
    return this.#refusing === undefined;
  }

  /** Why writes are refused, and since when (ms since the epoch). */
  get refusal(): { cause: Error; since: number } | undefined {
    return this.#refusing ? { cause: this.#refusing, since: this.#since as number } : undefined;
  }

  /** Throws 507 SLUICE_ERR_STORAGE while writes are refused. */
  assertWritable(): void {
    if (this.#refusing) throw errors.storageRefusing(this.#refusing);
  }

  /** A commit of `writer` failed: refuse writes until resume(). */
  failed(error: Error, writer: object): void {
    if (!this.#refusing) {
      this.#refusing = error;
      this.#since = Date.now();
    }
    this.emit('storage:failed', error, writer);
  }

  resume(): void {
    if (!this.#refusing) return;
    this.#refusing = undefined;
    this.#since = undefined;
    this.emit('storage:resumed');
  }
}
