import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { DEFAULT_WRITE_BUFFER } from './limits';
import { writeAll, type BufferSink } from './sink';

/** Buffers in the ring: one being filled, the rest queued for (or in) the write. */
const SLOTS = 4;
/** Bytes of shared memory for the worker's error message. */
const ERROR_BYTES = 1024;
/** Slot value that tells the worker to exit. */
const STOP = -1;

/** ctl[SLOTS]: a write failed (the worker discards later buffers, so nobody blocks). */
const FAILED = 1;
/** ctl[SLOTS]: the worker itself failed and exited. */
const DEAD = 2;

/*
 * The writer thread. ctl[i] (i < SLOTS) is the byte count of slot i when it is full, 0 when it
 * is free, STOP to exit; ctl[SLOTS] is FAILED or DEAD (message in `err`). Slots are written
 * strictly in ring order, which is the order the main thread fills them.
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const { fd, ctl, slots, SLOTS, STOP, FAILED, DEAD } = workerData;
const err = new Uint8Array(workerData.err);
function fail(state, e) {
  err.set(Buffer.from(String((e && e.message) || e)).subarray(0, err.length - 1));
  Atomics.store(ctl, SLOTS, state);
}
try {
  const bufs = slots.map((s) => new Uint8Array(s));
  for (let i = 0; ; i = (i + 1) % SLOTS) {
    Atomics.wait(ctl, i, 0);
    const n = Atomics.load(ctl, i);
    if (n === STOP) break;
    if (Atomics.load(ctl, SLOTS) === 0) {
      try {
        for (let done = 0; done < n; ) done += fs.writeSync(fd, bufs[i], done, n - done);
      } catch (e) {
        fail(FAILED, e);
      }
    }
    Atomics.store(ctl, i, 0);
    Atomics.notify(ctl, i);
  }
} catch (e) {
  fail(DEAD, e);
  for (let i = 0; i < SLOTS; i++) Atomics.notify(ctl, i);
}
`;

/**
 * A file sink whose write syscalls run on a worker thread, so that producing packets (on the
 * caller's thread) and copying them into the page cache (in the kernel, on the worker) overlap:
 * writers fill shared buffers and hand each one over whole when full, without a copy. The
 * caller blocks only when every buffer is still queued, i.e. when the disk is the limit.
 * A failed write is reported by the next exchange() or by close().
 */
export class BackgroundFileSink implements BufferSink {
  private fd: number | null;
  private readonly ctl: Int32Array;
  private readonly err: Uint8Array;
  private readonly bufs: Buffer[];
  private readonly worker: Worker;
  private current = 0;

  constructor(
    private readonly path: string,
    bufferSize = DEFAULT_WRITE_BUFFER,
  ) {
    this.fd = fs.openSync(path, 'w');
    const slots = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(bufferSize));
    this.bufs = slots.map((s) => Buffer.from(s));
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + 1)));
    const err = new SharedArrayBuffer(ERROR_BYTES);
    this.err = new Uint8Array(err);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { fd: this.fd, ctl: this.ctl, slots, err, SLOTS, STOP, FAILED, DEAD },
    });
    this.worker.unref(); // a writer that is never closed must not keep the process alive
  }

  firstBuffer(): Buffer {
    return this.bufs[0];
  }

  exchange(full: Buffer, length: number): Buffer {
    if (this.fd === null) throw new Error('BackgroundFileSink is closed');
    if (full !== this.bufs[this.current])
      throw new Error('BackgroundFileSink: not the buffer it lent');
    if (length > 0) {
      Atomics.store(this.ctl, this.current, length);
      Atomics.notify(this.ctl, this.current);
      this.current = (this.current + 1) % SLOTS;
      this.waitFree(this.current);
    }
    this.throwIfFailed();
    return this.bufs[this.current];
  }

  /** Bytes not in a lent buffer (larger than one): written in order, after the queue drains. */
  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error('BackgroundFileSink is closed');
    this.waitAll();
    this.throwIfFailed();
    writeAll(this.fd, bytes);
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      this.waitAll();
    } finally {
      Atomics.store(this.ctl, this.current, STOP);
      Atomics.notify(this.ctl, this.current);
      fs.closeSync(fd);
    }
    this.throwIfFailed();
  }

  /** Waits until the worker has written (or, after a failure, discarded) every queued buffer. */
  private waitAll(): void {
    for (let i = 0; i < SLOTS; i++) this.waitFree(i);
  }

  private waitFree(slot: number): void {
    for (;;) {
      const v = Atomics.load(this.ctl, slot);
      if (v === 0) return;
      if (Atomics.load(this.ctl, SLOTS) === DEAD) this.throwIfFailed();
      Atomics.wait(this.ctl, slot, v, 1000);
    }
  }

  private throwIfFailed(): void {
    if (Atomics.load(this.ctl, SLOTS) === 0) return;
    const end = this.err.indexOf(0);
    const msg = Buffer.from(this.err.subarray(0, end < 0 ? this.err.length : end)).toString();
    throw new Error(`cannot write ${this.path}: ${msg}`);
  }
}
