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
