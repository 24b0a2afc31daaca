'use strict';
// The fabric of the replay benchmarks (replay.js, flows.js): 8 leaves, 4 spines, 32 elephants,
// mice at 200/ms, INT v2.1 MD over UDP with DSCP, snaplen that keeps headers and INT stacks.
module.exports.REPLAY_SCENARIO = `
name: replay-bench
seed: 7
durationMs: 100000
topology: { leaves: 8, spines: 4, hostsPerLeaf: 8 }
traffic:
  elephants: { count: 32, rateGbps: 1, payloadBytes: 1000 }
  mice: { arrivalsPerMs: 200, minPackets: 2, maxPackets: 20, rateGbps: 1, payloadBytes: [64, 512, 1400] }
int: { version: '2.1', mode: 'MD', encapsulation: 'udp-dscp', instructionBitmap: 0xFF00, hopLimit: 8 }
output: { kind: 'packets', snaplen: 320 }
`;
