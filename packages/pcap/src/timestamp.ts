/**
 * Exact conversion of pcapng 64-bit timestamps (given as two unsigned 32-bit halves) to
 * seconds + nanoseconds. Nanosecond counts since 1970 exceed 2^53, so plain doubles would
 * round; BigInt would allocate per packet. Instead we do long division on 16-bit limbs, where
 * every intermediate value stays well below 2^53.
 */

const TWO32 = 4294967296;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** Output of the conversions below (module scratch: no allocation per call). */
export const tsOut = { sec: 0, nsec: 0 };

let divQ = 0;
let divR = 0;

/** (hi * 2^32 + lo) / d for 1 <= d <= 1e9: sets divQ (exact below 2^53) and divR (exact). */
function divmod64(hi: number, lo: number, d: number): void {
  if (hi < 0x200000) {
    // Value below 2^53: one float division, corrected by at most one step.
    const t = hi * TWO32 + lo;
    let q = Math.floor(t / d);
    let r = t - q * d;
    if (r < 0) {
      q--;
      r += d;
    } else if (r >= d) {
      q++;
      r -= d;
    }
    divQ = q;
    divR = r;
    return;
  }
  // r < d <= 1e9 < 2^30, so r * 65536 + limb < 2^46: exact.
  let r = 0;
  let x = r * 65536 + (hi >>> 16);
  const q3 = Math.floor(x / d);
  r = x - q3 * d;
  x = r * 65536 + (hi & 0xffff);
  const q2 = Math.floor(x / d);
  r = x - q2 * d;
  x = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(x / d);
  r = x - q1 * d;
  x = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(x / d);
  r = x - q0 * d;
  divQ = ((q3 * 65536 + q2) * 65536 + q1) * 65536 + q0;
  divR = r;
}

/** Largest exponents we convert: 10^-18 s and 2^-63 s are far finer than any real clock. */
export const MAX_DECIMAL_EXP = 18;
export const MAX_BINARY_EXP = 63;

/** Converts a timestamp in units of 10^-exp s (0 <= exp <= 18) into `tsOut`. */
export function decimalTimestamp(hi: number, lo: number, exp: number): void {
  if (exp <= 9) {
    divmod64(hi, lo, POW10[exp]);
    tsOut.sec = divQ;
    tsOut.nsec = divR * POW10[9 - exp];
    return;
  }
  // Finer than 1 ns: t = q1 * 1e9 + r1 with q1 < 2^35, then q1 = sec * 10^(exp-9) + r2.
  divmod64(hi, lo, 1e9);
  const q1 = divQ;
  const r1 = divR;
  const d2 = POW10[exp - 9];
  let sec = Math.floor(q1 / d2);
  const r2 = q1 - sec * d2;
  // Fraction in ns = (r2 * 1e9 + r1) / 10^(exp-9), rounded to nearest.
  let nsec = r2 * POW10[18 - exp] + Math.round(r1 / d2);
  if (nsec >= 1e9) {
    sec++;
    nsec -= 1e9;
  }
  tsOut.sec = sec;
  tsOut.nsec = nsec;
}

/** Converts a timestamp in units of 2^-exp s (0 <= exp <= 63) into `tsOut`, ns rounded. */
export function binaryTimestamp(hi: number, lo: number, exp: number): void {
  let sec: number;
  let nsec: number;
  if (exp <= 32) {
    const p = 2 ** exp;
    const whole = Math.floor(lo / p);
    const frac = lo - whole * p;
    sec = hi * 2 ** (32 - exp) + whole;
    // frac < 2^32 and 1e9 = 1953125 * 2^9: frac * 1953125 < 2^53, exact, then an exact
    // power-of-two scaling; Math.round sees the true value.
    nsec = exp <= 9 ? frac * (1e9 / p) : Math.round((frac * 1953125) / 2 ** (exp - 9));
  } else {
    const ps = 2 ** (exp - 32);
    sec = Math.floor(hi / ps);
    const frac = (hi - sec * ps) * TWO32 + lo;
    // Beyond 2^-32 s the fraction is finer than 0.25 ns; a double keeps 53 bits of it.
    nsec = Math.round((frac / 2 ** exp) * 1e9);
  }
  if (nsec >= 1e9) {
    sec++;
    nsec -= 1e9;
  }
  tsOut.sec = sec;
  tsOut.nsec = nsec;
}

/**
 * Splits `sec * 10^exp + floor(nsec / 10^(9-exp))` (0 <= exp <= 9) into 32-bit halves for
 * writing, exactly. Result in `wordsOut`.
 */
export const wordsOut = { hi: 0, lo: 0 };

export function encodeDecimalTimestamp(sec: number, nsec: number, exp: number): void {
  const mul = POW10[exp];
  const frac = Math.floor(nsec / POW10[9 - exp]);
  // sec = a * 2^16 + b; every product below stays under 2^53.
  const a = Math.floor(sec / 65536);
  const b = sec - a * 65536;
  const big = a * mul; // contributes big * 2^16
  const low = b * mul + frac + (big % 65536) * 65536;
  const hi = Math.floor(big / 65536) + Math.floor(low / TWO32);
  wordsOut.hi = hi;
  wordsOut.lo = low % TWO32;
}
