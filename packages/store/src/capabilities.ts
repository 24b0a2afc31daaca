/**
 * What the connected ClickHouse can do, from `SELECT version()`.
 *
 * Two dialects only: `modern` (ClickHouse ≥ 20.1, chDB) and `legacy` (older servers, e.g. the
 * Debian clickhouse-server 18.16). The query surface (table and column names used by the named
 * queries) is the same in both; only the DDL and the binary layout of the time columns differ.
 */
export interface Capabilities {
  version: string;
  major: number;
  minor: number;
  /** 'modern' = DateTime64 & friends; 'legacy' = degraded DDL. */
  dialect: 'modern' | 'legacy';
  dateTime64: boolean;
  ttl: boolean;
  codecs: boolean;
  lowCardinality: boolean;
  ipv6Type: boolean;
  queryParams: boolean;
  /**
   * INSERT … FORMAT Native (columnar) is the default insert encoding. Every supported version
   * reads it over HTTP and from file() (no BlockInfo there); checked against chDB 26.x and
   * ClickHouse 18.16 (test/native.test.ts, test/server.test.ts). RowBinary stays available
   * (`insertFormat: 'RowBinary'`).
   */
  nativeInsert: boolean;
}

export function detectCapabilities(version: string): Capabilities {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  const major = m ? Number(m[1]) : 0;
  const minor = m ? Number(m[2]) : 0;
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  const modern = atLeast(20, 1);
  return {
    version: version.trim(),
    major,
    minor,
    dialect: modern ? 'modern' : 'legacy',
    // DateTime64 appeared in 20.1; TTL in 19.6; codecs in 19.1; LowCardinality non-experimental
    // in 19.x; the IPv6 domain type in 19.3; query parameters in 19.11. We only distinguish the
    // two dialects so that there are two tested DDL variants, not a combinatorial explosion.
    dateTime64: modern,
    ttl: modern,
    codecs: modern,
    lowCardinality: modern,
    ipv6Type: modern,
    queryParams: modern,
    nativeInsert: true,
  };
}
