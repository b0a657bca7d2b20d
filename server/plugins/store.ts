import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';
import { openDatabase } from '../storage/sqlite/database.ts';
import { walOutgrowsRoom } from '../storage/sqlite/disk-room.ts';
import { GroupCommit } from '../storage/sqlite/group-commit.ts';
import { StorageHealth } from '../storage/storage-health.ts';
import { isMemoryStore } from '../storage/sqlite/store-lock.ts';
import { TaskStore } from '../storage/sqlite/task-store.ts';

/** How often the room left beside the store is checked (a statfs and a stat: a few microseconds). */
const ROOM_CHECK_MS = 250;

declare module 'fastify' {
  interface FastifyInstance {
    store: TaskStore;
    /** Whether the store takes writes; shared by every app the process builds over it. */
    storage: StorageHealth;
  }
}

export interface StorePluginOptions {
  path: string;
  synchronous: 'normal' | 'full';
  retentionMs: number;
  /**
   * Given by the process that owns the store (SchedulerHost), which rebuilds
   * the app from disk when a commit fails. Without one, a failed commit
   * stops the process (exit 70) and the next start recovers from disk.
   */
  storage?: StorageHealth;
}

/**
 * Owns the one SQLite connection. A failed commit means memory and disk
 * disagree: the commit's writes are answered 507 SLUICE_ERR_STORAGE, writes
 * are refused from then on, and the owner of the process rebuilds the app
 * from disk (see SchedulerHost).
 */
export default fp<StorePluginOptions>(
  async (app, options) => {
    const db = openDatabase(options.path, { synchronous: options.synchronous });
    const storage = options.storage;
    const tx = new GroupCommit(db, (error) => {
      if (storage) {
        app.log.error({ err: error, path: options.path }, 'SQLite commit failed: its writes are answered 507, writes are refused until the store takes them again, and the state is rebuilt from disk');
        storage.failed(error, tx);
        return;
      }
      app.log.fatal({ err: error }, 'SQLite commit failed; stopping so that the next start recovers from disk');
      process.exit(70);
    });
    const store = new TaskStore(db, tx, { retentionMs: options.retentionMs });
    app.decorate('store', store);
    app.decorate('storage', storage ?? new StorageHealth());
    if (!isMemoryStore(options.path)) {
      const folding = setInterval(() => foldIfShortOfRoom(store, options.path, app.log), ROOM_CHECK_MS);
      folding.unref();
      app.addHook('onClose', async () => clearInterval(folding));
    }
    app.log.info({ path: options.path }, 'database open');
  },
  { name: 'sluice-store' },
);

/** Fold the WAL early while it can still be folded (see walOutgrowsRoom). */
function foldIfShortOfRoom(store: TaskStore, path: string, log: FastifyBaseLogger): void {
  if (!store.db.open) return;
  try {
    if (walOutgrowsRoom(path)) store.foldWal();
  } catch (error) {
    // The disk is full already: the probe folds it once there is room.
    log.debug({ err: error, path }, 'the WAL could not be folded into the store');
  }
}
