import { connect } from 'node:net';

/** A server's answer to bytes sent as they are, read until it closed the connection. */
export interface RawAnswer {
  /** The first line, e.g. `HTTP/1.1 408 Request Timeout`. */
  readonly statusLine: string;
  /** The status of an HTTP/1.1 status line; NaN for anything else. */
  readonly status: number;
  /** The body, read as JSON. */
  readonly body: unknown;
}

/**
 * Opens a connection of its own to `url`'s host and port, writes `request` as it is (a request
 * that is not HTTP, or one that stops halfway) and resolves with what came back once the server
 * closes the connection. A reset after the answer is part of closing: what arrived is kept.
 */
export function rawHttpAnswer(url: string, request: string): Promise<RawAnswer> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(Number(port), hostname, () => socket.write(request));
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const statusLine = received.slice(0, received.indexOf('\r\n'));
      try {
        resolve({
          statusLine,
          status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? Number.NaN),
          body: JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as unknown,
        });
      } catch (error) {
        reject(new Error(`no JSON answer: ${JSON.stringify(received.slice(0, 200))}`, { cause: error }));
      }
    });
  });
}
