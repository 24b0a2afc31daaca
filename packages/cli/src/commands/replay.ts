/**
 * `hopwatch replay FILE...`: the whole pipeline in-process (decode → analytics → embedded
 * store), with a progress bar, then a summary: slowest hops, queues by peak occupancy and
 * every anomaly.
 */
import * as fs from 'fs';
import { parseArgs } from 'util';
import { toJson } from '@hopwatch/codec';
import type { Anomaly } from '@hopwatch/analytics';
import { Pipeline, PcapReplaySource } from '@hopwatch/pipeline';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { loadConfigFile } from '../config-file';
import { UsageError } from '../errors';
import { Progress } from '../progress';
import { analyticsFrom, STORE_HELP, STORE_OPTIONS, storeFrom } from '../runtime-options';
import { formatReplaySummary } from '../summary';

export const REPLAY_HELP = `Usage: hopwatch replay [options] FILE...

Replays INT captures (pcap/pcapng) through decode → analytics → store, in one process, and
prints the slowest hops, the queues by peak occupancy and every anomaly found.

Options:
  --anomalies FILE.jsonl    write every anomaly as one JSON object per line
  --speed N                 replay at the capture's pace × N (default: as fast as possible)
  --force                   store every record even if the store already holds this capture's
                            rows (by default records stored by an earlier replay of the same
                            capture, or of a copy of it, are analysed but not stored again, so
                            replaying twice or after an interruption does not duplicate rows)
  --json                    print the summary statistics and anomalies as JSON
  --config FILE             YAML config file (sections codec, analytics, store)
${STORE_HELP}
${CODEC_HELP}`;

export async function replay(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...CODEC_OPTIONS,
      ...STORE_OPTIONS,
      anomalies: { type: 'string' },
      speed: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(REPLAY_HELP + '\n');
    return 0;
  }
  if (positionals.length === 0)
    throw new UsageError('replay: no capture file given (see hopwatch replay --help)');
  for (const f of positionals)
    if (!fs.existsSync(f)) throw new UsageError(`replay: ${f}: no such file`);
  const file = loadConfigFile(values.config);
  const codec = codecConfigFrom(values, file);
  const analytics = analyticsFrom(file);
  const speed = values.speed !== undefined ? Number(values.speed) : 0;
  if (!(speed >= 0)) throw new UsageError(`--speed must be a number >= 0, got '${values.speed}'`);

  const anomaliesOut = values.anomalies ? fs.openSync(values.anomalies, 'w') : null;
  const found: Anomaly[] = [];
  const store = await storeFrom(values, file);
  const pipeline = new Pipeline({
    codec,
    analytics,
    store,
    force: values.force === true,
    onAnomaly: (a) => {
      found.push(a);
      if (anomaliesOut !== null) fs.writeSync(anomaliesOut, toJson(a) + '\n');
    },
  });
  const total = positionals.reduce((s, f) => s + fs.statSync(f).size, 0);
  let doneBefore = 0;
  let current = '';
  const progress = new Progress('replay');
  const source = new PcapReplaySource(positionals, {
    speed,
    onProgress: (f, read, size) => {
      if (f !== current) {
        if (current) doneBefore += fs.statSync(current).size;
        current = f;
      }
      const st = pipeline.stats();
      progress.update((doneBefore + read) / Math.max(1, total), `${st.records} records`);
      if (read >= size)
        progress.update((doneBefore + size) / Math.max(1, total), `${st.records} records`);
    },
  });
  const t0 = Date.now();
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    await source.run(pipeline, ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
    await pipeline.close();
    progress.done();
    if (anomaliesOut !== null) fs.closeSync(anomaliesOut);
    if (store) await store.close();
  }
  const elapsed = Date.now() - t0;
  const stats = pipeline.stats();
  const srcStats = source.stats();
  if (values.json) {
    process.stdout.write(
      toJson({
        stats,
        source: srcStats,
        anomalies: found,
        latency: pipeline.analyzer.latencyStats(),
      }) + '\n',
    );
  } else {
    process.stdout.write(formatReplaySummary(stats, pipeline.analyzer, found, elapsed));
    if (srcStats.lastError) process.stdout.write(`Capture problem: ${srcStats.lastError}\n`);
    if (store)
      process.stdout.write(
        `\nStored in ${values['store-url'] ?? values['data-dir'] ?? '.hopwatch/data'}; query it with: hopwatch query --named slowest_hops\n`,
      );
    if (stats.alreadyStored > 0)
      process.stdout.write(
        `${stats.alreadyStored} record(s) were stored by an earlier replay of the same capture and were not stored again (--force stores them anyway).\n`,
      );
  }
  return stats.storeErrors > 0 ? 1 : 0;
}
