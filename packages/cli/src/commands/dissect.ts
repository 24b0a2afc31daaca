/**
 * `hopwatch dissect FILE...`: every packet's layers down to every INT field, like `tshark -V`
 * would print if Wireshark had an INT dissector, then a summary of records, rejections and
 * findings. `--json` writes one JSON object per INT record (and per rejected packet).
 */
import * as fs from 'fs';
import {
  Decoder,
  describeLayer,
  IntRecord,
  materialize,
  RecordBatch,
  REJECT_NAMES,
  toJson,
} from '@hopwatch/codec';
import { CaptureFormatError, openCapture, readCaptureBuffer } from '@hopwatch/pcap';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { parseCommand } from '../command';
import { readAll } from '../stdio';
import { EXIT, UsageError } from '../errors';
import { parseIntArg } from '../numbers';

export const DISSECT_HELP = `Usage: hopwatch dissect [options] FILE...

Prints each packet's layers down to every INT field, then a summary: records by format,
rejections by reason, findings by kind. Reads pcap (µs/ns) and pcapng; FILE \`-\` is stdin.

Options:
  --json                    JSON Lines on stdout: one object per INT record, one per
                            rejected packet ({frame, rejected, detail}); summary on stderr
  --summary                 print only the summary
  --count N                 stop after N packets per file
  --config FILE             YAML config file (its 'codec' section)
${CODEC_HELP}

Exit codes: 0 done; 2 usage error (a file that does not exist); 3 a file is not a capture,
or is corrupt or truncated (the other files and the readable part are still dissected).`;

export interface DissectSummary {
  packets: number;
  records: number;
  byFormat: Map<string, number>;
  byReason: Map<string, number>;
  byFinding: Map<string, number>;
}

function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

export function formatOf(r: IntRecord): string {
  const parts: string[] = [];
  if (r.report) parts.push(`TR v${r.report.version}`);
  if (r.intVersion) parts.push(`INT v${r.intVersion} ${r.mode}`);
  else parts.push(`INT-${r.mode}`);
  parts.push(r.encapsulation);
  return parts.join(' / ');
}

function formatTime(sec: number, nsec: number): string {
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(nsec).padStart(9, '0')}Z`;
}

function flowText(r: IntRecord): string {
  if (!r.flow) return 'no inner flow';
  const f = r.flow;
  const proto = f.protocol === 6 ? 'tcp' : f.protocol === 17 ? 'udp' : `proto ${f.protocol}`;
  const a = (addr: string, port: number): string =>
    addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
  return `${a(f.srcAddr, f.srcPort)} → ${a(f.dstAddr, f.dstPort)} ${proto}`;
}

export async function dissect(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  input: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const cmd = parseCommand(
    argv,
    {
      help: DISSECT_HELP,
      positionals: true,
      options: {
        ...CODEC_OPTIONS,
        json: { type: 'boolean' },
        summary: { type: 'boolean' },
        count: { type: 'string' },
      },
    },
    out,
  );
  if (!cmd) return EXIT.OK;
  const { values, positionals } = cmd;
  if (positionals.length === 0)
    throw new UsageError('dissect: no capture file given (see hopwatch dissect --help)');
  const config = codecConfigFrom(values, cmd.config);
  for (const f of positionals)
    if (f !== '-' && !fs.existsSync(f)) throw new UsageError(`dissect: ${f}: no such file`);
  const limit =
    values.count !== undefined
      ? parseIntArg('--count', values.count, 1, Number.MAX_SAFE_INTEGER)
      : Infinity;
  const decoder = new Decoder(config);
  const verbose = !values.json && !values.summary;
  decoder.trace = verbose ? [] : null;
  const batch = new RecordBatch(256, 8);
  const sum: DissectSummary = {
    packets: 0,
    records: 0,
    byFormat: new Map(),
    byReason: new Map(),
    byFinding: new Map(),
  };
  let failed = false;
  const lines: string[] = [];
  // A reader that went away (`| head`) ends the output quietly; a slow one (`| less`) holds
  // the decode loop back instead of letting the stream buffer the whole capture in memory.
  let closed = false;
  const onGone = (): void => {
    closed = true;
  };
  out.once('error', onGone);
  out.once('close', onGone);
  const flushLines = async (): Promise<void> => {
    if (!lines.length || closed) {
      lines.length = 0;
      return;
    }
    const ok = out.write(lines.join('\n') + '\n');
    lines.length = 0;
    if (!ok && !closed)
      await new Promise<void>((resolve) => {
        const go = (): void => {
          out.off('drain', go);
          out.off('error', go);
          out.off('close', go);
          resolve();
        };
        out.on('drain', go);
        out.on('error', go);
        out.on('close', go);
      });
  };
  for (const file of positionals) {
    let reader;
    try {
      // `-` is stdin (pcap or pcapng), read as a stream in constant memory; a stream handed
      // in by an embedding caller has no descriptor to read from and is taken whole.
      reader =
        file === '-' && input !== process.stdin
          ? readCaptureBuffer(await readAll(input))
          : openCapture(file);
    } catch (e) {
      err.write(
        `hopwatch dissect: ${file}: ${e instanceof CaptureFormatError ? e.message : (e as Error).message}\n`,
      );
      failed = true;
      continue;
    }
    if (positionals.length > 1 && verbose) lines.push(`== ${file} (${reader.format})`);
    let n = 0;
    for (let p = reader.next(); p && n < limit; p = reader.next(), n++) {
      batch.reset();
      const res = decoder.decode(p.data, p.linkType, p.tsSec, p.tsNsec, p.index, batch);
      sum.packets++;
      const records: IntRecord[] = [];
      for (let i = 0; i < batch.count; i++) records.push(materialize(batch, i));
      if (res < 0) bump(sum.byReason, REJECT_NAMES[-res]);
      sum.records += records.length;
      for (const r of records) {
        bump(sum.byFormat, formatOf(r));
        for (const f of r.findings) bump(sum.byFinding, f.kind);
      }
      if (values.json) {
        for (const r of records) lines.push(toJson(r));
        if (res < 0)
          lines.push(
            toJson({ frame: p.index, rejected: REJECT_NAMES[-res], detail: decoder.lastDetail }),
          );
      } else if (verbose) {
        lines.push(
          `Frame ${p.index}: ${p.capturedLength} bytes captured (${p.originalLength} on wire), ${formatTime(p.tsSec, p.tsNsec)}, link type ${p.linkType}`,
        );
        for (const span of decoder.trace!) {
          const rec =
            span.record >= 0 && span.record < records.length ? records[span.record] : null;
          const desc = describeLayer(p.data, span, rec);
          const pad = '  '.repeat(span.depth + 1);
          lines.push(`${pad}${desc.title}`);
          for (const [k, v] of desc.fields) lines.push(`${pad}    ${k}: ${v}`);
        }
        records.forEach((r, i) => {
          lines.push(
            `  => record ${i + 1}: ${formatOf(r)}, ${r.hops.length} hop(s), path [${r.hops.map((h) => h.switchId ?? '?').join(' → ')}], ${flowText(r)}`,
          );
          for (const f of r.findings) lines.push(`     finding ${f.kind}: ${f.detail}`);
        });
        if (res < 0) lines.push(`  => rejected: ${REJECT_NAMES[-res]} (${decoder.lastDetail})`);
        lines.push('');
      }
      if (lines.length > 512) await flushLines();
      if (closed) break;
    }
    if (reader.error) {
      err.write(`hopwatch dissect: ${file}: ${reader.error.message}\n`);
      bump(sum.byReason, reader.truncated ? 'capture-truncated' : 'capture-corrupt');
      failed = true;
    }
    reader.close();
    if (closed) break;
  }
  await flushLines();
  out.off('error', onGone);
  out.off('close', onGone);
  if (closed) return EXIT.OK;
  (values.json ? err : out).write(formatSummary(sum));
  return failed ? EXIT.INPUT : EXIT.OK;
}

export function formatSummary(s: DissectSummary): string {
  const lines = [`Summary: ${s.packets} packet(s), ${s.records} INT record(s)`];
  const section = (title: string, m: Map<string, number>): void => {
    if (m.size === 0) return;
    lines.push(`  ${title}:`);
    const w = Math.max(...[...m.keys()].map((k) => k.length));
    for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
      lines.push(`    ${k.padEnd(w)}  ${v}`);
    }
  };
  section('records by format', s.byFormat);
  section('rejections by reason', s.byReason);
  section('findings by kind', s.byFinding);
  return lines.join('\n') + '\n';
}
