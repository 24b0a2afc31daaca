import {
  binaryTimestamp,
  decimalTimestamp,
  encodeDecimalTimestamp,
  tsOut,
  wordsOut,
} from '../src/timestamp';
import { rng } from './helpers';

/** BigInt reference: seconds and round-half-up nanoseconds. */
function reference(t: bigint, unitsPerSec: bigint): [number, number] {
  let sec = t / unitsPerSec;
  let ns = (2n * (t % unitsPerSec) * 1_000_000_000n + unitsPerSec) / (2n * unitsPerSec);
  if (ns === 1_000_000_000n) {
    sec++;
    ns = 0n;
  }
  return [Number(sec), Number(ns)];
}

function random64(rand: () => number): bigint {
  const hi = BigInt(Math.floor(rand() * 2 ** 32));
  const lo = BigInt(Math.floor(rand() * 2 ** 32));
  return (hi << 32n) | lo;
}

const split = (t: bigint): [number, number] => [Number(t >> 32n), Number(t & 0xffffffffn)];

describe('timestamp conversion', () => {
  const rand = rng(42);
  // Realistic values (2023 in each unit) plus full-range random ones.
  const samples = (unitsPerSec: bigint): bigint[] => {
    const out: bigint[] = [0n, 1n, unitsPerSec - 1n, unitsPerSec, 2n ** 64n - 1n];
    for (let i = 0; i < 300; i++) {
      out.push(
        BigInt(1_700_000_000 + Math.floor(rand() * 1e6)) * unitsPerSec +
          (random64(rand) % unitsPerSec),
      );
      out.push(random64(rand));
    }
    return out.filter((t) => t >= 0n && t < 2n ** 64n);
  };

  it.each(Array.from({ length: 19 }, (_, e) => e))(
    'decimal 10^-%i matches BigInt exactly',
    (exp) => {
      const units = 10n ** BigInt(exp);
      for (const t of samples(units)) {
        const [hi, lo] = split(t);
        decimalTimestamp(hi, lo, exp);
        const [sec, ns] = reference(t, units);
        if (sec <= Number.MAX_SAFE_INTEGER) expect([tsOut.sec, tsOut.nsec]).toEqual([sec, ns]);
        else expect(tsOut.nsec).toBe(ns);
      }
    },
  );

  it.each([0, 1, 9, 10, 20, 24, 30, 32])('binary 2^-%i matches BigInt exactly', (exp) => {
    const units = 2n ** BigInt(exp);
    for (const t of samples(units)) {
      const [hi, lo] = split(t);
      binaryTimestamp(hi, lo, exp);
      const [sec, ns] = reference(t, units);
      if (sec <= Number.MAX_SAFE_INTEGER) expect([tsOut.sec, tsOut.nsec]).toEqual([sec, ns]);
      else expect(tsOut.nsec).toBe(ns);
    }
  });

  it.each([33, 40, 53, 63])('binary 2^-%i is within 1 ns of BigInt', (exp) => {
    const units = 2n ** BigInt(exp);
    for (const t of samples(units)) {
      const [hi, lo] = split(t);
      binaryTimestamp(hi, lo, exp);
      const [sec, ns] = reference(t, units);
      expect(Math.abs((tsOut.sec - sec) * 1e9 + tsOut.nsec - ns)).toBeLessThanOrEqual(1);
    }
  });

  it('encodes sec+ns into 64-bit units exactly', () => {
    for (let i = 0; i < 2000; i++) {
      const sec = Math.floor(rand() * 2 ** 34);
      const ns = Math.floor(rand() * 1e9);
      for (const exp of [0, 3, 6, 9]) {
        encodeDecimalTimestamp(sec, ns, exp);
        const want = BigInt(sec) * 10n ** BigInt(exp) + BigInt(ns) / 10n ** BigInt(9 - exp);
        expect((BigInt(wordsOut.hi) << 32n) | BigInt(wordsOut.lo)).toBe(want);
      }
    }
  });
});
