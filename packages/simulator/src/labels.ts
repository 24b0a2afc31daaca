/** Ground-truth label format (JSON) scored by the analytics engine. Times: ns since the epoch. */

export interface FlowLabel {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
}

export type Anomaly =
  | {
      type: 'microburst';
      start: bigint;
      end: bigint;
      switchId: number;
      egressPort: number;
      queueId: number;
      aggressors: FlowLabel[];
      victims: FlowLabel[];
      peakOccupancy: number;
      /** Packets tail-dropped at the queue during the burst (buffer overflow). */
      drops: number;
    }
  | {
      type: 'microloop';
      start: bigint;
      end: bigint;
      switches: number[];
      flows: FlowLabel[];
      packets: number;
    }
  | { type: 'path_change'; start: bigint; flow: FlowLabel; oldPath: number[]; newPath: number[] }
  | {
      type: 'drop';
      start: bigint;
      end: bigint;
      switchId: number;
      flows: FlowLabel[];
      packets: number;
    }
  | { type: 'report_loss'; start: bigint; end: bigint; nodeId: number; hwId: number; lost: number };

/** A stable detour through a non-INT appliance: the switch shows twice in the flows' stacks
 * (a path attribute, not an anomaly). Ports: out to the appliance, and back in from it. */
export interface HairpinLabel {
  switchId: number;
  egressPort: number;
  ingressPort: number;
  flows: number;
  packets: number;
}

export interface Labels {
  scenario: string;
  seed: number;
  packets: number;
  reports: number;
  format: {
    mode: 'MD' | 'MX';
    intVersion: string;
    encapsulation: string;
    reportVersion: string | null;
  };
  tolerance: { startNs: number; endNs: number };
  anomalies: Anomaly[];
  /** Only in scenarios with hairpins. */
  hairpins?: HairpinLabel[];
}

/**
 * JSON text with exact integer nanosecond times (bigints written as plain numbers). Laid out
 * like JSON.stringify(…, 2) except that short arrays of numbers/strings stay on one line (so
 * the committed label files are stable under the repository's Prettier settings).
 */
export function labelsToJson(l: Labels): string {
  return write(l, '') + '\n';
}

function write(v: unknown, indent: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every((x) => x === null || typeof x !== 'object')) {
      const flat = `[${v.map((x) => write(x, inner)).join(', ')}]`;
      if (indent.length + flat.length < 70) return flat;
    }
    return `[\n${v.map((x) => inner + write(x, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  const body = entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${write(x, inner)}`);
  return `{\n${body.join(',\n')}\n${indent}}`;
}

/** Parses label JSON; times become bigints (exact). */
export function parseLabels(text: string): Labels {
  const quoted = text.replace(/"(start|end)":\s*(-?\d+)/g, '"$1":"__bigint__$2"');
  return JSON.parse(quoted, (_k, v) =>
    typeof v === 'string' && v.startsWith('__bigint__') ? BigInt(v.slice(10)) : v,
  ) as Labels;
}
