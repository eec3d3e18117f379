import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tiny loopback server for tests: the handler decides everything; timings are exact. */
export interface FixtureServer {
  url: string;
  close(): Promise<void>;
}

export function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<FixtureServer> {
  const server = createServer(handler);
  server.keepAliveTimeout = 1000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
