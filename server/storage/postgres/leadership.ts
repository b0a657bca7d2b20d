import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';

/**
 * One leader among the schedulers that share a PostgreSQL database.
 *
 * The leader holds a lease: a row of sluice_leadership with a term and an
 * expiry on the database's clock (so the schedulers' own clocks never have to
 * agree). A standby takes the row over once the lease has expired, and the
 * term goes up by one with every new leader. The leader renews the lease well
 * before it ends, and stops leading by itself when its own clock says the
 * lease may have ended without a renewal it saw succeed (the local deadline
 * is measured from before the renewal was sent, so it always falls before
 * the expiry the database recorded).
 *
 * Timing alone never makes a write safe: every write transaction of the
 * leader begins with the fence (fencedTransaction, or FENCE_SQL), which
 * raises unless the writer's term is the current one and its lease has not
 * expired, and keeps a share lock on the row until the transaction ends. A
 * takeover updates that row, so it waits for the writes in flight and
 * every write after it fails: a leader that was paused or cut off commits
 * nothing once another has taken over.
 */
export interface LeadershipOptions {
  /** The database: a postgres:// URL or node-postgres settings. */
  connection: string | pg.ClientConfig;
  /** Which leadership (several sluice clusters may share a database); 'scheduler' by default. */
  name?: string;
  /** This contender's id, unique among them; random by default. */
  id?: string;
  /** The URL others should use for this scheduler, shown to standbys and clients. */
  url?: string | null;
  /** How long a lease lasts without a renewal (ms); 5000 by default. */
  leaseMs?: number;
  /** How often the leader renews (ms); a third of the lease by default. */
  renewEveryMs?: number;
  /** How often a standby tries to take over (ms); a tenth of the lease by default. */
  pollEveryMs?: number;
  /**
   * After losing leadership, how long to stay out of the contest (ms); two
   * leases by default, so a standby in good health takes over rather than a
   * leader that just failed.
   */
  rejoinAfterMs?: number;
}

/** Who leads, as last seen. */
export interface LeaderInfo {
  term: number;
  id: string;
  url: string | null;
}

export interface LeadershipEvents {
  /** This contender leads now, at this term. */
  'leadership:gained': [{ term: number }];
  /** This contender no longer leads: its lease lapsed, was taken over or could not be renewed. */
  'leadership:lost': [{ term: number; reason: string }];
  /** Another contender leads (seen by a standby when the leader changes). */
  'leadership:observed': [LeaderInfo];
  /** A round trip to the database failed; the contender carries on and retries. */
  'leadership:error': [Error];
}

/** The SQLSTATE the fence raises: not the leader at that term. */
export const FENCED_SQLSTATE = 'SLF01';

/** A write refused because its term is not the current leadership's. */
export class FencedError extends Error {
  readonly code = 'SLUICE_FENCED';
  constructor(readonly leadership: string, readonly term: number, options?: { cause?: unknown }) {
    super(`term ${term} of ${leadership} no longer leads: the write was refused`, options);
    this.name = 'FencedError';
  }
}

/** Where a fenced transaction proves its leadership. */
export interface Fence {
  /** The leadership's name ('scheduler' by default). */
  name: string;
  term: number;
}

/** The statement that opens every write transaction of a leader: raises FENCED_SQLSTATE unless fence.term leads. */
export const FENCE_SQL = 'SELECT sluice_fence($1, $2)';

const DEFAULT_NAME = 'scheduler';
const SCHEMA_LOCK = 0x51_75_1c_e0_02n;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sluice_leadership (
  name        TEXT COLLATE "C" PRIMARY KEY,
  term        BIGINT NOT NULL,             -- one more for every new leader; never goes back
  holder      TEXT NOT NULL,               -- the leading contender's id
  url         TEXT,                        -- where others reach it
  acquired_at TIMESTAMPTZ NOT NULL,
  expires_at  TIMESTAMPTZ NOT NULL         -- on the database's clock
);
CREATE OR REPLACE FUNCTION sluice_fence(p_name TEXT, p_term BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- The share lock is held to the end of the transaction: a takeover (an
  -- UPDATE of this row) waits for it, and is seen by every fence after it.
  PERFORM 1 FROM sluice_leadership
    WHERE name = p_name AND term = p_term AND expires_at > clock_timestamp()
    FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'term % of % no longer leads', p_term, p_name USING ERRCODE = '${FENCED_SQLSTATE}';
  END IF;
END $$;`;

/** Make the leadership table and the fence function, once, whoever else runs it at the same time. */
export async function prepareLeadership(db: Pick<pg.ClientBase, 'query'>): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK.toString()]);
    await db.query(SCHEMA);
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

const ACQUIRE = `
INSERT INTO sluice_leadership AS l (name, term, holder, url, acquired_at, expires_at)
VALUES ($1, 1, $2, $3, clock_timestamp(), clock_timestamp() + make_interval(secs => $4::double precision / 1000))
ON CONFLICT (name) DO UPDATE
  SET term = l.term + 1, holder = EXCLUDED.holder, url = EXCLUDED.url,
      acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
  WHERE l.expires_at <= clock_timestamp()
RETURNING term`;

const RENEW = `
UPDATE sluice_leadership SET expires_at = clock_timestamp() + make_interval(secs => $4::double precision / 1000)
WHERE name = $1 AND term = $2 AND holder = $3 AND expires_at > clock_timestamp()
RETURNING term`;

const RELEASE = `UPDATE sluice_leadership SET expires_at = clock_timestamp() WHERE name = $1 AND term = $2 AND holder = $3`;

const CURRENT = `SELECT term, holder, url FROM sluice_leadership WHERE name = $1 AND expires_at > clock_timestamp()`;

type State = { role: 'standby' } | { role: 'leader'; term: number; deadline: number };

/** A contender for leadership; see LeadershipOptions. start() it, close() it. */
export class Leadership extends EventEmitter<LeadershipEvents> {
  readonly name: string;
  readonly id: string;
  readonly url: string | null;
  readonly leaseMs: number;
  readonly #renewEveryMs: number;
  readonly #pollEveryMs: number;
  readonly #rejoinAfterMs: number;
  readonly #connection: pg.ClientConfig;
  #client: pg.Client | undefined;
  #state: State = { role: 'standby' };
  #leader: LeaderInfo | null = null;
  #outUntil = 0;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #sleep: ReturnType<typeof setTimeout> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: LeadershipOptions) {
    super();
    this.name = options.name ?? DEFAULT_NAME;
    this.id = options.id ?? randomUUID();
    this.url = options.url ?? null;
    this.leaseMs = options.leaseMs ?? 5000;
    if (!(this.leaseMs >= 100)) throw new Error(`leaseMs must be at least 100, got ${this.leaseMs}`);
    this.#renewEveryMs = options.renewEveryMs ?? Math.floor(this.leaseMs / 3);
    this.#pollEveryMs = options.pollEveryMs ?? Math.floor(this.leaseMs / 10);
    this.#rejoinAfterMs = options.rejoinAfterMs ?? 2 * this.leaseMs;
    if (this.#renewEveryMs >= this.leaseMs) throw new Error(`renewEveryMs (${this.#renewEveryMs}) must be below leaseMs (${this.leaseMs})`);
    const base = typeof options.connection === 'string' ? { connectionString: options.connection } : options.connection;
    // A round trip that takes longer than a lease is of no use: the lease is gone by then. The
    // server cancels such a statement itself (a takeover waiting on a writer's lock, say), so
    // that nothing of it outlives the connection the contender gives up.
    this.#connection = {
      connectionTimeoutMillis: this.leaseMs,
      query_timeout: this.leaseMs,
      statement_timeout: this.leaseMs,
      keepAlive: true,
      ...base,
    };
  }

  /** 'leader' while this contender's lease is known to hold, else 'standby'. */
  get role(): 'leader' | 'standby' {
    return this.#leading() ? 'leader' : 'standby';
  }

  /** The term this contender leads at, or undefined. */
  get term(): number | undefined {
    return this.#leading() ? (this.#state as { term: number }).term : undefined;
  }

  /** The fence for this leader's writes, or undefined when it does not lead. */
  get fence(): Fence | undefined {
    const term = this.term;
    return term === undefined ? undefined : { name: this.name, term };
  }

  /** The leader as last seen (this contender itself when it leads), or null when none is known. */
  get leader(): LeaderInfo | null {
    if (this.#leading()) return { term: (this.#state as { term: number }).term, id: this.id, url: this.url };
    return this.#leader;
  }

  /** Make the table if needed, contend once, then keep contending (or renewing) until close(). */
  async start(): Promise<void> {
    if (this.#loop) throw new Error('leadership already started');
    const client = await this.#connect();
    await prepareLeadership(client);
    await this.#round();
    this.#loop = this.#run();
  }

  /** Stop contending; a leader gives its lease up so a standby need not wait for it to lapse. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sleep) clearTimeout(this.#sleep);
    this.#wake?.();
    await this.#loop;
    const state = this.#state;
    if (state.role === 'leader') {
      this.#stepDown('closed');
      await this.#client?.query(RELEASE, [this.name, state.term, this.id]).catch(() => {});
    }
    await this.#dropClient();
  }

  /**
   * Give leadership up now (a commit of this leader failed, so its state can
   * no longer be trusted): it stops leading at once ('leadership:lost'),
   * releases its lease so that a standby need not wait for it to lapse, and
   * stays out of the contest for the rejoin delay, as after any loss.
   */
  resign(reason: string): void {
    const state = this.#state;
    if (state.role !== 'leader') return;
    this.#stepDown(reason);
    const client = this.#client;
    client?.query(RELEASE, [this.name, state.term, this.id]).catch(() => {});
  }

  #leading(): boolean {
    return this.#state.role === 'leader' && performance.now() < this.#state.deadline;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const wait = this.#state.role === 'leader' ? this.#renewEveryMs : this.#pollEveryMs;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#sleep = setTimeout(resolve, wait);
      });
      if (this.#closed) return;
      await this.#round();
    }
  }

  /** One renewal (leader) or one attempt to take over (standby). */
  async #round(): Promise<void> {
    try {
      const client = await this.#connect();
      const sent = performance.now();
      if (this.#state.role === 'leader') {
        const { term } = this.#state;
        const renewed = await client.query(RENEW, [this.name, term, this.id, this.leaseMs]);
        // The answer may come after close() or after the deadline passed: neither makes it lead again.
        if (this.#state.role !== 'leader' || this.#state.term !== term) return;
        if (renewed.rowCount === 1) this.#lead(term, sent);
        else this.#stepDown('the lease was taken over or had lapsed');
        return;
      }
      if (this.#closed) return;
      // Out of the contest for a while after a loss: it still looks who leads, to name it.
      if (performance.now() >= this.#outUntil) {
        const acquired = await client.query<{ term: string }>(ACQUIRE, [this.name, this.id, this.url, this.leaseMs]);
        if (acquired.rows[0] && !this.#closed) {
          this.#lead(Number(acquired.rows[0].term), sent);
          return;
        }
      }
      const current = await client.query<{ term: string; holder: string; url: string | null }>(CURRENT, [this.name]);
      const row = current.rows[0];
      // Its own lease, lapsing still on the database's clock after it stopped leading: no one else leads yet.
      const seen = row && row.holder !== this.id ? { term: Number(row.term), id: row.holder, url: row.url } : null;
      if (seen?.term !== this.#leader?.term && seen) this.emit('leadership:observed', seen);
      this.#leader = seen;
    } catch (error) {
      // The connection is suspect: a leader cannot prove its lease over it, so it steps down now.
      this.emit('leadership:error', error as Error);
      await this.#dropClient();
      if (this.#state.role === 'leader') this.#stepDown(`the database could not be reached: ${(error as Error).message}`);
    }
  }

  #lead(term: number, sent: number): void {
    const wasLeader = this.#state.role === 'leader';
    const deadline = sent + this.leaseMs;
    this.#state = { role: 'leader', term, deadline };
    this.#leader = { term, id: this.id, url: this.url };
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(() => this.#stepDown('the lease ran out before a renewal succeeded'), Math.max(0, deadline - performance.now()));
    if (!wasLeader) this.emit('leadership:gained', { term });
  }

  #stepDown(reason: string): void {
    const state = this.#state;
    if (state.role !== 'leader') return;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#state = { role: 'standby' };
    this.#leader = null;
    this.#outUntil = performance.now() + this.#rejoinAfterMs;
    this.emit('leadership:lost', { term: state.term, reason });
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = new pg.Client(this.#connection);
    // An error between queries (the server ended the session): the next round sees the connection gone.
    client.on('error', (error) => {
      this.emit('leadership:error', error);
      if (this.#client === client) this.#client = undefined;
      if (this.#state.role === 'leader') this.#stepDown(`the database connection failed: ${error.message}`);
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.#client = client;
    return client;
  }

  async #dropClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    // end() waits for the server's goodbye, which never comes from a server cut off: bound it.
    await Promise.race([client.end().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  }
}

/**
 * Run queries as one transaction that first proves fence.term leads, all sent
 * at once (pipelined when the client was made with `pipeline: true`, one after
 * the other otherwise). Resolves with the queries' results once committed;
 * rejects with FencedError when the term no longer leads (nothing of the
 * transaction is committed), or with the first error otherwise.
 */
export async function fencedTransaction(client: pg.ClientBase, fence: Fence, queries: Array<pg.QueryConfig>): Promise<pg.QueryResult[]> {
  const sent = [
    client.query('BEGIN'),
    client.query({ name: 'sluice-fence', text: FENCE_SQL, values: [fence.name, fence.term] }),
    ...queries.map((q) => client.query(q)),
    client.query('COMMIT'),
  ];
  const settled = await Promise.allSettled(sent);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    // After an error the rest of the transaction failed too and its COMMIT rolled back; make sure it is over.
    await client.query('ROLLBACK').catch(() => {});
    if ((failed.reason as { code?: string }).code === FENCED_SQLSTATE) throw new FencedError(fence.name, fence.term, { cause: failed.reason });
    throw failed.reason;
  }
  const results = settled.map((s) => (s as PromiseFulfilledResult<pg.QueryResult>).value);
  const commit = results[results.length - 1];
  // COMMIT of a transaction that failed answers ROLLBACK rather than an error.
  if (commit.command !== 'COMMIT') throw new Error(`the transaction was rolled back (${commit.command})`);
  return results.slice(2, -1);
}
