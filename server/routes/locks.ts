import { LockAcquireBody, LockParams } from '../../schemas/leases.ts';
import { leaseRoutes } from './lease-routes.ts';

/** Locks, Dask's Lock: a semaphore of one lease. */
export default leaseRoutes('lock', { params: LockParams, acquireBody: LockAcquireBody });
