import { GroupCommit } from '../src/distributed/group-commit';

/** A flush whose completion the test controls; records what each flush covered. */
function harness() {
  const written: number[] = []; // values written so far (the "rows")
  const flushed: number[][] = []; // what each flush made durable
  const gates: { open: () => void; fail: (e: Error) => void }[] = [];
  const gc = new GroupCommit(
    () =>
      new Promise<void>((resolve, reject) => {
        const snapshot = written.splice(0);
        gates.push({
          open: () => {
            flushed.push(snapshot);
            resolve();
          },
          fail: reject,
        });
      }),
  );
  return { gc, written, flushed, gates };
}
const tickle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('callers during a running flush share the next one; each waits for a flush started after it', async () => {
  const { gc, written, flushed, gates } = harness();
  written.push(1);
  const a = gc.commit();
  await tickle();
  expect(gates.length).toBe(1); // flush 1 running with [1]
  written.push(2);
  const b = gc.commit();
  written.push(3);
  const c = gc.commit();
  expect(c).toBe(b); // one queued flush for both
  let bDone = false;
  void b.then(() => (bDone = true));
  gates[0].open();
  await a;
  await tickle();
  expect(bDone).toBe(false); // b's rows were not in flush 1
  expect(gates.length).toBe(2);
  gates[1].open();
  await b;
  await c;
  expect(flushed).toEqual([[1], [2, 3]]);
  expect(gc.flushes).toBe(2);
  // idle: a lone caller starts a flush at once
  written.push(4);
  const d = gc.commit();
  await tickle();
  gates[2].open();
  await d;
  expect(flushed[2]).toEqual([4]);
  await gc.idle();
});

test('a failed flush fails every caller in it; the next flush still runs', async () => {
  const { gc, written, gates } = harness();
  written.push(1);
  const a = gc.commit();
  await tickle();
  written.push(2);
  const b = gc.commit();
  const c = gc.commit();
  gates[0].fail(new Error('insert refused'));
  await expect(a).rejects.toThrow('insert refused');
  await tickle();
  gates[1].fail(new Error('still refused'));
  // b and c arrived while flush 1 ran: its failure is theirs too (their rows may be in it)
  await expect(b).rejects.toThrow('insert refused');
  await expect(c).rejects.toThrow('insert refused');
  written.push(3);
  const d = gc.commit();
  await tickle();
  gates[2].open();
  await expect(d).resolves.toBeUndefined();
  await gc.idle();
  expect(gc.flushes).toBe(3);
});

test('a caller whose rows the running flush took fails with it, though its own flush succeeds', async () => {
  // the store takes the pending rows a few microtasks after its flush starts: a caller that
  // writes within that window and then commits has its rows in the running flush
  const { gc, written, flushed, gates } = harness();
  written.push(1);
  const a = gc.commit();
  written.push(2); // before flush 1 took the rows
  const b = gc.commit();
  await tickle();
  expect(gates.length).toBe(1);
  expect(flushed).toEqual([]);
  let bSettled = false;
  void b.then(
    () => (bSettled = true),
    () => (bSettled = true),
  );
  gates[0].fail(new Error('paths insert refused')); // [1, 2]: some of it may have landed
  await expect(a).rejects.toThrow('paths insert refused');
  await tickle();
  expect(bSettled).toBe(false); // b waits for the next flush (rows still pending get written)
  gates[1].open();
  await expect(b).rejects.toThrow('paths insert refused'); // before: resolved, rows 2 lost
  expect(gc.flushes).toBe(2);
  await gc.idle();
});

test('with a minimum interval, callers until the delayed flush starts join it; none is left out', async () => {
  const written: number[] = [];
  const flushed: { rows: number[]; at: number }[] = [];
  let fail = false;
  const gc = new GroupCommit(async () => {
    const rows = written.splice(0);
    await new Promise((r) => setTimeout(r, 5));
    if (fail) throw new Error('insert refused');
    flushed.push({ rows, at: performance.now() });
  }, 100);
  const t0 = performance.now();
  written.push(1);
  const a = gc.commit(); // the first flush starts at once
  await new Promise((r) => setTimeout(r, 20));
  written.push(2);
  const b = gc.commit(); // within 100 ms of the first start: delayed
  written.push(3);
  const c = gc.commit();
  expect(c).toBe(b); // joins the delayed flush
  await a;
  await new Promise((r) => setTimeout(r, 30));
  written.push(4); // the delayed flush has taken no rows yet: joins it too
  const d = gc.commit();
  await Promise.all([b, c, d]);
  expect(flushed.map((f) => f.rows)).toEqual([[1], [2, 3, 4]]);
  expect(flushed[1].at - t0).toBeGreaterThanOrEqual(100); // started no sooner than the interval
  expect(gc.flushes).toBe(2);
  // a failed delayed flush fails every caller that joined it; the next one still runs
  fail = true;
  written.push(5);
  const e = gc.commit();
  written.push(6);
  const f = gc.commit();
  expect(f).toBe(e);
  await expect(e).rejects.toThrow('insert refused');
  await expect(f).rejects.toThrow('insert refused');
  fail = false;
  written.push(7);
  await gc.commit();
  expect(flushed.at(-1)!.rows).toEqual([7]);
  // idle: nothing running or delayed
  await gc.idle();
  expect(gc.flushes).toBe(4);
});
