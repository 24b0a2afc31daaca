/**
 * Source-address allowlist for report sockets: CIDR prefixes, IPv4 and IPv6. Addresses are
 * resolved once per distinct sender string and cached (bounded), so the per-datagram cost
 * is one Map lookup.
 */
import { isIP } from 'net';

export interface Sender {
  words: Uint32Array;
  v6: boolean;
  allowed: boolean;
}

export function addrWords(addr: string): { words: Uint32Array; v6: boolean } {
  const words = new Uint32Array(4);
  const mapped = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4;
  if (isIP(addr) === 4 || mapped) {
    const p = (mapped ? addr.slice(7) : addr).split('.').map(Number);
    words[3] = ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
    return { words, v6: false };
  }
  if (isIP(addr) !== 6) throw new Error(`not an IP address: '${addr}'`);
  const [head, tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i], 16) & 0xffff;
    words[i >> 1] = i & 1 ? (words[i >> 1] | g) >>> 0 : (g << 16) >>> 0;
  }
  return { words, v6: true };
}

interface Prefix {
  words: Uint32Array;
  v6: boolean;
  bits: number;
}

export class Allowlist {
  private readonly prefixes: Prefix[];
  private readonly cache = new Map<string, Sender>();
  /** IPv4 sender → allowed, for the batched receive path (addresses as numbers). */
  private readonly v4Cache = new Map<number, boolean>();

  /** `cidrs` empty = allow everyone. */
  constructor(cidrs: string[]) {
    this.prefixes = cidrs.map((c) => {
      const [addr, len] = c.split('/');
      let a: { words: Uint32Array; v6: boolean };
      try {
        a = addrWords(addr);
      } catch {
        throw new Error(`allowlist: '${c}' is not an address or CIDR prefix`);
      }
      const max = a.v6 ? 128 : 32;
      const bits = len === undefined ? max : Number(len);
      if (!Number.isInteger(bits) || bits < 0 || bits > max)
        throw new Error(`allowlist: bad prefix length in '${c}'`);
      return { words: a.words, v6: a.v6, bits };
    });
  }

  get empty(): boolean {
    return this.prefixes.length === 0;
  }

  sender(addr: string): Sender {
    let s = this.cache.get(addr);
    if (s) return s;
    const a = addrWords(addr);
    s = {
      words: a.words,
      v6: a.v6,
      allowed: this.allowsWords(a.words, a.v6),
    };
    if (this.cache.size > 65536) this.cache.clear(); // a flood of spoofed senders cannot grow it
    this.cache.set(addr, s);
    return s;
  }

  /** The same decision for an address already in words (IPv4 in words[3]). */
  allowsWords(words: Uint32Array, v6: boolean): boolean {
    if (this.empty) return true;
    if (v6) return this.prefixes.some((p) => matches(p, words, true));
    const key = words[3];
    let ok = this.v4Cache.get(key);
    if (ok === undefined) {
      ok = this.prefixes.some((p) => matches(p, words, false));
      if (this.v4Cache.size > 65536) this.v4Cache.clear(); // spoofed floods cannot grow it
      this.v4Cache.set(key, ok);
    }
    return ok;
  }
}

function matches(p: Prefix, w: Uint32Array, v6: boolean): boolean {
  if (p.v6 !== v6) return false;
  const start = v6 ? 0 : 3;
  let bits = p.bits;
  for (let i = start; i < 4 && bits > 0; i++) {
    const take = Math.min(32, bits);
    const mask = take === 32 ? 0xffffffff : (~0 << (32 - take)) >>> 0;
    if (((p.words[i] ^ w[i]) & mask) >>> 0 !== 0) return false;
    bits -= take;
  }
  return true;
}
