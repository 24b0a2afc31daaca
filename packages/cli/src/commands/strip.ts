/**
 * `hopwatch strip IN OUT`: the INT sink's duties on a capture. Every INT-carrying packet is
 * restored to what the INT source received (INT removed, port / protocol / DSCP / tunnel next
 * protocol restored, lengths and checksums fixed); every other packet is copied byte for byte.
 */
import * as fs from 'fs';
import { CaptureFormatError, writeViaTemp } from '@hopwatch/pcap';
import { stripCapture, type StripSummary } from '@hopwatch/sink';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { checkOutputFiles, parseCommand } from '../command';
import { EXIT, UsageError } from '../errors';

export const STRIP_HELP = `Usage: hopwatch strip [options] IN OUT

Writes OUT (same format, link type and timestamps as IN) with every INT packet restored to
what the INT source received: the shim, INT header, metadata stack (and v0.5 tail, probe
marker, Geneve option, VXLAN-GPE/GRE shim) removed; the original UDP port (NPT 1), IP
protocol (NPT 2), DSCP and tunnel next protocol restored; IP/UDP/Geneve lengths, IPv4 header
and TCP/UDP checksums fixed (a checksum still valid thanks to a checksum complement is kept).
Packets without INT are copied unchanged. Packets that cannot be restored exactly are
'refused' and copied unchanged (or dropped with --drop-refused).

OUT is written to a temporary file beside it and renamed into place once IN has been read
to the end; an OUT that is IN under another name (path, hard link, symlink) is refused.

Options:
  --unwrap-reports          replace each Telemetry Report by the packet(s) it carries, stripped
  --drop-refused            do not write refused packets
  --keep-discard            strip packets whose INT D bit says "discard" (default: refuse)
  --fail-on-refused         exit 1 when any packet was refused
  --verbose                 one line per refused packet (frame and reason) on stderr
  --json                    the summary as one JSON object on stdout
  --config FILE             YAML config file (its 'codec' section)
${CODEC_HELP}

Exit codes: 0 done; 1 I/O error (or refused packets with --fail-on-refused); 2 usage error
(OUT is IN, missing directory); 3 IN is not a readable capture, or is corrupt or truncated
(OUT is then not written).`;

export function formatStripSummary(s: StripSummary): string {
  const lines = [
    `Summary: ${s.packets} packet(s): ${s.stripped} stripped, ${s.untouched} untouched, ${s.refused} refused; ${s.written} written, ${s.bytesRemoved} INT bytes removed`,
  ];
  if (s.unwrapped) lines.push(`  Telemetry Reports unwrapped: ${s.unwrapped}`);
  const reasons = Object.entries(s.refusedBy).sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
  );
  if (reasons.length) {
    lines.push('  refused by reason:');
    const w = Math.max(...reasons.map(([k]) => k.length));
    for (const [k, n] of reasons) lines.push(`    ${k.padEnd(w)}  ${n}`);
  }
  return lines.join('\n') + '\n';
}

export async function strip(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const cmd = parseCommand(
    argv,
    {
      help: STRIP_HELP,
      positionals: true,
      options: {
        ...CODEC_OPTIONS,
        'unwrap-reports': { type: 'boolean' },
        'drop-refused': { type: 'boolean' },
        'keep-discard': { type: 'boolean' },
        'fail-on-refused': { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        json: { type: 'boolean' },
      },
    },
    out,
  );
  if (!cmd) return EXIT.OK;
  const { values, positionals } = cmd;
  if (positionals.length !== 2)
    throw new UsageError('strip: expected IN and OUT capture files (see hopwatch strip --help)');
  const [input, output] = positionals;
  const config = codecConfigFrom(values, cmd.config);
  if (!fs.existsSync(input)) throw new UsageError(`strip: ${input}: no such file`);
  checkOutputFiles(cmd, [{ name: 'IN', path: input }], [{ name: 'OUT', path: output }]);
  let sum: StripSummary;
  try {
    sum = await writeViaTemp([output], ([tmp]) =>
      stripCapture(input, tmp, {
        config,
        unwrapReports: values['unwrap-reports'],
        dropRefused: values['drop-refused'],
        keepDiscard: values['keep-discard'],
        onPacket: values.verbose
          ? (frame, r) => {
              if (r.result === 'refused') err.write(`frame ${frame}: refused: ${r.reason}\n`);
            }
          : undefined,
      }),
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof CaptureFormatError) {
      err.write(`hopwatch strip: ${input}: ${e.message}; ${output} not written\n`);
      return EXIT.INPUT;
    }
    if (code !== undefined) {
      err.write(`hopwatch strip: ${(e as Error).message}\n`);
      return EXIT.FAILURE;
    }
    throw e;
  }
  out.write(values.json ? JSON.stringify(sum) + '\n' : formatStripSummary(sum));
  return values['fail-on-refused'] && sum.refused > 0 ? EXIT.FAILURE : EXIT.OK;
}
