// A standalone frontend for the CORS scenario: a page on an origin of its own, from which the
// browser calls the main server. It listens on a port the OS picks and keeps it: a port chosen
// first and listened on later can be taken in between (by any outgoing connection's local port),
// which failed a run with EADDRINUSE.
import * as http from 'node:http';
import * as net from 'node:net';

/** Serves the frontend's page on 127.0.0.1; the server and its origin. */
export async function serveFrontend(): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>Standalone frontend</title><h1>Frontend</h1>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}
