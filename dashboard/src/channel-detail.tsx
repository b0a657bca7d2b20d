import { useEffect, useState } from 'preact/hooks';

interface Entry {
  seq: number;
  key: string;
  status: string;
}

const SHOWN = 50;

/** A channel's most recent entries, live: appends and status changes from its own SSE stream. */
export function ChannelDetail({ name, onClose }: { name: string; onClose: () => void }) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [stopped, setStopped] = useState(false);

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

  return (
    <section class="panel detail" data-testid="channel-detail">
      <h2>
        Channel <code>{name}</code> {stopped && <small>stopped</small>}
        <button type="button" onClick={onClose}>
          close
        </button>
      </h2>
      <table>
        <thead>
          <tr>
            <th>seq</th>
            <th>key</th>
            <th>status</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.seq}>
              <td class="num">{e.seq}</td>
              <td>
                <code>{e.key}</code>
              </td>
              <td class={`status ${e.status}`}>{e.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
