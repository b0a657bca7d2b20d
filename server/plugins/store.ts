import fp from 'fastify-plugin';
import { openDatabase } from '../store/database.ts';
import { GroupCommit } from '../store/group-commit.ts';
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
 * Owns the one SQLite connection. A failed commit means memory and disk
 * disagree, so the process stops (fail-stop); the next start rebuilds from disk.
 */
export default fp<StorePluginOptions>(
  async (app, options) => {
    const db = openDatabase(options.path, { synchronous: options.synchronous });
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
