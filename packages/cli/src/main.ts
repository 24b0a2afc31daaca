/** The `hopwatch` command: one entry point, one module per subcommand. */
import { analyze } from './commands/analyze';
import { dissect } from './commands/dissect';
import { ingest } from './commands/ingest';
import { query } from './commands/query';
import { replay } from './commands/replay';
import { report } from './commands/report';
import { serve } from './commands/serve';
import { runSimulateCommand } from '@hopwatch/simulator';
import { strip } from './commands/strip';
import { verify } from './commands/verify';
import { OutputFileError } from '@hopwatch/pcap';
import { VERSION_LINE } from './command';
import { UsageError } from './errors';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  analyze: {
    run: analyze,
    summary:
      'distributed: Kafka consumer group running the detectors, writing to a ClickHouse server',
  },
  dissect: { run: dissect, summary: 'print every packet down to every INT field, with a summary' },
  ingest: { run: ingest, summary: 'distributed: capture / UDP reports / pcap → decode → Kafka' },
  query: {
    run: query,
    summary: 'SQL or named queries (per-hop latency, path history, anomalies) on the store',
  },
  replay: {
    run: replay,
    summary: 'run captures through decode → analytics → store; print hops, queues, anomalies',
  },
  report: {
    run: report,
    summary: "the web console's views of a capture as one self-contained HTML file",
  },
  simulate: {
    // simulate lives in @hopwatch/simulator, which does not know the CLI's version line
    run: (a) =>
      a.includes('--version')
        ? Promise.resolve(void process.stdout.write(VERSION_LINE + '\n')).then(() => 0)
        : runSimulateCommand(a),
    summary: 'generate INT traffic and ground-truth labels from a fabric scenario',
  },
  strip: {
    run: (a) => strip(a),
    summary: 'remove INT from captured packets, restoring what the INT source received',
  },
  verify: {
    run: (a) => verify(a),
    summary: 'check what a transit or sink device did, from captures before and after it',
  },
  serve: {
    run: serve,
    summary: 'listen for Telemetry Reports (UDP) and/or capture live, continuously',
  },
};

export const HELP = `hopwatch: in-band network telemetry (INT) sink and analytics

Usage: hopwatch <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run 'hopwatch <command> --help' for the options of a command.
Documentation: docs/cli.md`;

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(VERSION_LINE + '\n');
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`hopwatch: unknown command '${cmd}'\n\n${HELP}\n`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (
      e instanceof UsageError ||
      e instanceof OutputFileError ||
      (err.code && err.code.startsWith('ERR_PARSE_ARGS'))
    ) {
      // messages that already name the command are not prefixed twice
      const text = err.message.startsWith(`${cmd}: `)
        ? err.message.slice(cmd.length + 2)
        : err.message;
      process.stderr.write(`hopwatch ${cmd}: ${text}\n`);
      return 2;
    }
    process.stderr.write(`hopwatch ${cmd}: ${err.stack ?? err.message}\n`);
    return 1;
  }
}

/** Exits once stdout and stderr have drained. A command that returned has finished its
 * graceful stop; a timer or socket left behind inside a client library (kafkajs retries
 * after a broker loss were seen doing this) must not keep the process alive. */
function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

export function main(argv: string[]): void {
  // `hopwatch dissect x.pcap | head`: a reader that went away ends the command quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  run(argv).then(exitAfterOutput, (e) => {
    process.stderr.write(`hopwatch: ${(e as Error).stack}\n`);
    exitAfterOutput(1);
  });
}
