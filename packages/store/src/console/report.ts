/**
 * The offline HTML report (`hopwatch report FILE.pcap --html OUT.html`): the web console's
 * files inlined into one page with the answers of every query its views run on the whole
 * capture, so the page works from a file with no server and no network.
 *
 * The report asks what console.js asks, with the same parameters: keep reportKey(), around()
 * and heatmapLevel() here in step with their twins in packages/store/console/console.js.
 */
import { consoleFile } from './assets';
import { CONSOLE_QUERIES } from './queries';

type Rows = Record<string, unknown>[];

/** What the report needs of a store: the named console queries. */
export interface ReportSource {
  named(name: string, params?: Record<string, unknown>, format?: 'json'): Promise<Rows>;
}

export interface ReportMeta {
  /** The capture's name, shown in the page. */
  capture: string;
  /** When the report was made (ISO-8601). */
  made: string;
}

type Params = Record<string, string | number>;

/** console.js reportKey(): the query name and its parameters, sorted, values as strings. */
export function reportKey(name: string, params: Params): string {
  return (
    name +
    JSON.stringify(
      Object.keys(params)
        .sort()
        .map((k) => [k, String(params[k])]),
    )
  );
}

/** console.js around(): the episode and 20% of its length (at least 20 µs) either side. */
function around(fromNs: string, toNs: string): { from: string; to: string } {
  const s = BigInt(fromNs);
  const e = BigInt(toNs);
  let m = (e - s) / 5n;
  if (m < 20000n) m = 20000n;
  return { from: (s - m).toString(), to: (e + m + 1n).toString() };
}

/** console.js heatmapLevel(): the fine level and buckets per cell for at most ~120 cells. */
function heatmapLevel(from: string, to: string): { name: string; step: number } {
  const span = Number(BigInt(to) - BigInt(from));
  const fine = span <= 2e9;
  const width = fine ? 1e5 : 1e7;
  return {
    name: fine ? 'console_heatmap_100us' : 'console_heatmap_10ms',
    step: Math.max(1, Math.ceil(span / width / 120)),
  };
}

interface FlowKey {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
}

/** Every answer the report's views ask for, keyed as console.js looks them up. */
export async function reportResults(store: ReportSource): Promise<Record<string, Rows>> {
  const results: Record<string, Rows> = {};
  const ask = async (name: string, params: Params): Promise<Rows> => {
    const key = reportKey(name, params);
    if (!(key in results)) results[key] = await store.named(name, params);
    return results[key];
  };
  const span = (await ask('console_span', {}))[0];
  if (!span || Number(span.records) === 0) return results;
  const win = {
    from: String(span.first_ns),
    to: (BigInt(String(span.last_ns)) + 1n).toString(),
  };
  const lv = heatmapLevel(win.from, win.to);
  await ask(lv.name, { ...win, step: lv.step });
  for (const q of ['console_switches', 'console_links', 'console_slowest_hops']) await ask(q, win);
  const anomalies = await ask('console_anomalies', win);
  const flows = new Map<string, FlowKey>();
  const addFlow = (f: FlowKey | undefined): void => {
    if (f?.srcAddr)
      flows.set(`${f.srcAddr}|${f.dstAddr}|${f.srcPort}|${f.dstPort}|${f.protocol}`, f);
  };
  for (const a of anomalies) {
    const d = JSON.parse(String(a.details)) as {
      switchId: number;
      egressPort: number;
      queueId: number;
      aggressors?: FlowKey[];
      victims?: FlowKey[];
      flows?: FlowKey[];
      flow?: FlowKey;
    };
    const w = around(String(a.from_ns), String(a.to_ns));
    if (a.type === 'microburst')
      await ask('console_queue_series', {
        switch: d.switchId,
        port: d.egressPort,
        queue: d.queueId,
        ...w,
      });
    if (a.type === 'microloop') await ask('console_loop_packets', w);
    for (const f of [...(d.aggressors ?? []), ...(d.victims ?? []), ...(d.flows ?? [])]) addFlow(f);
    addFlow(d.flow);
  }
  for (const f of flows.values())
    await ask('console_flow', {
      src: f.srcAddr,
      dst: f.dstAddr,
      src_port: f.srcPort,
      dst_port: f.dstPort,
      protocol: f.protocol,
      ...win,
    });
  return results;
}

/** JSON safe inside a <script> element: no `<` (so no `</script>`), no line separators. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The self-contained page: console.css and console.js inlined, the answers embedded. */
export async function buildReportHtml(store: ReportSource, meta: ReportMeta): Promise<string> {
  const data = { ...meta, queries: CONSOLE_QUERIES, results: await reportResults(store) };
  const css = consoleFile('console.css');
  const js = consoleFile('console.js');
  if (/<\/(script|style)/i.test(css + js))
    throw new Error('console files must not close their element');
  const page = consoleFile('index.html')
    .replace(
      /<title>[^<]*<\/title>/,
      () => `<title>hopwatch report: ${escapeHtml(meta.capture)}</title>`,
    )
    .replace(/<link rel="stylesheet"[^>]*>/, () => `<style>\n${css}</style>`)
    .replace(
      /<script src="[^"]*"><\/script>/,
      () =>
        `<script>window.HOPWATCH_REPORT = ${scriptJson(data)};</script>\n    <script>\n${js}</script>`,
    );
  return page;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
