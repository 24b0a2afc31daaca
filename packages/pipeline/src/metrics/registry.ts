/**
 * A tiny Prometheus registry (text exposition format 0.0.4): counters, gauges and
 * histograms with labels. No dependency.
 */

export type Labels = Record<string, string | number>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Sample value as Prometheus writes it (+Inf, -Inf, NaN). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class Metric {
  readonly type: 'counter' | 'gauge' | 'histogram';
  protected series = new Map<string, { labels: string[]; value: unknown }>();
  constructor(
    type: 'counter' | 'gauge' | 'histogram',
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    this.type = type;
    if (!NAME_RE.test(name))
      throw new Error(`metrics: invalid metric name ${JSON.stringify(name)}`);
    for (const l of labelNames) {
      if (!LABEL_RE.test(l) || l.startsWith('__') || (type === 'histogram' && l === 'le'))
        throw new Error(`metrics: invalid label name ${JSON.stringify(l)} for ${name}`);
    }
  }

  protected labelValues(labels: Labels | undefined): string[] {
    const given = labels ?? {};
    for (const k of Object.keys(given)) {
      if (!this.labelNames.includes(k))
        throw new Error(`metrics: ${this.name} has no label ${JSON.stringify(k)}`);
    }
    return this.labelNames.map((l) => {
      const v = given[l];
      if (v === undefined)
        throw new Error(`metrics: ${this.name} needs label ${JSON.stringify(l)}`);
      return String(v);
    });
  }

  protected labelString(values: string[], extra?: [string, string]): string {
    const parts = values.map((v, i) => `${this.labelNames[i]}="${escapeLabel(v)}"`);
    if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
    return parts.length ? `{${parts.join(',')}}` : '';
  }

  header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract samples(): string;

  reset(): void {
    this.series.clear();
  }
}

export class Counter extends Metric {
  private collector?: (c: Counter) => void;
  /** `collect` runs before each exposition (to mirror totals kept elsewhere: setTotal). */
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    collect?: (c: Counter) => void,
  ) {
    super('counter', name, help, labelNames);
    this.collector = collect;
    if (labelNames.length === 0) this.series.set('', { labels: [], value: 0 });
  }
  /** Sets the total directly (for collectors mirroring a counter kept elsewhere). */
  setTotal(labels: Labels | number, value?: number): void {
    if (typeof labels === 'number') {
      value = labels;
      labels = {};
    }
    const values = this.labelValues(labels);
    this.series.set(values.join('\u0000'), { labels: values, value: value ?? 0 });
  }
  inc(labels?: Labels | number, by = 1): void {
    if (typeof labels === 'number') {
      by = labels;
      labels = undefined;
    }
    if (!(by >= 0))
      throw new Error(`metrics: counter ${this.name} can only increase (inc by ${by})`);
    const values = this.labelValues(labels);
    const key = values.join('\u0000');
    const s = this.series.get(key);
    if (s) s.value = (s.value as number) + by;
    else this.series.set(key, { labels: values, value: by });
  }
  get(labels?: Labels): number {
    return (this.series.get(this.labelValues(labels).join('\u0000'))?.value as number) ?? 0;
  }
  samples(): string {
    this.collector?.(this);
    let out = '';
    for (const s of this.series.values())
      out += `${this.name}${this.labelString(s.labels)} ${formatValue(s.value as number)}\n`;
    return out;
  }
}

export class Gauge extends Metric {
  private collector?: (g: Gauge) => void;
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    collect?: (g: Gauge) => void,
  ) {
    super('gauge', name, help, labelNames);
    this.collector = collect;
    if (labelNames.length === 0) this.series.set('', { labels: [], value: 0 });
  }
  set(labels: Labels | number, value?: number): void {
    if (typeof labels === 'number') {
      value = labels;
      labels = {};
    }
    const values = this.labelValues(labels);
    this.series.set(values.join('\u0000'), { labels: values, value: value ?? 0 });
  }
  inc(labels?: Labels | number, by = 1): void {
    if (typeof labels === 'number') {
      by = labels;
      labels = undefined;
    }
    this.set(labels ?? {}, this.get(labels) + by);
  }
  dec(labels?: Labels | number, by = 1): void {
    if (typeof labels === 'number') this.inc(-labels);
    else this.inc(labels, -by);
  }
  get(labels?: Labels): number {
    return (this.series.get(this.labelValues(labels).join('\u0000'))?.value as number) ?? 0;
  }
  samples(): string {
    this.collector?.(this);
    let out = '';
    for (const s of this.series.values())
      out += `${this.name}${this.labelString(s.labels)} ${formatValue(s.value as number)}\n`;
    return out;
  }
}

interface HistSeries {
  counts: number[];
  sum: number;
  count: number;
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram extends Metric {
  readonly buckets: number[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets = DEFAULT_BUCKETS,
  ) {
    super('histogram', name, help, labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b).filter((b) => b !== Infinity);
    if (labelNames.length === 0) this.series.set('', { labels: [], value: this.fresh() });
  }
  private fresh(): HistSeries {
    return { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
  }
  observe(labels: Labels | number, value?: number): void {
    if (typeof labels === 'number') {
      value = labels;
      labels = {};
    }
    const v = value as number;
    const values = this.labelValues(labels);
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { labels: values, value: this.fresh() };
      this.series.set(key, s);
    }
    const h = s.value as HistSeries;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) h.counts[i]++;
    h.sum += v;
    h.count++;
  }
  /** Starts a timer; the returned function observes the elapsed seconds. */
  startTimer(labels: Labels = {}): () => number {
    const t0 = process.hrtime.bigint();
    return () => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      this.observe(labels, s);
      return s;
    };
  }
  samples(): string {
    let out = '';
    for (const s of this.series.values()) {
      const h = s.value as HistSeries;
      for (let i = 0; i < this.buckets.length; i++)
        out += `${this.name}_bucket${this.labelString(s.labels, ['le', formatValue(this.buckets[i])])} ${h.counts[i]}\n`;
      out += `${this.name}_bucket${this.labelString(s.labels, ['le', '+Inf'])} ${h.count}\n`;
      out += `${this.name}_sum${this.labelString(s.labels)} ${formatValue(h.sum)}\n`;
      out += `${this.name}_count${this.labelString(s.labels)} ${h.count}\n`;
    }
    return out;
  }
}

export class Registry {
  private metrics = new Map<string, Metric>();

  private add<T extends Metric>(m: T): T {
    const old = this.metrics.get(m.name);
    if (old) {
      if (old.type !== m.type || old.labelNames.join() !== m.labelNames.join())
        throw new Error(`metrics: ${m.name} is already registered as a different ${old.type}`);
      return old as T;
    }
    this.metrics.set(m.name, m);
    return m;
  }

  /** Registers (or returns the already registered) counter. */
  counter(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    collect?: (c: Counter) => void,
  ): Counter {
    return this.add(new Counter(name, help, labelNames, collect));
  }
  gauge(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    collect?: (g: Gauge) => void,
  ): Gauge {
    return this.add(new Gauge(name, help, labelNames, collect));
  }
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets?: number[],
  ): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  /** The text exposition of every metric, in registration order. */
  expose(): string {
    let out = '';
    for (const m of this.metrics.values()) out += m.header() + m.samples();
    return out;
  }
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
