import * as zlib from 'zlib';
import { inflateBatch } from '../src/transport/gunzip';

const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));

test('inflates what gzip (any level) and zlib wrote, byte for byte', () => {
  for (const level of [1, 6, 9])
    expect(inflateBatch(zlib.gzipSync(data, { level })).equals(data)).toBe(true);
  expect(inflateBatch(zlib.deflateSync(data)).equals(data)).toBe(true);
  expect(inflateBatch(zlib.gzipSync(Buffer.alloc(0))).length).toBe(0);
});

test('a wrong size in the trailer only changes the first buffer: too small or too large', () => {
  const gz = zlib.gzipSync(data, { level: 1 });
  // ISIZE is not covered by the CRC check of zlib's streaming inflate before the end; the output
  // must still be the whole data (or an error), never a truncated buffer
  for (const isize of [1, 0xffffffff]) {
    const lie = Buffer.from(gz);
    lie.writeUInt32LE(isize, lie.length - 4);
    let out: Buffer | null = null;
    try {
      out = inflateBatch(lie);
    } catch (e) {
      expect((e as Error).message).toMatch(/check|length|incorrect/i);
    }
    if (out) expect(out.equals(data)).toBe(true);
  }
});

test('two gzip members back to back inflate to both', () => {
  const two = Buffer.concat([zlib.gzipSync(data), zlib.gzipSync(data)]);
  expect(inflateBatch(two).equals(Buffer.concat([data, data]))).toBe(true);
});

test('corrupt input throws (kafkajs reports a failed fetch), no crash', () => {
  const gz = zlib.gzipSync(data);
  const bad = Buffer.from(gz);
  bad.fill(0xaa, 20, 60);
  expect(() => inflateBatch(bad)).toThrow();
  expect(() => inflateBatch(Buffer.from([0x1f, 0x8b, 8, 0]))).toThrow();
});
