/**
 * `sluice/client` in Node: the same client, speaking HTTP through undici's
 * request API rather than fetch (package.json picks this file under the
 * "node" condition; browsers get index.ts).
 */
import { Client as FetchClient, type ClientOptions } from './client.ts';
import { undiciTransport } from './node-transport.ts';
import type { Transport } from './transport.ts';

export * from './index.ts';

let shared: Transport | undefined;

/** A Client whose default transport is undici (one connection pool per process). */
export class Client extends FetchClient {
  constructor(url: string | readonly string[], options: ClientOptions = {}) {
    super(url, options.transport || options.fetch ? options : { ...options, transport: (shared ??= undiciTransport()) });
  }
}
