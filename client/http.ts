import { decodeError, errors, SluiceError } from './errors.ts';
import { fetchTransport, type Transport } from './transport.ts';

export interface HttpOptions {
  transport?: Transport;
  headers?: Record<string, string>;
}

/** JSON requests over a transport (fetch by default). Error bodies become SluiceErrors. */
export class Http {
  readonly base: string;
  readonly transport: Transport;
  readonly headers: Record<string, string>;

  constructor(base: string, options: HttpOptions = {}) {
    this.base = base.replace(/\/+$/, '');
    this.transport = options.transport ?? fetchTransport();
    this.headers = { ...options.headers };
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    // Outside the try: a body JSON cannot carry (a BigInt, a cycle) is the caller's error, not an unreachable scheduler to retry.
    const json = body === undefined ? undefined : JSON.stringify(body);
    let response: { status: number; text: string };
    try {
      response = await this.transport.request(
        method,
        this.base + path,
        body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
        json,
        signal,
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      throw errors.unreachable(this.base, (error as Error).message, String((error as Error & { cause?: unknown }).cause ?? ''));
    }
    const { status, text } = response;
    if (status < 200 || status >= 300) throw decodeError(status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

export { decodeError };

/**
 * Errors worth retrying: the scheduler is restarting or overloaded, the
 * network failed, or its store cannot take writes for now (507: nothing was
 * stored, and writes resume by themselves once it can).
 */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof SluiceError &&
    (error.code === 'SLUICE_ERR_UNREACHABLE' || error.status === 503 || error.status === 507 || error.status === 429 || error.status === 502 || error.status === 504)
  );
}
