import { EventEmitter } from 'node:events';
import { sseFrame, type SseStream } from './sse/sse-stream.ts';
import type { Scheduler } from './scheduler.ts';

/** The newest messages of a topic are kept, up to this many bytes, for subscribers that reconnect. */
const REPLAY_BYTES = 1024 * 1024;
/** A topic with no subscriber and no message for this long is dropped from memory. */
const IDLE_MS = 5 * 60_000;

interface Sent {
  readonly seq: number;
  readonly frame: string;
}

interface TopicState {
  readonly name: string;
  /** This run, and this topic's life in memory: ids from another are not comparable. */
  readonly incarnation: string;
  /** Messages published since this run started. */
  seq: number;
  readonly replay: Sent[];
  replayBytes: number;
  lastPublishAt: number;
  readonly subscribers: Set<SseStream>;
}

/** Events about topics, for the firehose and the metrics: names and counts, never messages. */
export interface TopicEvents {
  'topic:published': [name: string, delivered: number];
  /** A subscriber came or went. */
  'topic:subscribers': [name: string];
  /** Idle (no subscriber, no message for minutes): dropped from memory. */
  'topic:forgotten': [name: string];
}

export interface TopicInfo {
  name: string;
  subscribers: number;
  /** Messages published since this run started (or since the topic was last forgotten). */
  lastSeq: number;
}

/**
 * Pub/sub topics (Dask's Pub/Sub): every subscriber connected when a message
 * is published gets it, in publish order. Nothing is persisted. Each message
 * is formatted once and written to every subscriber.
 *
 * Event ids are `<incarnation>-<seq>`, the incarnation naming this run and
 * this topic's life in memory (an idle topic is forgotten). A subscriber that reconnects with
 * Last-Event-ID (a network blip, or cut off for reading too slowly) gets what
 * it missed from the last megabyte of messages; if it missed more, or the
 * scheduler restarted in between, it is told so with an `event: gap` before
 * the stream carries on.
 */
export class Topics {
  readonly events = new EventEmitter<TopicEvents>();
  readonly #scheduler: Scheduler;
  readonly #topics = new Map<string, TopicState>();
  /** Tells this run's event ids from a previous run's. */
  readonly #run = Date.now().toString(36);
  #incarnations = 0;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(scheduler: Scheduler) {
    this.#scheduler = scheduler;
  }

  start(): void {
    this.#scheduler.onClosing(() => this.closeSubscribers());
    this.#sweepTimer = setInterval(() => this.#sweep(), IDLE_MS / 5);
    this.#sweepTimer.unref();
  }

  stopTimers(): void {
    clearInterval(this.#sweepTimer);
  }

  closeSubscribers(): void {
    for (const topic of this.#topics.values()) for (const stream of topic.subscribers) stream.close();
  }

  info(name: string): TopicInfo {
    const topic = this.#topics.get(name);
    return { name, subscribers: topic?.subscribers.size ?? 0, lastSeq: topic?.seq ?? 0 };
  }

  /** The topics in memory: those with subscribers, or with messages in the last few minutes. */
  list(): TopicInfo[] {
    return [...this.#topics.values()].map((topic) => ({ name: topic.name, subscribers: topic.subscribers.size, lastSeq: topic.seq }));
  }

  /** Subscribers of every topic. */
  get subscriberCount(): number {
    let n = 0;
    for (const topic of this.#topics.values()) n += topic.subscribers.size;
    return n;
  }

  /** Send the message to every subscriber; answers how many it was written to. */
  publish(name: string, message: unknown): number {
    this.#scheduler.assertOpen();
    const topic = this.#state(name);
    const seq = ++topic.seq;
    const frame = sseFrame('message', JSON.stringify(message), `${topic.incarnation}-${seq}`);
    topic.replay.push({ seq, frame });
    topic.replayBytes += frame.length;
    while (topic.replayBytes > REPLAY_BYTES && topic.replay.length > 1) topic.replayBytes -= (topic.replay.shift() as Sent).frame.length;
    topic.lastPublishAt = Date.now();
    let delivered = 0;
    for (const stream of topic.subscribers) if (stream.write(frame)) delivered++;
    this.events.emit('topic:published', name, delivered);
    return delivered;
  }

  /** Follow the topic from now on, or, with the last event id seen, from just after it. */
  subscribe(name: string, stream: SseStream, lastEventId: string | undefined): void {
    const topic = this.#state(name);
    if (lastEventId) this.#resume(topic, stream, lastEventId);
    topic.subscribers.add(stream);
    this.events.emit('topic:subscribers', name);
    stream.onClose(() => {
      topic.subscribers.delete(stream);
      this.events.emit('topic:subscribers', name);
    });
  }

  #resume(topic: TopicState, stream: SseStream, lastEventId: string): void {
    const dash = lastEventId.lastIndexOf('-');
    const last = Number(lastEventId.slice(dash + 1));
    if (lastEventId.slice(0, dash) !== topic.incarnation || !Number.isInteger(last) || last > topic.seq) {
      // An id from another run, or from before this topic was forgotten: what came after it is unknown.
      stream.write(sseFrame('gap', JSON.stringify({ missed: null, reason: 'the scheduler restarted, or forgot this idle topic' })));
      for (const sent of topic.replay) stream.write(sent.frame);
      return;
    }
    const oldest = topic.replay[0]?.seq ?? topic.seq + 1;
    if (oldest > last + 1) {
      stream.write(sseFrame('gap', JSON.stringify({ missed: oldest - last - 1, reason: 'more was published than the scheduler keeps for replay' })));
    }
    for (const sent of topic.replay) if (sent.seq > last) stream.write(sent.frame);
  }

  #state(name: string): TopicState {
    let topic = this.#topics.get(name);
    if (!topic) {
      topic = { name, incarnation: `${this.#run}.${++this.#incarnations}`, seq: 0, replay: [], replayBytes: 0, lastPublishAt: Date.now(), subscribers: new Set() };
      this.#topics.set(name, topic);
    }
    return topic;
  }

  #sweep(): void {
    const idleSince = Date.now() - IDLE_MS;
    for (const topic of this.#topics.values()) {
      if (topic.subscribers.size === 0 && topic.lastPublishAt < idleSince) {
        this.#topics.delete(topic.name);
        this.events.emit('topic:forgotten', topic.name);
      }
    }
  }
}
