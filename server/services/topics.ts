import { EventEmitter } from 'node:events';
import type { TopicGap } from '../../schemas/topics.ts';
import { errors, type SluiceError } from '../errors.ts';
import { sseFrame, type SseStream } from '../http/sse/sse-stream.ts';
import type { Lifecycle } from '../lifecycle.ts';

/** A topic with no subscriber and no message for this long is dropped from memory. */
const IDLE_MS = 5 * 60_000;

export interface TopicLimits {
  /** Topics kept in memory; idle ones are forgotten first to make room (--max-topics). */
  maxTopics: number;
  /** Characters of a topic's newest messages kept for subscribers that reconnect (--topic-replay-bytes). */
  replayBytes: number;
  /** Characters kept for replay in all topics together; the oldest messages go first (--topic-replay-total-bytes). */
  replayTotalBytes: number;
  /** Largest message a publish may carry, as JSON characters (--max-message-bytes). */
  maxMessageBytes: number;
}

interface Sent {
  readonly seq: number;
  /** The formatted event; emptied once dropped, so that the list of all messages does not keep it. */
  frame: string;
  readonly topic: TopicState;
  /** No longer in its topic's replay (trimmed, or the topic forgotten). */
  dropped: boolean;
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
 * it missed from the topic's newest messages kept for replay; if it missed more, or the
 * scheduler restarted in between, it is told so with an `event: gap` before
 * the stream carries on.
 *
 * What topics keep is bounded (TopicLimits): their number, each message,
 * each topic's replay and all replays together. Replay is best effort, so
 * going over a replay budget drops the oldest messages kept rather than
 * refusing a publish; going over the number of topics forgets the topic idle
 * the longest, and only when every topic has a subscriber is a new one refused.
 */
export class Topics {
  readonly events = new EventEmitter<TopicEvents>();
  readonly #lifecycle: Lifecycle;
  /** In order of last activity (a publish, a subscriber coming), the least recent first. */
  readonly #topics = new Map<string, TopicState>();
  readonly #limits: TopicLimits;
  /** Every message kept for replay, in publish order, across topics (dropped ones are skipped). */
  #replay: Sent[] = [];
  #replayHead = 0;
  /** Messages still kept, of those in #replay from #replayHead on. */
  #replayLive = 0;
  #replayBytes = 0;
  /** Tells this run's event ids from a previous run's. */
  readonly #run = Date.now().toString(36);
  #incarnations = 0;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(lifecycle: Lifecycle, limits: TopicLimits) {
    this.#lifecycle = lifecycle;
    this.#limits = limits;
  }

  /** Characters of messages kept for replay, in all topics. */
  get replayBytes(): number {
    return this.#replayBytes;
  }

  start(): void {
    this.#sweepTimer = setInterval(() => this.#sweep(), IDLE_MS / 5);
    this.#sweepTimer.unref();
  }

  close(): void {
    clearInterval(this.#sweepTimer);
  }

  drain(): void {
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
    this.#lifecycle.assertOpen();
    const json = JSON.stringify(message);
    if (json.length > this.#limits.maxMessageBytes) {
      throw errors.messageTooLarge(json.length, this.#limits.maxMessageBytes);
    }
    const topic = this.#state(name);
    const seq = ++topic.seq;
    const frame = sseFrame('message', json, `${topic.incarnation}-${seq}`);
    this.#keep(topic, seq, frame);
    topic.lastPublishAt = Date.now();
    let delivered = 0;
    for (const stream of topic.subscribers) if (stream.write(frame)) delivered++;
    this.events.emit('topic:published', name, delivered);
    return delivered;
  }

  /** Throws 503 unless the topic is in memory, or there is room for it (an idle topic can make room). */
  assertRoom(name: string): void {
    if (this.#topics.has(name) || this.#topics.size < this.#limits.maxTopics || this.#leastActiveIdle()) return;
    throw this.#full();
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
      stream.write(sseFrame('gap', JSON.stringify({ missed: null, reason: 'the scheduler restarted, or forgot this idle topic' } satisfies TopicGap)));
      for (const sent of topic.replay) stream.write(sent.frame);
      return;
    }
    const oldest = topic.replay[0]?.seq ?? topic.seq + 1;
    if (oldest > last + 1) {
      stream.write(sseFrame('gap', JSON.stringify({ missed: oldest - last - 1, reason: 'more was published than the scheduler keeps for replay' } satisfies TopicGap)));
    }
    for (const sent of topic.replay) if (sent.seq > last) stream.write(sent.frame);
  }

  /** The topic, made the most recently active; created if there is room (503 otherwise). */
  #state(name: string): TopicState {
    let topic = this.#topics.get(name);
    if (topic) {
      this.#topics.delete(name);
    } else {
      if (this.#topics.size >= this.#limits.maxTopics) {
        const idle = this.#leastActiveIdle();
        if (!idle) throw this.#full();
        this.#forget(idle);
      }
      topic = { name, incarnation: `${this.#run}.${++this.#incarnations}`, seq: 0, replay: [], replayBytes: 0, lastPublishAt: Date.now(), subscribers: new Set() };
    }
    this.#topics.set(name, topic);
    return topic;
  }

  #full(): SluiceError {
    return errors.tooManyTopics(this.#topics.size, this.#limits.maxTopics);
  }

  /** The topic without subscribers that has been idle the longest. */
  #leastActiveIdle(): TopicState | undefined {
    for (const topic of this.#topics.values()) if (topic.subscribers.size === 0) return topic;
    return undefined;
  }

  /** Keep a message for replay, within the topic's budget and the budget of all topics. */
  #keep(topic: TopicState, seq: number, frame: string): void {
    const sent: Sent = { seq, frame, topic, dropped: false };
    topic.replay.push(sent);
    topic.replayBytes += frame.length;
    this.#replay.push(sent);
    this.#replayLive++;
    this.#replayBytes += frame.length;
    while (topic.replayBytes > this.#limits.replayBytes && topic.replay.length > 1) this.#drop(topic.replay.shift() as Sent);
    while (this.#replayBytes > this.#limits.replayTotalBytes && this.#replayHead < this.#replay.length) {
      const oldest = this.#replay[this.#replayHead++];
      if (oldest.dropped) continue;
      // Per topic and across topics, messages go oldest first: one still kept is its topic's oldest.
      oldest.topic.replay.shift();
      this.#drop(oldest);
    }
    this.#compact();
  }

  /** The message leaves its topic's replay (the caller took it out of topic.replay). */
  #drop(sent: Sent): void {
    sent.dropped = true;
    sent.topic.replayBytes -= sent.frame.length;
    this.#replayBytes -= sent.frame.length;
    sent.frame = '';
    this.#replayLive--;
  }

  /** Once most of the list of all messages is dropped ones, rebuild it: its length follows what is kept. */
  #compact(): void {
    const dead = this.#replay.length - this.#replayHead - this.#replayLive;
    if (this.#replayHead + dead < 1024 || this.#replayHead + dead < this.#replayLive) return;
    this.#replay = this.#replay.slice(this.#replayHead).filter((sent) => !sent.dropped);
    this.#replayHead = 0;
  }

  #forget(topic: TopicState): void {
    for (const sent of topic.replay) this.#drop(sent);
    topic.replay.length = 0;
    this.#topics.delete(topic.name);
    this.events.emit('topic:forgotten', topic.name);
    this.#compact();
  }

  #sweep(): void {
    const idleSince = Date.now() - IDLE_MS;
    for (const topic of [...this.#topics.values()]) {
      if (topic.subscribers.size === 0 && topic.lastPublishAt < idleSince) this.#forget(topic);
    }
  }
}
