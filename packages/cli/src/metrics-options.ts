/**
 * The Prometheus endpoint of serve, ingest and analyze: --metrics-listen HOST:PORT or
 * --metrics-port N (= 127.0.0.1:N), --metrics-users FILE. Every endpoint also carries the
 * process metrics (CPU, memory, event loop, GC).
 */
import {
  instrumentProcess,
  parseListen,
  serveMetrics,
  type MetricsServer,
  type Registry,
} from '@hopwatch/pipeline';
import { loadUsersFile } from './http-options';
import { UsageError } from './errors';
import { parseIntArg } from './numbers';

export const METRICS_OPTIONS = {
  'metrics-listen': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-users': { type: 'string' },
} as const;

export const METRICS_HELP = `  --metrics-listen HOST:PORT  serve Prometheus metrics on http://HOST:PORT/metrics (port 0 = any
                            free port); a warning when beyond loopback without --metrics-users
  --metrics-port N          the same on 127.0.0.1:N
  --metrics-users FILE      YAML users file: scrapes must authenticate (HTTP basic auth)`;

export interface MetricsValues {
  'metrics-listen'?: string;
  'metrics-port'?: string;
  'metrics-users'?: string;
}

/** Where the metrics endpoint listens; null when neither flag is given. */
export function metricsListenFrom(values: MetricsValues): { host: string; port: number } | null {
  const listen = values['metrics-listen'];
  const port = values['metrics-port'];
  if (listen !== undefined && port !== undefined)
    throw new UsageError('--metrics-listen and --metrics-port together: give one');
  if (port !== undefined)
    return { host: '127.0.0.1', port: parseIntArg('--metrics-port', port, 0, 65535) };
  if (listen === undefined) {
    if (values['metrics-users'] !== undefined)
      throw new UsageError('--metrics-users needs --metrics-listen or --metrics-port');
    return null;
  }
  // a bare port would silently mean loopback; ask for the host to be said
  if (!listen.includes(':'))
    throw new UsageError(`--metrics-listen '${listen}' must be HOST:PORT ([v6]:PORT for IPv6)`);
  try {
    return parseListen(listen);
  } catch (e) {
    throw new UsageError(`--metrics-listen: ${(e as Error).message}`);
  }
}

export interface MetricsNotes {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string): void;
}

/**
 * Starts the metrics endpoint with the process metrics added to `registry`; null without
 * --metrics-listen / --metrics-port. Its URL and any warning go to `notes`. Closing it also
 * stops the event-loop and GC monitors.
 */
export async function startMetrics(
  values: MetricsValues,
  registry: Registry,
  notes: MetricsNotes,
): Promise<MetricsServer | null> {
  const at = metricsListenFrom(values);
  if (!at) return null;
  const file = values['metrics-users'];
  const users = file !== undefined ? loadUsersFile(file) : undefined;
  const stopProcess = instrumentProcess(registry);
  const flag = values['metrics-port'] !== undefined ? '--metrics-port' : '--metrics-listen';
  const server = await serveMetrics(at.port, registry, at.host, { users }).catch((e) => {
    stopProcess();
    throw new UsageError(`${flag} ${at.host}:${at.port}: ${(e as Error).message}`);
  });
  notes.info('metrics', { url: server.url });
  for (const w of server.warnings) notes.warn(w);
  return {
    ...server,
    close: async () => {
      stopProcess();
      await server.close();
    },
  };
}
