import * as http from 'node:http';
import { endpointWarnings, requestCredentials, Users } from '@hopwatch/store';
import { CONTENT_TYPE, Registry } from './registry';

export interface MetricsServer {
  port: number;
  url: string;
  /** Things the operator should hear (e.g. reachable beyond loopback without users). */
  warnings: string[];
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (text exposition) on `host`:`port` (0 = a free port). With
 * `users`, scrapes must carry a user's credentials (HTTP basic auth, as Prometheus sends them,
 * or the other ways the query endpoint accepts).
 */
export function serveMetrics(
  port: number,
  registry: Registry,
  host = '127.0.0.1',
  opts: { users?: Users } = {},
): Promise<MetricsServer> {
  const users = opts.users ?? Users.anonymous();
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (users.required) {
      const c = requestCredentials(req, null);
      if (typeof c === 'string' || c === null || users.verify(c.user, c.password) === null) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="hopwatch metrics"' });
        res.end('authentication required\n');
        return;
      }
    }
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
    // exclusive: in a cluster worker (ingest --workers) each worker serves its own metrics
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      const p = (server.address() as { port: number }).port;
      resolve({
        port: p,
        url: `http://${host.includes(':') ? `[${host}]` : host}:${p}/metrics`,
        warnings: endpointWarnings('the metrics endpoint', host, users),
        close: () =>
          new Promise<void>((res) => {
            server.closeAllConnections?.();
            server.close(() => res());
          }),
      });
    });
  });
}
