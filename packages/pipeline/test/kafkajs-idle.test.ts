/**
 * kafkajs-idle.ts: kafkajs's request queue no longer re-arms a 1 ms timer while nothing is
 * pending (kafkajs issue #1556); pending requests and throttles still schedule their check.
 */
import { KAFKAJS_IDLE_PATCHED } from '../src/transport/kafkajs-idle';
import '../src/transport/kafka';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as {
  prototype: { scheduleCheckPendingRequests(this: unknown): void };
};

function queue(pending: unknown[], throttledUntil = -1) {
  const q = {
    throttledUntil,
    throttleCheckTimeoutId: null as NodeJS.Timeout | null,
    pending,
    checks: 0,
    checkPendingRequests(): void {
      q.checks++;
      RequestQueue.prototype.scheduleCheckPendingRequests.call(q);
    },
  };
  return q;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('the patch is in place', () => {
  expect(KAFKAJS_IDLE_PATCHED).toBe(true);
});

test('nothing pending, not throttled: no timer (before: a check every millisecond)', async () => {
  const q = queue([]);
  q.checkPendingRequests();
  expect(q.throttleCheckTimeoutId).toBeNull();
  await wait(50);
  expect(q.checks).toBe(1);
});

test('a pending request schedules the check; a throttle schedules one at its end', async () => {
  const q = queue(['request']);
  RequestQueue.prototype.scheduleCheckPendingRequests.call(q);
  expect(q.throttleCheckTimeoutId).not.toBeNull();
  await wait(40);
  expect(q.checks).toBeGreaterThanOrEqual(1);
  q.pending.length = 0; // sent: the loop stops
  await wait(30);
  const n = q.checks;
  await wait(40);
  expect(q.checks).toBe(n);

  const t = queue([], Date.now() + 30);
  RequestQueue.prototype.scheduleCheckPendingRequests.call(t);
  expect(t.throttleCheckTimeoutId).not.toBeNull();
  await wait(80);
  // at the throttle's end (a timer may fire a millisecond early and check once more), then no more
  expect(t.checks).toBeGreaterThanOrEqual(1);
  expect(t.checks).toBeLessThanOrEqual(3);
  expect(t.throttleCheckTimeoutId).toBeNull();
});
