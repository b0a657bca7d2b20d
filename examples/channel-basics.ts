// Channels from TypeScript: append without waiting, flush, stop, iterate.
// Run against `npm start`:  node --import tsx examples/channel-basics.ts
import { Client } from 'sluice/client';

const client = await Client.connect(process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786');
const chan = client.channel<number>(`adds-${Date.now()}`, { maxlen: 1000 }); // beyond 1000 entries the oldest fall off

for (let i = 0; i < 3; i++) chan.append(client.submit('add', [i, 10])); // returns at once; appends are batched
await chan.flush(); // every append so far is acknowledged
await chan.stop(); // ends every iteration, in every client; no more appends

for await (const future of chan) console.log(await future); // replays 10, 11, 12, then ends: the channel is stopped
await client.close();
