/**
 * The pipeline keeps several insertBatch() calls open at once (it does not await each one
 * before the next batch): every write they cause must land before flush() returns. Real chDB.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { RecordBatch } from '@hopwatch/codec';
import { openStore } from '@hopwatch/store';
import { emptyExpected, fillSynthetic } from './synthetic';

test('insertBatch calls not awaited one by one (as the pipeline makes them): every write lands before flush() returns', async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'hopwatch-overlap-'));
  const st = await openStore({ dataDir: path.join(d, 'data'), batchRows: 5_000 });
  try {
    // slow writes, so that callers pile up behind the one in flight
    const s = st as unknown as { insertBody(...a: unknown[]): Promise<void> };
    const real = s.insertBody.bind(st);
    let writes = 0;
    s.insertBody = async (...a: unknown[]) => {
      // uneven: a write started earlier may finish after one started later
      const delay = writes++ % 3 === 0 ? 80 : 5;
      await new Promise((r) => setTimeout(r, delay));
      return real(...a);
    };
    const exp = emptyExpected();
    const batches: RecordBatch[] = [];
    for (let i = 0; i < 4; i++) batches.push(new RecordBatch(4096));
    for (let k = 0; k < 40; k += 4) {
      // four calls in one go, like a pipeline dispatching several batches from one read:
      // the later ones find the buffer full before the first has started its write
      const open: Promise<unknown>[] = [];
      for (let i = 0; i < 4; i++) {
        fillSynthetic(batches[i], (k + i) * 1000, 1000, exp);
        open.push(st.insertBatch(batches[i]));
      }
      await Promise.all(open);
    }
    await st.flush();
    const n = await st.query(
      'SELECT (SELECT count() FROM hops) AS h, (SELECT count() FROM paths) AS p',
      'json',
    );
    expect(n[0]).toEqual({ h: String(exp.hops), p: String(exp.records) });
    expect(writes).toBeGreaterThan(10);
  } finally {
    await st.close();
    rmSync(d, { recursive: true, force: true });
  }
});
