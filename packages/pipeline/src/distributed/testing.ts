/**
 * Helpers for the distributed-mode tests and benchmark: run `hopwatch ingest|analyze` as real
 * OS processes, compute what the embedded mode finds, and fingerprint stored rows.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CodecConfig, Decoder, HopField, RecordBatch, toJson } from '@hopwatch/codec';
import { openCapture } from '@hopwatch/pcap';
import { Analyzer, type Anomaly } from '@hopwatch/analytics';
import { TOPIC_ANOMALIES } from '../wire/topics';
import { KafkaConsumer } from '../transport/kafka';
import { createLogger } from '../metrics/log';

export const REPO_ROOT = path.resolve(__dirname, '../../../..');
export const CLI_BIN = path.join(REPO_ROOT, 'packages/cli/bin/hopwatch.js');

export interface CliProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal) once the process ended. */
  exited: Promise<number | null>;
}

/** Spawns `node packages/cli/bin/hopwatch.js ...args` (stdout/stderr captured). */
export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const proc = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      HOPWATCH_LOG_LEVEL: process.env.HOPWATCH_TEST_LOG_LEVEL ?? 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  what = 'condition',
  everyMs = 200,
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Writes a config file with the codec section (e.g. codecOverridesFor(...) from the simulator). */
export function writeCodecConfig(
  file: string,
  codec: { profile: string; overrides: object },
): string {
  fs.writeFileSync(file, JSON.stringify({ codec: { profile: codec.profile, ...codec.overrides } }));
  return file;
}

/** Decodes capture files as ingest does (frames numbered across the files). */
export function decodeCaptures(
  files: string[],
  codec: CodecConfig,
  onBatch: (b: RecordBatch) => void,
): void {
  const dec = new Decoder(codec);
  const b = new RecordBatch(8192 + 256, 8);
  let frame = 0;
  for (const f of files) {
    const r = openCapture(f);
    try {
      for (let p = r.next(); p; p = r.next()) {
        dec.decode(p.data, p.linkType, p.tsSec, p.tsNsec, ++frame, b);
        if (b.count >= 8192) {
          onBatch(b);
          b.reset();
        }
      }
    } finally {
      r.close();
    }
  }
  if (b.count) onBatch(b);
}

/** The anomalies the embedded mode finds in the captures (analyzer over all records, finish()). */
export function embeddedAnomalies(files: string[], codec: CodecConfig): Anomaly[] {
  const a = new Analyzer({});
  const out: Anomaly[] = [];
  decodeCaptures(files, codec, (b) => {
    a.process(b);
    out.push(...a.flush());
  });
  out.push(...a.finish());
  return out;
}

/** Per-hop (frame, hop_index, switch_id, hop_latency) tuples of the captures, sorted, as text. */
export function expectedHopLatencies(files: string[], codec: CodecConfig): string[] {
  const rows: string[] = [];
  decodeCaptures(files, codec, (b) => {
    for (let r = 0; r < b.count; r++) {
      const s = b.hopStart[r];
      for (let i = 0; i < b.hopCount[r]; i++) {
        const h = s + i;
        const hasLat = (b.present[h] & HopField.HOP_LATENCY) !== 0;
        rows.push(`${b.frame[r]}/${i}/${b.switchId[h]}/${hasLat ? b.hopLatency[h] : 'null'}`);
      }
    }
  });
  return rows.sort();
}

/** Collects every message of the anomaly topic (its own consumer group, from the beginning). */
export async function anomalyTopicReader(
  brokers: string[],
): Promise<{ ids: () => string[]; messages: () => unknown[]; close: () => Promise<void> }> {
  const c = new KafkaConsumer({
    brokers,
    clientId: 'hopwatch-test-reader',
    groupId: `reader-${process.pid}-${Date.now()}`,
    topics: [TOPIC_ANOMALIES],
    fromBeginning: true,
    maxWaitTimeMs: 100,
    logger: createLogger({ level: 'silent' }),
  });
  const msgs: { id: string; value: unknown }[] = [];
  await c.run(async (batch) => {
    for (const m of batch.messages)
      msgs.push({ id: m.key?.toString() ?? '', value: JSON.parse(m.value.toString()) });
  });
  return {
    ids: () => msgs.map((m) => m.id),
    messages: () => msgs.map((m) => m.value),
    close: () => c.close(),
  };
}

/** Prometheus text → value of one series (labels as a substring, e.g. 'reason="queue_full"'). */
export function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  return found ? sum : NaN;
}

export function anomalyIds(list: { id: string }[]): string[] {
  return list.map((a) => a.id).sort();
}

export { toJson };
