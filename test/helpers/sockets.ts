// Raw sockets for the tests that play a hostile peer: upgrades sent by hand,
// and the descriptors a process holds.
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';

/** Open descriptors of a process (Linux). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface Refusal {
  /** The status line's code, 0 if none came. */
  status: number;
  /** The scheduler closed the connection by itself (it did not wait for us to). */
  closedByServer: boolean;
}

/**
 * Send an upgrade request by hand and read the answer. The connection is left
 * open from this side until the scheduler closes it or waitCloseMs passes;
 * then it is closed from here, as a client that gave up would.
 */
export function rawUpgrade(port: number, request: string, waitCloseMs = 2000): Promise<Refusal> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let status = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, closedByServer });
    };
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      text += chunk;
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match && status === 0) {
        status = Number(match[1]);
        timer = setTimeout(() => finish(false), waitCloseMs);
      }
    });
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    host: 'localhost',
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
}

