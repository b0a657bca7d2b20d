import { SluiceError } from './errors.ts';

export type FetchLike = typeof globalThis.fetch;

export interface HttpOptions {
  fetch?: FetchLike;
  headers?: Record<string, string>;
}

/** JSON over fetch: Node's (undici) or the browser's. Error bodies become SluiceErrors. */
export class Http {
  readonly base: string;
  readonly fetch: FetchLike;
  readonly headers: Record<string, string>;

  constructor(base: string, options: HttpOptions = {}) {
    this.base = base.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.headers = { ...options.headers };
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    // Outside the try: a body JSON cannot carry (a BigInt, a cycle) is the caller's error, not an unreachable scheduler to retry.
    const json = body === undefined ? undefined : JSON.stringify(body);
    let response: Response;
    try {
      response = await this.fetch(this.base + path, {
        method,
        headers: body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
        body: json,
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new SluiceError('SLUICE_ERR_UNREACHABLE', `cannot reach the scheduler at ${this.base}: ${(error as Error).message}`, 0, {
        cause: String((error as Error & { cause?: unknown }).cause ?? ''),
      });
    }
    const text = await response.text();
    if (!response.ok) throw decodeError(response.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** Turn an error answer back into a SluiceError with its catalog code. */
export function decodeError(status: number, text: string): SluiceError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } };
    if (body.error?.code) return new SluiceError(body.error.code, body.error.message ?? '', status, body.error.details);
  } catch {
    // not one of ours (a proxy, say): fall through
  }
  return new SluiceError(`HTTP_${status}`, `the scheduler answered ${status}: ${text.slice(0, 200)}`, status);
}

/** Errors worth retrying: the scheduler is restarting or overloaded, or the network failed. */
export function isTransient(error: unknown): boolean {
  return error instanceof SluiceError && (error.code === 'SLUICE_ERR_UNREACHABLE' || error.status === 503 || error.status === 429 || error.status === 502 || error.status === 504);
}
