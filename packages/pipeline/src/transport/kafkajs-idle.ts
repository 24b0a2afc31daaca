/**
 * kafkajs 2.2.4 spins a 1 ms timer on every broker connection while nothing is pending
 * (kafkajs issue #1556, fix proposed in PR #1667, not released): `RequestQueue
 * .scheduleCheckPendingRequests` computes `throttledUntil - Date.now()` with `throttledUntil`
 * = -1 when not throttled, and with no pending request it keeps that negative delay, so
 * `setTimeout` fires after 1 ms, the check schedules itself again, and so on for as long as the
 * connection is open. In `hopwatch analyze` that was most of its idle CPU (the offset admin's
 * connections; the kafkajs client's consumers and producer have their own).
 *
 * Replaced here, process-wide, once, when this module loads (the way kafka.ts replaces the GZIP
 * codec): with nothing pending and no throttle there is nothing to check later, so nothing is
 * scheduled. A request that cannot go out at once is queued by `push()`, which schedules the
 * check (pending is then not empty: unchanged behaviour), and a response frees a slot and
 * checks the queue itself (`fulfillRequest`). A throttle still schedules a check at its end.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as {
  prototype: { scheduleCheckPendingRequests: () => void };
};

/** kafkajs's interval for pending requests when the throttle has passed (its constant). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

interface Queue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

export const KAFKAJS_IDLE_PATCHED =
  typeof RequestQueue?.prototype?.scheduleCheckPendingRequests === 'function';

if (KAFKAJS_IDLE_PATCHED) {
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: Queue): void {
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.throttleCheckTimeoutId) return;
    if (this.pending.length > 0)
      scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    else if (scheduleAt <= 0) return; // nothing pending, not throttled: nothing to check
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
}
