import fp from 'fastify-plugin';
import type { Leadership } from '../../storage/postgres/leadership.ts';
import { isPostgresUrl, PostgresStorage } from '../../storage/postgres/postgres-storage.ts';
import { SqliteStorage } from '../../storage/sqlite/sqlite-storage.ts';
import { StorageHealth } from '../../storage/storage-health.ts';

/** After a failed PostgreSQL commit, how long the replies already due (507) have to go out before the process stops. */
const STOP_AFTER_FAILURE_MS = 200;

declare module 'fastify' {
  interface FastifyInstance {
    /** The storage: the turn's transaction, the commit point (`app.store.committed()`), held writes. */
    store: SqliteStorage;
    /** Whether the store takes writes; shared by every app the process builds over it. */
    storage: StorageHealth;
  }
}

export interface StorePluginOptions {
  path: string;
  synchronous: 'normal' | 'full';
  /**
   * Given by the process that owns the store (SchedulerHost), which rebuilds
   * the app from disk when a commit fails. Without one, a failed commit
   * stops the process (exit 70) and the next start recovers from disk.
   */
  storage?: StorageHealth;
  /**
   * PostgreSQL, several schedulers: the leadership the host contends with,
   * leading now. The store writes under its term, and a failed commit gives
   * it up (the host stands by, and loads afresh when it leads again) rather
   * than stopping the process.
   */
  leadership?: Leadership;
}

/**
 * Opens the storage (SQLite, its migrations applied). A failed commit means
 * memory and disk disagree: the commit's writes are answered 507
 * SLUICE_ERR_STORAGE, writes are refused from then on, and the owner of the
 * process rebuilds the app from disk (see SchedulerHost).
 */
export default fp<StorePluginOptions>(
  async (app, options) => {
    if (isPostgresUrl(options.path)) {
      // Memory and PostgreSQL disagree from a failed commit on, and a fenced leader must stop
      // serving: writes are refused at once (507), the replies already due go out, and the
      // leadership is given up (the host drops this app and stands by) or, with no host to stand
      // by, the process stops; the next leader (or this one, later) loads what PostgreSQL holds.
      const health = options.storage ?? new StorageHealth();
      const leadership = options.leadership;
      const storage = await PostgresStorage.open(options.path, {
        log: app.log,
        leadership,
        onFailure: (error) => {
          if (!health.writable) return;
          health.failed(error, storage);
          if (leadership) {
            app.log.error({ err: error, db: storage.location }, 'a PostgreSQL commit failed or leadership was lost: standing by; the next leader serves what PostgreSQL holds');
            leadership.resign(`a commit failed: ${error.message}`);
            return;
          }
          app.log.fatal({ err: error, db: storage.location }, 'a PostgreSQL commit failed or leadership was lost; stopping so that the leader serves what PostgreSQL holds');
          setTimeout(() => process.exit(70), STOP_AFTER_FAILURE_MS);
        },
      });
      app.decorate('store', storage);
      app.decorate('storage', health);
      app.log.info({ db: storage.location }, 'database open');
      return;
    }
    const health = options.storage;
    const storage: SqliteStorage = new SqliteStorage(options.path, {
      synchronous: options.synchronous,
      log: app.log,
      onFailure: (error) => {
        if (health) {
          app.log.error({ err: error, path: options.path }, 'SQLite commit failed: its writes are answered 507, writes are refused until the store takes them again, and the state is rebuilt from disk');
          health.failed(error, storage);
          return;
        }
        app.log.fatal({ err: error }, 'SQLite commit failed; stopping so that the next start recovers from disk');
        process.exit(70);
      },
    });
    app.decorate('store', storage);
    app.decorate('storage', health ?? new StorageHealth());
    app.log.info({ path: options.path }, 'database open');
  },
  { name: 'sluice-store' },
);
