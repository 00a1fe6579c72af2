// bench/report.js: turns the measurements bench/run.sh collected (one JSON object per line) into
// bench/results/<date>-<commit>[-quick].json and a table on stdout: figures per scenario and lane,
// added latency over the floor, ratios against the plain proxy and the peer from the same run,
// and each target with pass/fail. Reports; never fails the build over a missed target.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execSync } = require('child_process');

const [jsonl, outDir, commit, dirty, quick, nginxVer, wrkVer] = process.argv.slice(2);
const lines = fs.readFileSync(jsonl, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const sh = (cmd) => { try { return execSync(cmd, { encoding: 'utf8' }).trim(); } catch { return ''; } };
const cpuModel = (os.cpus()[0] || {}).model || 'unknown';
const machine = {
  cpu: cpuModel,
  cores: os.cpus().length,
  memory_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
  kernel: `${os.type()} ${os.release()}`,
  os: sh('. /etc/os-release && echo "$PRETTY_NAME"'),
  virtualization: sh('systemd-detect-virt 2>/dev/null') || 'unknown',
  compiler: sh('cc --version | head -1'),
  tools: { wrk: wrkVer, nginx: nginxVer, node: process.version, portkey: '@portkey-ai/gateway@1.15.2' },
};

const r1 = (x) => (x == null || Number.isNaN(x) ? null : Math.round(x * 10) / 10);
const r2 = (x) => (x == null || Number.isNaN(x) || !Number.isFinite(x) ? null : Math.round(x * 100) / 100);
const scenarios = {};
const extra = {};
// Instruction counts per case (callgrind): user-space instructions of all the gateway's threads.
const callgrind = {};
for (const l of lines) {
  if (l.scenario === 'callgrind') {
    callgrind[l.case] = {
      requests: l.requests, ok: l.ok, instructions: l.instructions, request_bytes: l.request_bytes,
      instructions_per_request: l.requests ? Math.round(l.instructions / l.requests) : null,
      instructions_per_mb: l.requests && l.request_bytes >= 100000
        ? Math.round(l.instructions / l.requests / (l.request_bytes / 1048576)) : null,
    };
    continue;
  }
  if (!l.lane) { extra[l.scenario] = Object.assign(extra[l.scenario] || {}, l); continue; }
  const sc = (scenarios[l.scenario] = scenarios[l.scenario] || { lanes: [] });
  let row;
  if (l.tool === 'wrk') {
    const w = l.wrk;
    const secs = w.duration_us / 1e6;
    const errs = Object.values(w.errors || {}).reduce((a, b) => a + b, 0);
    row = {
      lane: l.lane, conns: l.conns, requests: w.requests, errors: errs, errors_detail: w.errors,
      rps: r1(w.requests / secs),
      p50_us: w.lat_us.p50, p99_us: w.lat_us.p99, p999_us: w.lat_us.p999, max_us: w.lat_us.max,
      gw_cpu_us_per_req: l.lane === 'floor' || !w.requests ? null : r1((l.gw_cpu_s * 1e6) / w.requests),
      mock_cpu_us_per_req: w.requests ? r1((l.mock_cpu_s * 1e6) / w.requests) : null,
      gw_peak_rss_mb: l.lane === 'floor' ? null : r1(l.gw_hwm_kb / 1024),
    };
  } else {
    const s = l.sse;
    row = {
      lane: l.lane, conns: l.conns, ok: s.ok, errors: (s.errors || 0), status: s.status,
      events_per_stream: s.events_per_stream, all_open_s: s.all_open_s, wall_s: s.wall_s,
      ttfb_p50_us: s.ttfb_us && s.ttfb_us.p50, ttfb_p99_us: s.ttfb_us && s.ttfb_us.p99,
      p50_us: s.duration_us && s.duration_us.p50, p99_us: s.duration_us && s.duration_us.p99,
      p999_us: s.duration_us && s.duration_us.p999,
      gw_cpu_us_per_stream: l.lane === 'floor' || !s.ok ? null : r1((l.gw_cpu_s * 1e6) / s.ok),
      mock_cpu_us_per_stream: s.ok ? r1((l.mock_cpu_s * 1e6) / s.ok) : null,
      gw_peak_rss_mb: l.lane === 'floor' ? null : r1(l.gw_hwm_kb / 1024),
      gw_rss_before_mb: l.lane === 'floor' ? null : r1(l.gw_rss_before_kb / 1024),
      gw_kb_per_stream: l.lane === 'floor' || !s.ok ? null : r1((l.gw_hwm_kb - l.gw_rss_before_kb) / l.conns),
    };
  }
  sc.lanes.push(row);
}
for (const [name, e] of Object.entries(extra)) {
  const sc = (scenarios[name] = scenarios[name] || { lanes: [] });
  Object.assign(sc, e);
  delete sc.scenario;
}

// Added latency over the floor, per-event CPU, ratios — all from this run.
const find = (sc, lane, c) => (scenarios[sc] ? scenarios[sc].lanes.find((x) => x.lane === lane && x.conns === c) : null);
for (const [name, sc] of Object.entries(scenarios)) {
  for (const row of sc.lanes) {
    const f = find(name, 'floor', row.conns);
    if (f && row.lane !== 'floor' && row.p50_us != null) {
      row.added_p50_us = row.p50_us - f.p50_us;
      row.added_p99_us = row.p99_us - f.p99_us;
      row.added_p999_us = row.p999_us - f.p999_us;
    }
    // Per relayed event: divided by the events the upstream sent (the floor lane's count for the
    // streams scenario), not by what each gateway re-framed them into.
    const fl = sc.lanes.find((x) => x.lane === 'floor');
    const ev = name === 'streams' ? fl && fl.events_per_stream : sc.upstream_events;
    if (ev && row.gw_cpu_us_per_req != null) row.gw_cpu_us_per_event = r1(row.gw_cpu_us_per_req / ev);
    if (ev && row.gw_cpu_us_per_stream != null) row.gw_cpu_us_per_event = r1(row.gw_cpu_us_per_stream / ev);
    // Large requests: gateway CPU per MB (2^20 bytes) of client request.
    if (sc.request_bytes >= 100000 && row.gw_cpu_us_per_req != null)
      row.gw_cpu_us_per_mb = r1(row.gw_cpu_us_per_req / (sc.request_bytes / 1048576));
  }
  sc.ratios = {};
  for (const c of [...new Set(sc.lanes.map((x) => x.conns))]) {
    const a = find(name, 'aigate', c);
    if (!a) continue;
    const n = find(name, 'nginx', c);
    const p = find(name, 'portkey', c);
    const key = `c${c}`;
    sc.ratios[key] = {
      rps_vs_nginx: n && n.rps ? r2(a.rps / n.rps) : null,
      rps_vs_portkey: p && p.rps ? r2(a.rps / p.rps) : null,
      added_p50_vs_nginx: n && n.added_p50_us > 0 ? r2(a.added_p50_us / n.added_p50_us) : null,
      added_p50_vs_portkey: p && p.added_p50_us > 0 ? r2(a.added_p50_us / p.added_p50_us) : null,
      cpu_vs_nginx: n && n.gw_cpu_us_per_req ? r2(a.gw_cpu_us_per_req / n.gw_cpu_us_per_req) : null,
      cpu_vs_portkey: p && p.gw_cpu_us_per_req ? r2(a.gw_cpu_us_per_req / p.gw_cpu_us_per_req) : null,
      rss_vs_portkey: p && p.gw_peak_rss_mb ? r2(a.gw_peak_rss_mb / p.gw_peak_rss_mb) : null,
    };
    if (Object.values(sc.ratios[key]).every((v) => v == null)) delete sc.ratios[key];
  }
}

// ---- targets ----
const targets = [];
const target = (name, value, unit, limit, cmp, note, info) => {
  const met = value == null || info ? null : cmp === '<=' ? value <= limit : value >= limit;
  targets.push({ name, value: value == null ? null : unit === '×' ? r2(value) : r1(value), unit, limit, cmp, met,
    informative: !!info, note: note || '' });
};
// Against the canned upstream (nginx answering from files): the gateway's own cost dominates.
{
  const c1 = find('canned-chat-1k5', 'aigate', 1);
  const cr = scenarios['canned-chat-1k5'] && scenarios['canned-chat-1k5'].ratios.c50;
  target('canned 1.5 KB non-stream conversion: throughput vs plain proxy (50 conns)', cr && cr.rps_vs_nginx, '×', 0.6, '>=');
  target('canned 1.5 KB non-stream conversion: gateway CPU per request vs plain proxy (50 conns)', cr && cr.cpu_vs_nginx, '×', 2, '<=');
  target('canned 1.5 KB non-stream conversion: added p50 over floor, 1 conn', c1 && c1.added_p50_us, 'µs', 50, '<=');
  for (const size of ['conv-200k', 'conv-1m']) {
    const fresh = find(`canned-${size}-fresh`, 'aigate', 20);
    const after = find(`canned-${size}-after-burst`, 'aigate', 20);
    target(`canned ${size}, fresh gateway: gateway CPU per MB of request (20 conns)`, fresh && fresh.gw_cpu_us_per_mb, 'µs', 1500, '<=');
    target(`canned ${size}, after a burst of small requests: gateway CPU per MB of request (20 conns)`, after && after.gw_cpu_us_per_mb, 'µs', 1500, '<=');
    target(`canned ${size}: CPU per request after the burst / fresh`, fresh && after && fresh.gw_cpu_us_per_req
      ? after.gw_cpu_us_per_req / fresh.gw_cpu_us_per_req : null, '×', 1.25, '<=', 'the same before and after other load (1.25 allows for the machine\'s noise)');
  }
}
// Against the mock (its own cost is part of every figure; informative since the canned lanes).
const a1 = find('chat-1k5', 'aigate', 1);
target('mock: non-stream conversion: added p50 over floor, 1 conn', a1 && a1.added_p50_us, 'µs', 50, '<=', 'mock upstream', true);
target('mock: non-stream conversion: added p99 over floor, 1 conn', a1 && a1.added_p99_us, 'µs', 250, '<=', 'mock upstream', true);
const rat = scenarios['chat-1k5'] && scenarios['chat-1k5'].ratios.c50;
target('mock: non-stream conversion throughput vs plain proxy (50 conns)', rat && rat.rps_vs_nginx, '×', 0.6, '>=', 'mock upstream', true);
target('mock: non-stream conversion throughput vs peer (50 conns)', rat && rat.rps_vs_portkey, '×', 10, '>=', 'mock upstream', true);
{
  // Streaming CPU per relayed event, two ways. Gross: the stream request's whole CPU divided by its
  // events (includes decoding the request and the upstream call). Marginal: the extra CPU of the
  // 50-event stream over the same conversation answered non-streamed with fewer events, divided by
  // the extra events -- what each further event costs, the figure the target is about.
  const anthName = scenarios['anthropic-stream'] && !scenarios['anthropic-stream'].skipped ? 'anthropic-stream' : 'openai-stream';
  const s = find(anthName, 'aigate', 50);
  const base = find('chat-1k5', 'aigate', 50);
  const evS = scenarios[anthName] && scenarios[anthName].upstream_events;
  const evB = scenarios['chat-1k5'] && scenarios['chat-1k5'].upstream_events;
  const marginal = s && base && evS > evB ? (s.gw_cpu_us_per_req - base.gw_cpu_us_per_req) / (evS - evB) : null;
  if (scenarios[anthName]) scenarios[anthName].aigate_marginal_cpu_us_per_event_c50 = r1(marginal);
  target('streaming: gateway CPU per further relayed event (marginal, 50 conns)', marginal, 'µs', 5, '<=',
    `${anthName} (${evS} events) vs chat-1k5 (${evB} events); gross ${s ? s.gw_cpu_us_per_event : '—'} µs/event`);
  const sl = lines.find((l) => l.scenario === 'streams' && l.lane);
  const slow = find('streams', 'aigate', sl ? sl.conns : 0);
  target('slow streams: gateway CPU per relayed event (gross)', slow && slow.gw_cpu_us_per_event, 'µs', 5, '<=',
    'informative: each event arrives alone (one wake-up, read and write per event) and the figure includes each stream\'s request conversion and connection set-up', true);
  target(`${slow ? slow.conns : '?'} concurrent streams: gateway peak RSS`, slow && slow.ok === slow.conns ? slow.gw_peak_rss_mb : null,
    'MB', 250, '<=', slow && slow.ok !== slow.conns ? `only ${slow.ok} of ${slow.conns} streams completed` :
      (slow && slow.conns < 10000 ? `fewer streams than the 10,000 of the target${scenarios.streams && scenarios.streams.note ? ': ' + scenarios.streams.note : ' (quick mode)'}` : ''));
}
target('idle RSS', scenarios.idle && scenarios.idle.idle_rss_kb / 1024, 'MB', 10, '<=');
{
  const st = scenarios.startup;
  const v = st && st.startup_ms && st.startup_ms.length ? [...st.startup_ms].sort((x, y) => x - y)[Math.floor(st.startup_ms.length / 2)] : null;
  target(`startup to first accepted request, ${st ? st.accounts : '?'} accounts (median)`, v, 'ms', 50, '<=');
}

const now = new Date();
const date = now.toISOString().slice(0, 10);
const result = {
  date: now.toISOString(), commit, dirty_paths: dirty ? dirty.split(',') : [],
  mode: quick === '1' ? 'quick' : 'full', machine, scenarios, callgrind, targets,
};
fs.mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, `${date}-${commit.slice(0, 12)}${quick === '1' ? '-quick' : ''}.json`);
fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');

// ---- table ----
const pad = (s, n, left) => { s = s == null ? '—' : String(s); return left ? s.padEnd(n) : s.padStart(n); };
const fmt = (x) => (x == null ? '—' : typeof x === 'number' ? (Math.abs(x) >= 1000 ? Math.round(x).toString() : String(x)) : x);
const out = [];
out.push(`aigate benchmark — ${result.mode} run, commit ${commit.slice(0, 12)}${result.dirty_paths.length ? ' + uncommitted changes in ' + result.dirty_paths.length + ' file(s)' : ''}`);
out.push(`${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GB, ${machine.kernel}, ${machine.os}`);
out.push('');
const head = ['scenario', 'lane', 'conns', 'req/s', 'p50 µs', 'p99 µs', 'p99.9 µs', '+p50', '+p99', 'CPU µs/req', 'CPU µs/ev', 'peak MB', 'errors'];
const widths = [28, 8, 5, 9, 8, 8, 9, 7, 7, 10, 9, 8, 6];
out.push(head.map((h, i) => pad(h, widths[i], i < 2)).join(' '));
for (const [name, sc] of Object.entries(scenarios)) {
  if (sc.skipped) { out.push(`${pad(name, 28, true)} skipped: ${sc.note}`); continue; }
  if (sc.peer_note) out.push(`${pad(name, 28, true)} (${sc.peer_note})`);
  for (const r of sc.lanes) {
    const isStream = r.ok !== undefined;
    out.push([name, r.lane, r.conns, isStream ? `${r.ok} ok` : r.rps, r.p50_us, r.p99_us, r.p999_us,
      r.added_p50_us, r.added_p99_us, isStream ? r.gw_cpu_us_per_stream : r.gw_cpu_us_per_req,
      r.gw_cpu_us_per_event, r.gw_peak_rss_mb, r.errors].map((v, i) => pad(fmt(v), widths[i], i < 2)).join(' '));
  }
}
out.push('(streams rows: p50/p99 = whole-stream duration; CPU µs/req = per stream; canned-* rows: the floor is the canned upstream)');
const large = [];
for (const [name, sc] of Object.entries(scenarios))
  for (const r of sc.lanes) if (r.gw_cpu_us_per_mb != null) large.push(`  ${pad(name, 28, true)} ${pad(r.lane, 8, true)} ${fmt(r.gw_cpu_us_per_mb)} µs per MB`);
if (large.length) { out.push(''); out.push('gateway CPU per MB of request:'); out.push(...large); }
if (Object.keys(callgrind).length) {
  out.push('');
  out.push('instructions per request (callgrind, all threads, canned upstream, one connection):');
  for (const [k, v] of Object.entries(callgrind))
    out.push(`  ${pad(k, 24, true)} ${pad(v.instructions_per_request, 12)}${v.instructions_per_mb ? `  (${v.instructions_per_mb} per MB)` : ''}  ${v.ok}/${v.requests} ok`);
}
out.push('');
out.push('ratios aigate / other lane, same run:');
for (const [name, sc] of Object.entries(scenarios)) {
  for (const [c, r] of Object.entries(sc.ratios || {})) {
    out.push(`  ${pad(name, 28, true)} ${pad(c, 6, true)} req/s vs nginx ${fmt(r.rps_vs_nginx)}, vs portkey ${fmt(r.rps_vs_portkey)}; ` +
      `CPU/req vs nginx ${fmt(r.cpu_vs_nginx)}, vs portkey ${fmt(r.cpu_vs_portkey)}; added p50 vs nginx ${fmt(r.added_p50_vs_nginx)}, vs portkey ${fmt(r.added_p50_vs_portkey)}`);
  }
}
if (scenarios['storm-429'] && scenarios['storm-429'].upstream_429s != null)
  out.push(`  storm-429: the upstream answered ${scenarios['storm-429'].upstream_429s} 429s that aigate absorbed by rotating`);
if (scenarios.streams) out.push(`  streams: ${scenarios.streams.lanes.map((r) => `${r.lane} ${r.gw_kb_per_stream == null ? '' : r.gw_kb_per_stream + ' KB/stream, '}all open after ${r.all_open_s} s`).join('; ')}`);
out.push('');
out.push('targets:');
for (const t of targets) {
  const v = t.informative ? 'info' : t.met == null ? 'n/a ' : t.met ? 'PASS' : 'FAIL';
  out.push(`  [${v}] ${t.name}: ${fmt(t.value)} ${t.unit} (target ${t.cmp} ${t.limit} ${t.unit})${t.note ? ' — ' + t.note : ''}`);
}
out.push('');
out.push(`results: ${path.relative(process.cwd(), file)}`);
console.log(out.join('\n'));
