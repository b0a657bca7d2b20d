import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Lease, LeasesInfo } from '../../schemas/leases.ts';
import { randomId } from '../../schemas/keys.ts';
import type { Fence } from '../../schemas/variables.ts';
import { errors } from '../errors.ts';
import type { Caller } from './holds.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { TaskEvents } from './task-events.ts';
import type { LeaseKind, LeaseStore, SemaphoreRow } from '../storage/sqlite/lease-store.ts';
import { type WaitingCalls, WaitLine, type WaitOptions } from './wait-line.ts';

export interface AcquireRequest {
  /** Chosen by the caller so that a retried acquire finds its lease; random otherwise. */
  leaseId?: string;
  ttlMs: number;
  holder?: string;
  /** Semaphores only: create with this many leases, or check that it has this many. */
  maxLeases?: number;
}

interface LeaseState {
  readonly id: string;
  readonly token: number;
  readonly clientId: string | null;
  readonly holder: string | null;
  readonly ttlMs: number;
  readonly acquiredAt: number;
  expiresAt: number;
  readonly timer: NodeJS.Timeout;
}

interface Grant {
  readonly id: string;
  readonly ttlMs: number;
  readonly holder: string | null;
  readonly clientId: string | null;
}

interface SemaphoreState {
  readonly kind: LeaseKind;
  readonly name: string;
  maxLeases: number;
  /** The last fencing token given; persisted with every grant, never goes back. */
  lastToken: number;
  /** Leases held now, in token order. */
  readonly leases: Map<string, LeaseState>;
  readonly line: WaitLine<LeaseState, Grant>;
}

/**
 * Events about locks and semaphores, for the firehose and the metrics. They
 * carry names and tokens, never lease ids (which let one renew or release).
 */
export interface LeaseEvents {
  'lease:acquired': [kind: LeaseKind, name: string, token: number];
  /** Released by its holder, by its client session ending, or because its grant never reached the caller. */
  'lease:released': [kind: LeaseKind, name: string, token: number];
  /** Not renewed within its ttl. */
  'lease:expired': [kind: LeaseKind, name: string, token: number];
  /** Anything else that summary() shows changed: a caller began or stopped waiting, maxLeases changed. */
  'lease:changed': [kind: LeaseKind, name: string];
}

/** A lock or semaphore at a glance, for dashboards. */
export interface LeaseSummary {
  kind: LeaseKind;
  name: string;
  maxLeases: number;
  /** Leases held now. */
  held: number;
  /** Callers waiting to acquire. */
  waiting: number;
  lastToken: number;
  /** Who holds the oldest leases (their holder labels, else their client ids), at most three. */
  holders: string[];
}

/** A granted lease as acquire and renew answer it. */
export interface GrantedLease extends Lease {
  kind: LeaseKind;
}

/**
 * Locks and semaphores (Dask's Lock and Semaphore) with leases.
 *
 * A lease is granted for ttlMs and lapses unless renewed within ttlMs of the
 * grant or of its last renewal: a holder that dies, or is cut off, lets go by
 * itself. Every grant carries a fencing token, one more than any token given
 * before for that name (persisted, so a restart never repeats one). A holder
 * whose lease lapsed and who does not know it yet still has its old token;
 * a resource that remembers the highest token it has seen refuses it, and
 * sluice's own variables do so for writes fenced with a token (see
 * assertHeld), checked in the same step as the write.
 *
 * Grants and releases are committed before they are answered. Renewals are
 * not written: after a restart every lease starts a full ttl afresh, so a
 * holder that is still alive renews before anybody else is let in.
 */
export class Leases {
  readonly events = new EventEmitter<LeaseEvents>();
  readonly #lifecycle: Lifecycle;
  readonly #tasks: TaskEvents;
  readonly #calls: WaitingCalls;
  readonly #store: LeaseStore;
  readonly #log: FastifyBaseLogger;
  /**
   * The locks and semaphores held or waited on. The others live in the store
   * only (their maxLeases and last fencing token), so that a lock per job
   * costs memory while it is in use, not for ever.
   */
  readonly #semaphores = new Map<string, SemaphoreState>();
  /** Every lease held, by id, with its semaphore. */
  readonly #byId = new Map<string, { semaphore: SemaphoreState; lease: LeaseState }>();
  /** Leases held at once, at most (--max-leases). */
  readonly #maxLeases: number;

  constructor(lifecycle: Lifecycle, tasks: TaskEvents, calls: WaitingCalls, store: LeaseStore, log: FastifyBaseLogger, limits: { maxLeases: number }) {
    this.#lifecycle = lifecycle;
    this.#tasks = tasks;
    this.#calls = calls;
    this.#store = store;
    this.#log = log;
    this.#maxLeases = limits.maxLeases;
  }

  /** Load the leases of a previous run, with their locks and semaphores; each lease gets a full ttl from now. */
  start(): void {
    const now = Date.now();
    for (const row of this.#store.leases()) {
      const semaphore = this.#state(row.kind, row.name, 1);
      this.#hold(semaphore, { id: row.id, token: row.token, clientId: row.client_id, holder: row.holder, ttlMs: row.ttl_ms, acquiredAt: row.acquired_at }, now);
    }
    if (this.#byId.size > 0) this.#log.info({ leases: this.#byId.size }, 'restored leases; each expires unless renewed within its ttl');
    this.#tasks.on('client:ended', this.#onClientEnded);
  }

  /** Stop the expiry timers (the leases stay in the store for the next run). */
  close(): void {
    this.#tasks.off('client:ended', this.#onClientEnded);
    for (const { lease } of this.#byId.values()) clearTimeout(lease.timer);
  }

  drain(): void {
    for (const semaphore of this.#semaphores.values()) semaphore.line.rejectAll(errors.shuttingDown());
  }

  info(kind: LeaseKind, name: string): LeasesInfo {
    const semaphore = this.#semaphores.get(id(kind, name));
    if (!semaphore) {
      const row = this.#store.semaphore(kind, name);
      return { name, maxLeases: row?.max_leases ?? 1, leases: [], waiting: 0, lastToken: row?.last_token ?? 0 };
    }
    return {
      name,
      maxLeases: semaphore.maxLeases,
      leases: [...semaphore.leases.values()].map((lease) => ({
        token: lease.token,
        holder: lease.holder,
        clientId: lease.clientId,
        acquiredAt: iso(lease.acquiredAt),
        expiresAt: iso(lease.expiresAt),
      })),
      waiting: semaphore.line.size,
      lastToken: semaphore.lastToken,
    };
  }

  /**
   * For dashboards: every lock and semaphore that is held or waited on, and
   * up to `idle` of the others. (They are never forgotten, since their
   * fencing tokens must never go back; a lock per job would be a long list.)
   */
  overview(idle: number): { leases: LeaseSummary[]; total: number } {
    const leases = [...this.#semaphores.values()].map(summary);
    let idleShown = 0;
    for (const row of this.#store.someSemaphores(idle + leases.length)) {
      if (idleShown === idle) break;
      if (this.#semaphores.has(id(row.kind, row.name))) continue;
      leases.push(idleSummary(row));
      idleShown++;
    }
    return { leases, total: this.#store.semaphoreCount() };
  }

  /** One lock or semaphore at a glance; undefined if it is not known. */
  summary(kind: LeaseKind, name: string): LeaseSummary | undefined {
    const semaphore = this.#semaphores.get(id(kind, name));
    if (semaphore) return summary(semaphore);
    const row = this.#store.semaphore(kind, name);
    return row && idleSummary(row);
  }

  /** Leases held now, and callers waiting, by kind. */
  totals(): Record<LeaseKind, { held: number; waiting: number }> {
    const totals = { lock: { held: 0, waiting: 0 }, semaphore: { held: 0, waiting: 0 } };
    for (const semaphore of this.#semaphores.values()) {
      totals[semaphore.kind].held += semaphore.leases.size;
      totals[semaphore.kind].waiting += semaphore.line.size;
    }
    return totals;
  }

  /** Create a semaphore or change its number of leases. Lowering it revokes nothing: new grants wait until fewer are held. */
  configure(name: string, maxLeases: number): LeasesInfo {
    this.#lifecycle.assertOpen();
    const semaphore = this.#state('semaphore', name, maxLeases);
    semaphore.maxLeases = maxLeases;
    this.#store.saveSemaphore('semaphore', name, maxLeases, semaphore.lastToken);
    this.events.emit('lease:changed', 'semaphore', name);
    this.#admit(semaphore);
    const answer = this.info('semaphore', name);
    this.#forgetIfIdle(semaphore);
    return answer;
  }

  /**
   * Acquire a lease: at once if one is free and nobody waits, else in line
   * (first come, first served) until one is, or the timeout (408). A retried
   * acquire with the lease id it was granted answers that lease again.
   */
  async acquire(kind: LeaseKind, name: string, request: AcquireRequest, caller: Caller, wait: Omit<WaitOptions, 'what'>): Promise<GrantedLease> {
    this.#lifecycle.assertOpen();
    const maxLeases = kind === 'lock' ? 1 : request.maxLeases;
    const semaphore = this.#state(kind, name, maxLeases ?? 1);
    try {
      return await this.#acquire(semaphore, request, caller, wait);
    } finally {
      this.#forgetIfIdle(semaphore);
    }
  }

  async #acquire(semaphore: SemaphoreState, request: AcquireRequest, caller: Caller, wait: Omit<WaitOptions, 'what'>): Promise<GrantedLease> {
    const { kind, name } = semaphore;
    const maxLeases = kind === 'lock' ? 1 : request.maxLeases;
    if (maxLeases !== undefined && maxLeases !== semaphore.maxLeases) {
      throw errors.maxLeasesConflict(name, semaphore.maxLeases, maxLeases);
    }
    if (request.leaseId !== undefined) {
      const held = this.#byId.get(request.leaseId);
      if (held?.semaphore === semaphore) return this.#answer(semaphore, this.#renew(held.lease));
      if (held) throw errors.leaseIdElsewhere(request.leaseId, held.semaphore.kind);
      // A retry that overtook its own earlier request (whose connection is dying) replaces it in line: one grant per id.
      for (const waiter of semaphore.line) if (waiter.data.id === request.leaseId) waiter.reject(errors.callerGone());
    }
    const grant: Grant = { id: request.leaseId ?? randomId(), ttlMs: request.ttlMs, holder: request.holder ?? null, clientId: caller.clientId ?? null };
    if (semaphore.line.size === 0 && semaphore.leases.size < semaphore.maxLeases) {
      this.#assertRoom();
      return this.#answer(semaphore, this.#grant(semaphore, grant));
    }
    const waiting = semaphore.line.wait(grant, { ...wait, what: `a lease on ${kind} ${name}` });
    this.events.emit('lease:changed', kind, name);
    try {
      return this.#answer(semaphore, await waiting);
    } finally {
      this.events.emit('lease:changed', kind, name);
    }
  }

  /** Extend the lease to ttlMs from now. 409 if it is no longer held. */
  renew(kind: LeaseKind, name: string, leaseId: string): GrantedLease {
    const { semaphore, lease } = this.#find(kind, name, leaseId);
    return this.#answer(semaphore, this.#renew(lease));
  }

  /** Let go; the next in line is granted. 409 if it is no longer held. */
  release(kind: LeaseKind, name: string, leaseId: string): void {
    this.#lifecycle.assertOpen();
    const { semaphore, lease } = this.#find(kind, name, leaseId);
    this.#drop(semaphore, lease, 'lease:released');
  }

  /** The acquirer never received its grant (its connection failed first): let go of it. */
  grantLost(lease: GrantedLease): void {
    const held = this.#byId.get(lease.leaseId);
    if (!held) return;
    this.#log.info({ kind: lease.kind, name: lease.name, token: lease.token }, 'lease granted to a caller whose connection failed before the answer was written; releasing it');
    this.#drop(held.semaphore, held.lease, 'lease:released');
  }

  /** Throws 409 unless the lease with this fencing token is held now. */
  assertHeld(fence: Fence): void {
    const [kind, name] = 'lock' in fence ? (['lock', fence.lock] as const) : (['semaphore', fence.semaphore] as const);
    const semaphore = this.#semaphores.get(id(kind, name));
    for (const lease of semaphore?.leases.values() ?? []) if (lease.token === fence.token) return;
    const held = [...(semaphore?.leases.values() ?? [])].map((l) => l.token);
    throw errors.staleToken(kind, name, fence.token, held);
  }

  // ── internals ──────────────────────────────────────────────────────────

  /** The lock or semaphore, brought into memory (from the store if it was used before); `maxLeases` if it is new. */
  #state(kind: LeaseKind, name: string, maxLeases: number): SemaphoreState {
    let semaphore = this.#semaphores.get(id(kind, name));
    if (!semaphore) {
      const row = this.#store.semaphore(kind, name);
      semaphore = {
        kind,
        name,
        maxLeases: row?.max_leases ?? maxLeases,
        lastToken: row?.last_token ?? 0,
        leases: new Map(),
        line: new WaitLine(this.#calls),
      };
      this.#semaphores.set(id(kind, name), semaphore);
    }
    return semaphore;
  }

  /** Neither held nor waited on: it leaves memory (the store keeps its maxLeases and last token). */
  #forgetIfIdle(semaphore: SemaphoreState): void {
    if (semaphore.leases.size > 0 || semaphore.line.size > 0) return;
    if (this.#semaphores.get(id(semaphore.kind, semaphore.name)) === semaphore) this.#semaphores.delete(id(semaphore.kind, semaphore.name));
  }

  /** Throws 503 while --max-leases leases are held. */
  #assertRoom(): void {
    if (this.#byId.size < this.#maxLeases) return;
    throw errors.tooManyLeases(this.#byId.size, this.#maxLeases);
  }

  #grant(semaphore: SemaphoreState, grant: Grant): LeaseState {
    const lease = this.#hold(semaphore, { ...grant, token: semaphore.lastToken + 1, acquiredAt: Date.now() }, Date.now());
    semaphore.lastToken = lease.token;
    this.events.emit('lease:acquired', semaphore.kind, semaphore.name, lease.token);
    this.#store.insertLease(
      {
        id: lease.id,
        kind: semaphore.kind,
        name: semaphore.name,
        token: lease.token,
        client_id: lease.clientId,
        holder: lease.holder,
        ttl_ms: lease.ttlMs,
        acquired_at: lease.acquiredAt,
      },
      semaphore.maxLeases,
    );
    return lease;
  }

  #hold(semaphore: SemaphoreState, fields: Omit<LeaseState, 'expiresAt' | 'timer'>, now: number): LeaseState {
    const timer = setTimeout(() => this.#expire(semaphore, lease), fields.ttlMs);
    timer.unref();
    const lease: LeaseState = { ...fields, expiresAt: now + fields.ttlMs, timer };
    semaphore.leases.set(lease.id, lease);
    this.#byId.set(lease.id, { semaphore, lease });
    return lease;
  }

  #renew(lease: LeaseState): LeaseState {
    lease.expiresAt = Date.now() + lease.ttlMs;
    lease.timer.refresh(); // same delay, counted from now
    return lease;
  }

  #find(kind: LeaseKind, name: string, leaseId: string): { semaphore: SemaphoreState; lease: LeaseState } {
    const held = this.#byId.get(leaseId);
    if (!held || held.semaphore.kind !== kind || held.semaphore.name !== name) {
      throw errors.leaseNotHeld(kind, name, leaseId);
    }
    return held;
  }

  #expire(semaphore: SemaphoreState, lease: LeaseState): void {
    if (this.#byId.get(lease.id)?.lease !== lease) return;
    this.#log.warn(
      { kind: semaphore.kind, name: semaphore.name, token: lease.token, holder: lease.holder, clientId: lease.clientId, ttlMs: lease.ttlMs },
      'lease expired: its holder did not renew it in time',
    );
    this.#drop(semaphore, lease, 'lease:expired');
  }

  #drop(semaphore: SemaphoreState, lease: LeaseState, event: 'lease:released' | 'lease:expired'): void {
    clearTimeout(lease.timer);
    semaphore.leases.delete(lease.id);
    this.#byId.delete(lease.id);
    this.#store.deleteLease(lease.id);
    this.events.emit(event, semaphore.kind, semaphore.name, lease.token);
    this.#admit(semaphore);
    this.#forgetIfIdle(semaphore);
  }

  /** Grant free leases to the callers in line, in order (refusing them while --max-leases are held). */
  #admit(semaphore: SemaphoreState): void {
    for (let waiter = semaphore.line.first(); waiter && semaphore.leases.size < semaphore.maxLeases; waiter = semaphore.line.first()) {
      try {
        this.#assertRoom();
      } catch (error) {
        waiter.reject(error as Error);
        continue;
      }
      waiter.resolve(this.#grant(semaphore, waiter.data));
    }
  }

  #answer(semaphore: SemaphoreState, lease: LeaseState): GrantedLease {
    return { kind: semaphore.kind, name: semaphore.name, leaseId: lease.id, token: lease.token, ttlMs: lease.ttlMs, expiresAt: iso(lease.expiresAt) };
  }

  /** A client session ended (closed, or gone longer than its lease): its leases go at once. */
  readonly #onClientEnded = (clientId: string): void => {
    for (const { semaphore, lease } of [...this.#byId.values()]) {
      if (lease.clientId !== clientId) continue;
      this.#log.info({ kind: semaphore.kind, name: semaphore.name, token: lease.token, clientId }, 'client session ended; releasing its lease');
      this.#drop(semaphore, lease, 'lease:released');
    }
  };
}

const id = (kind: LeaseKind, name: string): string => `${kind}:${name}`;

function summary(semaphore: SemaphoreState): LeaseSummary {
  const holders: string[] = [];
  for (const lease of semaphore.leases.values()) {
    if (holders.length === 3) break;
    holders.push(lease.holder ?? lease.clientId ?? 'anonymous');
  }
  return {
    kind: semaphore.kind,
    name: semaphore.name,
    maxLeases: semaphore.maxLeases,
    held: semaphore.leases.size,
    waiting: semaphore.line.size,
    lastToken: semaphore.lastToken,
    holders,
  };
}
/** A lock or semaphore that is neither held nor waited on, as the store has it. */
function idleSummary(row: SemaphoreRow): LeaseSummary {
  return { kind: row.kind, name: row.name, maxLeases: row.max_leases, held: 0, waiting: 0, lastToken: row.last_token, holders: [] };
}

const iso = (ms: number): string => new Date(ms).toISOString();
