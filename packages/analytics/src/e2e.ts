/**
 * End-to-end latency of one record: from the first hop's ingress timestamp to the last hop's
 * egress timestamp when the stack carries both and they are believable, else the sum of the
 * hops' latencies. Shared by the analyzer's per-flow latency and the flow records.
 */
import { HopField, IntVer, type RecordBatch } from '@hopwatch/codec';

/**
 * The most time a packet can spend on the links of a data-centre path beside the hops
 * themselves (propagation and serialisation: µs per link). A span longer than the hop
 * latencies by more than this, or shorter than them, comes from switch clocks that disagree.
 */
export const LINK_BUDGET_NS = 1_000_000;

export const E2E_NONE = 0;
export const E2E_TIMESTAMPS = 1;
export const E2E_HOP_SUM = 2;

const INGRESS_TS = HopField.INGRESS_TS;
const EGRESS_TS = HopField.EGRESS_TS;
const V20 = IntVer.V20;

/** A reusable measurement (no allocation per record): measure(), then read the fields. */
export class EndToEnd {
  /** ns, or -1 when the record gives none. */
  value = -1;
  source = E2E_NONE;
  /** Timestamps were there but disagreed with the hop latencies (counted by callers). */
  skewed = false;

  /**
   * `first` / `last`: hop rows of the stack's first and last hop; `hopSum`: the sum of the
   * stack's hop latencies, -1 when a hop lacked one.
   */
  measure(b: RecordBatch, r: number, first: number, last: number, hopSum: number): number {
    this.skewed = false;
    let e2e = -1;
    if (b.present[first] & INGRESS_TS && b.present[last] & EGRESS_TS) {
      // v0.5/v1.0 timestamps are 32-bit ns counters (they wrap); v2.x are 64-bit
      e2e =
        b.intVersion[r] < V20
          ? (b.egressTsLo[last] - b.ingressTsLo[first]) >>> 0
          : (b.egressTsHi[last] - b.ingressTsHi[first]) * 4294967296 +
            (b.egressTsLo[last] - b.ingressTsLo[first]);
      if (e2e < 0 || e2e > 0xffffffff) e2e = -1;
      else if (hopSum >= 0 && (e2e < hopSum || e2e - hopSum > LINK_BUDGET_NS)) {
        e2e = -1;
        this.skewed = true;
      }
    }
    if (e2e >= 0) this.source = E2E_TIMESTAMPS;
    else if (hopSum >= 0) {
      e2e = hopSum;
      this.source = E2E_HOP_SUM;
    } else this.source = E2E_NONE;
    this.value = e2e;
    return e2e;
  }
}
