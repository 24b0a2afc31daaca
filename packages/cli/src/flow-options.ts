/**
 * Flow options shared by replay and serve (and analyze): the flow table and the IPFIX
 * exporters, flags over the config file's 'flows' section (config/flows.ts).
 */
import { FlowTable, IpfixExporter, type FlowRecord, type FlowTableOptions } from '@hopwatch/flows';
import type { HopwatchConfig } from './config-file';
import { ipfixTarget } from './config/flows';
import { UsageError } from './errors';
import { parseIntArg } from './numbers';

export const FLOW_OPTIONS = {
  'no-flows': { type: 'boolean' },
  'flow-active-timeout': { type: 'string' },
  'flow-idle-timeout': { type: 'string' },
  ipfix: { type: 'string', multiple: true },
  'ipfix-domain': { type: 'string' },
  'ipfix-pen': { type: 'string' },
} as const;

export const FLOW_HELP = `Flow options (config file section 'flows'; docs/ipfix.md):
  --ipfix [udp://|tcp://]HOST:PORT   export closed flow intervals to an IPFIX collector
                            (repeatable; UDP by default)
  --ipfix-domain N          IPFIX observation domain ID (default 1)
  --ipfix-pen N             Private Enterprise Number of hopwatch's own elements (default
                            32473, the documentation number: set your own)
  --flow-active-timeout S   a flow that keeps sending is reported every S seconds (default 10)
  --flow-idle-timeout S     a flow's interval closes after S seconds without a packet (15)
  --no-flows                no flow intervals (nothing in the flows table, no export)`;

export interface FlowValues {
  'no-flows'?: boolean;
  'flow-active-timeout'?: string;
  'flow-idle-timeout'?: string;
  ipfix?: string[];
  'ipfix-domain'?: string;
  'ipfix-pen'?: string;
}

export interface FlowSetup {
  table: FlowTable | null;
  /** The table's options (null: flows off); analyze makes one table per partition from them. */
  tableOptions: FlowTableOptions | null;
  exporters: IpfixExporter[];
  /** Hands closed intervals to every exporter. */
  onFlows: (flows: FlowRecord[]) => void;
  /** Stats lines for the summary. */
  summary(): string[];
  close(): Promise<void>;
}

export function flowsFrom(
  values: FlowValues,
  config: HopwatchConfig,
  opts: { table?: boolean } = {},
): FlowSetup {
  const c = config.flows;
  const num = (flag: keyof FlowValues, min: number, max: number, dflt: number): number => {
    const v = values[flag];
    return typeof v === 'string' ? parseIntArg(`--${flag}`, v, min, max) : dflt;
  };
  const active = num('flow-active-timeout', 1, 86_400, c.activeTimeout);
  const idle = num('flow-idle-timeout', 1, 86_400, c.idleTimeout);
  const domain = num('ipfix-domain', 0, 0xffffffff, c.observationDomain);
  const pen = num('ipfix-pen', 1, 0xffffffff, c.enterprise);
  const targets = values.ipfix ? values.ipfix.map((t) => ipfixTarget('--ipfix', t)) : c.ipfix;
  const enabled = !values['no-flows'] && c.enabled;
  if (!enabled && targets.length)
    throw new UsageError('--ipfix needs flows (not with --no-flows or flows.enabled: false)');
  const tableOptions = enabled
    ? { activeTimeoutMs: active * 1000, idleTimeoutMs: idle * 1000, maxFlows: c.maxFlows }
    : null;
  const table = tableOptions && opts.table !== false ? new FlowTable(tableOptions) : null;
  const exporters = targets.map(
    (t) =>
      new IpfixExporter({
        ...t,
        observationDomain: domain,
        enterprise: pen,
        templateRefreshSec: c.templateRefresh,
      }),
  );
  for (const e of exporters) e.start();
  return {
    table,
    tableOptions,
    exporters,
    onFlows: (f) => {
      for (const e of exporters) e.export(f);
    },
    summary: () => {
      const lines: string[] = [];
      if (table) {
        const s = table.stats;
        lines.push(
          `Flows: ${s.idle + s.active + s.forced + s.evicted} intervals (${s.idle} idle, ${s.active} active timeout, ${s.forced} at the end, ${s.evicted} evicted early: table full)${s.clockSkew ? `; ${s.clockSkew} packets' timestamps from unsynchronised clocks (latency from hop latencies)` : ''}`,
        );
      }
      exporters.forEach((e, i) => {
        const s = e.stats;
        const t = targets[i];
        lines.push(
          `IPFIX ${t.transport}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}: ${s.records} records in ${s.messages} messages, ${s.droppedRecords} dropped, ${s.sendErrors} send errors${s.lastError ? ` (last: ${s.lastError})` : ''}`,
        );
      });
      return lines;
    },
    close: async () => {
      await Promise.all(exporters.map((e) => e.close()));
    },
  };
}
