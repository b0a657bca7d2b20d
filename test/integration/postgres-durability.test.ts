// What survives kill -9 of the scheduler on PostgreSQL (--db postgres://…): the same checks as on
// SQLite (durability.test.ts, coordination-durability.test.ts), on a real PostgreSQL: one private
// cluster for the file, a database per test. The restart takes over once the killed leader's lease lapses.
import t from 'tap';
import { appendsAndSetsSurviveKill, primitivesSurviveKill, putsSurviveKill, submissionsSurviveKill } from '../helpers/durability-checks.ts';
import { createDatabase, postgresMissing, startPostgres } from '../helpers/postgres.ts';

const missing = postgresMissing();
if (missing) t.plan(0, missing);
else {
  const server = await startPostgres(t);
  t.test('every acknowledged submission survives kill -9 in the middle of a burst', async (t) => submissionsSurviveKill(t, await createDatabase(t, server, 'submissions')));
  t.test('every acknowledged append and variable set survives kill -9 in the middle of a burst', async (t) => appendsAndSetsSurviveKill(t, await createDatabase(t, server, 'appends')));
  t.test('every acknowledged put survives kill -9 in the middle of a burst, once, in order', async (t) => putsSurviveKill(t, await createDatabase(t, server, 'puts')));
  t.test('kill -9: every acknowledged write of every primitive is there after the restart', async (t) => primitivesSurviveKill(t, await createDatabase(t, server, 'primitives')));
}
