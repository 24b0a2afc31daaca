'use strict';
/**
 * The benchmarks' Telemetry Report: the first report of captures/tr-v2.0-md.pcap (a TR v2.0
 * drop report of INT v2.1 MD, three hops), as the UDP payload a sender writes.
 */
const path = require('path');

const ROOT = path.resolve(__dirname, '../..');

/** Offset of the inner packet's UDP source port in the template report (flows vary it). */
const INNER_SRC_PORT = 86;

/** The template report's UDP payload (a fresh copy each call). */
function reportTemplate() {
  const { openCapture } = require(path.join(ROOT, 'packages/pcap'));
  const r = openCapture(path.join(ROOT, 'captures/tr-v2.0-md.pcap'));
  const p = r.next();
  r.close();
  const ihl = (p.data[14] & 0x0f) * 4;
  return Buffer.from(p.data.subarray(14 + ihl + 8));
}

module.exports = { reportTemplate, INNER_SRC_PORT };
