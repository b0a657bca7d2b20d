import { z } from 'zod';
import { BrowserSessionBody, Whoami } from './auth.ts';
import { CommitBody, ConsumerList, ConsumerParams, ConsumerPosition, ConsumersParams } from './channel-consumers.ts';
import { AppendBody, AppendReply, ChannelConfig, ChannelEntry, ChannelEventsQuery, ChannelInfo, ChannelParams, ChannelSnapshot, ChannelStop, SnapshotQuery } from './channels.ts';
import { Health, WorkerExited } from './cluster.ts';
import { ClientParams, ClientReady, ClientSession } from './common.ts';
import { FirehoseFrames, FirehoseQuery, ProgressQuery, TaskProgress, WorkerInfo } from './firehose.ts';
import { FlagInfo, FlagParams, FlagQuery } from './flags.ts';
import { AcquireQuery, Lease, LeaseBody, LeasesInfo, LockAcquireBody, LockParams, SemaphoreAcquireBody, SemaphoreConfig, SemaphoreParams } from './leases.ts';
import { AckBody, AckReply, QueueLeaseAnswer, ReleaseBody, ReleaseReply, RenewBody } from './queue-leases.ts';
import { GetQuery, GetReply, PutBody, PutQuery, PutReply, QueueConfig, QueueInfo, QueueParams } from './queues.ts';
import { type PathParams, type QueryValue, type Route, type RouteId, ROUTES, type Routes } from './routes.ts';
import {
  CancelReply,
  FutureEventsQuery,
  FutureInfo,
  FuturesReply,
  GatherBody,
  GatherReply,
  KeyParams,
  KeysBody,
  Outcome,
  OutcomesBody,
  OutcomesReply,
  OutcomeUpdate,
  ResultQuery,
  ScatterBody,
  ScatterReply,
  SubmitBatchReply,
  SubmitBody,
  SubmitOneReply,
} from './tasks.ts';
import { PublishBody, PublishReply, TopicGap, TopicInfo, TopicParams } from './topics.ts';
import { VariableBody, VariableInfo, VariableParams, VariableQuery } from './variables.ts';
import { WorkerExitReport } from './worker-protocol.ts';

/**
 * What a route's contract says beyond its method and path: the schemas of
 * its path parameters (one per :param of the path), query, body, and its
 * success reply; an SSE route has the data of its events instead. Every
 * error is the one envelope (ErrorBody), whatever the route.
 */
type Contract<P extends string> = ([PathParams<P>] extends [never] ? { params?: never } : { params: z.ZodType<{ [N in PathParams<P>]: string }> }) & {
  query?: z.ZodType;
  body?: z.ZodType;
} & (
    | {
        /** The success reply's status: 200 unless said. */
        status?: 200 | 201 | 204;
        /** The success reply (JSON, or text where the route says what it produces). */
        reply: z.ZodType;
        events?: never;
      }
    | {
        /** An SSE route: the data (JSON) of each of its events, by event name. */
        events: Readonly<Record<string, z.ZodType>>;
        status?: never;
        reply?: never;
      }
  );

type Contracts = { [Id in RouteId]: Contract<Routes[Id]['path']> };

/** The route table (routes.ts) with each route's schemas; only these ids, and each of them. */
function withSchemas<const C extends Contracts>(contracts: C & Record<Exclude<keyof C, RouteId>, never>): { readonly [Id in RouteId]: Routes[Id] & C[Id] } {
  const table: Record<string, Route> = {};
  for (const [id, route] of Object.entries(ROUTES)) table[id] = { ...route, ...contracts[id as RouteId] };
  return table as { readonly [Id in RouteId]: Routes[Id] & C[Id] };
}

const noContent = (what: string) => z.null().describe(what);

/**
 * The HTTP API, one entry per route: its operation id, method and path
 * (from routes.ts), and the zod schemas of its params, query, body and
 * success reply (or SSE events). The scheduler registers its routes from
 * these entries (validation, replies and the OpenAPI document follow), and
 * the client's calls are typed from them.
 */
export const HTTP_API = withSchemas({
  // tasks
  submit: {
    body: SubmitBody,
    status: 201,
    reply: SubmitOneReply.or(SubmitBatchReply).describe('The key of the task, or the keys of the batch in order, once committed.'),
  },
  taskProgress: { query: ProgressQuery, reply: TaskProgress },

  // futures
  futureInfo: { params: KeyParams, reply: FutureInfo },
  futureResult: { params: KeyParams, query: ResultQuery, reply: Outcome },
  cancel: { params: KeyParams, reply: CancelReply },
  futureRelease: { params: KeyParams, status: 204, reply: noContent('Done; no content.') },
  hold: { body: KeysBody, reply: FuturesReply },
  outcomes: { body: OutcomesBody, reply: OutcomesReply },
  release: { body: KeysBody, status: 204, reply: noContent('Done; no content.') },
  fireAndForget: { body: KeysBody, status: 204, reply: noContent('Done; no content.') },
  futureEvents: { query: FutureEventsQuery, events: { status: OutcomeUpdate } },
  gather: { body: GatherBody, reply: GatherReply },
  scatter: { body: ScatterBody, status: 201, reply: ScatterReply },

  // clients
  clientStart: { status: 201, reply: ClientSession },
  clientEvents: { params: ClientParams, events: { ready: ClientReady, status: OutcomeUpdate } },
  clientClose: { params: ClientParams, status: 204, reply: noContent('Ended.') },

  // channels
  channelList: { reply: z.array(ChannelInfo).describe('Every channel.') },
  channelConfigure: { params: ChannelParams, body: ChannelConfig, reply: ChannelInfo },
  channelAppend: { params: ChannelParams, body: AppendBody, status: 201, reply: AppendReply },
  channelInfo: { params: ChannelParams, query: SnapshotQuery, reply: ChannelSnapshot },
  channelEntries: { params: ChannelParams, query: ChannelEventsQuery, events: { append: ChannelEntry, status: ChannelEntry, stop: ChannelStop } },
  channelStop: { params: ChannelParams, reply: ChannelInfo },
  channelDelete: { params: ChannelParams, status: 204, reply: noContent('Deleted.') },
  channelConsumers: { params: ConsumersParams, reply: ConsumerList.describe('The consumers that committed a position, by name.') },
  channelPosition: { params: ConsumerParams, reply: ConsumerPosition },
  channelCommit: { params: ConsumerParams, body: CommitBody, reply: ConsumerPosition },
  channelConsumerDelete: { params: ConsumerParams, status: 204, reply: noContent('Forgotten.') },

  // queues
  queueList: { reply: z.array(QueueInfo).describe('Every queue.') },
  queueConfigure: { params: QueueParams, body: QueueConfig, reply: QueueInfo },
  queueInfo: { params: QueueParams, reply: QueueInfo },
  queuePut: { params: QueueParams, query: PutQuery, body: PutBody, status: 201, reply: PutReply },
  queueGet: { params: QueueParams, query: GetQuery, reply: GetReply },
  queueDelete: { params: QueueParams, status: 204, reply: noContent('Deleted.') },
  queueLeaseAck: { params: QueueParams, body: AckBody, reply: AckReply },
  queueLeaseRelease: { params: QueueParams, body: ReleaseBody, reply: ReleaseReply },
  queueLeaseRenew: { params: QueueParams, body: RenewBody, reply: QueueLeaseAnswer },

  // variables
  variableSet: { params: VariableParams, body: VariableBody, reply: VariableInfo },
  variableGet: { params: VariableParams, query: VariableQuery, reply: VariableInfo },
  variableDelete: { params: VariableParams, status: 204, reply: noContent('Unset (or it was not set).') },

  // topics
  topicPublish: { params: TopicParams, body: PublishBody, reply: PublishReply },
  topicInfo: { params: TopicParams, reply: TopicInfo },
  topicSubscribe: { params: TopicParams, events: { message: z.unknown().describe('The message, as published.'), gap: TopicGap } },

  // flags
  flagIsSet: { params: FlagParams, query: FlagQuery, reply: FlagInfo },
  flagSet: { params: FlagParams, reply: FlagInfo },
  flagClear: { params: FlagParams, reply: FlagInfo },

  // leases
  lockInfo: { params: LockParams, reply: LeasesInfo },
  lockAcquire: { params: LockParams, query: AcquireQuery, body: LockAcquireBody, reply: Lease },
  lockRenew: { params: LockParams, body: LeaseBody, reply: Lease },
  lockRelease: { params: LockParams, body: LeaseBody, status: 204, reply: noContent('Released.') },
  semaphoreConfigure: { params: SemaphoreParams, body: SemaphoreConfig, reply: LeasesInfo },
  semaphoreInfo: { params: SemaphoreParams, reply: LeasesInfo },
  semaphoreAcquire: { params: SemaphoreParams, query: AcquireQuery, body: SemaphoreAcquireBody, reply: Lease },
  semaphoreRenew: { params: SemaphoreParams, body: LeaseBody, reply: Lease },
  semaphoreRelease: { params: SemaphoreParams, body: LeaseBody, status: 204, reply: noContent('Released.') },

  // workers
  workerList: { reply: z.array(WorkerInfo).describe('The workers connected now.') },
  workerExited: { body: WorkerExitReport, reply: WorkerExited },

  // auth
  browserSessionStart: { body: BrowserSessionBody, reply: Whoami },
  browserSessionEnd: { status: 204, reply: noContent('Ended: the cookie is cleared, and refused from now on.') },
  whoami: { reply: Whoami },

  // dashboard
  firehose: { query: FirehoseQuery, events: FirehoseFrames },
  dashboard: { reply: z.string().describe('The page; it reads GET /events.') },

  // health
  health: { reply: Health.describe('Up.') },
  metrics: { reply: z.string().describe('The metrics, in the Prometheus text format.') },
});

export type HttpApi = typeof HTTP_API;
export type HttpRoute = HttpApi[RouteId];

type Entry<Id extends RouteId> = HttpApi[Id];

/** The path parameters of a route, as sent. */
export type RouteParams<Id extends RouteId> = Entry<Id> extends { params: infer P extends z.ZodType } ? z.input<P> : never;

/**
 * The query of a route, as the caller gives it: each field its schema takes,
 * optional where the schema has it optional, with the value it means (a
 * number, a boolean, a list) rather than the text the schema parses.
 */
export type RouteQuery<Id extends RouteId> =
  Entry<Id> extends { query: infer Q extends z.ZodType } ? { [N in keyof z.input<Q>]: Extract<z.output<Q>[N & keyof z.output<Q>], QueryValue> } : never;

/** The body of a route's request, as sent. */
export type RouteBody<Id extends RouteId> = Entry<Id> extends { body: infer B extends z.ZodType } ? z.input<B> : never;

/** A route's success reply, as received (undefined for a 204). */
export type RouteReply<Id extends RouteId> = Entry<Id> extends { status: 204 } ? undefined : Entry<Id> extends { reply: infer R extends z.ZodType } ? z.output<R> : never;

/** The data of each event of an SSE route, by event name. */
export type RouteEvents<Id extends RouteId> = Entry<Id> extends { events: infer E extends Readonly<Record<string, z.ZodType>> } ? { [N in keyof E]: z.output<E[N]> } : never;

/** What a call of a route sends: its params, query and body, each where the route takes one (and required where the route needs it). */
export type RouteArgs<Id extends RouteId> = Simplify<
  ([RouteParams<Id>] extends [never] ? { params?: never } : { params: RouteParams<Id> }) &
    ([RouteQuery<Id>] extends [never] ? { query?: never } : object extends RouteQuery<Id> ? { query?: RouteQuery<Id> } : { query: RouteQuery<Id> }) &
    ([RouteBody<Id>] extends [never] ? { body?: never } : undefined extends RouteBody<Id> ? { body?: RouteBody<Id> } : { body: RouteBody<Id> })
>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
