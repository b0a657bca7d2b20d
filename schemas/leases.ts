import { z } from 'zod';
import { nameOf, WaitSeconds } from './coordination.ts';
import { CLIENT_ID_PATTERN } from './constants.ts';

export const LockName = nameOf('lock');
export const SemaphoreName = nameOf('semaphore');
export const LockParams = z.object({ name: LockName });
export const SemaphoreParams = z.object({ name: SemaphoreName });

export const FencingToken = z
  .number()
  .int()
  .min(1)
  .describe('The fencing token of a lease: each acquire of a lock or semaphore gets the next number, never reused.');

export const LeaseId = z
  .string()
  .regex(CLIENT_ID_PATTERN, { message: 'a lease id is 8 to 64 characters from A-Z a-z 0-9 _ -' })
  .describe('Names one lease; whoever knows it can renew or release it.');

export const DEFAULT_TTL_MS = 30_000;

const leaseFields = {
  leaseId: LeaseId.optional().describe(
    'Choose the lease id: a retried acquire with the same id answers the lease already granted instead of taking a second one.',
  ),
  ttlMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(DEFAULT_TTL_MS)
    .describe('The lease expires this long after it was granted or last renewed.'),
  holder: z.string().min(1).max(256).optional().describe('Who holds it, for people reading GET (a host and pid, say).'),
};

// A bare `POST .../acquire` (curl, no body) reaches validation as null: it takes the defaults.
const orEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((body: z.input<T> | null | undefined) => body ?? {}, schema);

export const LockAcquireBody = orEmpty(z.object(leaseFields).strict());
export const SemaphoreAcquireBody = orEmpty(
  z.object({
    ...leaseFields,
    maxLeases: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe('How many leases may be held at once. Creates the semaphore (default 1); a different number than it has is a 409.'),
  })
  .strict(),
);

export const AcquireQuery = z
  .object({ timeout: WaitSeconds.optional().describe('Seconds to wait for a lease (default: until one is free; 0: do not wait).') })
  .strict();

export const LeaseBody = z.object({ leaseId: LeaseId }).strict();

/** A lease as acquire and renew answer it. */
export const Lease = z.object({
  name: z.string(),
  leaseId: z.string(),
  token: z.number().describe('The fencing token: higher than any token given before for this name.'),
  ttlMs: z.number(),
  expiresAt: z.string().describe('When the lease expires unless renewed (the scheduler’s clock).'),
});
export type Lease = z.infer<typeof Lease>;

/** A lease as GET shows it to anybody: without its id, which is what lets one renew or release it. */
export const LeaseView = z.object({
  token: z.number(),
  holder: z.string().nullable(),
  clientId: z.string().nullable(),
  acquiredAt: z.string(),
  expiresAt: z.string(),
});

export const LeasesInfo = z.object({
  name: z.string(),
  maxLeases: z.number(),
  leases: z.array(LeaseView).describe('The leases held now, oldest first.'),
  waiting: z.number().describe('Callers waiting to acquire.'),
  lastToken: z.number().describe('The token of the latest lease granted; 0 before the first.'),
});
export type LeasesInfo = z.infer<typeof LeasesInfo>;

export const SemaphoreConfig = z.object({ maxLeases: z.number().int().min(1).max(1_000_000) }).strict();
