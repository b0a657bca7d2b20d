import ipaddr from 'ipaddr.js';

/** How many addresses are remembered; beyond it the longest-untouched is forgotten. */
export const MAX_ADDRESSES = 10_000;
/** Credentials remembered per address as having worked from it. */
const KNOWN_PER_ADDRESS = 8;
const WINDOW_MS = 60_000;

interface AddressRecord {
  /** Start of the current minute of counting. */
  windowStart: number;
  failures: number;
  /** Fingerprints of credentials that authenticated from this address. */
  known: string[];
}

export interface AuthFailuresOptions {
  /** Failures a minute an address may make; the next attempt waits for the minute to end. */
  perMinute: number;
  maxAddresses?: number;
}

/**
 * Failed authentication counted per remote address, against online guessing
 * of tokens and cookie signatures. An address that fails `perMinute` times
 * within a minute has the credentials it presents refused (429) unchecked
 * until that minute ends, so guessing there learns nothing, right or wrong.
 *
 * Neighbours behind one address (a NAT, a proxy without --trust-proxy) share
 * the count; so that one of them guessing does not shut the others out, a
 * credential that has already worked from the address is still checked
 * while it is blocked. A new one waits, at most a minute.
 *
 * IPv6 addresses count by their /64, which one host usually has to itself.
 * The map is bounded: past maxAddresses the record touched longest ago goes,
 * so a flood of addresses costs memory only up to the bound (and a caller
 * with many addresses gets perMinute tries at each).
 */
export class AuthFailures {
  readonly #perMinute: number;
  readonly #max: number;
  readonly #records = new Map<string, AddressRecord>();

  constructor(options: AuthFailuresOptions) {
    this.#perMinute = options.perMinute;
    this.#max = options.maxAddresses ?? MAX_ADDRESSES;
  }

  get perMinute(): number {
    return this.#perMinute;
  }

  /** Addresses remembered now. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * How long (ms) before this address may present this credential; 0 when
   * it may now. Call before checking the credential: a refused one is not checked.
   */
  retryAfterMs(address: string, fingerprint: string, now = Date.now()): number {
    const record = this.#records.get(addressKey(address));
    if (!record || record.failures < this.#perMinute) return 0;
    const left = record.windowStart + WINDOW_MS - now;
    if (left <= 0) return 0;
    return record.known.includes(fingerprint) ? 0 : left;
  }

  /** A credential from this address was wrong. Returns true when this failure reaches the limit. */
  failed(address: string, now = Date.now()): boolean {
    const key = addressKey(address);
    const record = this.#records.get(key) ?? { windowStart: now, failures: 0, known: [] };
    if (record.failures === 0 || now - record.windowStart >= WINDOW_MS) {
      record.windowStart = now;
      record.failures = 0;
    }
    record.failures++;
    this.#touch(key, record);
    return record.failures === this.#perMinute;
  }

  /** A credential authenticated from this address: it may go on while the address is blocked. */
  succeeded(address: string, fingerprint: string): void {
    const key = addressKey(address);
    const record = this.#records.get(key);
    if (record?.known.includes(fingerprint)) return; // the common case: nothing to write
    if (record) {
      if (record.known.push(fingerprint) > KNOWN_PER_ADDRESS) record.known.shift();
      return;
    }
    this.#touch(key, { windowStart: 0, failures: 0, known: [fingerprint] });
  }

  /** (Re)insert as the most recently touched, forgetting the oldest beyond the bound. */
  #touch(key: string, record: AddressRecord): void {
    this.#records.delete(key);
    this.#records.set(key, record);
    if (this.#records.size > this.#max) this.#records.delete(this.#records.keys().next().value as string);
  }
}

/** What an address is counted as: itself for IPv4 (IPv4-mapped IPv6 included), its /64 for IPv6. */
export function addressKey(address: string): string {
  if (!address) return 'unknown'; // a socket already gone has no remote address
  if (!address.includes(':')) return address;
  try {
    const parsed = ipaddr.process(address);
    if (parsed.kind() === 'ipv4') return parsed.toString();
    return `${parsed.toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
  } catch {
    return address;
  }
}
