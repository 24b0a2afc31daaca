/**
 * The JavaScript LZ4 frames (transport/lz4.ts) against the reference implementation, the lz4
 * tool (Debian `lz4`, deploy/services.sh install checkers): what it writes, with each of its
 * frame options, decodes byte for byte, and what lz4.ts writes, lz4 decodes. Hostile frames
 * are rejected with a reason, never read out of bounds, never allowed to allocate without
 * bound. Skipped (with a message) without the tool unless HOPWATCH_REQUIRE_SERVICES=1.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { prng } from '@hopwatch/codec';
import { Lz4Error, lz4Compress, lz4Decompress, xxh32 } from '../src/transport/lz4';

const ROOT = path.resolve(__dirname, '../../..');
const tool = spawnSync('lz4', ['--version']).status === 0;
if (!tool && process.env.HOPWATCH_REQUIRE_SERVICES === '1')
  throw new Error('lz4 tests need the lz4 tool (deploy/services.sh install checkers)');
if (!tool) console.warn('[lz4] the lz4 tool is not installed (apt-get install lz4): skipped');
const withTool = tool ? describe : describe.skip;

function samples(): [string, Buffer][] {
  const rnd = prng(7);
  const noise = Buffer.alloc(150_000);
  for (let i = 0; i < noise.length; i++) noise[i] = (rnd() * 256) | 0;
  // words from a small alphabet: many short and long matches, some overlapping
  const text = Buffer.alloc(300_000);
  for (let i = 0; i < text.length; i++) text[i] = 97 + ((rnd() * rnd() * 6) | 0);
  return [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    ['12 bytes', Buffer.from('abcabcabcabc')],
    ['random bytes (stored blocks)', noise],
    ['one repeated byte (long overlapping matches)', Buffer.alloc(200_000, 0x5a)],
    ['skewed text', text],
    ['a pcap', fs.readFileSync(path.join(ROOT, 'captures/demo-fabric.pcap'))],
  ];
}

test('xxHash32 of known inputs', () => {
  expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
  // seed and length paths: the frame header checksums below (and the tool's) depend on them
  expect(xxh32(Buffer.from('a'))).not.toBe(xxh32(Buffer.from('b')));
  expect(xxh32(Buffer.alloc(17, 1), 0, 17, 1)).not.toBe(xxh32(Buffer.alloc(17, 1)));
});

withTool('LZ4 frames against the lz4 tool', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-lz4-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // default; dependent blocks; no content checksum, 64 KiB blocks; block checksums, 4 MiB
  // blocks; high compression; content size in the header
  const OPTIONS = [
    [],
    ['-BD'],
    ['--no-frame-crc', '-B4'],
    ['-BX', '-B7'],
    ['-9'],
    ['--content-size'],
  ];

  test.each(samples())(
    '%s: every tool frame decodes, and ours decodes with the tool',
    (_n, data) => {
      const raw = path.join(dir, 'raw');
      fs.writeFileSync(raw, data);
      for (const opts of OPTIONS) {
        execFileSync('lz4', ['-q', '-f', ...opts, raw, `${raw}.lz4`]);
        expect(lz4Decompress(fs.readFileSync(`${raw}.lz4`)).equals(data)).toBe(true);
      }
      const ours = lz4Compress(data);
      fs.writeFileSync(`${raw}.ours.lz4`, ours);
      const back = execFileSync('lz4', ['-d', '-c', `${raw}.ours.lz4`], { maxBuffer: 1 << 30 });
      expect(Buffer.from(back).equals(data)).toBe(true);
      expect(lz4Decompress(ours).equals(data)).toBe(true);
    },
  );

  test('what compresses, shrinks: within 25 % of the tool on text and on a capture', () => {
    for (const [name, data] of samples().slice(5)) {
      const raw = path.join(dir, 'raw');
      fs.writeFileSync(raw, data);
      execFileSync('lz4', ['-q', '-f', raw, `${raw}.lz4`]);
      const theirs = fs.statSync(`${raw}.lz4`).size;
      const ours = lz4Compress(data).length;
      expect({ name, ok: ours < data.length && ours <= theirs * 1.25 }).toEqual({
        name,
        ok: true,
      });
    }
  });

  test('concatenated frames and skippable frames', () => {
    const a = Buffer.from('first frame '.repeat(100));
    const b = Buffer.from('second frame '.repeat(100));
    const skip = Buffer.alloc(8 + 5);
    skip.writeUInt32LE(0x184d2a53, 0);
    skip.writeUInt32LE(5, 4);
    const all = Buffer.concat([lz4Compress(a), skip, lz4Compress(b)]);
    expect(lz4Decompress(all).toString()).toBe(a.toString() + b.toString());
  });
});

describe('hostile LZ4 input: a reason, no crash, bounded output', () => {
  const good = lz4Compress(Buffer.from('hopwatch '.repeat(5000)));
  /** A frame with one compressed block of `block` bytes (no checksums, 64 KiB blocks). */
  function frame(block: number[], flg = 0x60, bd = 0x40): Buffer {
    const h = Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, bd, 0]);
    h[6] = (xxh32(h, 4, 6) >>> 8) & 0xff;
    const size = Buffer.alloc(4);
    size.writeUInt32LE(block.length);
    return Buffer.concat([h, size, Buffer.from(block), Buffer.alloc(4)]);
  }

  test.each([
    ['not a frame', Buffer.from('hello world'), /not an LZ4 frame/],
    ['every truncation of a good frame', null, /truncated|ends inside|checksum|announced/],
    [
      'a flipped byte in the header',
      null,
      /checksum|reserved|version|block maximum|dictionary|exceeds|announced/,
    ],
    ['match offset 0', frame([0x10, 0x41, 0x00, 0x00, 0x00]), /match offset 0/],
    [
      'match before the start of the data',
      frame([0x10, 0x41, 0x05, 0x00, 0x00]),
      /before the start/,
    ],
    ['literals past the block', frame([0xf0, 0x40, 0x41]), /run past the end/],
    ['block larger than the frame allows', frame(Array(70_000).fill(0)), /over the frame's/],
    ['a dictionary frame', frame([0x00], 0x61), /dictionary/],
    ['reserved bits', frame([0x00], 0x62), /reserved bits/],
  ])('%s', (_what, input, reason) => {
    if (input) {
      expect(() => lz4Decompress(input)).toThrow(Lz4Error);
      expect(() => lz4Decompress(input)).toThrow(reason);
      return;
    }
    if (_what.startsWith('every truncation')) {
      for (let n = 0; n < good.length; n++)
        expect(() => lz4Decompress(good.subarray(0, n))).toThrow(reason);
    } else {
      for (let i = 4; i < 15; i++) {
        const bad = Buffer.from(good);
        bad[i] ^= 0x01;
        expect(() => lz4Decompress(bad)).toThrow(reason);
      }
    }
  });

  test('a block that expands past its size is refused before it allocates', () => {
    // one literal, then matches of ~51,000 bytes each from 204 bytes: ~15 MB from 60 KiB
    const ext = [...Array(200).fill(255), 0];
    const block = [0x1f, 0x61, 0x01, 0x00, ...ext];
    while (block.length < 60_000) block.push(0x0f, 0x01, 0x00, ...ext);
    block.push(0x00);
    expect(() => lz4Decompress(frame(block))).toThrow(/more than the frame's block size/);
    // and the whole output is bounded too (a frame of many such blocks)
    const ok = [0x1f, 0x61, 0x01, 0x00, 255, 255, 0, 0x00]; // 1 + 529 bytes
    const many = Buffer.concat(Array.from({ length: 3000 }, () => frame(ok)));
    expect(() => lz4Decompress(many, 1 << 20)).toThrow(/exceeds 1048576 bytes/);
  });

  test('random garbage after a valid magic never throws anything but Lz4Error', () => {
    const rnd = prng(11);
    for (let k = 0; k < 2000; k++) {
      const b = Buffer.from(good.subarray(0, 15 + ((rnd() * 200) | 0)));
      for (let i = 15; i < b.length; i++) if (rnd() < 0.2) b[i] = (rnd() * 256) | 0;
      try {
        lz4Decompress(b, 1 << 20);
      } catch (e) {
        expect(e).toBeInstanceOf(Lz4Error);
      }
    }
  });
});
