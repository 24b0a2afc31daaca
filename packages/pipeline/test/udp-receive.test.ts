/**
 * The two UDP receive paths (recvmmsg addon, dgram) deliver the same datagrams: every byte,
 * the right sender, nothing lost, duplicated or overwritten by the next batch in the shared
 * buffer; bind errors are clear. On recvmmsg, each datagram carries the kernel's receive time.
 */
import * as dgram from 'dgram';
import { addrWords, UdpSource } from '@hopwatch/pipeline';
import type { PacketHandler } from '@hopwatch/pipeline';

const PATHS = ['recvmmsg', 'dgram'] as const;

interface Seen {
  hex: string;
  from: string;
  v6: boolean;
}

function collector(seen: Seen[]): PacketHandler {
  return {
    onPacket: () => undefined,
    onDatagram: (data, from, v6) => {
      seen.push({ hex: Buffer.from(data).toString('hex'), from: Array.from(from).join('.'), v6 });
    },
  };
}

async function start(
  receive: (typeof PATHS)[number],
  host: string,
  handler: PacketHandler,
  allow?: string[],
  receiveHoldMs?: number,
): Promise<{ src: UdpSource; port: number; stop: () => Promise<void> }> {
  let port = 0;
  const src = new UdpSource({
    listen: [{ host, port: 0 }],
    allow,
    receive,
    receiveHoldMs,
    onListening: (a) => (port = a[0].port),
  });
  const ac = new AbortController();
  let failed: unknown = null;
  const running = src.run(handler, ac.signal).catch((e) => (failed = e));
  while (port === 0 && failed === null) await new Promise((r) => setTimeout(r, 5));
  if (failed) throw failed;
  return {
    src,
    port,
    stop: async () => {
      ac.abort();
      await running;
    },
  };
}

/** Distinct payloads of lengths 0..1499 bytes (the length and index are in the bytes). */
function payload(i: number): Buffer {
  const len = i % 1500;
  const b = Buffer.alloc(len);
  for (let j = 0; j < len; j++) b[j] = (i * 31 + j * 7) & 0xff;
  if (len >= 4) b.writeUInt32BE(i, 0);
  return b;
}

async function until(cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe.each(PATHS)('UDP receive path %s', (receive) => {
  test('a fast burst from two senders: every datagram once, byte for byte, with its sender', async () => {
    const seen: Seen[] = [];
    const { src, port, stop } = await start(receive, '127.0.0.1', collector(seen), [
      '127.0.0.0/30',
    ]);
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    await new Promise<void>((r) => b.bind(0, '127.0.0.2', () => r()));
    const N = 6000;
    // 25 at a time without waiting for each other, so the kernel queues several per read
    const sends: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const s = i % 2 ? b : a;
      sends.push(
        new Promise((res, rej) =>
          s.send(payload(i), port, '127.0.0.1', (e) => (e ? rej(e) : res())),
        ),
      );
      if (i % 25 === 24) {
        await Promise.all(sends.splice(0));
        // a send's callback runs before the loop polls again: let the receiver read
        await new Promise((r) => setImmediate(r));
      }
    }
    await Promise.all(sends);
    await until(() => seen.length >= N);
    await stop();
    a.close();
    b.close();
    const st = src.stats();
    expect(st.kernelDrops).toBe(0);
    expect(st.received).toBe(N);
    expect(seen).toHaveLength(N);
    const want = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const k = `${payload(i).toString('hex')}|0.0.0.${i % 2 ? 0x7f000002 : 0x7f000001}`;
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    for (const s of seen) {
      const k = `${s.hex}|${s.from}`;
      expect(want.get(k)).toBeGreaterThan(0); // a datagram nobody sent (overwritten slot, wrong sender)
      want.set(k, want.get(k)! - 1);
      expect(s.v6).toBe(false);
    }
    expect([...want.values()].every((v) => v === 0)).toBe(true);
    expect(st.bytes).toBe(seen.reduce((n, s) => n + s.hex.length / 2, 0));
  });

  test('IPv6: the sender address in words, allowlist by IPv6 prefix', async () => {
    const seen: Seen[] = [];
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start(receive, '::1', collector(seen), ['::1/128']);
    } catch (e) {
      if (/EADDRNOTAVAIL|address not available/i.test((e as Error).message)) return; // no IPv6 here
      throw e;
    }
    const s = dgram.createSocket('udp6');
    for (let i = 0; i < 20; i++)
      await new Promise<void>((res, rej) =>
        s.send(payload(i + 10), started.port, '::1', (e) => (e ? rej(e) : res())),
      );
    await until(() => seen.length >= 20);
    await started.stop();
    s.close();
    expect(seen).toHaveLength(20);
    const one = Array.from(addrWords('::1').words).join('.');
    expect(seen.every((x) => x.v6 && x.from === one)).toBe(true);
    expect(seen[3].hex).toBe(payload(13).toString('hex'));
  });

  test('a port already in use is a clear error', async () => {
    const first = await start(receive, '127.0.0.1', collector([]));
    try {
      await expect(
        start(receive, `127.0.0.1`, collector([])).then(async (x) => {
          // port 0 binds anywhere: bind the same port explicitly instead
          await x.stop();
          const src = new UdpSource({ listen: [{ host: '127.0.0.1', port: first.port }], receive });
          return src.run(collector([]), new AbortController().signal);
        }),
      ).rejects.toThrow(
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}: .*(EADDRINUSE|in use)`),
      );
    } finally {
      await first.stop();
    }
  });
});

describe('UDP receive path recvmmsg: receive times', () => {
  test("each datagram carries the kernel's time it arrived, not the time a late batch was read", async () => {
    const times: bigint[] = [];
    const { port, stop } = await start('recvmmsg', '127.0.0.1', {
      onPacket: () => undefined,
      onDatagram: (_d, _f, _v6, sec, nsec) =>
        times.push(BigInt(sec) * 1_000_000_000n + BigInt(nsec)),
    });
    const s = dgram.createSocket('udp4');
    const sendSync = (i: number): Promise<void> =>
      new Promise((res, rej) => s.send(payload(i), port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    const before = BigInt(Date.now()) * 1_000_000n;
    // two bursts 30 ms apart while this process (the receiver's too) does not read: both are
    // read in one batch afterwards
    await Promise.all([0, 1, 2, 3, 4].map(sendSync));
    const spin = Date.now() + 30;
    while (Date.now() < spin) {
      /* hold the event loop: nothing is read */
    }
    await Promise.all([5, 6, 7, 8, 9].map(sendSync));
    const spin2 = Date.now() + 30;
    while (Date.now() < spin2) {
      /* read late */
    }
    const readAfter = BigInt(Date.now()) * 1_000_000n;
    await until(() => times.length >= 10);
    await stop();
    s.close();
    expect(times).toHaveLength(10);
    for (let i = 1; i < 10; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]);
    expect(times[0]).toBeGreaterThanOrEqual(before - 2_000_000n); // clocks: ms resolution
    // the second burst arrived ≥ 30 ms after the first, and all of it before the late read
    expect(times[5] - times[4]).toBeGreaterThanOrEqual(29_000_000n);
    expect(times[9]).toBeLessThan(readAfter - 20_000_000n);
  });
});

describe('UDP receive path recvmmsg: receive coalescing (--receive-hold-ms)', () => {
  /** 2 datagrams a millisecond for `ms` ms from this process; resolves when all are sent. */
  async function stream(port: number, ms: number): Promise<number> {
    const s = dgram.createSocket('udp4');
    let sent = 0;
    await new Promise<void>((done) => {
      const t0 = Date.now();
      const tick = setInterval(() => {
        const due = Math.min(ms, Date.now() - t0) * 2;
        while (sent < due) s.send(payload(sent++), port, '127.0.0.1');
        if (Date.now() - t0 >= ms) {
          clearInterval(tick);
          done();
        }
      }, 1);
    });
    await new Promise((r) => setTimeout(r, 20)); // the last sends leave the socket
    s.close();
    return sent;
  }

  async function run(holdMs: number) {
    const seen: number[] = [];
    const times: bigint[] = [];
    const { src, port, stop } = await start(
      'recvmmsg',
      '127.0.0.1',
      {
        onPacket: () => undefined,
        onDatagram: (d, _f, _v6, sec, nsec) => {
          seen.push(d.length >= 4 ? Buffer.from(d).readUInt32BE(0) : -1);
          times.push(BigInt(sec) * 1_000_000_000n + BigInt(nsec));
        },
      },
      undefined,
      holdMs,
    );
    const sent = await stream(port, 300);
    await until(() => seen.length >= sent);
    const st = src.stats();
    await stop();
    return { sent, seen, times, reads: st.reads, received: st.received };
  }

  test('a steady stream: fewer reads than without it, every datagram once, kernel receive times kept', async () => {
    const off = await run(0);
    const held = await run(100);
    for (const r of [off, held]) {
      expect(r.received).toBe(r.sent);
      // every datagram once: payloads of 4 bytes or more carry their index
      const idx = r.seen.filter((i) => i >= 0).sort((a, b) => a - b);
      expect(new Set(idx).size).toBe(idx.length);
      expect(idx.length).toBe(
        Array.from({ length: r.sent }, (_, i) => i % 1500 >= 4).filter(Boolean).length,
      );
      for (let i = 1; i < r.times.length; i++)
        expect(r.times[i]).toBeGreaterThanOrEqual(r.times[i - 1]);
    }
    // held 100 ms, 300 ms of traffic takes a handful of reads; without it, about one per tick
    expect(held.reads).toBeLessThan(off.reads / 5);
    expect(held.reads).toBeLessThanOrEqual(20);
    // the times are the kernel's, spread over the 300 ms, not the few read times
    const spread = Number(held.times[held.times.length - 1] - held.times[0]) / 1e6;
    expect(spread).toBeGreaterThan(250);
    let distinct = 0;
    for (let i = 1; i < held.times.length; i++) if (held.times[i] !== held.times[i - 1]) distinct++;
    expect(distinct).toBeGreaterThan(held.reads * 10);
  });

  test('a lone datagram is read at once, not held; closing while held stops the reads', async () => {
    let got = 0;
    let at = 0;
    const { src, port, stop } = await start(
      'recvmmsg',
      '127.0.0.1',
      {
        onPacket: () => undefined,
        onDatagram: () => {
          got++;
          at = Date.now();
        },
      },
      undefined,
      1000,
    );
    const s = dgram.createSocket('udp4');
    const t0 = Date.now();
    s.send(payload(7), port, '127.0.0.1');
    await until(() => got === 1);
    expect(at - t0).toBeLessThan(500); // held, it would take 1,000 ms
    // a burst: the first read finds several, so the socket is held for 1 s; close inside it
    await Promise.all(
      [8, 9, 10, 11].map((i) => new Promise((r) => s.send(payload(i), port, '127.0.0.1', r))),
    );
    await until(() => got >= 5);
    // the four in one read, so the socket is held now
    expect([src.stats().received, src.stats().reads]).toEqual([5, 2]);
    const before = src.stats().received;
    await stop();
    s.send(payload(12), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 1200)); // past the hold: its timer must not read
    s.close();
    expect(src.stats().received).toBe(before);
  });
});
