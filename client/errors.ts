import type { TaskErrorInfo } from '../schemas/common.ts';
import type { ErrorCode } from '../schemas/errors.ts';

/** An error the scheduler answered (or, for SLUICE_ERR_UNREACHABLE, could not). `code` is from the catalog. */
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
