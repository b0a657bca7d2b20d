// Dask's figures for `npm run bench:peers`: bench/peers/dask_bench.py under
// the first Python that can import distributed ($SLUICE_PYTHON, python3, then
// Debian's /usr/bin/python3, which a pyenv or venv python3 may hide).
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerReport, PeerResult } from '../compare.ts';

const SCRIPT = fileURLToPath(new URL('dask_bench.py', import.meta.url));

function pythonWithDask(): string | undefined {
  const candidates = [process.env.SLUICE_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  return candidates.find((python) => spawnSync(python, ['-c', 'import distributed'], { stdio: 'ignore' }).status === 0);
}

export async function runDask(quick: boolean): Promise<PeerReport> {
  const python = pythonWithDask();
  if (python === undefined) return { available: false, reason: 'no python3 that can import distributed', install: 'sudo apt-get install -y python3-distributed' };
  // Dask's worker processes watch a pipe from their parent and exit with it, so killing the script is enough.
  const child = execFile(python, [SCRIPT, ...(quick ? ['--quick'] : [])], { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000, killSignal: 'SIGKILL' });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout?.on('data', (chunk: string) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: string) => stderr.push(chunk));
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  try {
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    if (code !== 0) return { available: true, error: `${python} ${SCRIPT} exited with ${code}:\n${stderr.join('').slice(-2000)}` };
  } finally {
    process.off('exit', kill);
  }
  const report = JSON.parse(stdout.join('')) as { version: string; python: string; setup: string; results: PeerResult[] };
  return { available: true, ...report, python: `${python} (${report.python})` };
}
