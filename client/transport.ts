/**
 * How the client talks HTTP. The default runs on fetch, in browsers and in
 * Node; `sluice/client` in Node uses an undici transport instead (see
 * node-transport.ts), which costs far less per request than fetch.
 */
export interface Transport {
  /** One request; resolves with the status and the body as text. Rejects if the server cannot be reached. */
  request(method: string, url: string, headers: Record<string, string>, body?: string, signal?: AbortSignal): Promise<{ status: number; text: string }>;
  /** A long response read as it arrives (SSE). */
  stream(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<StreamResponse>;
}

export interface StreamResponse {
  status: number;
  /** The whole body, for an error answer. */
  text(): Promise<string>;
  chunks: AsyncIterable<Uint8Array>;
}

export type FetchLike = typeof globalThis.fetch;

/** A transport on fetch: the browser's, Node's, or one given. */
export function fetchTransport(fetch: FetchLike = globalThis.fetch.bind(globalThis)): Transport {
  return {
    async request(method, url, headers, body, signal) {
      const response = await fetch(url, { method, headers, body, signal });
      return { status: response.status, text: await response.text() };
    },
    async stream(url, headers, signal) {
      const response = await fetch(url, { headers, signal });
      const body = response.body;
      return {
        status: response.status,
        text: () => response.text(),
        chunks: {
          async *[Symbol.asyncIterator]() {
            if (!body) return;
            const reader = body.getReader();
            try {
              for (;;) {
                const { done, value } = await reader.read();
                if (done) return;
                yield value;
              }
            } finally {
              reader.releaseLock();
            }
          },
        },
      };
    },
  };
}
