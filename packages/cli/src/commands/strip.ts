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
import { copyToOutput, readAll, scratchDir } from '../stdio';

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
IN \`-\` is stdin and OUT \`-\` is stdout (pcap | hopwatch strip - - | tshark -r -): the
summary then goes to stderr.

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
  stdin: NodeJS.ReadableStream = process.stdin,
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
  const [inArg, outArg] = positionals;
  const config = codecConfigFrom(values, cmd.config);
  if (inArg !== '-' && !fs.existsSync(inArg)) throw new UsageError(`strip: ${inArg}: no such file`);
  if (outArg !== '-')
    checkOutputFiles(cmd, [{ name: 'IN', path: inArg }], [{ name: 'OUT', path: outArg }]);
  // stdin is copied to a private file (the reader needs a file), stdout is staged in one and
  // copied out once complete, so the capture on stdout is never a half-written one
  const scratch = inArg === '-' || outArg === '-' ? scratchDir('strip') : undefined;
  try {
    const input = inArg === '-' ? `${scratch!.dir}/in.pcap` : inArg;
    if (inArg === '-') fs.writeFileSync(input, await readAll(stdin));
    const output = outArg === '-' ? `${scratch!.dir}/out.pcap` : outArg;
    const run = (from: string, to: string): StripSummary =>
      stripCapture(from, to, {
        config,
        unwrapReports: values['unwrap-reports'],
        dropRefused: values['drop-refused'],
        keepDiscard: values['keep-discard'],
        onPacket: values.verbose
          ? (frame, r) => {
              if (r.result === 'refused') err.write(`frame ${frame}: refused: ${r.reason}\n`);
            }
          : undefined,
      });
    const code = await stripTo(run, input, output, inArg, err);
    if (typeof code === 'number') return code;
    if (outArg === '-') await copyToOutput(output, out);
    (outArg === '-' ? err : out).write(
      values.json ? JSON.stringify(code) + '\n' : formatStripSummary(code),
    );
    return values['fail-on-refused'] && code.refused > 0 ? EXIT.FAILURE : EXIT.OK;
  } finally {
    scratch?.cleanup();
  }
}

/** Strips `input` into `output`; the summary, or the exit code of a failure (reported). */
async function stripTo(
  run: (from: string, to: string) => StripSummary,
  input: string,
  output: string,
  shownInput: string,
  err: NodeJS.WritableStream,
): Promise<StripSummary | number> {
  let sum: StripSummary;
  try {
    sum = await writeViaTemp([output], ([tmp]) => run(input, tmp));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof CaptureFormatError) {
      err.write(`hopwatch strip: ${shownInput}: ${e.message}; output not written\n`);
      return EXIT.INPUT;
    }
    if (code !== undefined) {
      err.write(`hopwatch strip: ${(e as Error).message}\n`);
      return EXIT.FAILURE;
    }
    throw e;
  }
  return sum;
}
