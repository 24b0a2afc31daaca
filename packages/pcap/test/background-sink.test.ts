/** BackgroundFileSink: the writers' bytes reach the file unchanged and in order, errors surface. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BackgroundFileSink,
  MemorySink,
  PcapngWriter,
  PcapWriter,
  type CaptureWriter,
} from '../src';
import { randomBytes, rng } from './helpers';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-bgsink-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** 1,000 packets of 0..2999 bytes, plus one larger than the sink's buffers (written around them). */
function fill(w: CaptureWriter, seed: number): void {
  const rand = rng(seed);
  for (let i = 0; i < 1000; i++) {
    const data =
      i === 500 ? randomBytes(rand, 20_000) : randomBytes(rand, Math.floor(rand() * 3000));
    w.write(data, 1_700_000_000 + i, Math.floor(rand() * 1e9));
  }
  w.close();
}

describe('BackgroundFileSink', () => {
  it.each([
    ['pcap', (t: MemorySink | BackgroundFileSink) => new PcapWriter(t, { resolution: 'ns' })],
    ['pcapng', (t: MemorySink | BackgroundFileSink) => new PcapngWriter(t)],
  ])('writes the same %s bytes as the in-memory sink across many buffer hand-overs', (_, make) => {
    const mem = new MemorySink();
    fill(make(mem), 7);
    const file = path.join(dir, `out-${_}`);
    // 16 KiB buffers: about 300 hand-overs, and the 20 kB packet does not fit one
    fill(make(new BackgroundFileSink(file, 16 * 1024)), 7);
    const want = mem.toBuffer();
    const got = fs.readFileSync(file);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
  });

  it('reports a failed write (ENOSPC on /dev/full) instead of losing it', () => {
    const w = new PcapWriter(new BackgroundFileSink('/dev/full', 4096));
    expect(() => {
      for (let i = 0; i < 100; i++) w.write(new Uint8Array(1000), 1, 0);
      w.close();
    }).toThrow(/cannot write \/dev\/full: .*ENOSPC/);
  });

  it('refuses use after close', () => {
    const sink = new BackgroundFileSink(path.join(dir, 'closed'));
    sink.close();
    expect(() => sink.write(new Uint8Array(1))).toThrow(/closed/);
    sink.close(); // idempotent
  });
});
