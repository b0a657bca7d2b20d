// A short run of the crash-and-check soak (npm run soak runs it for minutes).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { ROOT } from '../helpers/processes.ts';

t.test('kill workers and the scheduler while clients work: nothing acknowledged is lost, reordered, duplicated or corrupted', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/soak/soak.ts', '--seconds', '15', '--seed', '7'], {
    cwd: ROOT,
    timeout: 240_000,
  }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  const summary = JSON.parse(stdout);
  t.ok(summary.acknowledged.tasks > 100, `${summary.acknowledged.tasks} tasks acknowledged`);
  t.ok(summary.acknowledged.appends > 10, `${summary.acknowledged.appends} appends acknowledged`);
  t.ok(summary.acknowledged.queueItems > 50, `${summary.acknowledged.queueItems} queue items put and acknowledged`);
  t.ok(summary.acknowledged.variableSets > 10, `${summary.acknowledged.variableSets} variable sets acknowledged`);
  t.ok(summary.faults.schedulerTerms >= 1, `the scheduler was drained with SIGTERM under load ${summary.faults.schedulerTerms} times`);
  t.ok(summary.faults.schedulerKills + summary.faults.schedulerTerms >= 1, `and stopped ${summary.faults.schedulerKills + summary.faults.schedulerTerms} times in all`);
  t.same(
    { lost: summary.lost, wrongResults: summary.wrongResults, channelOrderMismatches: summary.channelOrderMismatches, unfinished: summary.unfinished, readerOrderViolations: summary.readerOrderViolations },
    { lost: 0, wrongResults: 0, channelOrderMismatches: 0, unfinished: 0, readerOrderViolations: 0 },
  );
  t.equal(summary.readerEntries, summary.acknowledged.appends, 'the reader saw every entry once, across every restart');
  t.ok(summary.checkpoints >= 2, `the queue was drained and checked, and the variable read, after each restart and at the end (${summary.checkpoints} times)`);
  t.same(
    { lost: summary.queue.lost, duplicates: summary.queue.duplicates, corrupted: summary.queue.corrupted, variableWrong: summary.variable.wrong },
    { lost: 0, duplicates: 0, corrupted: 0, variableWrong: 0 },
    'every acknowledged put was got exactly once (again only after a kill -9 that came before its removal was committed), and the variable held the last acknowledged value',
  );
  t.equal(summary.variable.checks, summary.checkpoints);
  t.ok(summary.queue.delivered >= summary.acknowledged.queueItems, `${summary.queue.delivered} deliveries, ${summary.queue.redeliveredAfterKill} of them again after a kill -9`);
  // A reader that stops reading is cut off once what the scheduler holds unsent for it passes
  // SLUICE_SSE_MAX_BUFFERED_BYTES (64 KiB in the soak), whatever the throughput: the soak appends
  // to its channel until the cut (up to 64 MiB of events), so only a broken cut-off fails here.
  t.ok(summary.slowReader.cutOff, `a reader that stopped reading was cut off, after ${summary.slowReader.eventBytes} bytes of events`);
  t.ok(summary.slowReader.bufferedAtCut > 64 * 1024 && summary.slowReader.bufferedAtCut < 1024 * 1024, `holding ${summary.slowReader.bufferedAtCut} bytes unsent for it, past the 64 KiB limit by at most one turn's events`);
});
