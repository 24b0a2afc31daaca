/**
 * `hopwatch replay FILE...`: the whole pipeline in-process (decode → analytics → embedded
 * store), with a progress bar, then a summary: slowest hops, queues by peak occupancy and
 * every anomaly.
 */
import * as fs from 'fs';
import { toJson } from '@hopwatch/codec';
import type { Anomaly } from '@hopwatch/analytics';
import { CaptureFormatError, commitTemp, openCapture, tempPathFor } from '@hopwatch/pcap';
import { Pipeline, PcapReplaySource } from '@hopwatch/pipeline';
import { AnomalyLog, STDOUT } from '../anomaly-log';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { checkOutputFiles, parseCommand } from '../command';
import { EXIT, UsageError } from '../errors';
import { stdinAsCapturePath } from '../stdio';
import { parseNumberArg } from '../numbers';
import { Progress } from '../progress';
import { STORE_HELP, STORE_OPTIONS, storeFrom } from '../runtime-options';
import { redactUrl } from '../config/store';
import { formatReplaySummary } from '../summary';
import { FLOW_HELP, FLOW_OPTIONS, flowsFrom } from '../flow-options';

export const REPLAY_HELP = `Usage: hopwatch replay [options] FILE...

Replays INT captures (pcap/pcapng) through decode → analytics → store, in one process, and
prints the slowest hops, the queues by peak occupancy and every anomaly found. FILE may be
- for standard input (read as a stream; no replay ledger: see --force).

Options:
  --anomalies FILE.jsonl    write every anomaly as one JSON object per line (written beside
                            it and renamed into place at the end; never one of the captures);
                            - writes them to standard output as they are found, and the
                            summary to standard error
  --speed N                 replay at the capture's pace × N (default: as fast as possible)
  --force                   store every record even if the store already holds this capture's
                            rows (by default records stored by an earlier replay of the same
                            capture, or of a copy of it, are analysed but not stored again, so
                            replaying twice or after an interruption does not duplicate rows)
  --json                    print the summary statistics and anomalies as JSON
  --config FILE             YAML config file (sections codec, analytics, store, flows)
${STORE_HELP}
${FLOW_HELP}
${CODEC_HELP}

Exit codes: 0 done; 1 store errors or anomalies not written; 2 usage error; 3 a capture is
not a capture, or is corrupt or truncated (what could be read was replayed).`;

/** Opens and closes each capture: one that is not a capture at all stops before any work. */
function checkCaptures(files: string[]): string | null {
  if (files.filter((f) => f === '-').length > 1)
    throw new UsageError('replay: standard input (-) can be read only once');
  for (const f of files) {
    // stdin is checked as it is read: opening it here would consume its first bytes
    if (f === '-') continue;
    if (!fs.existsSync(f)) throw new UsageError(`replay: ${f}: no such file`);
    try {
      openCapture(f).close();
    } catch (e) {
      if (e instanceof CaptureFormatError) return `${f}: ${e.message}`;
      throw new UsageError(`replay: ${f}: ${(e as Error).message}`);
    }
  }
  return null;
}

export async function replay(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, {
    help: REPLAY_HELP,
    positionals: true,
    options: {
      ...CODEC_OPTIONS,
      ...STORE_OPTIONS,
      ...FLOW_OPTIONS,
      anomalies: { type: 'string' },
      speed: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (!cmd) return EXIT.OK;
  const { values, positionals, config } = cmd;
  if (positionals.length === 0)
    throw new UsageError('replay: no capture file given (see hopwatch replay --help)');
  const codec = codecConfigFrom(values, config);
  const speed = values.speed !== undefined ? parseNumberArg('--speed', values.speed, 0, 1e6) : 0;
  const anomaliesToStdout = values.anomalies === STDOUT;
  if (anomaliesToStdout && values.json)
    throw new UsageError('replay: --json and --anomalies - both write standard output');
  // with the anomalies on standard output, the summary goes to standard error
  const report = anomaliesToStdout ? process.stderr : process.stdout;
  if (values.anomalies !== undefined && !anomaliesToStdout)
    checkOutputFiles(
      cmd,
      positionals.filter((f) => f !== '-').map((f) => ({ name: 'capture', path: f })),
      [{ name: '--anomalies', path: values.anomalies }],
    );
  const notCapture = checkCaptures(positionals);
  // `-` moves off descriptor 0 before the embedded store opens (see stdinAsCapturePath)
  const stdin = await stdinAsCapturePath(positionals);
  const files = stdin.files;
  if (notCapture) {
    process.stderr.write(`hopwatch replay: ${notCapture}; nothing replayed\n`);
    return EXIT.INPUT;
  }

  const warn = (line: string): void => void process.stderr.write(`hopwatch replay: ${line}\n`);
  const anomaliesTmp =
    values.anomalies && !anomaliesToStdout ? tempPathFor(values.anomalies) : null;
  const anomaliesOut = anomaliesToStdout
    ? new AnomalyLog(STDOUT, 'w', warn)
    : values.anomalies && anomaliesTmp
      ? new AnomalyLog(values.anomalies, 'w', warn, anomaliesTmp)
      : null;
  const found: Anomaly[] = [];
  const flows = flowsFrom(values, config);
  let store;
  try {
    store = await storeFrom(values, config);
  } catch (e) {
    await flows.close();
    anomaliesOut?.close();
    if (anomaliesTmp && anomaliesTmp !== values.anomalies) fs.rmSync(anomaliesTmp, { force: true });
    stdin.cleanup();
    throw e;
  }
  const pipeline = new Pipeline({
    codec,
    analytics: config.analytics,
    store,
    force: values.force === true,
    flows: flows.table,
    onFlows: flows.onFlows,
    onAnomaly: (a) => {
      found.push(a);
      anomaliesOut?.write(a);
    },
  });
  // a stream (stdin, a FIFO) has no size: then the progress shows counts and rates only
  const sizeOf = (f: string): number | null =>
    f !== '-' && fs.statSync(f).isFile() ? fs.statSync(f).size : null;
  const sizes = files.map(sizeOf);
  const total = sizes.every((x) => x !== null)
    ? sizes.reduce((a: number, b) => a + (b ?? 0), 0)
    : null;
  let doneBefore = 0;
  let current = -1;
  const progress = new Progress('replay');
  const source = new PcapReplaySource(files, {
    speed,
    onProgress: (f, read) => {
      if (current < 0 || files[current] !== f) {
        if (current >= 0) doneBefore += sizes[current] ?? 0;
        current = files.indexOf(f, current + 1);
      }
      const frac = total === null ? null : (doneBefore + read) / Math.max(1, total);
      progress.update(frac, pipeline.stats().records);
    },
  });
  const t0 = Date.now();
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  let inputError: string | null = null;
  try {
    await source.run(pipeline, ac.signal);
  } catch (e) {
    // a file changed between the check and the replay: the rest is not replayed
    if (!(e instanceof CaptureFormatError)) throw e;
    inputError = e.message;
  } finally {
    process.off('SIGINT', onSigint);
    await pipeline.close();
    await flows.close();
    progress.done();
    anomaliesOut?.close();
    if (anomaliesTmp && values.anomalies) commitTemp(anomaliesTmp, values.anomalies);
    if (store) await store.close();
    stdin.cleanup();
  }
  const elapsed = Date.now() - t0;
  const stats = pipeline.stats();
  const srcStats = source.stats();
  inputError ??= srcStats.lastError;
  if (values.json) {
    process.stdout.write(
      toJson({
        stats,
        source: srcStats,
        anomalies: found,
        flows: { table: flows.table?.stats ?? null, ipfix: flows.exporters.map((e) => e.stats) },
        latency: pipeline.analyzer.latencyStats(),
      }) + '\n',
    );
  } else {
    report.write(formatReplaySummary(stats, pipeline.analyzer, found, elapsed));
    for (const line of flows.summary()) report.write(`${line}\n`);
    if (inputError) report.write(`Capture problem: ${inputError}\n`);
    if (store)
      report.write(
        `\nStored in ${redactUrl(values['store-url'] ?? values['data-dir'] ?? config.store.url ?? config.store.dataDir)}; query it with: hopwatch query --named slowest_hops\n`,
      );
    if (stats.alreadyStored > 0)
      report.write(
        `${stats.alreadyStored} record(s) were stored by an earlier replay of the same capture and were not stored again (--force stores them anyway).\n`,
      );
  }
  const notWritten = anomaliesOut?.summary();
  if (notWritten) warn(notWritten);
  if (inputError) warn(`capture problem: ${inputError}`);
  if (stats.storeErrors > 0 || notWritten) return EXIT.FAILURE;
  return inputError ? EXIT.INPUT : EXIT.OK;
}
