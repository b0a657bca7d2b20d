// Files (Node only): sinkToFile, fromTextFile (follow a growing file, like
// `tail -f`) and filenames (new files in a directory). Installed into the
// stream library by stream/node-index.ts, so that stream/index.ts stays free
// of Node modules and runs in browsers.
import { Buffer } from 'node:buffer';
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphContext } from '../context.ts';
import { SerialGate } from '../gate.ts';
import type { Meta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { type ErrorOptions, FailureHandler } from '../policy.ts';
import { SourceNode } from './source.ts';

export interface SinkToFileOptions extends ErrorOptions {
  /** 'w' (default) truncates the file first, 'a' appends to it. */
  mode?: 'w' | 'a';
  /** Written before each item. Default ''. */
  prefix?: string;
  /** Written after each item. Default '\n'. */
  suffix?: string;
  /** After each write, wait until the data is on the disk (fdatasync), not only handed to the OS. Default false. */
  fsync?: boolean;
}

/**
 * Writes prefix + String(x) + suffix for each item (streamz's sink_to_file).
 * An emit resolves once its item has been handed to the operating system
 * (with `fsync`, once it is on the disk), so what a pipeline has taken
 * survives the process being killed. Items that arrive while a write is out
 * go together in the next one. end() closes the file.
 */
export class FileSinkNode extends Node {
  readonly failures: FailureHandler;
  readonly #options: SinkToFileOptions;
  readonly #file: Promise<FileHandle>;
  readonly #gate = new SerialGate();
  /** Items waiting for the next write; closed when that write starts. */
  #open: { texts: string[]; written: Promise<void> } | undefined;

  constructor(upstream: Node, path: string, options: SinkToFileOptions = {}) {
    const mode = options.mode ?? 'w';
    if (mode !== 'w' && mode !== 'a') throw new RangeError(`sinkToFile: mode must be 'w' or 'a', got ${String(mode)}`);
    super(`sinkToFile('${path}')`, [upstream]);
    this.failures = new FailureHandler(this.operator, options);
    this.#options = options;
    this.#file = open(path, mode);
    this.#file.catch(() => undefined); // the first write reports it
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const text = `${this.#options.prefix ?? ''}${String(x)}${this.#options.suffix ?? '\n'}`;
    let batch = this.#open;
    if (batch) {
      batch.texts.push(text);
    } else {
      const texts = [text];
      this.#open = batch = { texts, written: Promise.resolve() };
      batch.written = Promise.resolve(this.#gate.run(() => this.#write(texts)));
    }
    return batch.written.catch((error: unknown) => {
      if (this.context.cancelled) throw this.context.reason;
      return this.failures.fail(error, x, meta);
    });
  }

  /** Write a batch; items arriving meanwhile form the next one. */
  async #write(texts: string[]): Promise<void> {
    if (this.#open?.texts === texts) this.#open = undefined;
    const text = texts.join('');
    const file = await this.#file;
    await file.write(text);
    if (this.#options.fsync) await file.datasync();
  }

  protected override async flush(): Promise<void> {
    const file = await this.#file;
    await file.close();
  }

  protected override onAbort(reason: unknown): void {
    this.#gate.rejectAll(reason);
    void this.#file.then((file) => file.close()).catch(() => undefined);
  }
}

export interface TextFileOptions extends ErrorOptions {
  /** How often to look for new data, in ms. Default 100 (streamz's poll_interval). */
  pollIntervalMs?: number;
  /** Lines end with this; it is kept at the end of each line, as streamz does. Default '\n'. */
  delimiter?: string;
  /** Start at the end of the file: only lines written after start() (streamz's from_end). */
  fromEnd?: boolean;
  /** Start at this byte offset (a `position` saved from an earlier source). */
  position?: number;
  /** Keep following the file for new lines (default); false: stop at its end. */
  follow?: boolean;
}

const READ_CHUNK = 64 * 1024;

/**
 * The lines of a text file, then the lines appended to it as it grows
 * (streamz's from_textfile, like `tail -f`). A last line without its
 * delimiter waits until the delimiter is written. `position` is the byte
 * offset just after the last line the pipeline took: pass it as
 * `{ position }` to a new source to go on from there. A file that shrinks
 * (truncated in place, as by some log rotations) is read again from its
 * start.
 */
export class TextFileSource extends SourceNode {
  readonly #path: string;
  readonly #pollMs: number;
  readonly #delimiter: Buffer;
  readonly #fromEnd: boolean;
  readonly #follow: boolean;
  position: number;

  constructor(path: string, context: GraphContext | undefined, options: TextFileOptions = {}) {
    const pollMs = options.pollIntervalMs ?? 100;
    if (!(Number.isFinite(pollMs) && pollMs > 0)) throw new RangeError(`fromTextFile: pollIntervalMs must be > 0, got ${pollMs}`);
    const delimiter = options.delimiter ?? '\n';
    if (delimiter === '') throw new RangeError('fromTextFile: the delimiter cannot be empty');
    if (options.position !== undefined && !(Number.isInteger(options.position) && options.position >= 0)) {
      throw new RangeError(`fromTextFile: position must be a byte offset >= 0, got ${options.position}`);
    }
    super(`fromTextFile('${path}')`, context, options);
    this.#path = path;
    this.#pollMs = pollMs;
    this.#delimiter = Buffer.from(delimiter);
    this.#fromEnd = options.fromEnd ?? false;
    this.#follow = options.follow ?? true;
    this.position = options.position ?? 0;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const file = await open(this.#path, 'r');
    try {
      if (this.#fromEnd) this.position = (await file.stat()).size;
      let pending = Buffer.alloc(0); // bytes read after `position`, not yet a whole line
      const chunk = Buffer.alloc(READ_CHUNK);
      for (;;) {
        const { size } = await file.stat();
        if (size < this.position + pending.length) {
          this.position = 0; // truncated: start over
          pending = Buffer.alloc(0);
        }
        let readAt = this.position + pending.length;
        while (readAt < size && !signal.aborted) {
          const { bytesRead } = await file.read(chunk, 0, Math.min(READ_CHUNK, size - readAt), readAt);
          if (bytesRead === 0) break;
          readAt += bytesRead;
          pending = pending.length === 0 ? Buffer.from(chunk.subarray(0, bytesRead)) : Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
          let start = 0;
          for (let end = pending.indexOf(this.#delimiter, start); end >= 0; end = pending.indexOf(this.#delimiter, start)) {
            const next = end + this.#delimiter.length;
            await this.deliver(pending.toString('utf8', start, next));
            this.position += next - start;
            start = next;
            if (signal.aborted) return;
          }
          pending = pending.subarray(start);
        }
        if (!this.#follow || signal.aborted) return;
        await this.context.clock.sleep(this.#pollMs, signal);
      }
    } finally {
      await file.close();
    }
  }
}

export interface FilenamesOptions extends ErrorOptions {
  /** How often to look for new files, in ms. Default 100 (streamz's poll_interval). */
  pollIntervalMs?: number;
  /** Only the names this matches (a RegExp, or a predicate on the name). Default: every file. */
  match?: RegExp | ((name: string) => boolean);
}

/**
 * The path of each file in a directory, those there at start() first, then
 * each new one as it appears (streamz's filenames), in name order within
 * each look. A name is given once, even if the file is deleted and made
 * again.
 */
export class FilenamesSource extends SourceNode {
  readonly #dir: string;
  readonly #pollMs: number;
  readonly #match: (name: string) => boolean;
  readonly #seen = new Set<string>();

  constructor(dir: string, context: GraphContext | undefined, options: FilenamesOptions = {}) {
    const pollMs = options.pollIntervalMs ?? 100;
    if (!(Number.isFinite(pollMs) && pollMs > 0)) throw new RangeError(`filenames: pollIntervalMs must be > 0, got ${pollMs}`);
    super(`filenames('${dir}')`, context, options);
    this.#dir = dir;
    this.#pollMs = pollMs;
    const match = options.match;
    this.#match = match === undefined ? () => true : match instanceof RegExp ? (name) => match.test(name) : match;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    for (;;) {
      const entries = await readdir(this.#dir, { withFileTypes: true });
      const names = entries
        .filter((e) => (e.isFile() || e.isSymbolicLink()) && !this.#seen.has(e.name) && this.#match(e.name))
        .map((e) => e.name)
        .sort();
      for (const name of names) {
        this.#seen.add(name);
        await this.deliver(join(this.#dir, name));
        if (signal.aborted) return;
      }
      await this.context.clock.sleep(this.#pollMs, signal);
    }
  }
}
