// Read the channel `orders` from its first entry: each future's result, in the
// order the scheduler gave the entries. Another client, at another time, than
// the callers that appended. Stops after LIMIT entries, or when the channel is
// stopped; iteration resumes by itself if the scheduler restarts meanwhile.
// Run against `npm start`:  node --import tsx examples/channel-reader.ts
import { Client } from 'sluice/client';

const client = await Client.connect(process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786');
const limit = Number(process.env.LIMIT ?? 3);
let read = 0;
for await (const { seq, future } of client.channel<number>('orders').entries()) {
  console.log(`entry ${seq}: ${await future}`);
  if (++read === limit) break;
}
await client.close();
