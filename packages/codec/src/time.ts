/**
 * ns since the Unix epoch as RFC 3339 text in UTC with all nine fraction digits
 * (`2026-01-01T00:00:00.000605827Z`): Date keeps only ms, so the fraction is cut from the bigint.
 */
const NS_PER_S = 1_000_000_000n;

export function nsToRfc3339(ns: bigint): string {
  let s = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) {
    // before 1970: floor the seconds so the fraction stays positive
    s -= 1n;
    frac += NS_PER_S;
  }
  const d = new Date(Number(s) * 1000);
  if (Number.isNaN(d.getTime())) throw new RangeError(`time ${ns} ns is out of range`);
  return `${d.toISOString().slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}
