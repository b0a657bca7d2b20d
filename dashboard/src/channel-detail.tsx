import { useEffect, useRef, useState } from 'preact/hooks';
import { cut } from './format.ts';

interface Entry {
  seq: number;
  key: string;
  status: string;
}

/** What the result column shows for a key that ended. */
interface Shown {
  text: string;
  kind: 'result' | 'error' | 'omitted' | 'missing';
}

interface OutcomesReply {
  futures: Array<{ key: string; status: string; result?: unknown; resultOmitted?: true; error?: { name: string; message: string } }>;
  missing: string[];
}

const SHOWN = 50;
/** Results up to this many characters of JSON are shown inline; longer ones link to GET /futures/:key. */
const RESULT_CHARS = 300;

/**
 * A channel's most recent entries, live: appends and status changes from its
 * own SSE stream, and the results of those that ended (small ones inline),
 * read in batches from POST /futures/outcomes.
 */
export function ChannelDetail({ name, onClose }: { name: string; onClose: () => void }) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [stopped, setStopped] = useState(false);
  const [results, setResults] = useState<ReadonlyMap<string, Shown>>(new Map());
  /** The batch being read, if any: one at a time. */
  const reading = useRef<object | null>(null);

  useEffect(() => {
    let source: EventSource | undefined;
    let pending: Entry[] = [];
    let frame = 0;
    const flush = (): void => {
      frame = 0;
      const batch = pending;
      pending = [];
      setEntries((current) => {
        const bySeq = new Map(current.map((e) => [e.seq, e]));
        for (const entry of batch) bySeq.set(entry.seq, { ...bySeq.get(entry.seq), ...entry });
        return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, SHOWN);
      });
    };
    const queue = (entry: Entry): void => {
      pending.push(entry);
      if (!frame) frame = requestAnimationFrame(flush);
    };
    setEntries([]);
    setResults(new Map());
    reading.current = null; // a batch read for the previous channel is dropped
    setStopped(false);
    void fetch(`/channels/${encodeURIComponent(name)}?limit=1`)
      .then((r) => r.json())
      .then((info: { lastSeq: number }) => {
        source = new EventSource(`/channels/${encodeURIComponent(name)}/events?from=${Math.max(1, info.lastSeq - SHOWN + 1)}`);
        source.addEventListener('append', (e) => queue(JSON.parse((e as MessageEvent<string>).data)));
        source.addEventListener('status', (e) => queue(JSON.parse((e as MessageEvent<string>).data)));
        source.addEventListener('stop', () => {
          setStopped(true);
          source?.close();
        });
      });
    return () => {
      source?.close();
      cancelAnimationFrame(frame);
    };
  }, [name]);

  // Read the outcomes of shown entries that ended, one batch at a time.
  useEffect(() => {
    if (reading.current !== null) return;
    const wanted = [...new Set(entries.filter((e) => e.status !== 'pending' && !results.has(e.key)).map((e) => e.key))];
    if (wanted.length === 0) return;
    const batch = {};
    reading.current = batch;
    const failed = (): OutcomesReply => ({ futures: [], missing: [] });
    void fetch('/futures/outcomes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys: wanted, resultChars: RESULT_CHARS }),
    })
      .then((r) => (r.ok ? (r.json() as Promise<OutcomesReply>) : failed()))
      .catch(failed)
      .then((reply) => {
        if (reading.current !== batch) return; // another channel is shown now
        reading.current = null;
        setResults((known) => {
          const next = new Map(known);
          for (const key of wanted) next.set(key, { kind: 'omitted', text: 'not available' });
          for (const f of reply.futures) if (f.status !== 'pending') next.set(f.key, shown(f));
          for (const key of reply.missing) next.set(key, { kind: 'missing', text: 'forgotten' });
          return next;
        });
      });
  }, [name, entries, results]);

  return (
    <section class="panel detail" data-testid="channel-detail">
      <h2>
        Channel <code>{name}</code> {stopped && <small>stopped</small>}
        <button type="button" onClick={onClose}>
          close
        </button>
      </h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>seq</th>
              <th>key</th>
              <th>status</th>
              <th>result</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => {
              const result = results.get(e.key);
              return (
                <tr key={e.seq} data-seq={e.seq}>
                  <td class="num">{e.seq}</td>
                  <td class="key">
                    <code>{e.key}</code>
                  </td>
                  <td class={`status ${e.status}`}>{e.status}</td>
                  <td class={`result ${result?.kind ?? ''}`}>
                    {result?.kind === 'omitted' ? (
                      <a href={`/futures/${encodeURIComponent(e.key)}`} target="_blank" rel="noreferrer">
                        {result.text}
                      </a>
                    ) : (
                      <code>{result?.text ?? ''}</code>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function shown(f: OutcomesReply['futures'][number]): Shown {
  if (f.resultOmitted) return { kind: 'omitted', text: `over ${RESULT_CHARS} characters` };
  if (f.status === 'finished') return { kind: 'result', text: cut(JSON.stringify(f.result ?? null), RESULT_CHARS) };
  if (f.error) return { kind: 'error', text: cut(`${f.error.name}: ${f.error.message}`, RESULT_CHARS) };
  return { kind: 'error', text: f.status };
}
