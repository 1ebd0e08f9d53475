// A real HTTP server on 127.0.0.1:0 for tests, recording what it received.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Called with the already-read request body; `index` counts requests from 0. */
export type TestHandler = (req: IncomingMessage, res: ServerResponse, body: string, index: number) => unknown;

export interface TestServer {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:54321 */
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** `port` 0 (the default) picks a free port. */
export async function startServer(handler: TestHandler, host = '127.0.0.1', listenPort = 0): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }) - 1;
      Promise.resolve(handler(req, res, body, index)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostPart}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // also ends hanging handlers and keep-alive sockets
        server.close(() => resolve());
      }),
  };
}
