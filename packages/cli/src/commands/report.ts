/**
 * `hopwatch report FILE... --html OUT.html`: the web console's views of a capture as one
 * self-contained HTML file (docs/console.md). The capture is replayed into a temporary embedded
 * store (removed afterwards), the console's queries run on it, and their answers are embedded
 * in the page with the console's script and styles: it opens offline, from a mail attachment.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaptureFormatError, commitTemp, openCapture, tempPathFor } from '@hopwatch/pcap';
import { Pipeline, PcapReplaySource } from '@hopwatch/pipeline';
import { buildReportHtml, openStore } from '@hopwatch/store';
import { CODEC_HELP, CODEC_OPTIONS, codecConfigFrom } from '../codec-options';
import { checkOutputFiles, parseCommand } from '../command';
import { EXIT, UsageError } from '../errors';
import { copyToOutput, isolateStdin, stdinAsCapturePath } from '../stdio';

export const REPORT_HELP = `Usage: hopwatch report [options] FILE... --html OUT.html

Replays INT captures (pcap/pcapng) through decode → analytics into a temporary store and
writes the web console's views of them (fabric, per-hop heatmap, slowest hops, anomaly
timeline with each anomaly's drill-down, the anomalies' flows) as one self-contained HTML
file: data, script and styles inside, nothing fetched when it is opened.

Options:
  --html OUT.html           the page to write (written beside it and renamed into place;
                            - = standard output, the summary line then on standard error)
  --config FILE             YAML config file (sections codec, analytics)
${CODEC_HELP}

Exit codes: 0 written; 1 the replay or the page failed; 2 usage error; 3 a capture is not a
capture, or is corrupt or truncated.`;

export async function report(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv, {
    help: REPORT_HELP,
    positionals: true,
    options: { ...CODEC_OPTIONS, html: { type: 'string' } },
  });
  if (!cmd) return EXIT.OK;
  const { values, positionals, config } = cmd;
  if (positionals.length === 0) throw new UsageError('report: no capture file given');
  if (!values.html) throw new UsageError('report: --html OUT.html is required');
  const toStdout = values.html === '-';
  if (positionals.filter((f) => f === '-').length > 1)
    throw new UsageError('report: standard input (-) can be read only once');
  if (!toStdout)
    checkOutputFiles(
      cmd,
      positionals.filter((f) => f !== '-').map((f) => ({ name: 'capture', path: f })),
      [{ name: '--html', path: values.html }],
    );
  for (const f of positionals) {
    if (f === '-') continue; // a stream is checked as it is read
    if (!fs.existsSync(f)) throw new UsageError(`report: ${f}: no such file`);
    try {
      openCapture(f).close();
    } catch (e) {
      if (!(e instanceof CaptureFormatError))
        throw new UsageError(`report: ${f}: ${(e as Error).message}`);
      process.stderr.write(`hopwatch report: ${f}: ${e.message}; nothing written\n`);
      return EXIT.INPUT;
    }
  }
  const codec = codecConfigFrom(values, config);
  // `-` moves off descriptor 0 before the embedded store opens (see stdinAsCapturePath); the
  // store must not read standard input either way
  const stdin = await stdinAsCapturePath(positionals);
  isolateStdin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-report-'));
  const tmp = toStdout ? path.join(dir, 'report.html') : tempPathFor(values.html);
  try {
    const store = await openStore({ dataDir: dir });
    try {
      const pipeline = new Pipeline({ codec, analytics: config.analytics, store });
      let inputError: string | null = null;
      try {
        await new PcapReplaySource(stdin.files).run(pipeline, new AbortController().signal);
      } catch (e) {
        if (!(e instanceof CaptureFormatError)) throw e;
        inputError = e.message;
      } finally {
        await pipeline.close();
      }
      const st = pipeline.stats();
      if (st.storeErrors > 0) {
        process.stderr.write(`hopwatch report: store errors: ${st.lastStoreError ?? ''}\n`);
        return EXIT.FAILURE;
      }
      const html = await buildReportHtml(store, {
        capture: positionals.map((f) => path.basename(f)).join(', '),
        made: new Date().toISOString(),
      });
      fs.writeFileSync(tmp, html, { flag: 'wx' });
      if (toStdout) await copyToOutput(tmp, process.stdout);
      else commitTemp(tmp, values.html);
      (toStdout ? process.stderr : process.stdout).write(
        `Report of ${st.records} records, ${st.anomalies} anomalies written to ${toStdout ? 'standard output' : values.html} (${Math.round(html.length / 1024)} KiB)\n`,
      );
      if (inputError) {
        process.stderr.write(
          `hopwatch report: ${inputError}; the report holds what could be read\n`,
        );
        return EXIT.INPUT;
      }
      return EXIT.OK;
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    stdin.cleanup();
  }
}
