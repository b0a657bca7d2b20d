// npm run bench:pg-load [-- --tasks N --entries N]: how long a scheduler on PostgreSQL takes to
// take over and load the database into its private working copy (PostgresStorage.open), for a
// database of N ended tasks and N channel entries. That time is added to every start and every
// takeover. A private PostgreSQL on loopback; 3 loads, min / median / max.
import pg from 'pg';
import { migrate } from '../server/storage/postgres/migrate.ts';
import { PostgresStorage } from '../server/storage/postgres/postgres-storage.ts';
import { launchPostgres } from '../test/helpers/postgres.ts';
import { machine, round } from './lib.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const tasks = arg('--tasks', 100_000);
const entries = arg('--entries', 100_000);

const server = await launchPostgres();
try {
  const client = new pg.Client(server.url);
  await client.connect();
  await migrate(client);
  // Finished tasks with a small result each (as a channel's tasks are), and entries spread over 100 channels.
  await client.query(
    `INSERT INTO tasks (key, seq, fn, args, status, attempt, result, worker, submitted_at, started_at, finished_at)
     SELECT 'inc-' || md5(i::text), i, 'inc', '[' || i || ']', 'finished', 1, (i + 1)::text, 'w-1', 1764700000000 + i, 1764700000000 + i, 1764700000001 + i
     FROM generate_series(1, $1::bigint) AS i`,
    [tasks],
  );
  await client.query(
    `INSERT INTO channels (name, maxlen, stopped, first_seq, last_seq, created_at) SELECT 'ch-' || c, NULL, 0, 1, $1::bigint / 100, 1764700000000 FROM generate_series(1, 100) AS c`,
    [entries],
  );
  await client.query(
    `INSERT INTO channel_entries (channel, seq, key) SELECT 'ch-' || (1 + (i - 1) % 100), 1 + (i - 1) / 100, 'inc-' || md5(i::text) FROM generate_series(1, $1::bigint) AS i`,
    [entries],
  );
  await client.query('VACUUM ANALYZE');
  await client.end();

  const times: number[] = [];
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    const storage = await PostgresStorage.open(server.url, { onFailure: (error) => { throw error; } });
    times.push(performance.now() - started);
    await storage.close();
  }
  times.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({ suite: 'pg-load', date: new Date().toISOString(), machine: machine(), tasks, entries, ms: { min: round(times[0] as number, 0), median: round(times[1] as number, 0), max: round(times[2] as number, 0) } }, null, 2)}\n`,
  );
} finally {
  await server.stop();
}
