import { connect, createServer, type Socket } from 'node:net';
import { freePort } from './free-port.js';
import { POSTGRES_ADMIN_URL } from './postgres.js';

export interface FreezableProxy {
  readonly port: number;
  /** Stops passing bytes on, on every connection, while each stays open. */
  freeze(): void;
  /** Passes on again, what was held back first. */
  thaw(): void;
  /**
   * Passes on again for connections opened from now on; those open now stay silent for good and
   * what they sent is lost, as over a route that broke while they were in flight.
   */
  strand(): void;
  /** Connections open through the proxy (each counted once, not its two sockets). */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy to the test server that can stop passing bytes on, as a paused server or a cut
 * network does, while every connection stays open.
 */
export async function freezableProxy(): Promise<FreezableProxy> {
  const target = new URL(POSTGRES_ADMIN_URL);
  let frozen = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const stranded = new WeakSet<Socket>();
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (stranded.has(from)) return;
      if (frozen) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const send of held.splice(0)) send();
    },
    strand: () => {
      for (const socket of sockets) stranded.add(socket);
      frozen = false;
      held.length = 0;
    },
    connections: () => sockets.size / 2,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
