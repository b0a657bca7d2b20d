import type { TaskErrorInfo } from '../schemas/common.ts';
import { bindFactories, CLIENT_ERROR_CATALOG } from '../schemas/client-error-catalog.ts';
import type { ErrorCode } from '../schemas/error-catalog.ts';

/**
 * An error the scheduler answered (or, for SLUICE_ERR_UNREACHABLE, could not).
 * The same fields as the server's: `code` from the catalog (or `HTTP_<status>`
 * for an answer that was not sluice's), `status` the HTTP status it was
 * answered with (0 for an error the client raised itself: unreachable,
 * closed, a lease lost), `message`, `details`.
 */
export class SluiceError extends Error {
  readonly code: ErrorCode | string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode | string, message: string, status = 0, details?: unknown) {
    super(message);
    this.name = 'SluiceError';
    this.code = code;
    this.status = status;
    this.details = details;
  }

  /** @deprecated The server's name for `status`; use `status`. */
  get statusCode(): number {
    return this.status;
  }
}

/** The errors the client raises itself (schemas/client-error-catalog.ts), each factory making a client SluiceError with status 0. */
export const errors = bindFactories(CLIENT_ERROR_CATALOG, (spec) => new SluiceError(spec.code, spec.message, 0, spec.details));

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

/**
 * A task that raised. `name` and `message` are the remote error's, `traceback`
 * its stack on the worker; `key` names the task that raised (a dependency,
 * when this task erred because one did).
 */
export class TaskError extends Error {
  readonly key: string;
  readonly traceback: string;

  constructor(key: string, info: TaskErrorInfo) {
    super(info.message);
    this.name = info.name || 'Error';
    this.key = info.key ?? key;
    this.traceback = info.traceback;
    if (info.traceback) this.stack = info.traceback;
  }
}

/** The task was cancelled, by a caller or because a dependency was. */
export class CancelledError extends Error {
  readonly key: string;

  constructor(key: string, reason?: string) {
    super(reason ? `task ${key} was cancelled: ${reason}` : `task ${key} was cancelled`);
    this.name = 'CancelledError';
    this.key = key;
  }
}

/** The task was lost: its workers kept dying, or a dependency was lost. */
export class LostError extends Error {
  readonly key: string;

  constructor(key: string, message?: string) {
    super(message ?? `task ${key} was lost`);
    this.name = 'LostError';
    this.key = key;
  }
}

/** Waiting took longer than the caller allowed; the task itself goes on. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}
