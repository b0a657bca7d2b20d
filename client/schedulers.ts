import { errors, SluiceError } from './errors.ts';

/**
 * The schedulers a client or worker was given (one, or several sharing one
 * store, of which one leads and the others stand by), and the one it uses
 * now. It moves on when the one it uses does not serve: cannot be reached,
 * is shutting down, or is a standby. A standby names the leader's URL: it is
 * followed when it is one of the given URLs (as given, or the same origin
 * spelled another way); otherwise the next URL in the list is tried, so the
 * leader is found within one round of the list. A URL that was not given is
 * never followed: the client's token goes only where its owner sent it.
 */
export class Schedulers {
  readonly all: readonly string[];
  #index = 0;

  constructor(given: string | readonly string[]) {
    this.all = schedulerUrls(given);
  }

  /** The scheduler in use now. */
  get current(): string {
    return this.all[this.#index];
  }

  /** True when there is somewhere else to go. */
  get several(): boolean {
    return this.all.length > 1;
  }

  /**
   * A request to `base` failed with `error`: if that says `base` does not
   * serve, move on (unless another request moved already). Returns whether
   * the error was of that kind.
   */
  failed(base: string, error: unknown): boolean {
    if (!goElsewhere(error)) return false;
    if (this.all.length === 1 || this.all[this.#index] !== base) return true;
    const leader = error instanceof SluiceError ? leaderOf(error) : undefined;
    const named = leader === undefined ? -1 : this.#indexOf(leader);
    this.#index = named >= 0 && named !== this.#index ? named : (this.#index + 1) % this.all.length;
    return true;
  }

  /**
   * An SSE stream read from `base` dropped with `error` (see openEventStream's
   * onDrop): a refusal or a failed connection moves on as a request's would;
   * a stream the server ended (StreamEnded) is read again where it was.
   */
  streamDropped(base: string, error: unknown): void {
    if (!this.several || (error as Error | undefined)?.name === 'StreamEnded') return;
    this.failed(base, error instanceof SluiceError ? error : errors.unreachable(base, (error as Error | undefined)?.message ?? String(error), ''));
  }

  #indexOf(url: string): number {
    const exact = this.all.indexOf(url.replace(/\/+$/, ''));
    if (exact >= 0) return exact;
    const origin = originOf(url);
    return origin === undefined ? -1 : this.all.findIndex((u) => originOf(u) === origin);
  }
}

/**
 * The URLs in `given`: a comma-separated list ('http://a:8786,http://b:8786')
 * or an array (whose items may be lists too), trimmed, without trailing
 * slashes or repeats. At least one.
 */
export function schedulerUrls(given: string | readonly string[]): string[] {
  const items = (typeof given === 'string' ? [given] : given).flatMap((item) => String(item).split(','));
  const urls = [...new Set(items.map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean))];
  if (urls.length === 0) throw new TypeError(`no scheduler URL given (got ${JSON.stringify(given)})`);
  return urls;
}

/** The error says the scheduler asked does not serve now: another one may. */
export function goElsewhere(error: unknown): boolean {
  return error instanceof SluiceError && (error.code === 'SLUICE_ERR_UNREACHABLE' || error.code === 'SLUICE_ERR_STANDBY' || error.code === 'SLUICE_ERR_SHUTTING_DOWN');
}

/** The leader's URL a standby's answer names, if any. */
function leaderOf(error: SluiceError): string | undefined {
  if (error.code !== 'SLUICE_ERR_STANDBY') return undefined;
  const leader = (error.details as { leader?: unknown } | undefined)?.leader;
  return typeof leader === 'string' && leader !== '' ? leader : undefined;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
