/**
 * What `hopwatch serve` hooks in for the web console: the pages for the query endpoint, and
 * the minute timer that keeps the 100 µs rollup to its window (fine-rollup.ts).
 */
import { CONSOLE_HEADERS, consolePage } from './assets';
import { DEFAULT_FINE_WINDOW_MINUTES, pruneFineRollup, type PruneTarget } from './fine-rollup';

export interface ConsoleHook {
  /** For QueryEndpointOptions.pages. */
  pages(pathname: string): { type: string; body: Buffer; headers: Record<string, string> } | null;
  /** Stops the pruning timer. */
  stop(): void;
}

export function startConsole(
  store: PruneTarget,
  opts: { windowMinutes?: number; everyMs?: number; onError?: (message: string) => void } = {},
): ConsoleHook {
  const minutes = opts.windowMinutes ?? DEFAULT_FINE_WINDOW_MINUTES;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    pruneFineRollup(store, minutes)
      .catch((e: Error) => opts.onError?.(`pruning hop_fine_100us: ${e.message}`))
      .finally(() => (running = false));
  }, opts.everyMs ?? 60_000);
  timer.unref();
  return {
    pages: (p) => {
      const page = consolePage(p);
      return page ? { ...page, headers: { ...CONSOLE_HEADERS } } : null;
    },
    stop: () => clearInterval(timer),
  };
}
