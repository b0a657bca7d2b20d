import fp from 'fastify-plugin';
import { openDatabase } from '../store/database.ts';
import { GroupCommit } from '../store/group-commit.ts';
import { isMemoryStore, StoreLock } from '../store/store-lock.ts';
import { TaskStore } from '../store/task-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    store: TaskStore;
  }
}

export interface StorePluginOptions {
  path: string;
  synchronous: 'normal' | 'full';
  retentionMs: number;
}

/**
 * Owns the one SQLite connection, and the store's lock: a second process on
 * the same file is refused before anything is read or written (and before
 * the port is bound). A failed commit means memory and disk disagree, so the
 * process stops (fail-stop); the next start rebuilds from disk.
 */
export default fp<StorePluginOptions>(
  async (app, options) => {
    const lock = isMemoryStore(options.path) ? undefined : StoreLock.acquire(options.path, 'sluice scheduler');
    // Registered first, so it runs last: after the scheduler has closed the store.
    app.addHook('onClose', async () => lock?.release());
    let db;
    try {
      db = openDatabase(options.path, { synchronous: options.synchronous });
    } catch (error) {
      lock?.release();
      throw error;
    }
    const tx = new GroupCommit(db, (error) => {
      app.log.fatal({ err: error }, 'SQLite commit failed; stopping so that the next start recovers from disk');
      process.exit(70);
    });
    const store = new TaskStore(db, tx, { retentionMs: options.retentionMs });
    app.decorate('store', store);
    app.log.info({ path: options.path }, 'database open');
  },
  { name: 'sluice-store' },
);
