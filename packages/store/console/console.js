/*
 * hopwatch web console (served by `hopwatch serve` under /console/, and embedded with its data
 * in `hopwatch report --html`). Plain browser JavaScript, no library, no network beyond the
 * serve endpoint it came from: every view runs one of the console queries (queries.json, from
 * store/src/console/queries.ts) through the read-only query endpoint, with its placeholders
 * replaced by validated literals here. In a report the answers are embedded instead
 * (window.HOPWATCH_REPORT), keyed by query name and parameters.
 */
(function () {
  'use strict';

  const REPORT = window.HOPWATCH_REPORT || null;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const state = {
    queries: null,
    span: null,
    win: null,
    view: 'fabric',
    selected: null,
    anomalies: [],
    busy: false,
    lastSig: '',
  };

  // ---------- queries ----------

  /** A placeholder's literal: digits only for ns/uint, the stored address text for addr. */
  function literal(kind, v, name) {
    const s = String(v).trim();
    if (kind === 'ns' || kind === 'uint') {
      if (!/^\d{1,20}$/.test(s)) throw new Error(`${name}: expected a non-negative integer`);
      return s;
    }
    if (kind === 'addr') {
      if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s) && s.split('.').every((x) => Number(x) < 256))
        return `'::ffff:${s}'`;
      if (/^[0-9a-fA-F:.]{2,45}$/.test(s) && s.includes(':')) return `'${s.toLowerCase()}'`;
      throw new Error(`${name}: not an IP address`);
    }
    throw new Error(`${name}: unknown kind`);
  }

  function fill(name, params) {
    const q = state.queries[name];
    if (!q) throw new Error(`unknown query ${name}`);
    return q.sql.replace(/\{([a-z_]+)\}/g, (_, p) => {
      if (!(p in q.params) || params[p] === undefined) throw new Error(`${name}: ${p} required`);
      return literal(q.params[p].kind, params[p], p);
    });
  }

  /** Key of an embedded answer: the query name and its parameters in a fixed order. */
  function reportKey(name, params) {
    return (
      name +
      JSON.stringify(
        Object.keys(params)
          .sort()
          .map((k) => [k, String(params[k])]),
      )
    );
  }

  async function run(name, params = {}) {
    if (REPORT) {
      const r = REPORT.results[reportKey(name, params)];
      return r === undefined ? null : r;
    }
    const sql = fill(name, params);
    const res = await fetch('/?default_format=JSON', {
      method: 'POST',
      body: sql,
      credentials: 'same-origin',
    });
    const text = await res.text();
    if (!res.ok) throw new Error(text.split('\n')[0].slice(0, 300));
    return JSON.parse(text).data;
  }

  // ---------- time ----------

  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  const dtf = new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const parts = (d) => Object.fromEntries(dtf.formatToParts(d).map((p) => [p.type, p.value]));

  /** ns since epoch (string or BigInt) → local date and time to the ns, in the browser's zone. */
  function fmtNs(ns) {
    const b = BigInt(ns);
    const ms = Number(b / 1000000n);
    const p = parts(new Date(ms));
    const frac = (b % 1000000000n).toString().padStart(9, '0');
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}.${frac}`;
  }

  /** A duration in ns as the unit that suits it. */
  function fmtDur(ns) {
    const n = Number(ns);
    if (!isFinite(n)) return '–';
    if (Math.abs(n) < 1e3) return `${Math.round(n)} ns`;
    if (Math.abs(n) < 1e6) return `${(n / 1e3).toFixed(1)} µs`;
    if (Math.abs(n) < 1e9) return `${(n / 1e6).toFixed(2)} ms`;
    return `${(n / 1e9).toFixed(2)} s`;
  }

  // ---------- drawing helpers ----------

  function svg(tag, attrs = {}, parent) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }
  function el(tag, attrs = {}, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function title(node, text) {
    svg('title', {}, node).textContent = text;
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  function table(headers, rows) {
    const t = el('table');
    const h = t.createTHead().insertRow();
    for (const x of headers) h.appendChild(el('th', {}, x));
    const b = t.createTBody();
    for (const r of rows) {
      const tr = b.insertRow();
      for (const c of r) {
        const td = tr.insertCell();
        if (c instanceof Node) td.appendChild(c);
        else td.textContent = c === null || c === undefined ? '–' : String(c);
      }
    }
    return t;
  }

  /** Latency → colour: green (low) through yellow to red (high), log scale between lo and hi. */
  function heat(v, lo, hi) {
    if (v === null || v === undefined || !isFinite(v)) return '#e6e8eb';
    const a = Math.log(Math.max(lo, 1));
    const b = Math.log(Math.max(hi, lo + 1, 2));
    const t = Math.min(1, Math.max(0, (Math.log(Math.max(v, 1)) - a) / (b - a || 1)));
    const hue = 120 - 120 * t;
    return `hsl(${hue.toFixed(0)}, 70%, ${(48 - 6 * t).toFixed(0)}%)`;
  }
  function legend(node, lo, hi) {
    clear(node);
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const v = Math.exp(
        Math.log(Math.max(lo, 1)) + f * (Math.log(Math.max(hi, 2)) - Math.log(Math.max(lo, 1))),
      );
      const s = el('span');
      const i = el('i');
      i.style.background = heat(v, lo, hi);
      s.appendChild(i);
      s.appendChild(document.createTextNode(fmtDur(v)));
      node.appendChild(s);
    }
  }

  /** A time series chart: series = [{points: [[x, y]], colour, label, axis: 'left'|'right'}]. */
  function lineChart(node, series, opts) {
    clear(node);
    const W = 760;
    const H = 240;
    const m = { l: 58, r: 58, t: 14, b: 34 };
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: opts.cls || '' }, node);
    const xs = series.flatMap((x) => x.points.map((p) => p[0]));
    const x0 = opts.x0 ?? Math.min(...xs);
    const x1 = opts.x1 ?? Math.max(...xs);
    const X = (x) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
    svg('line', { x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b, class: 'axis' }, s);
    for (let i = 0; i <= 5; i++) {
      const x = x0 + ((x1 - x0) * i) / 5;
      svg('text', { x: X(x), y: H - m.b + 14, 'text-anchor': 'middle' }, s).textContent =
        opts.xLabel(x);
    }
    if (opts.shade) {
      const [a, b] = opts.shade;
      svg(
        'rect',
        {
          x: X(a),
          y: m.t,
          width: Math.max(1, X(b) - X(a)),
          height: H - m.t - m.b,
          fill: '#fdecea',
        },
        s,
      );
    }
    for (const side of ['left', 'right']) {
      const on = series.filter((x) => (x.axis || 'left') === side);
      if (!on.length) continue;
      const ys = on.flatMap((x) => x.points.map((p) => p[1]));
      const y1 = Math.max(1, ...ys);
      const Y = (y) => H - m.b - (y / y1) * (H - m.t - m.b);
      for (let i = 0; i <= 4; i++) {
        const y = (y1 * i) / 4;
        svg(
          'text',
          {
            x: side === 'left' ? m.l - 4 : W - m.r + 4,
            y: Y(y) + 4,
            'text-anchor': side === 'left' ? 'end' : 'start',
          },
          s,
        ).textContent = on[0].fmt(y);
      }
      for (const x of on) {
        const d = x.points
          .map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`)
          .join('');
        svg(
          'path',
          { d, fill: 'none', stroke: x.colour, 'stroke-width': 1.5, class: x.cls || '' },
          s,
        );
        for (const p of x.points) {
          const c = svg(
            'circle',
            {
              cx: X(p[0]).toFixed(1),
              cy: Y(p[1]).toFixed(1),
              r: 1.8,
              fill: x.colour,
              class: `pt ${x.cls || ''}`,
            },
            s,
          );
          if (p[2]) title(c, p[2]);
        }
      }
    }
    const lg = el('div', { class: 'legend' });
    for (const x of series) {
      const sp = el('span');
      const i = el('i');
      i.style.background = x.colour;
      sp.appendChild(i);
      sp.appendChild(document.createTextNode(x.label));
      lg.appendChild(sp);
    }
    node.appendChild(lg);
  }

  // ---------- window and live refresh ----------

  function windowParams() {
    return { from: state.win.from, to: state.win.to };
  }

  function computeWindow() {
    const sel = $('window').value;
    const last = BigInt(state.span.last_ns) + 1n;
    const first = BigInt(state.span.first_ns);
    let from = first;
    if (sel !== 'all') {
      const back = BigInt(Math.round(Number(sel) * 1e9));
      from = last - back > first ? last - back : first;
    }
    state.win = { from: from.toString(), to: last.toString() };
  }

  function setStatus(text, error) {
    const s = $('status');
    s.textContent = text;
    s.className = error ? 'status error' : 'status';
  }

  async function refresh(force) {
    if (state.busy) return;
    state.busy = true;
    try {
      const span = (await run('console_span'))[0];
      if (!span || Number(span.records) === 0) {
        setStatus('no data yet: waiting for reports…');
        return;
      }
      // packets, hops and anomalies land in separate writes: any of them changing redraws
      const sig = `${span.records}/${span.hops}/${span.anomalies}`;
      const changed = sig !== state.lastSig;
      state.span = span;
      state.lastSig = sig;
      setStatus(
        `${span.records} packets, ${fmtNs(span.first_ns)} – ${fmtNs(span.last_ns)}${REPORT ? ' (report)' : ' · live'}`,
      );
      if (!changed && !force) return;
      computeWindow();
      await render();
    } catch (e) {
      setStatus(`error: ${e.message}`, true);
    } finally {
      state.busy = false;
    }
  }

  async function render() {
    if (state.view === 'fabric') await renderFabric();
    else if (state.view === 'heatmap') await renderHeatmap();
    else if (state.view === 'anomalies') await renderAnomalies();
    else if (state.view === 'flows' && state.flow) await searchFlow(state.flow);
  }

  // ---------- fabric ----------

  /** Two rows when the links form a bipartite graph (leaf-spine: the larger side below), else a ring. */
  function layout(ids, links, W, H) {
    const adj = new Map(ids.map((i) => [i, new Set()]));
    for (const l of links) {
      adj.get(l.a)?.add(l.b);
      adj.get(l.b)?.add(l.a);
    }
    const side = new Map();
    let bip = true;
    for (const s of ids) {
      if (side.has(s)) continue;
      side.set(s, 0);
      const q = [s];
      while (q.length) {
        const n = q.shift();
        for (const m of adj.get(n)) {
          if (!side.has(m)) {
            side.set(m, 1 - side.get(n));
            q.push(m);
          } else if (side.get(m) === side.get(n)) bip = false;
        }
      }
    }
    const pos = new Map();
    if (bip && ids.length > 1) {
      const a = ids.filter((i) => side.get(i) === 0);
      const b = ids.filter((i) => side.get(i) === 1);
      const [top, bottom] = a.length <= b.length ? [a, b] : [b, a];
      top.forEach((id, i) => pos.set(id, [((i + 1) * W) / (top.length + 1), H * 0.25]));
      bottom.forEach((id, i) => pos.set(id, [((i + 1) * W) / (bottom.length + 1), H * 0.75]));
    } else {
      ids.forEach((id, i) => {
        const t = (2 * Math.PI * i) / ids.length - Math.PI / 2;
        pos.set(id, [W / 2 + Math.cos(t) * W * 0.35, H / 2 + Math.sin(t) * H * 0.38]);
      });
    }
    return pos;
  }

  /** Draws the fabric into `node`; `highlight`: [{path: [ids], colour, dash}] drawn over it. */
  function drawFabric(node, switches, links, highlight = []) {
    clear(node);
    const ids = [
      ...new Set([
        ...switches.map((s) => Number(s.switch_id)),
        ...links.flatMap((l) => [l.a, l.b]),
        ...highlight.flatMap((h) => h.path),
      ]),
    ].sort((a, b) => a - b);
    const W = 760;
    const H = 300;
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'fabric' }, node);
    const pos = layout(ids, links, W, H);
    const p99 = new Map(
      switches.map((x) => [Number(x.switch_id), x.p99 === null ? null : Number(x.p99)]),
    );
    const vals = [...p99.values()].filter((v) => v !== null);
    const lo = Math.min(...vals, Infinity);
    const hi = Math.max(...vals, 0);
    const maxPk = Math.max(1, ...links.map((l) => l.packets));
    const seen = new Set();
    for (const l of links) {
      const k = l.a < l.b ? `${l.a}-${l.b}` : `${l.b}-${l.a}`;
      const both = links.filter(
        (x) => (x.a === l.a && x.b === l.b) || (x.a === l.b && x.b === l.a),
      );
      if (seen.has(k)) continue;
      seen.add(k);
      const pk = both.reduce((n, x) => n + x.packets, 0);
      const worst = Math.max(...both.map((x) => p99.get(x.a) ?? 0));
      const [x1, y1] = pos.get(l.a);
      const [x2, y2] = pos.get(l.b);
      const line = svg(
        'line',
        {
          x1,
          y1,
          x2,
          y2,
          stroke: heat(worst, lo, hi),
          'stroke-width': (1.5 + (5 * pk) / maxPk).toFixed(1),
          'stroke-opacity': 0.75,
          class: 'link',
          'data-link': k,
        },
        s,
      );
      title(
        line,
        `${l.a} ↔ ${l.b}: ${pk} packets; p99 at the sending switch up to ${fmtDur(worst)}`,
      );
    }
    for (const h of highlight) {
      for (let i = 0; i + 1 < h.path.length; i++) {
        const [x1, y1] = pos.get(h.path[i]);
        const [x2, y2] = pos.get(h.path[i + 1]);
        const off = h.offset || 0;
        svg(
          'line',
          {
            x1: x1 + off,
            y1: y1 + off,
            x2: x2 + off,
            y2: y2 + off,
            stroke: h.colour,
            'stroke-width': 4,
            'stroke-dasharray': h.dash || '',
            'marker-end': '',
            class: `hl ${h.cls || ''}`,
          },
          s,
        );
      }
    }
    for (const id of ids) {
      const [x, y] = pos.get(id);
      const v = p99.get(id);
      const g = svg('g', { class: 'switch', 'data-switch': id }, s);
      svg('circle', { cx: x, cy: y, r: 20, fill: heat(v, lo, hi), class: 'node' }, g);
      svg('text', { x, y: y + 4, 'text-anchor': 'middle' }, g).textContent = String(id);
      if (v !== null && v !== undefined)
        svg('text', { x, y: y + 34, 'text-anchor': 'middle' }, g).textContent = `p99 ${fmtDur(v)}`;
      title(
        g,
        `switch ${id}: p99 hop latency ${v === null || v === undefined ? 'n/a' : fmtDur(v)}`,
      );
    }
    return { lo, hi };
  }

  async function fabricData() {
    const w = windowParams();
    const [switches, links] = await Promise.all([
      run('console_switches', w),
      run('console_links', w),
    ]);
    return {
      switches: switches || [],
      links: (links || []).map((l) => ({
        a: Number(l.a),
        b: Number(l.b),
        packets: Number(l.packets),
      })),
    };
  }

  async function renderFabric() {
    const { switches, links } = await fabricData();
    const r = drawFabric($('fabric'), switches, links);
    legend($('fabric-legend'), r.lo, r.hi);
  }

  // ---------- heatmap ----------

  /** Which fine level and how many of its buckets per cell, for at most ~120 cells. */
  function heatmapLevel() {
    const span = Number(BigInt(state.win.to) - BigInt(state.win.from));
    const fine = span <= 2e9;
    const width = fine ? 1e5 : 1e7;
    const step = Math.max(1, Math.ceil(span / width / 120));
    return { name: fine ? 'console_heatmap_100us' : 'console_heatmap_10ms', width, step };
  }

  async function renderHeatmap() {
    const lv = heatmapLevel();
    const w = windowParams();
    const [cells, slow] = await Promise.all([
      run(lv.name, { ...w, step: lv.step }),
      run('console_slowest_hops', w),
    ]);
    $('heatmap-res').textContent =
      `switch / egress port / queue × time, cells of ${fmtDur(lv.width * lv.step)}, colour = max hop latency`;
    const node = clear($('heatmap'));
    const rows = [
      ...new Set((cells || []).map((c) => `${c.switch_id}/${c.egress_port}/${c.queue_id}`)),
    ];
    if (!rows.length) {
      node.appendChild(el('p', { class: 'empty' }, 'no hops in this window'));
    } else {
      const cw = Number(lv.width * lv.step);
      const f = BigInt(state.win.from);
      const t0 = Number((f / BigInt(cw)) * BigInt(cw) - f);
      const ncol = Math.ceil((Number(BigInt(state.win.to) - f) - t0) / cw);
      const L = 120;
      const cellW = Math.max(4, Math.min(24, Math.floor(640 / Math.max(1, ncol))));
      const cellH = 16;
      const W = L + ncol * cellW + 10;
      const H = rows.length * cellH + 36;
      const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, class: 'heatmap' }, node);
      const lat = cells.map((c) => Number(c.max_latency)).filter((v) => v > 0);
      const lo = Math.min(...lat);
      const hi = Math.max(...lat);
      rows.forEach((r, i) => {
        const [sw, port, q] = r.split('/');
        const t = svg(
          'text',
          { x: L - 6, y: i * cellH + 12, 'text-anchor': 'end', class: 'row-label', 'data-hop': r },
          s,
        );
        t.textContent = `sw ${sw} · port ${port} · q ${q}`;
      });
      for (const c of cells) {
        const r = rows.indexOf(`${c.switch_id}/${c.egress_port}/${c.queue_id}`);
        const col = Math.floor((Number(BigInt(c.t_ns) - f) - t0) / cw);
        const rect = svg(
          'rect',
          {
            x: L + col * cellW,
            y: r * cellH + 1,
            width: cellW - 1,
            height: cellH - 2,
            fill: heat(Number(c.max_latency), lo, hi),
            class: 'cell',
            'data-hop': `${c.switch_id}/${c.egress_port}/${c.queue_id}`,
          },
          s,
        );
        title(
          rect,
          `switch ${c.switch_id} port ${c.egress_port} queue ${c.queue_id}\n${fmtNs(c.t_ns)}\n${c.hops} hops, max ${fmtDur(c.max_latency)}, mean ${fmtDur(c.mean_latency)}, max occupancy ${c.max_occupancy}`,
        );
      }
      for (let i = 0; i <= 4; i++) {
        const col = Math.round((ncol * i) / 4);
        const ns = f + BigInt(Math.round(t0 + col * cw));
        const tx = svg(
          'text',
          {
            x: L + col * cellW,
            y: rows.length * cellH + 14,
            'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle',
          },
          s,
        );
        tx.textContent = fmtNs(ns).slice(11, 26);
      }
      legend($('heatmap-legend'), lo, hi);
    }
    const sl = clear($('slowest'));
    sl.appendChild(
      table(
        ['switch', 'egress port', 'queue', 'hops', 'p50', 'p99', 'max', 'max occupancy'],
        (slow || []).map((r) => [
          r.switch_id,
          r.egress_port,
          r.queue_id,
          r.hops,
          fmtDur(r.p50),
          fmtDur(r.p99),
          fmtDur(r.max_latency),
          r.max_occupancy,
        ]),
      ),
    );
  }

  // ---------- anomalies ----------

  const TYPE_COLOUR = { microburst: '#c62828', microloop: '#6a1b9a', path_change: '#1f6feb' };
  const flowText = (f) => `${f.srcAddr}:${f.srcPort} → ${f.dstAddr}:${f.dstPort}/${f.protocol}`;

  async function renderAnomalies() {
    const rows = (await run('console_anomalies', windowParams())) || [];
    state.anomalies = rows.map((r) => ({ ...r, d: JSON.parse(r.details) }));
    const node = clear($('timeline'));
    if (!rows.length) {
      node.appendChild(el('p', { class: 'empty' }, 'no anomalies in this window'));
    } else {
      const types = [...new Set(state.anomalies.map((a) => a.type))].sort();
      const W = 760;
      const H = types.length * 26 + 40;
      const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'timeline' }, node);
      const f = BigInt(state.win.from);
      const span = Number(BigInt(state.win.to) - f) || 1;
      const X = (ns) => 110 + (Number(BigInt(ns) - f) / span) * (W - 130);
      types.forEach((t, i) => {
        svg('text', { x: 104, y: i * 26 + 22, 'text-anchor': 'end' }, s).textContent = t;
        svg('line', { x1: 110, y1: i * 26 + 18, x2: W - 20, y2: i * 26 + 18, class: 'axis' }, s);
      });
      for (const a of state.anomalies) {
        const i = types.indexOf(a.type);
        const x = X(a.from_ns);
        const w = Math.max(6, X(a.to_ns) - x);
        const r = svg(
          'rect',
          {
            x: x - (w === 6 ? 3 : 0),
            y: i * 26 + 10,
            width: w,
            height: 16,
            rx: 3,
            fill: TYPE_COLOUR[a.type] || '#555',
            class: 'anomaly-mark',
            'data-id': a.id,
            tabindex: 0,
          },
          s,
        );
        title(
          r,
          `${a.type} ${fmtNs(a.from_ns)} (${fmtDur(Number(BigInt(a.to_ns) - BigInt(a.from_ns)))})`,
        );
        r.addEventListener('click', () => drill(a.id));
      }
      for (let i = 0; i <= 4; i++) {
        const ns = f + BigInt(Math.round((span * i) / 4));
        svg(
          'text',
          { x: X(ns), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' },
          s,
        ).textContent = fmtNs(ns).slice(11, 26);
      }
    }
    const list = clear($('anomaly-list'));
    const t = table(
      ['type', 'start', 'duration', 'where', 'packets'],
      state.anomalies.map((a) => [
        a.type,
        fmtNs(a.from_ns),
        fmtDur(Number(BigInt(a.to_ns) - BigInt(a.from_ns))),
        where(a),
        a.packets,
      ]),
    );
    [...t.tBodies[0].rows].forEach((tr, i) => {
      tr.className = 'pick anomaly-row';
      tr.dataset.id = state.anomalies[i].id;
      tr.dataset.type = state.anomalies[i].type;
      tr.addEventListener('click', () => drill(state.anomalies[i].id));
    });
    list.appendChild(t);
    if (state.selected && state.anomalies.some((a) => a.id === state.selected))
      await drill(state.selected);
  }

  function where(a) {
    const d = a.d;
    if (a.type === 'microburst')
      return `switch ${d.switchId} port ${d.egressPort} queue ${d.queueId}`;
    if (a.type === 'microloop') return `cycle ${[...d.switches, d.switches[0]].join(' → ')}`;
    if (a.type === 'path_change' && d.flow)
      return `${flowText(d.flow)}: ${d.oldPath.join('→')} ⇒ ${d.newPath.join('→')}`;
    return a.switch_id !== null ? `switch ${a.switch_id}` : '';
  }

  /**
   * Opens an anomaly's drill-down. Built off-page and swapped in at the end, and only by the
   * latest call: a click and a live refresh may both be drawing it.
   */
  async function drill(id) {
    const gen = (state.drillGen = (state.drillGen || 0) + 1);
    state.selected = id;
    for (const tr of document.querySelectorAll('.anomaly-row'))
      tr.classList.toggle('sel', tr.dataset.id === id);
    const a = state.anomalies.find((x) => x.id === id);
    if (!a) return;
    const node = el('div', { class: 'drill-body' });
    node.appendChild(
      el(
        'h2',
        {},
        `${a.type} · ${fmtNs(a.from_ns)} · ${fmtDur(Number(BigInt(a.to_ns) - BigInt(a.from_ns)))}`,
      ),
    );
    if (a.type === 'microburst') await drillBurst(node, a);
    else if (a.type === 'microloop') await drillLoop(node, a);
    else if (a.type === 'path_change') await drillPathChange(node, a);
    else node.appendChild(el('pre', {}, JSON.stringify(a.d, null, 2)));
    if (gen !== state.drillGen) return;
    const box = clear($('drill'));
    box.dataset.type = a.type;
    box.appendChild(node);
  }

  /** The window a drill-down draws: the episode and 20% of its length (at least 20 µs) either side. */
  function around(a) {
    const s = BigInt(a.from_ns);
    const e = BigInt(a.to_ns);
    let m = (e - s) / 5n;
    if (m < 20000n) m = 20000n;
    return { from: (s - m).toString(), to: (e + m + 1n).toString() };
  }

  function flowLink(f) {
    const x = el('a', { class: 'flow', role: 'link', tabindex: 0 }, flowText(f));
    x.addEventListener('click', () => {
      showView('flows');
      const form = $('flow-form');
      form.src.value = f.srcAddr;
      form.dst.value = f.dstAddr;
      form.src_port.value = f.srcPort;
      form.dst_port.value = f.dstPort;
      form.protocol.value = f.protocol;
      searchFlow({
        src: f.srcAddr,
        dst: f.dstAddr,
        src_port: f.srcPort,
        dst_port: f.dstPort,
        protocol: f.protocol,
      });
    });
    return x;
  }

  async function drillBurst(node, a) {
    const d = a.d;
    node.appendChild(
      el(
        'p',
        {},
        `switch ${d.switchId} port ${d.egressPort} queue ${d.queueId}: peak occupancy ${d.peakOccupancy}, peak latency ${fmtDur(d.peakLatency)} (baseline ${fmtDur(d.baselineLatency)}), ${a.packets} packets`,
      ),
    );
    const w = around(a);
    const rows =
      (await run('console_queue_series', {
        switch: d.switchId,
        port: d.egressPort,
        queue: d.queueId,
        ...w,
      })) || [];
    const s0 = BigInt(a.from_ns);
    const rel = (ns) => Number(BigInt(ns) - s0) / 1000;
    const chart = el('div', { class: 'chart burst-chart' });
    node.appendChild(chart);
    const tip = (r) =>
      `${fmtNs(r.t_ns)}\n${r.src}:${r.src_port} → ${r.dst}:${r.dst_port}\nlatency ${fmtDur(r.hop_latency)}, occupancy ${r.queue_occupancy}`;
    lineChart(
      chart,
      [
        {
          label: 'queue occupancy',
          colour: '#1f6feb',
          axis: 'left',
          cls: 'occupancy',
          fmt: (y) => String(Math.round(y)),
          points: rows
            .filter((r) => r.queue_occupancy !== null)
            .map((r) => [rel(r.t_ns), Number(r.queue_occupancy), tip(r)]),
        },
        {
          label: 'hop latency',
          colour: '#c62828',
          axis: 'right',
          cls: 'latency',
          fmt: (y) => fmtDur(y),
          points: rows
            .filter((r) => r.hop_latency !== null)
            .map((r) => [rel(r.t_ns), Number(r.hop_latency), tip(r)]),
        },
      ],
      {
        x0: rel(w.from),
        x1: rel(w.to),
        xLabel: (x) => `${x.toFixed(0)} µs`,
        shade: [0, rel(a.to_ns)],
        cls: 'burst',
      },
    );
    node.appendChild(
      el(
        'p',
        { class: 'empty' },
        `time in µs from the start of the episode (${fmtNs(a.from_ns)}, ${zone}); shaded: the episode`,
      ),
    );
    const share = (f, cls) => {
      const span = el('span');
      const bar = el('i', { class: `bar ${cls}` });
      bar.style.width = `${Math.round(f.share * 120)}px`;
      span.appendChild(bar);
      span.appendChild(document.createTextNode(`${(f.share * 100).toFixed(1)}%`));
      return span;
    };
    const t = table(
      ['role', 'flow', "share of the episode's packets", 'packets', 'max latency'],
      [
        ...(d.aggressors || []).map((f) => [
          'aggressor',
          flowLink(f),
          share(f, ''),
          f.packets,
          fmtDur(f.maxLatency),
        ]),
        ...(d.victims || []).map((f) => [
          'victim',
          flowLink(f),
          share(f, 'victim'),
          f.packets,
          fmtDur(f.maxLatency),
        ]),
      ],
    );
    [...t.tBodies[0].rows].forEach((tr) => (tr.className = `flow-row ${tr.cells[0].textContent}`));
    const box = el('div', { class: 'scroll' });
    box.appendChild(t);
    node.appendChild(box);
  }

  async function drillLoop(node, a) {
    const d = a.d;
    const cycle = [...d.switches, d.switches[0]];
    node.appendChild(
      el(
        'p',
        { class: 'cycle' },
        `cycle ${cycle.join(' → ')}, ${a.packets} packets, ${(d.flows || []).length} flows`,
      ),
    );
    const { switches, links } = await fabricData();
    const fab = el('div', { class: 'chart loop-fabric' });
    node.appendChild(fab);
    drawFabric(fab, switches, links, [{ path: cycle, colour: '#6a1b9a', cls: 'cycle' }]);
    const rows = (await run('console_loop_packets', around(a))) || [];
    const t = table(
      ['time', 'flow', 'path'],
      rows
        .slice(0, 200)
        .map((r) => [
          fmtNs(r.t_ns),
          `${r.src}:${r.src_port} → ${r.dst}:${r.dst_port}/${r.protocol}`,
          r.path.join(' → '),
        ]),
    );
    const box = el('div', { class: 'scroll' });
    box.appendChild(t);
    node.appendChild(box);
  }

  async function drillPathChange(node, a) {
    const d = a.d;
    node.appendChild(el('p', {}, '')).appendChild(flowLink(d.flow));
    for (const [label, p, cls] of [
      ['old path', d.oldPath, 'old'],
      ['new path', d.newPath, 'new'],
    ]) {
      const div = el('div', { class: `path ${cls}` });
      div.appendChild(el('span', {}, `${label}:`));
      p.forEach((s, i) => {
        if (i) div.appendChild(el('span', {}, '→'));
        div.appendChild(el('b', {}, s));
      });
      node.appendChild(div);
    }
    const { switches, links } = await fabricData();
    const fab = el('div', { class: 'chart change-fabric' });
    node.appendChild(fab);
    drawFabric(fab, switches, links, [
      { path: d.oldPath, colour: '#7a8796', dash: '6 4', cls: 'old', offset: -3 },
      { path: d.newPath, colour: '#1f6feb', cls: 'new', offset: 3 },
    ]);
    node.appendChild(el('p', { class: 'empty' }, 'grey dashed: old path; blue: new path'));
  }

  // ---------- flows ----------

  async function searchFlow(f) {
    const gen = (state.flowGen = (state.flowGen || 0) + 1);
    state.flow = f;
    const out = el('div');
    try {
      await flowInto(out, f);
    } finally {
      if (gen === state.flowGen) clear($('flow-result')).appendChild(out);
    }
  }

  async function flowInto(out, f) {
    let rows;
    try {
      rows = await run('console_flow', { ...f, ...windowParams() });
    } catch (e) {
      out.appendChild(el('p', { class: 'empty' }, e.message));
      return;
    }
    if (rows === null) {
      out.appendChild(
        el(
          'p',
          { class: 'empty' },
          'this flow is not in the report (a report holds the flows of its anomalies)',
        ),
      );
      return;
    }
    if (!rows.length) {
      out.appendChild(el('p', { class: 'empty' }, 'no packets of this flow in the window'));
      return;
    }
    const segs = [];
    for (const r of rows) {
      const p = r.path.join(' → ');
      const last = segs[segs.length - 1];
      if (last && last.p === p) {
        last.n++;
        last.to = r.t_ns;
      } else segs.push({ p, from: r.t_ns, to: r.t_ns, n: 1 });
    }
    out.appendChild(el('h2', {}, `${rows.length} packets, ${segs.length} path segment(s)`));
    const box = el('div', { class: 'scroll' });
    box.appendChild(
      table(
        ['path', 'from', 'to', 'packets'],
        segs.map((s) => [s.p, fmtNs(s.from), fmtNs(s.to), s.n]),
      ),
    );
    out.appendChild(box);
    const chart = el('div', { class: 'chart flow-chart' });
    out.appendChild(chart);
    const s0 = BigInt(rows[0].t_ns);
    const pts = rows
      .filter((r) => r.e2e_latency !== null)
      .map((r) => [
        Number(BigInt(r.t_ns) - s0) / 1000,
        Number(r.e2e_latency),
        `${fmtNs(r.t_ns)}: ${fmtDur(r.e2e_latency)} via ${r.path.join('→')}`,
      ]);
    if (pts.length) {
      lineChart(
        chart,
        [
          {
            label: 'end-to-end latency (sum of hop latencies)',
            colour: '#1f6feb',
            fmt: fmtDur,
            points: pts,
          },
        ],
        { xLabel: (x) => `${x.toFixed(0)} µs` },
      );
      out.appendChild(
        el(
          'p',
          { class: 'empty' },
          `time in µs from the first packet (${fmtNs(rows[0].t_ns)}, ${zone})`,
        ),
      );
    }
  }

  // ---------- wiring ----------

  function showView(v) {
    state.view = v;
    for (const b of document.querySelectorAll('#tabs button'))
      b.classList.toggle('on', b.dataset.view === v);
    for (const s of document.querySelectorAll('.view'))
      s.classList.toggle('on', s.id === `view-${v}`);
  }

  async function start() {
    $('zone').textContent =
      `Times in ${zone}, to the nanosecond. ${REPORT ? `Report of ${REPORT.capture}, made ${REPORT.made}.` : 'Live: refreshed every 2 s while reports arrive.'}`;
    for (const b of document.querySelectorAll('#tabs button'))
      b.addEventListener('click', () => {
        showView(b.dataset.view);
        if (state.span) render().catch((e) => setStatus(`error: ${e.message}`, true));
      });
    $('window').addEventListener('change', () => {
      if (!state.span) return;
      computeWindow();
      render().catch((e) => setStatus(`error: ${e.message}`, true));
    });
    $('flow-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = ev.target;
      searchFlow({
        src: f.src.value.trim(),
        dst: f.dst.value.trim(),
        src_port: f.src_port.value.trim(),
        dst_port: f.dst_port.value.trim(),
        protocol: f.protocol.value.trim(),
      });
    });
    if (REPORT) {
      state.queries = REPORT.queries;
      $('window').disabled = true;
    } else {
      const r = await fetch('/console/queries.json', { credentials: 'same-origin' });
      state.queries = await r.json();
    }
    const hash = location.hash.replace('#', '');
    if (['fabric', 'heatmap', 'anomalies', 'flows'].includes(hash)) showView(hash);
    await refresh(true);
    if (!REPORT) setInterval(() => refresh(false), 2000);
  }

  // what the tests and the report builder read
  window.hopwatchConsole = { state, reportKey, fill, showView, drill, refresh };
  start().catch((e) => setStatus(`error: ${e.message}`, true));
})();
