/**
 * Leaf-spine fabric: switches, ports, egress queues, hosts and their addresses, and the
 * paths packets take (ECMP over spines, link failures, micro-loop overlays).
 */
import type { Scenario } from './scenario';

/** Switch index → id: leaf i → i + 1, spine j → 101 + j. */
export function leafId(i: number): number {
  return i + 1;
}
export function spineId(j: number): number {
  return 101 + j;
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function ipv4FromString(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** One traversal of a path: a switch, where the packet came in and where it leaves. */
export interface Path {
  id: number;
  key: string;
  /** Number of switch visits. */
  n: number;
  /** Switch index per visit. */
  sw: Int32Array;
  /** Switch id per visit. */
  swId: Int32Array;
  inPort: Int32Array;
  outPort: Int32Array;
  /** Global egress queue index per visit. */
  q: Int32Array;
  /** Whether this path goes around a micro-loop. */
  loop: boolean;
  /** Switch ids of the loop cycle (empty if none). */
  loopSwitches: number[];
  /** Switch index whose appliance port the path hairpins through, -1 if none. */
  hairpin: number;
}

export class Topology {
  readonly leaves: number;
  readonly spines: number;
  readonly hosts: number;
  readonly nSwitches: number;
  readonly nQueues: number;
  /** First queue index of each switch; queue = qBase[sw] + port - 1. */
  readonly qBase: Int32Array;
  readonly qSwitch: Int32Array;
  readonly qPort: Int32Array;
  /** Egress link rate per queue, bytes per ns. */
  readonly qRate: Float64Array;
  readonly ports: Int32Array;
  /** Leaf port to the non-INT appliance (scenarios with a hairpin; 0 = none): the last port. */
  readonly appliancePort: number;
  private readonly paths: Path[] = [];
  private readonly pathIndex = new Map<string, Path>();

  constructor(s: Scenario) {
    const t = s.topology;
    this.leaves = t.leaves;
    this.spines = t.spines;
    this.hosts = t.hostsPerLeaf;
    this.nSwitches = t.leaves + t.spines;
    this.qBase = new Int32Array(this.nSwitches);
    this.ports = new Int32Array(this.nSwitches);
    const appliance = s.events.some((e) => e.type === 'hairpin');
    this.appliancePort = appliance ? t.hostsPerLeaf + t.spines + 1 : 0;
    let q = 0;
    for (let sw = 0; sw < this.nSwitches; sw++) {
      this.qBase[sw] = q;
      this.ports[sw] = sw < t.leaves ? t.hostsPerLeaf + t.spines + (appliance ? 1 : 0) : t.leaves;
      q += this.ports[sw];
    }
    this.nQueues = q;
    this.qSwitch = new Int32Array(q);
    this.qPort = new Int32Array(q);
    this.qRate = new Float64Array(q);
    for (let sw = 0; sw < this.nSwitches; sw++) {
      for (let p = 1; p <= this.ports[sw]; p++) {
        const qi = this.qBase[sw] + p - 1;
        this.qSwitch[qi] = sw;
        this.qPort[qi] = p;
        const hostPort = sw < t.leaves && p <= t.hostsPerLeaf;
        this.qRate[qi] = (hostPort ? t.hostLinkGbps : t.fabricLinkGbps) / 8;
      }
    }
  }

  switchId(sw: number): number {
    return sw < this.leaves ? leafId(sw) : spineId(sw - this.leaves);
  }

  switchIndex(id: number): number {
    if (id >= 1 && id <= this.leaves) return id - 1;
    if (id >= 101 && id < 101 + this.spines) return this.leaves + id - 101;
    return -1;
  }

  /** Host address: leaf subnet 10.0.(leaf+1).0/24, host h → .(h+2). */
  hostAddr(leaf: number, host: number): number {
    return ((10 << 24) | ((leaf + 1) << 8) | (host + 2) | 0) >>> 0;
  }

  hostMac(leaf: number, host: number): string {
    return `02:00:0a:00:${hex2(leaf + 1)}:${hex2(host + 2)}`;
  }

  switchMac(sw: number): string {
    return `02:ff:00:00:00:${hex2(this.switchId(sw))}`;
  }

  /** Loopback address of a switch (tunnel endpoint, report source): 10.255.0.<id>. */
  switchAddr(sw: number): string {
    return `10.255.0.${this.switchId(sw)}`;
  }

  uplinkPort(spine: number): number {
    return this.hosts + 1 + spine;
  }

  getPath(id: number): Path {
    return this.paths[id];
  }

  get pathCount(): number {
    return this.paths.length;
  }

  /** Interns a path given as (switch index, in port, out port) triples. */
  intern(visits: number[], loopSwitches: number[] = [], hairpin = -1): Path {
    const key = visits.join(',');
    let p = this.pathIndex.get(key);
    if (p) return p;
    const n = visits.length / 3;
    const sw = new Int32Array(n);
    const swId = new Int32Array(n);
    const inPort = new Int32Array(n);
    const outPort = new Int32Array(n);
    const q = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      sw[i] = visits[3 * i];
      swId[i] = this.switchId(sw[i]);
      inPort[i] = visits[3 * i + 1];
      outPort[i] = visits[3 * i + 2];
      q[i] = this.qBase[sw[i]] + outPort[i] - 1;
    }
    p = {
      id: this.paths.length,
      key,
      n,
      sw,
      swId,
      inPort,
      outPort,
      q,
      loop: loopSwitches.length > 0,
      loopSwitches,
      hairpin,
    };
    this.paths.push(p);
    this.pathIndex.set(key, p);
    return p;
  }

  /** Leaf → (spine) → leaf path; `spine` is ignored within one leaf. */
  basePath(
    srcLeaf: number,
    srcHost: number,
    dstLeaf: number,
    dstHost: number,
    spine: number,
  ): Path {
    if (srcLeaf === dstLeaf) return this.intern([srcLeaf, srcHost + 1, dstHost + 1]);
    const sp = this.leaves + spine;
    return this.intern([
      srcLeaf,
      srcHost + 1,
      this.uplinkPort(spine),
      sp,
      srcLeaf + 1,
      dstLeaf + 1,
      dstLeaf,
      this.uplinkPort(spine),
      dstHost + 1,
    ]);
  }

  /**
   * The base path with a detour at dstLeaf: out of the appliance port to a non-INT appliance
   * and back in through it, then to the host (the leaf shows twice in the stack).
   */
  hairpinPath(
    srcLeaf: number,
    srcHost: number,
    dstLeaf: number,
    dstHost: number,
    spine: number,
  ): Path {
    const ap = this.appliancePort;
    const b = this.basePath(srcLeaf, srcHost, dstLeaf, dstHost, spine);
    const v: number[] = [];
    for (let i = 0; i < b.n - 1; i++) v.push(b.sw[i], b.inPort[i], b.outPort[i]);
    v.push(dstLeaf, b.inPort[b.n - 1], ap, dstLeaf, ap, dstHost + 1);
    return this.intern(v, [], dstLeaf);
  }

  /**
   * A path caught in a micro-loop: srcLeaf → spine ⇄ viaLeaf (`rounds` times) → spine →
   * dstLeaf. The spine's route to dstLeaf points at viaLeaf, whose route points back.
   */
  loopPath(
    srcLeaf: number,
    srcHost: number,
    dstLeaf: number,
    dstHost: number,
    spine: number,
    viaLeaf: number,
    rounds: number,
  ): Path {
    const sp = this.leaves + spine;
    const up = this.uplinkPort(spine);
    const v: number[] = [srcLeaf, srcHost + 1, up];
    let from = srcLeaf;
    for (let r = 0; r < rounds; r++) {
      v.push(sp, from + 1, viaLeaf + 1);
      v.push(viaLeaf, up, up);
      from = viaLeaf;
    }
    v.push(sp, from + 1, dstLeaf + 1);
    v.push(dstLeaf, up, dstHost + 1);
    return this.intern(v, [this.switchId(sp), this.switchId(viaLeaf)]);
  }
}

function hex2(n: number): string {
  return (n & 255).toString(16).padStart(2, '0');
}
