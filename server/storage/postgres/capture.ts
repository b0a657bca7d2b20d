import type Database from 'better-sqlite3';
import type { Db } from '../sqlite/database.ts';

/** A write statement as PostgreSQL takes it: `$n` placeholders, and how a call's arguments fill them. */
export interface PortableStatement {
  /** The SQL as written for SQLite. */
  sqlite: string;
  /** The same SQL with `$1`, `$2`... for its placeholders. */
  text: string;
  /** For `@name` placeholders: the name behind each `$n`, in order; undefined for `?` placeholders. */
  names: string[] | undefined;
  /** The table it writes (the word after INSERT INTO / UPDATE / DELETE FROM). */
  table: string;
}

/** One write as it ran on the copy: what PostgreSQL is sent. */
export interface RecordedWrite {
  statement: PortableStatement;
  values: unknown[];
}

const WRITE = /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+("?)(\w+)\1/i;
/** What may run on the copy without being shipped: the turn's own transaction. */
const TRANSACTION_CONTROL = /^\s*(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

/**
 * Translate a write statement written for SQLite into PostgreSQL's
 * placeholders: `?` becomes `$1`, `$2`... in order; `@name` becomes one
 * `$n` per distinct name. String literals and quoted identifiers are left
 * as they are. Answers undefined for a statement that is not an INSERT,
 * UPDATE or DELETE.
 */
export function portable(sql: string): PortableStatement | undefined {
  const write = WRITE.exec(sql);
  if (!write) return undefined;
  let text = '';
  let positional = 0;
  const names: string[] = [];
  let named = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${sql}`);
      text += sql.slice(i, end + 1);
      i = end;
    } else if (c === '?') {
      text += `$${++positional}`;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const name = /^[A-Za-z_]\w*/.exec(sql.slice(i + 1))?.[0] as string;
      let n = names.indexOf(name);
      if (n < 0) n = names.push(name) - 1;
      text += `$${n + 1}`;
      named = true;
      i += name.length;
    } else {
      text += c;
    }
  }
  if (named && positional > 0) throw new Error(`a statement mixes ? and named placeholders, which is not shipped: ${sql}`);
  return { sqlite: sql, text, names: named ? names : undefined, table: (write[2] as string).toLowerCase() };
}

/** The values of one call, in the order of the statement's `$n`. */
function valuesOf(statement: PortableStatement, args: unknown[]): unknown[] {
  if (statement.names) {
    const bound = (args[0] ?? {}) as Record<string, unknown>;
    return statement.names.map((name) => toPostgres(bound[name]));
  }
  return args.flat().map(toPostgres);
}

/** better-sqlite3's values as pg sends them: bigints as text (pg does not take them), the rest as they are. */
function toPostgres(value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

const RUNNERS = new Set(['run', 'get', 'all', 'iterate']);
const CHAINED = new Set(['raw', 'pluck', 'expand', 'safeIntegers']);

/**
 * The database the stores prepare their statements on, when SQLite holds a
 * copy of another store of record: every INSERT, UPDATE and DELETE they
 * prepare runs on the copy as it would anyway and, once it has run without
 * error, is told to `record` with its arguments, in the order of execution.
 * A statement that would change the copy any other way (DDL, REPLACE, a
 * PRAGMA that writes) is refused when it is prepared, so nothing reaches
 * the copy that would not reach the store of record. Statements prepared for
 * the turn's transaction (BEGIN, COMMIT, ROLLBACK) pass through.
 *
 * What does not go through prepare() is not recorded: `exec()` and
 * `pragma()` are for the copy's own upkeep (migrations before the stores
 * are made, WAL checkpoints) and must never change a sluice table.
 */
export function captureWrites(db: Db, record: (write: RecordedWrite) => void, prepared?: (statement: PortableStatement) => void): Db {
  const prepare = (sql: string): Database.Statement => {
    const statement = db.prepare(sql);
    if (statement.readonly) return statement;
    const write = portable(sql);
    if (!write) {
      if (TRANSACTION_CONTROL.test(sql)) return statement;
      throw new Error(`this statement changes the store in a way that is not shipped to the store of record: ${sql}`);
    }
    prepared?.(write);
    const proxy: Database.Statement = new Proxy(statement, {
      get(target, property) {
        if (typeof property === 'string' && RUNNERS.has(property)) {
          return (...args: unknown[]) => {
            const method = target[property as 'run'] as (...a: unknown[]) => unknown;
            const answer = method.apply(target, args);
            record({ statement: write, values: valuesOf(write, args) });
            return answer;
          };
        }
        if (typeof property === 'string' && CHAINED.has(property)) {
          return (...args: unknown[]) => {
            (target[property as 'raw'] as (...a: unknown[]) => unknown).apply(target, args);
            return proxy;
          };
        }
        if (property === 'bind') throw new Error('bind() is not supported on a statement whose writes are shipped');
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return proxy;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
