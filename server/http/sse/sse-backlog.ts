/** What the backlog needs of a stream. */
export interface BackloggedStream {
  /** Bytes written to it and not yet taken by its socket. */
  readonly buffered: number;
  /** Close it for falling behind; its reader resumes from its last id. */
  cutOff(reason: string): void;
}

/** How often the estimate is brought back to the streams' real backlog. */
const MEASURE_MS = 250;

/**
 * A budget for the bytes written to SSE streams and not yet sent, summed over
 * every stream. Each stream has a limit of its own (SseStream), but a
 * thousand stalled readers each just under it would hold gigabytes; past this
 * budget, the readers furthest behind are cut off until the total is back to
 * three quarters of it (so that a steady overflow does not sort the streams on
 * every write).
 *
 * Summing every stream's backlog on every write would cost a pass over all
 * streams per frame, so writes add to an estimate: measured exactly every
 * 250 ms and whenever it passes the budget. It never undercounts, since
 * sockets only drain between measurements.
 */
export class SseBacklog {
  readonly #limit: number;
  readonly #streams = new Set<BackloggedStream>();
  #estimate = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(stream: BackloggedStream): void {
    this.#streams.add(stream);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.measure(), MEASURE_MS);
      this.#timer.unref();
    }
  }

  remove(stream: BackloggedStream): void {
    this.#streams.delete(stream);
    if (this.#streams.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#estimate = 0;
    }
  }

  /** `bytes` were just written to a stream: within budget, or cut off the readers furthest behind. */
  charge(bytes: number): void {
    this.#estimate += bytes;
    if (this.#estimate > this.#limit && this.measure() > this.#limit) this.#shed();
  }

  /** The unsent bytes of every stream now (a pass over them all). */
  measure(): number {
    let total = 0;
    for (const stream of this.#streams) total += stream.buffered;
    this.#estimate = total;
    return total;
  }

  #shed(): void {
    const target = (this.#limit * 3) / 4;
    const behind = [...this.#streams].map((stream) => ({ stream, buffered: stream.buffered })).sort((a, b) => b.buffered - a.buffered);
    let total = this.#estimate;
    for (const { stream, buffered } of behind) {
      if (total <= target || buffered === 0) break;
      stream.cutOff(`the unsent bytes of all SSE readers passed their budget of ${this.#limit}; this reader was among the furthest behind`);
      total -= buffered;
    }
    this.#estimate = total;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
