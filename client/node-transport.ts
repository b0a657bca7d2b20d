import { Agent, request } from 'undici';
import type { Transport } from './transport.ts';

/**
 * The client's transport in Node: undici's request API, with keep-alive
 * connections. Same wire as fetch, a fraction of its cost per request (fetch
 * builds WHATWG Request, Response and stream objects for every call and
 * sends the body after the head).
 */
export function undiciTransport(options: { connections?: number } = {}): Transport {
  const agent = new Agent({ connections: options.connections ?? 32, keepAliveTimeout: 30_000, pipelining: 1 });
  return {
    async request(method, url, headers, body, signal) {
      const response = await request(url, { method: method as 'GET', headers, body, signal, dispatcher: agent });
      return { status: response.statusCode, text: await response.body.text() };
    },
    async stream(url, headers, signal) {
      const response = await request(url, { headers, signal, dispatcher: agent, bodyTimeout: 0, headersTimeout: 30_000 });
      return { status: response.statusCode, text: () => response.body.text(), chunks: response.body };
    },
  };
}
