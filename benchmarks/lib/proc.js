'use strict';
/** Per-process CPU time and the process behind a listening port, from Linux /proc and `ss`. */
const fs = require('fs');
const { execFileSync } = require('child_process');

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;

/** User + system CPU seconds of a process (all its threads) so far. */
function cpuSeconds(pid) {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime (14), stime (15)
}

/** PID of the process listening on TCP `port` (needs `ss`), or null. */
function pidOnPort(port) {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`]).toString();
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

module.exports = { CLK_TCK, cpuSeconds, pidOnPort };
