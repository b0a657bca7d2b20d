import { leaseRoutes } from './lease-routes.ts';

/** Locks, Dask's Lock: a semaphore of one lease. */
export default leaseRoutes('lock');
