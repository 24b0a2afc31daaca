/**
 * Process metrics under the names Prometheus' client libraries use (process_* as in every
 * official client, nodejs_* as in prom-client), so stock dashboards and alerts work: CPU,
 * memory, heap, open fds, start time, event-loop delay and garbage collection. Read at scrape
 * time, except event-loop delay and GC, which Node measures continuously.
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import {
  constants as perf,
  monitorEventLoopDelay,
  PerformanceObserver,
  type IntervalHistogram,
} from 'node:perf_hooks';
import type { Registry } from './registry';

const GC_KINDS: Record<number, string> = {
  [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** GC pauses are mostly well under a millisecond; major collections reach tens of ms. */
const GC_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1];

/** Count of this process's open file descriptors (Linux /proc), or null elsewhere. */
function openFds(): number | null {
  try {
    // the directory listing itself holds one descriptor while it reads
    return fs.readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

/** The soft limit on open files (Linux /proc), or null. */
function maxFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Virtual memory size in bytes (Linux /proc/self/stat field 23), or null elsewhere. */
function virtualBytes(): number | null {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // fields after the command name, which is in parentheses and may hold spaces; field 3 first
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(f[23 - 3]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Registers the process metrics on `registry` and starts the event-loop and GC monitors.
 * Returns the function that stops those monitors (call it on shutdown).
 */
export function instrumentProcess(registry: Registry): () => void {
  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  const cpu = (): NodeJS.CpuUsage => process.cpuUsage();

  registry.counter('process_cpu_user_seconds_total', 'User CPU time spent in seconds.', [], (c) =>
    c.setTotal(cpu().user / 1e6),
  );
  registry.counter(
    'process_cpu_system_seconds_total',
    'System CPU time spent in seconds.',
    [],
    (c) => c.setTotal(cpu().system / 1e6),
  );
  registry.counter(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    [],
    (c) => {
      const u = cpu();
      c.setTotal((u.user + u.system) / 1e6);
    },
  );
  registry.gauge(
    'process_start_time_seconds',
    'Start time of the process since unix epoch in seconds.',
    [],
    (g) => g.set(startTime),
  );
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [], (g) =>
    g.set(process.memoryUsage.rss()),
  );
  if (virtualBytes() !== null)
    registry.gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', [], (g) =>
      g.set(virtualBytes() ?? NaN),
    );
  registry.gauge('process_heap_bytes', 'Process heap size in bytes.', [], (g) =>
    g.set(process.memoryUsage().heapTotal),
  );
  if (openFds() !== null) {
    registry.gauge('process_open_fds', 'Number of open file descriptors.', [], (g) =>
      g.set(openFds() ?? NaN),
    );
    registry.gauge('process_max_fds', 'Maximum number of open file descriptors.', [], (g) =>
      g.set(maxFds() ?? NaN),
    );
  }

  registry.gauge(
    'nodejs_heap_size_total_bytes',
    'Process heap size from Node.js in bytes.',
    [],
    (g) => g.set(process.memoryUsage().heapTotal),
  );
  registry.gauge(
    'nodejs_heap_size_used_bytes',
    'Process heap size used from Node.js in bytes.',
    [],
    (g) => g.set(process.memoryUsage().heapUsed),
  );
  registry.gauge(
    'nodejs_external_memory_bytes',
    'Node.js external memory size in bytes.',
    [],
    (g) => g.set(process.memoryUsage().external),
  );
  registry.gauge(
    'nodejs_heap_space_size_used_bytes',
    'Process heap space size used from Node.js in bytes.',
    ['space'],
    (g) => {
      for (const s of v8.getHeapSpaceStatistics())
        g.set({ space: s.space_name.replace(/_space$/, '') }, s.space_used_size);
    },
  );
  const [major, minor, patch] = process.versions.node.split('.');
  registry
    .gauge('nodejs_version_info', 'Node.js version info.', ['version', 'major', 'minor', 'patch'])
    .set({ version: process.version, major, minor, patch }, 1);

  // Event-loop delay: sampled every 10 ms by Node; each scrape reports the window since the
  // previous one, then starts a new window, so a stall shows in the scrape that follows it.
  // The histogram records each 10 ms timer's whole interval (an idle loop shows ~10 ms), so
  // the interval is taken off to leave the lag.
  const resolutionMs = 10;
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  loop.enable();
  const window = { mean: 0, min: 0, max: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };
  let windowAt = -1;
  const readLoop = (): typeof window => {
    // one exposition reads several gauges: take the window once per scrape
    const now = Date.now();
    if (now - windowAt > 50) {
      const ok = loop.count > 0;
      const s = (ns: number): number =>
        ok && Number.isFinite(ns) ? Math.max(0, ns / 1e6 - resolutionMs) / 1e3 : 0;
      window.mean = s(loop.mean);
      window.min = s(loop.min);
      window.max = s(loop.max);
      window.stddev = ok && Number.isFinite(loop.stddev) ? loop.stddev / 1e9 : 0;
      window.p50 = s(loop.percentile(50));
      window.p90 = s(loop.percentile(90));
      window.p99 = s(loop.percentile(99));
      loop.reset();
      windowAt = now;
    }
    return window;
  };
  registry.gauge(
    'nodejs_eventloop_lag_seconds',
    'Mean event-loop delay in seconds since the previous scrape.',
    [],
    (g) => g.set(readLoop().mean),
  );
  for (const k of ['min', 'max', 'stddev', 'p50', 'p90', 'p99'] as const)
    registry.gauge(
      `nodejs_eventloop_lag_${k}_seconds`,
      `The ${k} of the event-loop delay in seconds since the previous scrape.`,
      [],
      (g) => g.set(readLoop()[k]),
    );

  const gc = registry.histogram(
    'nodejs_gc_duration_seconds',
    'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    ['kind'],
    GC_BUCKETS,
  );
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as { detail?: { kind?: number } }).detail;
      const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
      gc.observe({ kind }, e.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  return () => {
    loop.disable();
    observer.disconnect();
  };
}
