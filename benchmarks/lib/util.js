'use strict';
/** Small helpers shared by the benchmark scripts. */

/** The value after `--name` on the command line, or `dflt`. */
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile `q` (0–1) of `xs`; null when empty. */
const pct = (xs, q) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

module.exports = { arg, sleep, pct };
