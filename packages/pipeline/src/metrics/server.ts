import * as http from 'node:http';
import { CONTENT_TYPE, Registry } from './registry';

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (text exposition) on 127.0.0.1:`port` (0 = a free port). */
export function serveMetrics(
  port: number,
  registry: Registry,
  host = '127.0.0.1',
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found; try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    let body: string;
    try {
      body = registry.expose();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`metrics collection failed: ${String(err)}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const p = (server.address() as { port: number }).port;
      resolve({
        port: p,
        url: `http://${host}:${p}/metrics`,
        close: () =>
          new Promise<void>((res) => {
            server.closeAllConnections?.();
            server.close(() => res());
          }),
      });
    });
  });
}
