import type { FirehoseEntry, FirehoseEvent } from '../../schemas/firehose.ts';
import type { Model } from './model.ts';

const EVENTS: readonly FirehoseEvent[] = ['snapshot', 'tasks', 'worker', 'channel', 'queues', 'leases', 'variables', 'flags', 'topics'];

/**
 * Follow the scheduler's /events with EventSource, which resumes with
 * Last-Event-ID by itself. EventSource gives up for good on an HTTP error (a
 * scheduler answering 503 while it shuts down); then a new one is opened,
 * carrying the last id in the query.
 */
export function connect(model: Model, base = ''): () => void {
  let source: EventSource | undefined;
  let lastEventId = '';
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const open = (): void => {
    const query = lastEventId ? `?lastEventId=${encodeURIComponent(lastEventId)}` : '';
    const current = new EventSource(`${base}/events${query}`);
    source = current;
    current.onopen = () => model.setConnection('live');
    current.onerror = () => {
      model.setConnection('reconnecting');
      if (current.readyState === EventSource.CLOSED && !closed) {
        retry = setTimeout(open, 1000);
      }
    };
    for (const type of EVENTS) {
      current.addEventListener(type, (event) => {
        const message = event as MessageEvent<string>;
        if (message.lastEventId) lastEventId = message.lastEventId;
        model.apply(...([type, JSON.parse(message.data)] as FirehoseEntry));
      });
    }
  };
  open();
  return () => {
    closed = true;
    clearTimeout(retry);
    source?.close();
  };
}
