// Dask's "asynchronous operation" example in sluice: connect, submit an
// increment of 10 without waiting, await the future, get 11.
// Run against `npm start`:  node --import tsx examples/async-increment.ts
import { Client } from 'sluice/client';

const client = await Client.connect(process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786');
const future = client.submit<number>('inc', [10]); // returns at once
const result = await future; // a Future is awaitable
console.log(result); // 11
await client.close();
