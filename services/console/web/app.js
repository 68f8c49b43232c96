// Streamwright console page: reads /api/pipeline and /api/history once, then follows
// /api/events (Server-Sent Events; polling /api/snapshot when streams are not available).
// Every number shown is what the API says, with its age; text from records is inserted as text.
'use strict';

(function () {
  const state = {
    pipeline: null,
    snapshot: null,
    history: null,          // { t: [ms], stages: { name: { series: [] } } }
    clockOffset: 0,         // server clock minus this browser's clock, ms
    lastUpdate: 0,          // browser time of the last snapshot received
    mode: 'connecting',     // events, polling, unreachable
    unreachableSince: 0,
    charts: {},
    graph: null,            // node elements by id
    events: null,
    pollTimer: null,
  };
  const COLORS = ['#2563eb', '#d97706', '#059669', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#db2777'];

  // ---- small helpers --------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }
  const nowServer = () => Date.now() + state.clockOffset;
  const isNum = (v) => typeof v === 'number' && isFinite(v);
  function fmtNum(v, digits) {
    if (!isNum(v)) return '–';
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(digits === undefined ? 1 : digits);
  }
  const fmtRate = (v) => (isNum(v) ? fmtNum(v) + '/s' : '–');
  function fmtBytes(v) {
    if (!isNum(v)) return '–';
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + u[i];
  }
  function fmtSeconds(v) {
    if (!isNum(v)) return '–';
    if (v < 0.001) return (v * 1e6).toFixed(0) + ' µs';
    if (v < 1) return (v * 1000).toFixed(v < 0.01 ? 2 : 1) + ' ms';
    if (v < 120) return v.toFixed(1) + ' s';
    if (v < 7200) return (v / 60).toFixed(1) + ' min';
    return (v / 3600).toFixed(1) + ' h';
  }
  function fmtTime(ms) {
    if (!isNum(ms) || ms <= 0) return '–';
    const d = new Date(ms);
    return d.toLocaleTimeString([], { hour12: false });
  }
  function fmtAge(ms) {
    if (!isNum(ms) || ms <= 0) return 'never';
    const s = Math.max(0, (nowServer() - ms) / 1000);
    if (s < 1.5) return 'now';
    if (s < 90) return Math.round(s) + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    return Math.round(s / 3600) + ' h ago';
  }
  // A span whose text is the age of `ms`, refreshed every second.
  function age(ms, prefix) {
    return el('span', { class: 'age', 'data-at': isNum(ms) ? String(ms) : '', 'data-prefix': prefix || '' },
      (prefix || '') + fmtAge(ms));
  }
  function refreshAges() {
    for (const e of document.querySelectorAll('.age')) {
      const ms = Number(e.getAttribute('data-at'));
      e.textContent = (e.getAttribute('data-prefix') || '') + fmtAge(ms || 0);
    }
    updateConnection();
  }
  async function getJSON(path) {
    const r = await fetch(path, { cache: 'no-store' });
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  // ---- connection and header ---------------------------------------------------------------
  function updateConnection() {
    const pill = document.getElementById('conn-pill');
    const banner = document.getElementById('banner');
    if (state.mode === 'unreachable') {
      pill.dataset.state = 'down';
      pill.textContent = 'console unreachable';
      banner.hidden = false;
      banner.textContent = 'The console itself does not answer since ' + fmtTime(state.unreachableSince) +
        ' (this browser\'s clock). What you see is as of ' +
        (state.lastUpdate ? fmtTime(state.lastUpdate) : 'never') + '; retrying.';
      return;
    }
    banner.hidden = true;
    const staleFor = state.lastUpdate ? (Date.now() - state.lastUpdate) / 1000 : 0;
    pill.dataset.state = state.mode === 'connecting' ? 'waiting' : staleFor > 10 ? 'partial' : 'up';
    pill.textContent = state.mode === 'events' ? 'live (server-sent events)' :
      state.mode === 'polling' ? 'live (polling)' : 'connecting…';
    if (state.lastUpdate) pill.title = 'last update ' + Math.round(staleFor) + ' s ago';
  }

  function renderHeader(st) {
    const k = st.kafka;
    const kp = document.getElementById('kafka-pill');
    kp.dataset.state = k.state;
    if (k.state === 'up') kp.textContent = 'Kafka up (' + k.bootstrap_servers + ')';
    else if (k.state === 'partial') kp.textContent = 'Kafka partial: ' + k.failed_requests + ' failed requests';
    else if (k.state === 'down') kp.textContent = 'Kafka DOWN since ' + fmtTime(k.down_since_ms) + ', last seen ' +
      (k.last_seen_ms ? fmtTime(k.last_seen_ms) : 'never');
    else kp.textContent = 'Kafka: waiting for the first answer';
    kp.title = (k.errors || []).join('\n') || 'bootstrap ' + k.bootstrap_servers;
    const mp = document.getElementById('metrics-pill');
    let up = 0, known = 0;
    for (const s of st.stages) { up += s.replicas_up; known += s.replicas_known; }
    known += st.unattributed.length;
    mp.dataset.state = !st.metrics_scraped ? 'waiting' : known === 0 ? 'waiting' : up === known ? 'up' : up === 0 ? 'down' : 'partial';
    mp.textContent = 'metrics: ' + up + '/' + known + ' endpoints answer';
    mp.title = st.metrics_source;
  }

  // ---- topology graph ----------------------------------------------------------------------
  // Columns by data flow: input topics, the stages reading them, the topics those write, the
  // stages reading those, ...; a stage's stores sit below it, their changelogs beside them.
  function layout(p) {
    const topicRole = {};
    for (const t of p.topics) if (!topicRole[t.name]) topicRole[t.name] = t.role;
    for (const s of p.stages) for (const t of s.input_topics) if (!topicRole[t]) topicRole[t] = 'input';
    const writes = (s) => [...s.repartition_topics, ...s.output_topics, ...s.dead_letter_topics];
    const col = {};
    const writer = {};
    for (const s of p.stages) for (const t of writes(s)) writer[t] = s.name;
    const stageCol = {};
    const colOfTopic = (t, depth) => {
      if (col['topic:' + t] !== undefined) return col['topic:' + t];
      if (!writer[t] || depth > 20) return (col['topic:' + t] = 0);
      return (col['topic:' + t] = colOfStage(p.stages.find((s) => s.name === writer[t]), depth + 1) + 1);
    };
    const colOfStage = (s, depth) => {
      if (stageCol[s.name] !== undefined) return stageCol[s.name];
      let c = 1;
      for (const t of s.input_topics) c = Math.max(c, colOfTopic(t, depth + 1) + 1);
      return (stageCol[s.name] = c);
    };
    for (const s of p.stages) colOfStage(s, 0);
    for (const t of Object.keys(topicRole)) colOfTopic(t, 0);
    const nodes = [];
    const add = (id, kind, label, c, extra) => nodes.push(Object.assign({ id, kind, label, col: c }, extra || {}));
    const order = { input: 0, repartition: 1, output: 2, dead_letter: 3, changelog: 4 };
    const topics = Object.keys(topicRole).filter((t) => topicRole[t] !== 'changelog')
      .sort((a, b) => order[topicRole[a]] - order[topicRole[b]]);
    for (const t of topics) add('topic:' + t, 'topic', t, col['topic:' + t], { role: topicRole[t] });
    for (const s of p.stages) {
      add('stage:' + s.name, 'stage', s.name, stageCol[s.name], { stage: s });
      s.stores.forEach((store, i) => {
        add('store:' + store, 'store', store, stageCol[s.name], { stage: s });
        if (s.changelogs[i]) add('topic:' + s.changelogs[i], 'topic', s.changelogs[i], stageCol[s.name] + 1,
          { role: 'changelog', besideStore: 'store:' + store });
      });
    }
    const edges = [];
    for (const s of p.stages) {
      for (const t of s.input_topics) edges.push({ from: 'topic:' + t, to: 'stage:' + s.name });
      for (const t of writes(s)) edges.push({ from: 'stage:' + s.name, to: 'topic:' + t, kind: topicRole[t] });
      s.stores.forEach((store, i) => {
        edges.push({ from: 'stage:' + s.name, to: 'store:' + store, kind: 'store' });
        if (s.changelogs[i]) edges.push({ from: 'store:' + store, to: 'topic:' + s.changelogs[i], kind: 'changelog' });
      });
    }
    // Sizes and positions.
    const W = { stage: 210, topic: 196, store: 170 }, H = { stage: 104, topic: 56, store: 50 };
    const colW = 250, gap = 22, top = 12, left = 12;
    const colY = {};
    const placeOrder = [...nodes].sort((a, b) => (a.besideStore ? 1 : 0) - (b.besideStore ? 1 : 0));
    const byId = {};
    for (const n of placeOrder) {
      n.w = W[n.kind]; n.h = H[n.kind];
      n.x = left + n.col * colW + (colW - 24 - n.w) / 2;
      let y = colY[n.col] === undefined ? top : colY[n.col];
      if (n.besideStore && byId[n.besideStore]) y = Math.max(y, byId[n.besideStore].y - 3);
      n.y = y;
      colY[n.col] = y + n.h + gap;
      byId[n.id] = n;
    }
    const width = Math.max(...nodes.map((n) => n.x + n.w)) + left;
    const height = Math.max(...nodes.map((n) => n.y + n.h)) + top;
    return { nodes, edges, byId, width, height };
  }

  function buildGraph(p) {
    const g = layout(p);
    const root = svg('svg', { viewBox: `0 0 ${g.width} ${g.height}`, width: g.width, height: g.height,
      role: 'img', 'aria-label': 'topology of ' + p.pipeline, class: 'topology' });
    root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#64748b' }))));
    for (const e of g.edges) {
      const a = g.byId[e.from], b = g.byId[e.to];
      if (!a || !b) continue;
      let d;
      if (a.col === b.col) {
        d = `M${a.x + a.w / 2},${a.y + a.h} L${b.x + b.w / 2},${b.y}`;
      } else {
        const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2, mx = (x1 + x2) / 2;
        d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 2},${y2}`;
      }
      root.append(svg('path', { d, class: 'edge ' + (e.kind || ''), 'marker-end': e.kind === 'store' ? null : 'url(#arrow)' }));
    }
    const nodes = {};
    for (const n of g.nodes) {
      const grp = svg('g', { class: 'node ' + n.kind + (n.role ? ' ' + n.role : ''), 'data-node': n.id,
        transform: `translate(${n.x},${n.y})`, 'data-state': n.kind === 'stage' ? 'unknown' : null });
      root.append(grp);
      const title = svg('title', { text: n.label });
      grp.append(title);
      if (n.kind === 'store') {
        grp.append(svg('path', { class: 'shape', d: `M0,7 a${n.w / 2},7 0 0,1 ${n.w},0 v${n.h - 14} a${n.w / 2},7 0 0,1 -${n.w},0 z` }));
        grp.append(svg('path', { class: 'rim', d: `M0,7 a${n.w / 2},7 0 0,0 ${n.w},0` }));
      } else {
        grp.append(svg('rect', { class: 'shape', width: n.w, height: n.h, rx: n.kind === 'stage' ? 10 : 4 }));
      }
      const lines = [];
      const text = (y, cls, t) => {
        const e = svg('text', { x: 10, y, class: cls, text: t });
        grp.append(e);
        return e;
      };
      if (n.kind === 'stage') {
        lines.push(text(20, 'name', n.label + (n.stage.kind === 'sink' ? ' (sink)' : '')));
        const pill = svg('text', { x: n.w - 10, y: 20, class: 'state', 'text-anchor': 'end', text: '…' });
        grp.append(pill);
        const rates = text(40, 'num', 'in – · done –');
        const lag = text(58, 'num', 'lag –');
        const reps = text(76, 'num', 'replicas –');
        const group = text(95, 'small', 'group ' + n.stage.group);
        nodes[n.id] = { grp, pill, rates, lag, reps, group, title, node: n };
      } else if (n.kind === 'topic') {
        text(20, 'name', shorten(n.label, 28));
        const nums = text(40, 'num', '–');
        nodes[n.id] = { grp, nums, title, node: n };
      } else {
        text(26, 'name', shorten(n.label, 24));
        const nums = text(42, 'num', '–');
        nodes[n.id] = { grp, nums, title, node: n };
      }
    }
    const host = document.getElementById('graph');
    host.replaceChildren(root);
    state.graph = nodes;
  }
  function shorten(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

  function renderGraph(st) {
    if (!state.graph) return;
    for (const s of st.stages) {
      const n = state.graph['stage:' + s.name];
      if (!n) continue;
      n.grp.setAttribute('data-state', s.state);
      n.pill.textContent = stateLabel(s);
      n.rates.textContent = 'in ' + fmtRate(s.input_records_per_second) + ' · done ' + fmtRate(s.processed_records_per_second);
      n.lag.textContent = 'lag ' + (isNum(s.lag.records) ? fmtNum(s.lag.records) + ' rec' : '–') +
        (isNum(s.lag.max_seconds) ? ' · ' + fmtSeconds(s.lag.max_seconds) : '');
      if (s.state === 'down') {
        const last = Math.max(0, ...s.replicas.map((r) => r.last_seen_ms || 0));
        n.reps.textContent = 'DOWN · last seen ' + (last ? fmtTime(last) : 'never');
      } else {
        n.reps.textContent = 'replicas ' + s.replicas_up + '/' + s.replicas_known + ' up · ' + s.replicas_ready + ' ready';
      }
      n.title.textContent = s.name + ' (' + s.kind + '), consumer group ' + s.group + '\n' +
        s.replicas.map((r) => r.id + ': ' + r.state + (r.error ? ' (' + r.error + ')' : '')).join('\n');
    }
    const topics = {};
    for (const t of st.topics) topics[t.name] = t;
    for (const [id, n] of Object.entries(state.graph)) {
      if (n.node.kind === 'topic') {
        const t = topics[n.node.label];
        if (!t || !t.partitions.length) { n.nums.textContent = st.kafka.state === 'down' ? 'Kafka down' : 'not read yet'; continue; }
        n.nums.textContent = t.partitions.length + ' part. · ' + fmtNum(t.records) + ' rec · +' + fmtRate(t.append_rate);
        n.title.textContent = t.name + ' (' + t.role + ')\n' + t.partitions.map((p) => 'partition ' + p.partition + ': offsets ' +
          p.low + '..' + p.high).join('\n');
      } else if (n.node.kind === 'store') {
        const s = st.stages.find((x) => x.name === n.node.stage.name);
        const stores = n.node.stage.stores.length;
        n.nums.textContent = s && isNum(s.state_store_keys) ? fmtNum(s.state_store_keys) + ' keys · ' + fmtBytes(s.state_store_bytes) +
          (stores > 1 ? ' (stage)' : '') : '–';
      }
      void id;
    }
  }
  function stateLabel(s) {
    return { up: 'UP', partial: 'PARTIAL', down: 'DOWN', unknown: 'NO METRICS' }[s.state] || s.state;
  }

  // ---- stage cards -----------------------------------------------------------------------------
  function kpi(label, value, sub, field) {
    return el('div', { class: 'kpi', 'data-field': field || null }, el('div', { class: 'label', text: label }),
      el('div', { class: 'value', text: value }), sub ? el('div', { class: 'sub' }, sub) : null);
  }
  function renderStages(st) {
    const host = document.getElementById('stages');
    const cards = [];
    for (const s of st.stages) {
      const card = el('article', { class: 'stage-card', 'data-stage': s.name, 'data-state': s.state });
      const metricsAge = s.metrics_at_ms ? age(s.metrics_at_ms, 'metrics ') : el('span', { text: 'no metrics' });
      card.append(el('header', {},
        el('h3', { text: s.name + (s.kind === 'sink' ? ' (sink)' : '') }),
        el('span', { class: 'pill', 'data-state': s.state, text: stateLabel(s) }),
        el('span', { class: 'muted', text: s.kind + ' · group ' + s.group + ' · ' }), metricsAge));
      if (s.state === 'down' || s.state === 'partial') {
        for (const r of s.replicas.filter((x) => x.state !== 'up')) {
          card.append(el('p', { class: 'alert' }, el('b', { text: r.state === 'gone' ? 'Replica gone: ' : 'Replica down: ' }),
            r.id + ' — ' + (r.error || 'no answer') + '; down since ' + fmtTime(r.down_since_ms) + ', last seen ' +
            (r.last_seen_ms ? fmtTime(r.last_seen_ms) + ' (' + fmtAge(r.last_seen_ms) + ')' : 'never')));
        }
      }
      if (s.state === 'unknown')
        card.append(el('p', { class: 'muted', text: 'No metrics endpoint for this stage: give --metrics-url ' + s.name + '=URL or --prometheus-url. Kafka\'s view below.' }));
      const lagSub = s.lag.at_ms ? age(s.lag.at_ms, 'Kafka ') : null;
      const kpis = el('div', { class: 'kpis' },
        kpi('input rate', fmtRate(s.input_records_per_second), 'appended to its partitions', 'input_rate'),
        kpi('processed rate', fmtRate(s.processed_records_per_second), 'consumed', 'processed_rate'),
        kpi('lag', isNum(s.lag.records) ? fmtNum(s.lag.records) + ' records' : '–', lagSub, 'lag_records'),
        kpi('oldest unconsumed', fmtSeconds(s.lag.max_seconds), 'max over partitions', 'lag_seconds'),
        kpi('event-time lag', fmtSeconds(s.event_time_lag_seconds),
          isNum(s.watermark_ms) ? 'watermark ' + new Date(s.watermark_ms).toLocaleTimeString([], { hour12: false }) : 'no event time yet',
          'event_time_lag'),
        kpi('open windows', fmtNum(s.cached_windows), 'in memory', 'cached_windows'),
        kpi('state', fmtBytes(s.state_store_bytes), isNum(s.state_store_keys) ? fmtNum(s.state_store_keys) + ' keys (RocksDB)' : 'no store', 'state'),
        kpi('commit', fmtSeconds(s.commit_seconds.p99) + ' p99', 'mean ' + fmtSeconds(s.commit_seconds.mean) + ' · last ' +
          s.commit_seconds.window_seconds + ' s', 'commit'),
        kpi('record latency', fmtSeconds(s.record_latency_seconds.p99) + ' p99', 'p50 ' + fmtSeconds(s.record_latency_seconds.p50) +
          ' · append to processing', 'latency'),
        kpi('consumed', fmtNum(s.records_consumed_total), 'records since start', 'consumed_total'),
        kpi('dead letters', fmtNum(s.dead_letter_records_total), 'since the replicas started', 'dead_letters'),
        kpi('late dropped', fmtNum(s.late_records_dropped_total), 'rebalances ' + fmtNum(s.rebalances_total), 'late'));
      for (const [name, v] of Object.entries(s.sink || {}))
        kpis.append(kpi(name.replace('telemetra_sink_', '').replace(/_/g, ' '), fmtNum(v), 'sink', name));
      card.append(kpis);
      // Replicas and the partitions each holds.
      const rt = el('table', { class: 'replicas' }, el('thead', {}, el('tr', {},
        ...['replica', 'state', 'last seen', 'ready', 'partitions held', 'in', 'done', 'consumed'].map((h) => el('th', { text: h })))));
      const rb = el('tbody');
      for (const r of s.replicas) {
        const parts = (r.partitions || []).map((p) => p.topic + '-' + p.partition).join(', ');
        rb.append(el('tr', { 'data-state': r.state },
          el('td', { class: 'mono', text: r.id }),
          el('td', {}, el('span', { class: 'pill', 'data-state': r.state, text: r.state.toUpperCase() })),
          el('td', {}, r.state === 'up' ? age(r.last_seen_ms) : el('span', { text: r.last_seen_ms ? fmtTime(r.last_seen_ms) : 'never' })),
          el('td', { text: r.ready === undefined ? '–' : r.ready > 0 ? 'yes' : 'no' }),
          el('td', { class: 'mono', text: parts || (r.state === 'up' ? 'none' : '–') }),
          el('td', { text: fmtRate(r.input_records_per_second) }),
          el('td', { text: fmtRate(r.processed_records_per_second) }),
          el('td', { text: fmtNum(r.records_consumed_total) })));
      }
      if (!s.replicas.length) rb.append(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'no metrics endpoint' })));
      rt.append(rb);
      card.append(el('h4', { text: 'Replicas' }), el('div', { class: 'table-wrap' }, rt));
      // Lag per partition, as Kafka says.
      const lt = el('table', { class: 'lag' }, el('thead', {}, el('tr', {},
        ...['topic', 'partition', 'committed', 'end', 'lag', 'oldest unconsumed', 'held by'].map((h) => el('th', { text: h })))));
      const lb = el('tbody');
      for (const l of s.lag.partitions) {
        lb.append(el('tr', {}, el('td', { class: 'mono', text: l.topic }), el('td', { text: String(l.partition) }),
          el('td', { text: l.committed === null ? 'none' : String(l.committed) }), el('td', { text: String(l.end) }),
          el('td', { text: fmtNum(l.lag_records) }), el('td', { text: fmtSeconds(l.lag_seconds) }),
          el('td', { class: 'mono', text: l.holder || '–' })));
      }
      if (!s.lag.partitions.length)
        lb.append(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: st.kafka.state === 'down' ? 'Kafka does not answer' : 'no offsets read yet' })));
      lt.append(lb);
      card.append(el('details', { class: 'lag-details' }, el('summary', {}, 'Lag per partition (' + s.lag.partitions.length + ') ',
        lagSub ? age(s.lag.at_ms, '· read ') : ''), el('div', { class: 'table-wrap' }, lt)));
      cards.push(card);
    }
    // Keep open <details> open across renders.
    const open = new Set([...host.querySelectorAll('details[open]')].map((d) => d.closest('[data-stage]')?.dataset.stage));
    host.replaceChildren(...cards);
    for (const c of cards) if (open.has(c.dataset.stage)) c.querySelector('details').open = true;
    if (st.unattributed.length) {
      const ul = el('ul', {});
      for (const r of st.unattributed)
        ul.append(el('li', { text: r.id + ': ' + r.state + (r.error ? ' (' + r.error + ')' : '') + ', last seen ' + (r.last_seen_ms ? fmtTime(r.last_seen_ms) : 'never') }));
      host.append(el('article', { class: 'stage-card', 'data-state': 'down' }, el('h3', { text: 'Endpoints of unknown stage' }),
        el('p', { class: 'muted', text: 'These never answered, so their stage is unknown (name it with --metrics-url STAGE=URL).' }), ul));
    }
  }

  // ---- outputs and dead letters ------------------------------------------------------------------
  function renderOutputs(o) {
    const body = document.querySelector('#outputs tbody');
    const rows = o.records.slice(0, 30).map((r) => el('tr', {},
      el('td', { text: fmtTime(r.timestamp_ms) }), el('td', {}, el('span', { class: 'tag', text: r.label || '' })),
      el('td', { class: 'mono', text: r.topic }), el('td', { class: 'mono', text: r.partition + '@' + r.offset }),
      el('td', { class: 'mono', text: r.key }),
      el('td', { class: 'mono value', title: r.value, text: r.value + (r.truncated ? ' … (' + r.value_bytes + ' bytes)' : '') })));
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6, class: 'muted', text: 'none read yet' })));
    body.replaceChildren(...rows);
    const counts = Object.entries(o.read_since_start).map(([t, n]) => t + ': ' + n).join(' · ');
    document.getElementById('outputs-note').textContent = 'read since the console started: ' + counts;
  }
  function renderDeadLetters(d) {
    const host = document.getElementById('dead-letters');
    const blocks = [];
    for (const t of d.topics) {
      const b = el('div', { class: 'dlq', 'data-topic': t.topic });
      b.append(el('h3', {}, t.topic + ' ', el('small', { class: 'muted', text: 'written by stage ' + t.stage + ' · ' +
        (isNum(t.records_in_topic) ? fmtNum(t.records_in_topic) + ' records in the topic' : 'topic not read yet') }),
      t.at_ms ? el('small', {}, ' · ', age(t.at_ms)) : null));
      if (!t.recent.length) {
        b.append(el('p', { class: 'muted', text: 'No dead letter read since the console started.' }));
      } else {
        const rt = el('table', { class: 'reasons' }, el('thead', {}, el('tr', {}, el('th', { text: 'reason (streamwright.error)' }),
          el('th', { text: 'of the last ' + t.kept }), el('th', { text: 'latest' }))));
        const rb = el('tbody');
        for (const r of t.reasons.slice(0, 8))
          rb.append(el('tr', {}, el('td', { class: 'mono', text: r.reason || '(no reason header)' }), el('td', { text: String(r.count) }),
            el('td', { text: fmtTime(r.last_ms) })));
        rt.append(rb);
        b.append(rt);
        const s = t.recent[0];
        b.append(el('div', { class: 'sample' }, el('div', { class: 'label', text: 'Latest dead letter: ' + (s.reason || '') }),
          el('div', { class: 'muted', text: 'from ' + (s.source || '?') + ' · dead-letter offset ' + s.partition + '@' + s.offset +
            ' · ' + fmtTime(s.timestamp_ms) + ' · ' + s.value_bytes + ' bytes' }),
          el('pre', { class: 'mono', text: s.value + (s.truncated ? '\n… (cut at ' + s.value.length + ' bytes)' : '') })));
      }
      blocks.push(b);
    }
    if (!blocks.length) blocks.push(el('p', { class: 'muted', text: 'This pipeline has no dead-letter topic.' }));
    host.replaceChildren(...blocks);
  }

  // ---- skew ---------------------------------------------------------------------------------------
  function renderSkew(st) {
    const host = document.getElementById('skew');
    const internal = st.topics.filter((t) => t.role === 'repartition' || t.role === 'changelog');
    const blocks = [];
    for (const t of internal) {
      const parts = t.partitions;
      const b = el('div', { class: 'skew-topic', 'data-topic': t.name });
      if (!parts.length) {
        b.append(el('h3', { text: t.name }), el('p', { class: 'muted', text: st.kafka.state === 'down' ? 'Kafka does not answer' : 'not read yet' }));
        blocks.push(b);
        continue;
      }
      const max = Math.max(1, ...parts.map((p) => p.records));
      const mean = parts.reduce((a, p) => a + p.records, 0) / parts.length;
      const skew = mean > 0 ? max / mean : null;
      b.append(el('h3', {}, t.name + ' ', el('small', { class: 'muted', text: t.role + ' · ' + fmtNum(t.records) + ' records retained · ' +
        (skew ? 'largest partition ' + skew.toFixed(2) + '× the mean' : 'empty') })));
      const bars = el('div', { class: 'bars' });
      for (const p of parts) {
        bars.append(el('div', { class: 'bar-row' }, el('span', { class: 'mono', text: 'p' + p.partition }),
          el('span', { class: 'bar' }, el('i', { style: 'width:' + (100 * p.records / max).toFixed(1) + '%' })),
          el('span', { class: 'mono', text: fmtNum(p.records) + ' · +' + fmtRate(p.append_rate) })));
      }
      b.append(bars);
      blocks.push(b);
    }
    if (!blocks.length) blocks.push(el('p', { class: 'muted', text: 'This pipeline has no internal topics.' }));
    host.replaceChildren(...blocks);
  }

  // ---- charts --------------------------------------------------------------------------------------
  function chartDefs() {
    const stages = state.pipeline.stages.map((s) => s.name);
    const defs = {
      'chart-rates': { unit: 'records/s', lines: [] },
      'chart-lag': { unit: 'records', lines: [] },
      'chart-lag-seconds': { unit: 's', lines: [] },
      'chart-latency': { unit: 's', lines: [] },
    };
    stages.forEach((s, i) => {
      const c = COLORS[i % COLORS.length];
      defs['chart-rates'].lines.push({ stage: s, key: 'input_rate', label: s + ' in', color: c });
      defs['chart-rates'].lines.push({ stage: s, key: 'processed_rate', label: s + ' done', color: c, dash: [6, 4] });
      defs['chart-lag'].lines.push({ stage: s, key: 'lag_records', label: s, color: c });
      defs['chart-lag-seconds'].lines.push({ stage: s, key: 'lag_seconds', label: s + ' oldest', color: c });
      defs['chart-lag-seconds'].lines.push({ stage: s, key: 'event_time_lag', label: s + ' event time', color: c, dash: [6, 4] });
      defs['chart-latency'].lines.push({ stage: s, key: 'latency_p99', label: s + ' latency', color: c });
      defs['chart-latency'].lines.push({ stage: s, key: 'commit_p99', label: s + ' commit', color: c, dash: [6, 4] });
    });
    return defs;
  }
  function chartData(def) {
    const h = state.history;
    const data = [h.t.map((t) => t / 1000)];
    for (const l of def.lines) data.push(h.stages[l.stage] ? h.stages[l.stage][l.key] : h.t.map(() => null));
    return data;
  }
  function buildCharts() {
    if (typeof uPlot === 'undefined') {
      for (const id of ['chart-rates', 'chart-lag', 'chart-lag-seconds', 'chart-latency'])
        document.getElementById(id).textContent = 'charting library not loaded';
      return;
    }
    const defs = chartDefs();
    for (const [id, def] of Object.entries(defs)) {
      const host = document.getElementById(id);
      host.replaceChildren();
      const width = Math.max(280, host.clientWidth || 480);
      const fmt = def.unit === 's' ? (v) => fmtSeconds(v) : (v) => fmtNum(v);
      const opts = {
        width, height: 190,
        series: [{}].concat(def.lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.6, dash: l.dash,
          spanGaps: false, value: (u, v) => (v === null || v === undefined ? '–' : fmt(v)) }))),
        axes: [{}, { size: 60, values: (u, vals) => vals.map((v) => fmt(v)) }],
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      };
      state.charts[id] = { plot: new uPlot(opts, chartData(def), host), def };
    }
  }
  function updateCharts() {
    for (const c of Object.values(state.charts)) c.plot.setData(chartData(c.def));
  }
  function addPoint(point) {
    if (!point || !state.history) return;
    const h = state.history;
    if (h.t.length && point.t <= h.t[h.t.length - 1]) return;
    h.t.push(point.t);
    for (const [name, series] of Object.entries(h.stages)) {
      const p = point.stages ? point.stages[name] : null;
      for (const key of Object.keys(series)) series[key].push(p && isNum(p[key]) ? p[key] : null);
    }
    const cut = point.t - state.pipeline.history_ms;
    while (h.t.length && h.t[0] < cut) {
      h.t.shift();
      for (const series of Object.values(h.stages)) for (const a of Object.values(series)) a.shift();
    }
    updateCharts();
  }

  // ---- updates ----------------------------------------------------------------------------------
  function apply(snap) {
    state.snapshot = snap;
    state.lastUpdate = Date.now();
    state.clockOffset = snap.status.now_ms - Date.now();
    if (state.mode === 'unreachable') state.mode = state.events ? 'events' : 'polling';
    renderHeader(snap.status);
    renderGraph(snap.status);
    renderStages(snap.status);
    renderOutputs(snap.outputs);
    renderDeadLetters(snap.dead_letters);
    renderSkew(snap.status);
    addPoint(snap.point);
    document.body.dataset.version = String(snap.version);
    updateConnection();
  }
  function unreachable() {
    if (state.mode !== 'unreachable') state.unreachableSince = Date.now();
    state.mode = 'unreachable';
    updateConnection();
  }
  function startPolling() {
    if (state.pollTimer) return;
    state.mode = 'polling';
    const tick = async () => {
      try {
        apply(await getJSON('/api/snapshot'));
        if (state.mode === 'unreachable') state.mode = 'polling';
      } catch (e) {
        unreachable();
      }
    };
    tick();
    state.pollTimer = setInterval(tick, Math.max(1000, state.pipeline.interval_ms));
  }
  function startEvents() {
    if (typeof EventSource === 'undefined') return startPolling();
    let failures = 0;
    const es = new EventSource('/api/events');
    state.events = es;
    es.addEventListener('snapshot', (ev) => {
      failures = 0;
      state.mode = 'events';
      try { apply(JSON.parse(ev.data)); } catch (e) { console.error(e); }
    });
    es.onerror = () => {
      failures++;
      // The stream ended (console stopped, or too many streams): EventSource retries on its
      // own; after a few failures, poll instead.
      if (failures >= 3) {
        es.close();
        state.events = null;
        unreachable();
        startPolling();
      }
    };
  }

  async function main() {
    setInterval(refreshAges, 1000);
    window.addEventListener('resize', () => {
      for (const [id, c] of Object.entries(state.charts)) {
        const host = document.getElementById(id);
        c.plot.setSize({ width: Math.max(280, host.clientWidth), height: 190 });
      }
    });
    for (;;) {
      try {
        state.pipeline = await getJSON('/api/pipeline');
        state.history = await getJSON('/api/history');
        break;
      } catch (e) {
        unreachable();
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    const p = state.pipeline;
    document.title = p.pipeline + ' · Streamwright console';
    document.getElementById('pipeline-name').textContent = p.pipeline + ' (' + p.application_id + ')';
    document.getElementById('pipeline-description').textContent = p.description;
    document.getElementById('history-span').textContent = fmtSeconds(p.history_ms / 1000).replace('.0 ', ' ');
    buildGraph(p);
    buildCharts();
    try {
      apply(await getJSON('/api/snapshot'));
    } catch (e) {
      unreachable();
    }
    // ?updates=poll: poll /api/snapshot instead of the event stream (for proxies that buffer
    // streams, and for headless browsers whose virtual clock waits for open requests).
    if (new URLSearchParams(location.search).get('updates') === 'poll') startPolling();
    else startEvents();
  }
  main();
})();
