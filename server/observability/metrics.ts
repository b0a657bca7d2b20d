import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Channels } from '../services/channels.ts';
import type { Firehose } from './firehose.ts';
import type { ClusterView, EndedEvent, TaskEvents } from '../services/task-events.ts';
import { sseStats } from '../http/sse/sse-stream.ts';

/**
 * Prometheus metrics (prom-client) for GET /metrics: tasks, workers,
 * channels, SSE and HTTP. Gauges are read when scraped; counters follow the
 * task service's events.
 */
/** What the metrics read of the cluster, beside the channels and the firehose's totals. */
export interface MetricsSources {
  cluster: ClusterView;
  tasks: TaskEvents;
  channels: Channels;
  firehose: Firehose;
  /** Bytes written to SSE streams and not yet sent, all streams together. */
  sseBufferedBytes(): number;
  /** Live client sessions. */
  clientSessions(): number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #http: Histogram<'method' | 'route' | 'status'>;
  readonly #unsubscribe: Array<() => void> = [];

  constructor({ cluster, tasks, channels, firehose, sseBufferedBytes, clientSessions }: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    const totals = firehose.totals;

    new Gauge({
      name: 'sluice_tasks_active',
      help: 'Tasks not yet ended, by state',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, n] of Object.entries(cluster.counts())) this.set({ state }, n);
      },
    });
    new Counter({
      name: 'sluice_tasks_submitted_total',
      help: 'Tasks submitted since start',
      registers,
      collect() {
        this.reset();
        this.inc(totals.submitted);
      },
    });
    new Counter({
      name: 'sluice_tasks_ended_total',
      help: 'Tasks ended since start, by status',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        for (const status of ['finished', 'error', 'cancelled', 'lost'] as const) this.inc({ status }, totals[status]);
      },
    });
    const duration = new Histogram({
      name: 'sluice_task_duration_seconds',
      help: 'Run time of finished tasks (their last attempt)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    const onEnded = (event: EndedEvent): void => {
      if (event.outcome.status === 'finished' && event.startedAt !== null) duration.observe((event.finishedAt - event.startedAt) / 1000);
    };
    tasks.on('task:ended', onEnded);
    this.#unsubscribe.push(() => tasks.off('task:ended', onEnded));

    new Gauge({
      name: 'sluice_workers',
      help: 'Connected workers',
      registers,
      collect() {
        this.set([...cluster.workers()].length);
      },
    });
    new Gauge({
      name: 'sluice_worker_slots',
      help: 'Task slots of the connected workers: total, and busy',
      labelNames: ['kind'],
      registers,
      collect() {
        let total = 0;
        let busy = 0;
        for (const worker of cluster.workers()) {
          total += worker.concurrency;
          busy += worker.running;
        }
        this.set({ kind: 'total' }, total);
        this.set({ kind: 'busy' }, busy);
      },
    });

    new Gauge({
      name: 'sluice_channels',
      help: 'Channels',
      registers,
      collect() {
        this.set(channels.list().length);
      },
    });
    new Gauge({
      name: 'sluice_channel_entries',
      help: 'Entries in all channels',
      registers,
      collect() {
        this.set(channels.list().reduce((sum, c) => sum + c.length, 0));
      },
    });
    const appends = new Counter({ name: 'sluice_channel_appends_total', help: 'Channel entries appended since start', registers });
    const onAppended = (_: unknown, count: number): void => appends.inc(count);
    channels.events.on('channel:appended', onAppended);
    this.#unsubscribe.push(() => channels.events.off('channel:appended', onAppended));

    new Gauge({
      name: 'sluice_sse_streams',
      help: 'Open SSE streams, by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const [kind, n] of sseStats().open) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'sluice_sse_buffered_bytes',
      help: 'Bytes written to SSE streams and not yet sent, all streams together',
      registers,
      collect() {
        this.set(sseBufferedBytes());
      },
    });
    new Gauge({
      name: 'sluice_client_sessions',
      help: 'Live client sessions',
      registers,
      collect() {
        this.set(clientSessions());
      },
    });
    new Counter({
      name: 'sluice_sse_cut_off_total',
      help: 'SSE readers cut off for falling too far behind (alone, or among the furthest behind when all together passed their budget)',
      registers,
      collect() {
        this.reset();
        this.inc(sseStats().cutOffs);
      },
    });

    this.#http = new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'HTTP requests, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
  }

  /** Record one HTTP request (route is the pattern, not the URL, to keep labels few). */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.#http.observe({ method, route, status: String(status) }, seconds);
  }

  stop(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }
}
