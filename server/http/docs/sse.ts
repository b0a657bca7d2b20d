import { z } from 'zod';

export interface SseEventDoc {
  /** The schema of the event's data (JSON). */
  data: z.ZodType;
  /** What the event's `id:` is, if it has one (the cursor a reader resumes from with Last-Event-ID). */
  id?: string;
  /** When the event comes; defaults to the data schema's description. */
  description?: string;
}

/**
 * The events an SSE route streams, for the OpenAPI document: its 200 reply,
 * as text/event-stream, is a sequence of messages, each an object of its
 * `event` name, its `id` where it has one and its `data` (JSON text on the
 * wire, described here by its schema). A generated client gets the union of
 * the events, told apart by `event`.
 */
export function sseEvents(description: string, events: Record<string, SseEventDoc>): z.ZodType {
  const messages = Object.entries(events).map(([name, event]) => {
    const fields = {
      event: z.literal(name),
      ...(event.id === undefined ? {} : { id: z.string().describe(event.id) }),
      data: event.data,
    };
    const what = event.description ?? event.data.description;
    const message = z.object(fields);
    return what === undefined ? message : message.describe(what);
  });
  const [first, ...rest] = messages;
  return z.array(rest.length === 0 ? first : z.union([first, ...rest])).describe(description);
}
