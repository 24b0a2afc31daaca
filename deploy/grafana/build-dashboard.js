#!/usr/bin/env node
// Writes deploy/grafana/dashboards/hopwatch.json (the Grafana dashboard, for the ClickHouse data
// source plugin, grafana-clickhouse-datasource) from the panels below, so that their SQL stays
// readable here. Every panel reads the rollups and tables of docs/schema.md with the SQL that
// runs on both dialects (chDB behind `hopwatch serve`'s endpoint, ClickHouse 18.16 and later);
// macros: $__fromTime / $__toTime (toDateTime(seconds)), $__interval_s, and the dashboard's
// variables ${switch} ${port} ${queue}. packages/store/test/grafana.test.ts runs every panel's
// SQL against both and checks that this file is what the script writes.
// Usage: node deploy/grafana/build-dashboard.js [--check]
'use strict';
const fs = require('fs');
const path = require('path');

const DS = { type: 'grafana-clickhouse-datasource', uid: 'hopwatch' };
const OUT = path.join(__dirname, 'dashboards', 'hopwatch.json');
const NS = (m) => `toUInt64(toUnixTimestamp(${m})) * 1000000000`;
const HOP =
  "concat('sw ', toString(switch_id), ' port ', toString(egress_port), ' q ', toString(queue_id))";
const STEP = 'greatest($__interval_s, 1)';

const PANELS = [
  {
    title: 'p99 hop latency per queue (ns, per minute)',
    type: 'timeseries',
    w: 12,
    format: 'timeseries',
    sql: `SELECT time, hop, q[3] AS p99_ns FROM (SELECT minute AS time, ${HOP} AS hop, quantilesTDigestMerge(0.5, 0.9, 0.99)(latency_q) AS q FROM hop_rollup_1m WHERE minute >= toStartOfMinute($__fromTime) AND minute <= $__toTime GROUP BY time, hop) ORDER BY time, hop`,
  },
  {
    title: 'Max queue occupancy per queue (10 ms rollup)',
    type: 'timeseries',
    w: 12,
    format: 'timeseries',
    sql: `SELECT toDateTime(intDiv(bucket, 100 * ${STEP}) * ${STEP}) AS time, ${HOP} AS hop, maxMerge(occupancy_max) AS max_occupancy FROM hop_fine_10ms WHERE bucket >= intDiv(${NS('$__fromTime')}, 10000000) AND bucket <= intDiv(${NS('$__toTime')}, 10000000) + 100 GROUP BY time, hop ORDER BY time, hop`,
  },
  {
    title: 'Max hop latency per queue (ns, 10 ms rollup)',
    type: 'timeseries',
    w: 12,
    format: 'timeseries',
    sql: `SELECT toDateTime(intDiv(bucket, 100 * ${STEP}) * ${STEP}) AS time, ${HOP} AS hop, maxMerge(latency_max) AS max_latency_ns FROM hop_fine_10ms WHERE bucket >= intDiv(${NS('$__fromTime')}, 10000000) AND bucket <= intDiv(${NS('$__toTime')}, 10000000) + 100 GROUP BY time, hop ORDER BY time, hop`,
  },
  {
    title: 'Anomalies per interval',
    type: 'timeseries',
    w: 12,
    format: 'timeseries',
    sql: `SELECT toDateTime(intDiv(toUInt32(toDateTime(start)), ${STEP}) * ${STEP}) AS time, type, count() AS anomalies FROM anomalies FINAL WHERE end >= $__fromTime AND start <= $__toTime GROUP BY time, type ORDER BY time, type`,
  },
  {
    title: 'Slowest hops (p99 over the range, from the minute rollup)',
    type: 'table',
    w: 12,
    format: 'table',
    sql: `SELECT switch_id, egress_port, queue_id, hops, round(q[1], 1) AS p50_ns, round(q[3], 1) AS p99_ns, max_latency_ns FROM (SELECT switch_id, egress_port, queue_id, countMerge(hops) AS hops, quantilesTDigestMerge(0.5, 0.9, 0.99)(latency_q) AS q, maxMerge(latency_max) AS max_latency_ns FROM hop_rollup_1m WHERE minute >= toStartOfMinute($__fromTime) AND minute <= $__toTime GROUP BY switch_id, egress_port, queue_id) ORDER BY p99_ns DESC, max_latency_ns DESC LIMIT 20`,
  },
  {
    title: 'Anomalies',
    type: 'table',
    w: 12,
    format: 'table',
    sql: `SELECT toString(start_ns) AS start_time_ns, type, round((end_ns - start_ns) / 1000, 1) AS duration_us, switch_id, egress_port, queue_id, switches, packets, id FROM anomalies FINAL WHERE end >= $__fromTime AND start <= $__toTime ORDER BY start_ns, type, id LIMIT 1000`,
  },
  {
    title:
      'Queue \${switch}/\${port}/\${queue} at 100 µs (microburst drill-down; last 30 minutes kept)',
    type: 'table',
    w: 12,
    format: 'table',
    sql: `SELECT toString(bucket * 100000) AS t_ns, countMerge(hops) AS hops, maxMerge(occupancy_max) AS max_occupancy, maxMerge(latency_max) AS max_latency_ns, intDiv(sumMerge(latency_sum), greatest(sumMerge(latency_samples), 1)) AS mean_latency_ns FROM hop_fine_100us WHERE switch_id = \${switch} AND egress_port = \${port} AND queue_id = \${queue} AND bucket >= intDiv(${NS('$__fromTime')}, 100000) AND bucket <= intDiv(${NS('$__toTime')}, 100000) + 10000 GROUP BY bucket ORDER BY bucket LIMIT 20000`,
  },
  {
    title: 'Fabric links of the observed paths',
    type: 'table',
    w: 12,
    format: 'table',
    sql: 'SELECT path[i] AS from_switch, path[i + 1] AS to_switch, count() AS packets FROM paths ARRAY JOIN arrayEnumerate(path) AS i WHERE time >= $__fromTime AND time <= $__toTime AND i < length(path) AND path[i] != path[i + 1] GROUP BY from_switch, to_switch ORDER BY from_switch, to_switch',
  },
];

const VARIABLES = [
  { name: 'switch', sql: 'SELECT DISTINCT switch_id FROM hop_rollup_1m ORDER BY switch_id' },
  {
    name: 'port',
    sql: 'SELECT DISTINCT egress_port FROM hop_rollup_1m WHERE switch_id = ${switch} ORDER BY egress_port',
  },
  {
    name: 'queue',
    sql: 'SELECT DISTINCT queue_id FROM hop_rollup_1m WHERE switch_id = ${switch} AND egress_port = ${port} ORDER BY queue_id',
  },
];

function dashboard() {
  let y = 0;
  return {
    uid: 'hopwatch',
    title: 'hopwatch: hops, queues and anomalies',
    description:
      'INT per-hop latency, queue occupancy and anomalies from hopwatch (docs/console.md)',
    tags: ['hopwatch', 'int'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: VARIABLES.map((v) => ({
        name: v.name,
        label: v.name,
        type: 'query',
        datasource: DS,
        query: v.sql,
        definition: v.sql,
        refresh: 2,
        includeAll: false,
        multi: false,
        sort: 3,
      })),
    },
    panels: PANELS.map((p, i) => {
      const x = (i % 2) * 12;
      const pos = { h: 9, w: p.w, x, y };
      if (i % 2 === 1) y += 9;
      return {
        id: i + 1,
        title: p.title,
        type: p.type,
        datasource: DS,
        gridPos: pos,
        targets: [
          {
            refId: 'A',
            datasource: DS,
            editorType: 'sql',
            queryType: p.format === 'timeseries' ? 'timeseries' : 'table',
            format: p.format === 'timeseries' ? 0 : 1,
            rawSql: p.sql,
          },
        ],
        ...(p.type === 'timeseries'
          ? {
              fieldConfig: {
                defaults: { custom: { drawStyle: 'line', lineWidth: 1 } },
                overrides: [],
              },
            }
          : {}),
      };
    }),
  };
}

/** The file's text: the dashboard as prettier formats JSON (the repository's format check). */
async function render() {
  const prettier = require('prettier');
  return prettier.format(JSON.stringify(dashboard()), { parser: 'json', filepath: OUT });
}

async function main() {
  const text = await render();
  if (process.argv.includes('--check')) {
    if (fs.readFileSync(OUT, 'utf8') !== text) {
      console.error(`${OUT} is not what ${__filename} writes: run it`);
      process.exit(1);
    }
  } else {
    fs.writeFileSync(OUT, text);
    console.log(`wrote ${OUT}`);
  }
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
module.exports = { dashboard, render, OUT };
