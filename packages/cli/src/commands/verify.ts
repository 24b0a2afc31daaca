/**
 * `hopwatch verify`: validates an INT transit or sink device from captures taken before and
 * after it, like INT test equipment. Exit code 1 on any violation, so it runs in a pipeline.
 */
import * as fs from 'fs';
import { CaptureFormatError } from '@hopwatch/pcap';
import { verifyCaptures, type VerifyResult } from '@hopwatch/sink';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { parseCommand } from '../command';
import { EXIT, UsageError } from '../errors';
import { parseIntArg } from '../numbers';

export const VERIFY_HELP = `Usage: hopwatch verify --role transit|sink --before A.pcap --after B.pcap [options]

Pairs the packets captured before and after a device under test (by inner flow and payload;
reordering and packets missing on either side are tolerated) and checks each pair:
  transit  exactly one hop block of Hop ML words pushed on top of the stack, with the fields
           the bitmap requests (and --switch-id); Remaining Hop Count decremented; shim /
           option / IP / UDP lengths updated; E set at the hop limit, M when MTU forbade
           insertion; header, earlier hops and payload unchanged; checksums right
  sink     no INT left; original port / protocol / DSCP / tunnel next protocol restored;
           lengths and checksums right; payload unchanged (compared with hopwatch's own strip)

Options:
  --role transit|sink       what the device is (required)
  --before FILE             capture taken before the device (required)
  --after FILE              capture taken after the device (required)
  --switch-id N             transit: the node id the device must write (bitmap bit 0)
  --strict                  packets without a counterpart on the other side are violations
  --json                    one JSON object {summary, packets} on stdout
  --all                     text output: list every pair, not only those with findings
  --config FILE             YAML config file (its 'codec' section)
${CODEC_HELP}

Exit codes: 0 no violation; 1 violations found; 2 usage error (a capture that does not
exist); 3 a capture is not a capture, or is corrupt or truncated.`;

export function formatVerify(r: VerifyResult, all = false): string {
  const lines: string[] = [];
  for (const p of r.packets) {
    const interesting = p.violations.length > 0 || p.warnings.length > 0;
    if (!all && !interesting) continue;
    const where = `before #${p.before ?? '-'} / after #${p.after ?? '-'}`;
    lines.push(`${where}  ${p.flow}  ${p.status.toUpperCase()}`);
    for (const v of p.violations) lines.push(`    violation ${v.kind}: ${v.detail}`);
    for (const w of p.warnings) lines.push(`    warning   ${w.kind}: ${w.detail}`);
  }
  const s = r.summary;
  lines.push(
    `Summary (${s.role}): ${s.beforePackets} before, ${s.afterPackets} after; ${s.paired} paired (${s.pairedByFlowOnly} by flow only), ` +
      `${s.checked} checked: ${s.passed} passed, ${s.failed} failed; ${s.skipped} without INT skipped; ` +
      `${s.missingAfter} missing after, ${s.unexpectedAfter} unexpected after`,
  );
  const sec = (title: string, m: Record<string, number>): void => {
    const e = Object.entries(m).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (!e.length) return;
    lines.push(`  ${title}:`);
    const w = Math.max(...e.map(([k]) => k.length));
    for (const [k, n] of e) lines.push(`    ${k.padEnd(w)}  ${n}`);
  };
  sec('violations by kind', s.violations);
  sec('warnings by kind', s.warnings);
  lines.push(s.ok ? 'PASS' : 'FAIL');
  return lines.join('\n') + '\n';
}

export async function verify(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const cmd = parseCommand(
    argv,
    {
      help: VERIFY_HELP,
      positionals: true,
      options: {
        ...CODEC_OPTIONS,
        role: { type: 'string' },
        before: { type: 'string' },
        after: { type: 'string' },
        'switch-id': { type: 'string' },
        strict: { type: 'boolean' },
        json: { type: 'boolean' },
        all: { type: 'boolean' },
      },
    },
    out,
  );
  if (!cmd) return EXIT.OK;
  const { values, positionals } = cmd;
  if (positionals.length)
    throw new UsageError(
      `verify: unexpected argument '${positionals[0]}' (use --before and --after)`,
    );
  const role = values.role;
  if (role !== 'transit' && role !== 'sink')
    throw new UsageError(
      `verify: --role must be 'transit' or 'sink'${role ? `, got '${role}'` : ''}`,
    );
  if (!values.before || !values.after)
    throw new UsageError('verify: --before and --after are required');
  const switchId =
    values['switch-id'] !== undefined
      ? parseIntArg('--switch-id', values['switch-id'], 0, 0xffffffff)
      : undefined;
  if (switchId !== undefined && role !== 'transit')
    throw new UsageError('verify: --switch-id applies to --role transit');
  const config = codecConfigFrom(values, cmd.config);
  if (values.before === '-' && values.after === '-')
    throw new UsageError('verify: standard input (-) can be only one of --before and --after');
  for (const f of [values.before, values.after])
    if (f !== '-' && !fs.existsSync(f)) throw new UsageError(`verify: ${f}: no such file`);
  let r: VerifyResult;
  try {
    r = verifyCaptures(values.before, values.after, {
      role,
      switchId,
      config,
      strict: values.strict,
    });
  } catch (e) {
    if (e instanceof CaptureFormatError) {
      err.write(`hopwatch verify: ${(e as Error).message}\n`);
      return EXIT.INPUT;
    }
    throw e;
  }
  out.write(values.json ? JSON.stringify(r) + '\n' : formatVerify(r, values.all));
  return r.summary.ok ? EXIT.OK : EXIT.FAILURE;
}
