// Services receive narrow ports, never the task service itself: only the
// composition root (server/app.ts and the plugins in server/http/plugins/) may
// import the module that defines the Scheduler class.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER = join(ROOT, 'server');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Whether a file is part of the composition root. */
function isCompositionRoot(file: string): boolean {
  const path = relative(SERVER, file);
  return path === 'app.ts' || path.startsWith(`http/plugins/`);
}

t.test('only the composition root imports the task service', async (t) => {
  const files = sources(SERVER);
  const defining = files.filter((file) => /^export class Scheduler\b/m.test(readFileSync(file, 'utf8')));
  t.equal(defining.length, 1, 'one module defines the Scheduler class');
  const scheduler = defining[0];
  const importers: string[] = [];
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)';/gms)) {
      if (resolve(dirname(file), match[1]) === scheduler) importers.push(relative(ROOT, file));
    }
  }
  t.ok(importers.length > 0, 'the composition root imports it (the check finds imports)');
  t.same(
    importers.filter((file) => !isCompositionRoot(join(ROOT, file))),
    [],
    `no service, route or helper imports ${relative(ROOT, scheduler)}: give it the port it needs (server/services/task-events.ts, server/services/holds.ts, ...)`,
  );
});
