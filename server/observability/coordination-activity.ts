import type { FirehoseEntry } from '../../schemas/firehose.ts';
import type { QueueInfo } from '../../schemas/queues.ts';
import type { Flags } from '../services/flags.ts';
import type { Leases, LeaseSummary } from '../services/leases.ts';
import type { Queues } from '../services/queues.ts';
import type { LeaseKind } from '../storage/sqlite/lease-store.ts';
import type { TopicInfo, Topics } from '../services/topics.ts';
import type { Variables } from '../services/variables.ts';

/** The coordination services the firehose and the metrics watch. */
export interface CoordinationServices {
  queues: Queues;
  variables: Variables;
  flags: Flags;
  leases: Leases;
  topics: Topics;
}

/** Names listed per frame and kind at most; a frame says how many more changed. */
const LISTED = 1000;
/** Set flags named in a snapshot at most (all are counted). */
const FLAGS_LISTED = 200;
/** Locks and semaphores neither held nor waited on, in a snapshot at most. */
const IDLE_LEASES_LISTED = 200;

/** A queue as the firehose shows it: its state now, and the items put and got since the previous frame. */
export interface QueueActivity extends QueueInfo {
  puts: number;
  gets: number;
}

/** A lock or semaphore as the firehose shows it, with the leases granted, released and expired since the previous frame. */
export interface LeaseActivity extends LeaseSummary {
  acquired: number;
  released: number;
  expired: number;
}

export interface TopicActivity extends TopicInfo {
  published: number;
}

/** Counts since this scheduler started, for the metrics. */
export interface CoordinationTotals {
  queuePuts: number;
  queueGets: number;
  variableSets: number;
  leasesAcquired: Record<LeaseKind, number>;
  leasesReleased: Record<LeaseKind, number>;
  leasesExpired: Record<LeaseKind, number>;
  topicMessages: number;
}

interface LeaseCounts {
  kind: LeaseKind;
  name: string;
  acquired: number;
  released: number;
  expired: number;
}

/**
 * What the queues, variables, flags, locks, semaphores and topics did, summed
 * up for the firehose. Their events only mark a name as changed and count;
 * each frame then carries every changed name once, with its state at that
 * moment, so a queue taking thousands of puts a second costs a dashboard one
 * entry per frame, and no frame carries an item, a value or a message.
 */
export class CoordinationActivity {
  readonly totals: CoordinationTotals = {
    queuePuts: 0,
    queueGets: 0,
    variableSets: 0,
    leasesAcquired: { lock: 0, semaphore: 0 },
    leasesReleased: { lock: 0, semaphore: 0 },
    leasesExpired: { lock: 0, semaphore: 0 },
    topicMessages: 0,
  };
  readonly #services: CoordinationServices;
  readonly #unsubscribe: Array<() => void> = [];
  #queues = new Map<string, { puts: number; gets: number }>();
  #leases = new Map<string, LeaseCounts>();
  /** Variables set (true) or deleted (false) since the previous frame: their last change. */
  #variables = new Map<string, boolean>();
  #flags = new Map<string, boolean>();
  #topics = new Map<string, number>();
  #topicsForgotten = new Set<string>();

  constructor(services: CoordinationServices) {
    this.#services = services;
  }

  start(): void {
    const { queues, variables, flags, leases, topics } = this.#services;
    const on = <E extends string, A extends unknown[]>(emitter: { on(e: E, f: (...a: A) => void): unknown; off(e: E, f: (...a: A) => void): unknown }, event: E, fn: (...a: A) => void): void => {
      emitter.on(event, fn);
      this.#unsubscribe.push(() => emitter.off(event, fn));
    };
    on(queues.events, 'queue:put', (name: string, count: number) => {
      this.#queue(name).puts += count;
      this.totals.queuePuts += count;
    });
    on(queues.events, 'queue:got', (name: string, count: number) => {
      this.#queue(name).gets += count;
      this.totals.queueGets += count;
    });
    on(queues.events, 'queue:configured', (name: string) => this.#queue(name));
    on(queues.events, 'queue:changed', (name: string) => this.#queue(name));
    // Deleted shows in take(): a queue that is gone then is listed as deleted (one that was put to again, or still has waiters, as changed).
    on(queues.events, 'queue:deleted', (name: string) => this.#queue(name));

    on(variables.events, 'variable:set', (name: string) => {
      this.#variables.set(name, true);
      this.totals.variableSets++;
    });
    on(variables.events, 'variable:deleted', (name: string) => this.#variables.set(name, false));
    on(flags.events, 'flag:set', (name: string) => this.#flags.set(name, true));
    on(flags.events, 'flag:cleared', (name: string) => this.#flags.set(name, false));

    on(leases.events, 'lease:acquired', (kind: LeaseKind, name: string) => {
      this.#lease(kind, name).acquired++;
      this.totals.leasesAcquired[kind]++;
    });
    on(leases.events, 'lease:released', (kind: LeaseKind, name: string) => {
      this.#lease(kind, name).released++;
      this.totals.leasesReleased[kind]++;
    });
    on(leases.events, 'lease:expired', (kind: LeaseKind, name: string) => {
      this.#lease(kind, name).expired++;
      this.totals.leasesExpired[kind]++;
    });
    on(leases.events, 'lease:changed', (kind: LeaseKind, name: string) => this.#lease(kind, name));

    on(topics.events, 'topic:published', (name: string) => {
      this.#topics.set(name, (this.#topics.get(name) ?? 0) + 1);
      this.totals.topicMessages++;
    });
    on(topics.events, 'topic:subscribers', (name: string) => this.#topics.set(name, this.#topics.get(name) ?? 0));
    on(topics.events, 'topic:forgotten', (name: string) => {
      this.#topics.delete(name);
      this.#topicsForgotten.add(name);
    });
  }

  stop(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  /** Everything a dashboard shows about coordination, now. */
  snapshot() {
    const { queues, variables, flags, leases, topics } = this.#services;
    const { leases: held, total } = leases.overview(IDLE_LEASES_LISTED);
    return {
      queues: queues.overview(),
      leases: held,
      leaseCount: total,
      topics: topics.list(),
      variables: { count: variables.count },
      flags: { count: flags.setCount, set: flags.setNames(FLAGS_LISTED) },
    };
  }

  /**
   * The frames that sum up what changed since the previous call, as
   * [event, data] pairs (none if nothing did); starts the next period.
   */
  take(at: number): FirehoseEntry[] {
    const frames: FirehoseEntry[] = [];
    if (this.#queues.size > 0) {
      const changed: QueueActivity[] = [];
      const deleted: string[] = [];
      let more = 0;
      for (const [name, counts] of this.#queues) {
        const queue = this.#services.queues.overview(name);
        if ((queue ? changed : deleted).length >= LISTED) more++;
        else if (queue) changed.push({ ...queue, ...counts });
        else deleted.push(name);
      }
      frames.push(['queues', { at, changed, deleted, more }]);
      this.#queues = new Map();
    }
    if (this.#leases.size > 0) {
      const changed: LeaseActivity[] = [];
      let more = 0;
      for (const counts of this.#leases.values()) {
        const lease = this.#services.leases.summary(counts.kind, counts.name);
        if (!lease) continue;
        if (changed.length < LISTED) changed.push({ ...lease, acquired: counts.acquired, released: counts.released, expired: counts.expired });
        else more++;
      }
      frames.push(['leases', { at, changed, more }]);
      this.#leases = new Map();
    }
    if (this.#variables.size > 0) {
      const [set, deleted] = split(this.#variables);
      frames.push(['variables', { at, count: this.#services.variables.count, set, deleted }]);
      this.#variables = new Map();
    }
    if (this.#flags.size > 0) {
      const [set, cleared] = split(this.#flags);
      frames.push(['flags', { at, count: this.#services.flags.setCount, set, cleared }]);
      this.#flags = new Map();
    }
    if (this.#topics.size > 0 || this.#topicsForgotten.size > 0) {
      const changed: TopicActivity[] = [];
      for (const [name, published] of this.#topics) if (changed.length < LISTED) changed.push({ ...this.#services.topics.info(name), published });
      frames.push(['topics', { at, changed, forgotten: [...this.#topicsForgotten].slice(0, LISTED) }]);
      this.#topics = new Map();
      this.#topicsForgotten = new Set();
    }
    return frames;
  }

  #queue(name: string): { puts: number; gets: number } {
    let counts = this.#queues.get(name);
    if (!counts) this.#queues.set(name, (counts = { puts: 0, gets: 0 }));
    return counts;
  }

  #lease(kind: LeaseKind, name: string): LeaseCounts {
    const key = `${kind}:${name}`;
    let counts = this.#leases.get(key);
    if (!counts) this.#leases.set(key, (counts = { kind, name, acquired: 0, released: 0, expired: 0 }));
    return counts;
  }
}

/** The names whose last change was true, and those whose last change was false, LISTED of each at most. */
function split(changes: Map<string, boolean>): [string[], string[]] {
  const yes: string[] = [];
  const no: string[] = [];
  for (const [name, value] of changes) {
    const list = value ? yes : no;
    if (list.length < LISTED) list.push(name);
  }
  return [yes, no];
}
