/** `hopwatch simulate` — argument parsing and the command itself (wired by @hopwatch/cli). */
import * as fs from 'node:fs';
import { checkOutputs, writeViaTemp } from '@hopwatch/pcap';
import { loadScenario, codecOverridesFor } from './scenario';
import { simulate, simulateLive } from './simulate';

export const SIMULATE_USAGE = `usage: hopwatch simulate SCENARIO.yaml [options]
  --out FILE           capture to write (.pcap or .pcapng; - for standard output)
  --format pcap|pcapng capture format (default: from --out, else the scenario)
  --labels FILE        ground-truth labels JSON to write
  --before FILE        packet output: also write each INT packet without INT (what a stripping
                       sink forwards), record for record, same timestamps
  --limit N            stop after N records
  --seed N             override the scenario seed
  --live HOST:PORT     send reports/packets as UDP datagrams instead of writing a file
  --rate N             live send rate, datagrams per second (default 100000)
  --print-config       print the decoder profile/overrides matching the scenario and exit
  --quiet              no progress or summary`;

export interface CommandIo {
  out: (s: string) => void;
  /** Whether err is a terminal (progress lines); default: process.stderr's. */
  isTTY?: boolean;
  err: (s: string) => void;
}

/** Runs `hopwatch simulate ARGS`; returns the process exit code. */
export async function runSimulateCommand(
  args: string[],
  io: CommandIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const opts: Record<string, string> = {};
  const flags = new Set<string>();
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-h' || a === '--help') {
      io.out(SIMULATE_USAGE + '\n');
      return 0;
    }
    if (a === '--print-config' || a === '--quiet') {
      flags.add(a.slice(2));
      continue;
    }
    if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2);
      if (!['out', 'format', 'labels', 'before', 'limit', 'seed', 'live', 'rate'].includes(k)) {
        // one line, like every other command (the usage is one --help away)
        io.err(`simulate: unknown option '${a}' (see hopwatch simulate --help)\n`);
        return 2;
      }
      const v = inline ?? args[++i];
      if (v === undefined) {
        io.err(`simulate: ${a} needs a value\n`);
        return 2;
      }
      opts[k] = v;
      continue;
    }
    if (file) {
      io.err(`simulate: one scenario file expected\n`);
      return 2;
    }
    file = a;
  }
  if (!file) {
    io.err('simulate: no scenario file given (see hopwatch simulate --help)\n');
    return 2;
  }
  // the scenario, a mistaken flag or an output that is an input: the user's to fix (exit 2)
  let s: ReturnType<typeof loadScenario>;
  let limit: number | undefined;
  try {
    // a path, never YAML text: a missing file is named as such, not parsed as a scenario
    if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
    if (opts.out === undefined && opts.labels === undefined && opts.live === undefined)
      if (!flags.has('print-config'))
        throw new Error('nothing to write: give --out FILE, --labels FILE or --live HOST:PORT');
    const scenario = loadScenario(fs.readFileSync(file, 'utf8'));
    if (opts.seed !== undefined) scenario.seed = Number(opts.seed);
    s = loadScenario({ ...scenario });
    limit = opts.limit !== undefined ? Number(opts.limit) : undefined;
    if (limit !== undefined && !(limit > 0)) throw new Error('--limit must be a positive number');
    if (opts.labels === '-' || opts.before === '-')
      throw new Error('only --out can be standard output (-)');
    const outputs = (['out', 'labels', 'before'] as const)
      .filter((k) => opts[k] !== undefined && opts[k] !== '-')
      .map((k) => ({ name: `--${k}`, path: opts[k] }));
    checkOutputs([{ name: 'the scenario', path: file }], outputs);
    if (opts.format !== undefined && opts.format !== 'pcap' && opts.format !== 'pcapng')
      throw new Error('--format must be pcap or pcapng');
    if (opts.rate !== undefined && !(Number(opts.rate) > 0))
      throw new Error(`--rate must be a positive number, got '${opts.rate}'`);
    if (opts.live !== undefined) {
      const port = Number(/^[^:\s]+:(\d+)$/.exec(opts.live)?.[1]);
      if (!(port >= 1 && port <= 65535))
        throw new Error(`--live must be HOST:PORT with a port in 1..65535, got '${opts.live}'`);
      if (opts.before) throw new Error('--before writes a file: not with --live');
    }
  } catch (e) {
    io.err(`simulate: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    if (flags.has('print-config')) {
      io.out(JSON.stringify(codecOverridesFor(s), null, 2) + '\n');
      return 0;
    }
    const quiet = flags.has('quiet');
    const tty = io.isTTY ?? process.stderr.isTTY === true;
    if (opts.live) {
      const r = await simulateLive(s, {
        target: opts.live,
        rate: opts.rate ? Number(opts.rate) : undefined,
        limit,
        labels: opts.labels,
      });
      if (!quiet)
        io.err(`simulate: sent ${r.sent} datagrams to ${opts.live} in ${r.seconds.toFixed(2)} s\n`);
      return 0;
    }
    const fmt = opts.format as 'pcap' | 'pcapng' | undefined;
    // written beside their targets and renamed at the end: an interrupted run leaves no
    // half-written capture under the name asked for
    const names = [opts.out, opts.labels, opts.before];
    // standard output is written as generated; files through a temporary name
    const targets = names.filter((n): n is string => n !== undefined && n !== '-');
    const r = await writeViaTemp(targets, (temps) => {
      const tmp = (n: string | undefined): string | undefined =>
        n === undefined || n === '-' ? n : temps[targets.indexOf(n)];
      return simulate(s, {
        out: tmp(opts.out),
        format: fmt,
        labels: tmp(opts.labels),
        before: tmp(opts.before),
        limit,
        // a progress line rewritten in place only on a terminal, never `\r` into a pipe or file
        onProgress: quiet || !tty ? undefined : (n) => io.err(`\rsimulate: ${n} records`),
      });
    });
    if (!quiet) {
      const st = r.stats;
      const n = st.packetsWritten + st.reportsWritten;
      io.err(
        `${tty ? '\r' : ''}simulate: ${s.name}: ${st.packetsWritten} packets, ${st.reportsWritten} reports in ${r.seconds.toFixed(2)} s ` +
          `(${Math.round(n / r.seconds)} records/s); ${r.labels.anomalies.length} labelled anomalies\n`,
      );
    }
    return 0;
  } catch (e) {
    // `--out -` into a reader that went away (`| head -c 100`): a quiet end, not a failure
    if ((e as NodeJS.ErrnoException).code === 'EPIPE' && opts.out === '-') return 0;
    io.err(`simulate: ${(e as Error).message}\n`);
    return 1;
  }
}
