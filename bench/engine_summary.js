// engine_summary.js — the engine comparison of node_bench.sh: reads the lines
// bench_load --json appended (one per run, tagged "<workload>/<engine>"),
// prints each run, then the runs of each configuration pooled (requests
// summed over the summed time, latencies pooled for p50/p99, CPU seconds
// summed over the requests summed), and the ratios fast against openssl.
// Exit status 1 when any request failed: a figure with errors is not one.
'use strict';
const fs = require('fs');
const runs = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map(JSON.parse);

const ms = (x) => (x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1));
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0);
const others = (cpu) => Object.keys(cpu).filter((k) => k !== 'YRD-JS' && k !== 'YRD-HUB');
const round = (r) => Number((/ r(\d+)$/.exec(r.label) || [])[1] || 0);
const sum = (a) => a.reduce((x, y) => x + y, 0);

// One configuration's figures from its runs (all per successful request).
function pool(list) {
  const ok = sum(list.map((r) => r.ok));
  const lat = [].concat(...list.map((r) => r.latMs)).sort((a, b) => a - b);
  const cpu = {};
  for (const r of list) for (const [k, v] of Object.entries(r.cpu)) cpu[k] = (cpu[k] || 0) + v;
  const per = (s) => (ok ? (s * 1e3) / ok : 0);
  const rest = others(cpu);
  return {
    runs: list.length,
    ok,
    errors: sum(list.map((r) => r.errors)),
    rps: ok / sum(list.map((r) => r.elapsed)),
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    js: per(cpu['YRD-JS'] || 0),
    hub: 'YRD-HUB' in cpu ? per(cpu['YRD-HUB']) : null,
    rest: rest.length ? per(sum(rest.map((k) => cpu[k]))) : null,
    all: per(sum(Object.values(cpu))),
    client: per(sum(list.map((r) => r.clientCpu))),
    // The SM2 set as bench_load measured it on the servers' engine (< 0: not measured).
    sm2: list.every((r) => r.sm2SetMs > 0) ? sum(list.map((r) => r.sm2SetMs)) / list.length : null,
  };
}

const cols = (f) =>
  `${f.rps.toFixed(1).padStart(8)} ${ms(f.p50).padStart(7)} ${ms(f.p99).padStart(7)}  ` +
  `${ms(f.js).padStart(7)} ${(f.hub === null ? '-' : ms(f.hub)).padStart(7)} ` +
  `${(f.rest === null ? '-' : ms(f.rest)).padStart(8)} ${ms(f.all).padStart(7)} ${ms(f.client).padStart(7)}`;

const W = 22;
const head = (first) =>
  `  ${first.padEnd(W)}${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}  ` +
  `${'YRD-JS'.padStart(7)} ${'hub'.padStart(7)} ${'3 others'.padStart(8)} ${'servers'.padStart(7)} ${'client'.padStart(7)}`;
console.log(`  ${''.padEnd(W)}${''.padStart(25)}  CPU ms per search (servers = the sum):`);
console.log(head('run'));
for (const r of runs) console.log(`  ${r.label.padEnd(W)}${cols(pool([r]))}${r.errors ? `  ${r.errors} ERRORS` : ''}`);

const names = { fanout: 'search, fan-out (an app asks YRD-JS)', local: 'search, local only (node:YRD-SH asks YRD-JS)' };
const res = {};
let errors = 0;
for (const w of ['fanout', 'local']) {
  res[w] = {};
  console.log(`  ${names[w]}, pooled:`);
  for (const e of ['openssl', 'fast']) {
    const list = runs.filter((r) => r.tag === `${w}/${e}`);
    if (!list.length) continue;
    const f = (res[w][e] = pool(list));
    errors += f.errors;
    console.log(`    ${e.padEnd(W - 2)}${cols(f)}  (${f.runs} runs, ${f.ok} searches)`);
  }
  const o = res[w].openssl, f = res[w].fast;
  if (o && f) {
    const r = (a, b) => (a !== null && b !== null && b > 0 ? `${(a / b).toFixed(1)}x` : '-');
    console.log(`    ${'fast vs openssl'.padEnd(W - 2)}${r(f.rps, o.rps).padStart(8)} ${r(o.p50, f.p50).padStart(7)} ` +
      `${r(o.p99, f.p99).padStart(7)}  ${r(o.js, f.js).padStart(7)} ${r(o.hub, f.hub).padStart(7)} ` +
      `${r(o.rest, f.rest).padStart(8)} ${r(o.all, f.all).padStart(7)} ${r(o.client, f.client).padStart(7)}`);
    // The spread: the same ratios within each round (its fast and openssl runs).
    const rounds = [...new Set(runs.map(round))].sort((a, b) => a - b);
    const per = rounds.map((k) => {
      const ro = runs.find((x) => x.tag === `${w}/openssl` && round(x) === k);
      const rf = runs.find((x) => x.tag === `${w}/fast` && round(x) === k);
      if (!ro || !rf) return null;
      const po = pool([ro]), pf = pool([rf]);
      return `${(pf.rps / po.rps).toFixed(1)}/${(po.js / pf.js).toFixed(1)}`;
    }).filter(Boolean);
    console.log(`    ${'per round'.padEnd(W - 2)}req/s / YRD-JS CPU: ${per.join('  ')}`);
  }
}
console.log('  (ratios: req/s fast/openssl; latency and CPU openssl/fast)');
const line = (w, what) => {
  const o = res[w].openssl, f = res[w].fast;
  if (!o || !f) return;
  console.log(`  ${what}: ${ms(o.js)} ms of CPU per search on openssl, ${ms(f.js)} ms on fast: ` +
    `${(o.js / f.js).toFixed(1)}x the searches per core-second` +
    (o.sm2 && f.sm2 ? ` (one SM2 set, ${ms(o.sm2)} vs ${ms(f.sm2)} ms)` : ''));
};
console.log('one province node = YRD-JS, the province the app asks, its own process (issue 7 asks >= 5x):');
line('fanout', 'fan-out search');
line('local', 'local-only search');
if (res.fanout.openssl && res.fanout.fast)
  console.log(`the whole federation on these 2 shared cores (5 servers and the client): fan-out search ` +
    `${(res.fanout.fast.rps / res.fanout.openssl.rps).toFixed(1)}x the requests/s, ` +
    `${(res.fanout.openssl.all / res.fanout.fast.all).toFixed(1)}x less server CPU per search`);
if (errors) {
  for (const r of runs.filter((x) => x.errors)) console.log(`  ${r.label}: ${r.errors} errors, last code ${r.lastCode}`);
  console.log('engine comparison: some requests failed; the figures above are not usable');
  process.exit(1);
}
