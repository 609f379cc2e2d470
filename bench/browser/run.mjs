// Browser benchmark: lmfast-web (WebGPU and its wasm CPU path on 2 threads and on 1, on the
// q4g32 export) side by
// side with wllama 2.3.7 (llama.cpp in wasm, its single- and multi-threaded builds, on the
// original Q4_1 GGUF), in Debian's headless Chromium driven by playwright-core, pages served by
// server.mjs with COOP/COEP headers (cross-origin isolated: wasm threads and
// measureUserAgentSpecificMemory).
//
//   node bench/browser/run.mjs [--runs 3] [--webgpu-runs 2] [--webgpu-gen-tokens 16]
//       [--engines lmfast-webgpu,lmfast-cpu,lmfast-cpu-1t,wllama-1t,wllama-2t] [--context 1024]
//       [--scaling 128,256,512,1024,2048] [--scaling-gen-tokens 32]
//       [--scaling-engines lmfast-cpu,lmfast-cpu-1t[,wllama-best]] [--out bench/out/browser-compare.json]
//
// bench/run-browser.sh sets everything up and runs this. Every engine gets the same prompt
// ids (bench/prompt-ids-2048.json: bench/prompt.txt tokenized by llama.cpp, see
// make_prompt_ids.py; the first N ids are the N-token prompt) and generates greedily, never
// stopping at end-of-sequence. One round = one session per engine, engines interleaved
// (round 1 of every engine, then round 2, ...). A session is a fresh browser profile: cold
// load (nothing cached), page reload, warm load (shards / GGUF from the engine's own browser
// cache: lmfast's default store (OPFS, read synchronously in its worker), wllama's OPFS), a
// first request, then the measured request, then
// memory. Reported figures are medians over rounds. `--scaling` then measures prefill and
// decode speed against prompt length (one session per engine, lengths interleaved).

import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const require = createRequire(path.join(HERE, 'package.json'));
const { chromium } = require('playwright-core');

const argv = process.argv.slice(2);
const arg = (name, fallback) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : fallback; };
if (argv.includes('-h') || argv.includes('--help')) {
  const head = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(head.slice(0, head.findIndex((l) => !l.startsWith('//'))).join('\n'));
  process.exit(0);
}
const RUNS = Number(arg('--runs', 3));
const PROMPT_TOKENS = Number(arg('--prompt-tokens', 128));
const GEN_TOKENS = Number(arg('--gen-tokens', 128));
const WEBGPU_RUNS = Number(arg('--webgpu-runs', 2));
const WEBGPU_GEN = Number(arg('--webgpu-gen-tokens', 16));
const CONTEXT = Number(arg('--context', 1024));
const ENGINES = arg('--engines', 'lmfast-webgpu,lmfast-cpu,lmfast-cpu-1t,wllama-1t,wllama-2t').split(',').filter(Boolean);
const SCALING = arg('--scaling', '128,256,512,1024,2048').split(',').filter(Boolean).map(Number);
const SCALING_GEN = Number(arg('--scaling-gen-tokens', 32));
// wllama-best: the wllama configuration that decoded fastest in the rounds above.
let SCALING_ENGINES = arg('--scaling-engines', 'lmfast-cpu,lmfast-cpu-1t').split(',').filter(Boolean);
const EXPORT = arg('--export', 'models/smollm2-135m-q4');
const GGUF = arg('--gguf', 'models/SmolLM2-135M-Instruct.Q4_1.gguf');
const OUT = path.resolve(ROOT, arg('--out', 'bench/out/browser-compare.json'));

const CONFIGS = {
  'lmfast-webgpu': { engine: 'lmfast', backend: 'webgpu', label: 'lmfast-web, WebGPU', model: `/${EXPORT}/`, webgpu: true },
  'lmfast-cpu': { engine: 'lmfast', backend: 'cpu', threads: 2, label: 'lmfast-web, wasm CPU (2 threads)', model: `/${EXPORT}/` },
  'lmfast-cpu-1t': { engine: 'lmfast', backend: 'cpu', threads: 1, label: 'lmfast-web, wasm CPU (1 thread)', model: `/${EXPORT}/` },
  'wllama-1t': { engine: 'wllama', threads: 1, label: 'wllama, 1 thread', model: `/${GGUF}` },
  'wllama-2t': { engine: 'wllama', threads: 2, label: 'wllama, 2 threads', model: `/${GGUF}` },
};
for (const e of [...ENGINES, ...SCALING_ENGINES]) if (!CONFIGS[e] && e !== 'wllama-best') { console.error(`unknown engine ${e} (known: ${Object.keys(CONFIGS).join(', ')})`); process.exit(2); }

const need = (p, hint) => { if (!fs.existsSync(path.join(ROOT, p))) { console.error(`run.mjs: ${p} is missing (${hint})`); process.exit(1); } };
need('pkg/wasm/lmfast_web_bg.wasm', 'scripts/build-web.sh builds it');
need('pkg/wasm-threads/lmfast_web_bg.wasm', 'scripts/build-web.sh builds it');
need(`${EXPORT}/manifest.json`, 'lmfast export, see README');
need(GGUF, 'target/release/lmfast pull smollm2-135m');
need('bench/browser/node_modules/@wllama/wllama/esm/multi-thread/wllama.wasm', 'npm ci in bench/browser');

const ALL_IDS = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'prompt-ids-2048.json'), 'utf8'));
const IDS = ALL_IDS.slice(0, PROMPT_TOKENS);
if (Math.max(PROMPT_TOKENS, ...SCALING) > ALL_IDS.length) { console.error(`at most ${ALL_IDS.length} prompt tokens`); process.exit(2); }
// The native benchmark writes its own copy of the ids (make_prompt_ids.py); they must agree.
const nativeIds = path.join(ROOT, 'bench', 'out', 'prompt_ids.json');
if (fs.existsSync(nativeIds)) {
  const n = JSON.parse(fs.readFileSync(nativeIds, 'utf8'));
  if (n.length === IDS.length && n.some((x, i) => x !== IDS[i])) console.warn('warning: bench/out/prompt_ids.json differs from bench/prompt-ids-2048.json');
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// --- Process memory from /proc: the renderer's peak RSS (VmHWM) covers the page and its
// workers (wasm memories included) over the whole session; the GPU process holds SwiftShader's
// buffers on the WebGPU path.
function procTable() {
  const rows = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      // Chromium's child processes rewrite their argv into one space-separated string.
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      rows.push({ pid: Number(pid), ppid, cmd, hwm_kib: hwm ? Number(hwm[1]) : 0 });
    } catch { /* the process ended meanwhile */ }
  }
  return rows;
}
function chromiumPeaks(profile) {
  const rows = procTable();
  const root = rows.find((r) => r.cmd.includes(`--user-data-dir=${profile} `) && !r.cmd.includes('--type='));
  if (!root) return { renderer_peak_rss_mib: null, gpu_peak_rss_mib: null };
  const family = new Set([root.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows) if (!family.has(r.pid) && family.has(r.ppid)) { family.add(r.pid); grew = true; }
  }
  const mine = rows.filter((r) => family.has(r.pid));
  const peak = (type) => {
    const xs = mine.filter((r) => r.cmd.includes(` --type=${type} `)).map((r) => r.hwm_kib);
    return xs.length ? Math.max(...xs) / 1024 : null;
  };
  return { renderer_peak_rss_mib: peak('renderer'), gpu_peak_rss_mib: peak('gpu-process') };
}

// --- Browser sessions.
async function openSession(cfg, port) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lmfast-bench-profile-'));
  const args = ['--headless=new', '--no-sandbox', '--enable-blink-features=ForceEagerMeasureMemory'];
  // WebGPU only where it is measured: on the other sessions wllama could not pick SwiftShader
  // even if its n_gpu_layers setting were ignored.
  if (cfg.webgpu) args.push('--enable-unsafe-webgpu', '--enable-features=Vulkan');
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Engines report failures from their workers through the console.
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text().slice(0, 500)); });
  const url = `http://127.0.0.1:${port}/bench/browser/page.html`;
  await page.goto(url);
  const call = (fn, ...a) => page.evaluate(async ({ fn, a }) => (await import('/bench/browser/engines.js'))[fn](...a), { fn, a });
  return {
    profile, context, page, errors, call,
    reload: () => page.goto(url),
    async close() {
      const peaks = chromiumPeaks(profile);
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
      return peaks;
    },
  };
}

async function benchSession(name, port) {
  const cfg = { ...CONFIGS[name], context: CONTEXT };
  const gen = cfg.webgpu ? WEBGPU_GEN : GEN_TOKENS;
  const s = await openSession(cfg, port);
  let step = 'cold load';
  try {
    const cold = await s.call('load', cfg);
    await s.call('unload');
    await s.reload();
    step = 'warm load';
    const warm = await s.call('load', cfg);
    step = 'first request';
    // The first request after a load pays one-time costs (wasm tier-up, buffer growth,
    // pipeline creation); it gives the "warm load to first token" figure (so it generates just
    // 2 tokens), the second request the steady speeds. On WebGPU (SwiftShader: minutes per
    // request) the one request gives both.
    const first = await s.call('generate', IDS, cfg.webgpu ? gen : 2);
    step = 'measured request';
    const steady = cfg.webgpu ? first : await s.call('generate', IDS, gen);
    step = 'memory';
    const mem = await s.call('memory');
    await s.call('unload');
    const peaks = await s.close();
    return { cold_load_s: cold, warm_load_s: warm, first_request: first, steady, memory: mem, ...peaks, load_avg: loadavg(), page_errors: s.errors };
  } catch (e) {
    await s.close().catch(() => {});
    throw new Error(`${step}: ${e.message}\n${s.errors.slice(-5).join('\n')}`);
  }
}

function summarizeEngine(name, runs) {
  const cfg = CONFIGS[name];
  const m = (f) => median(runs.map(f));
  return {
    label: cfg.label,
    engine: cfg.engine,
    model: cfg.model.replace(/^\//, ''),
    threads: cfg.threads || 1,
    threads_used: runs.map((r) => r.memory.threads).find(Boolean) || null,
    backend: cfg.backend || 'cpu',
    adapter: runs.map((r) => r.memory.adapter).find(Boolean) || null,
    runs: runs.length,
    prompt_tokens: PROMPT_TOKENS,
    gen_tokens: cfg.webgpu ? WEBGPU_GEN : GEN_TOKENS,
    cold_load_s: m((r) => r.cold_load_s),
    warm_load_s: m((r) => r.warm_load_s),
    warm_load_to_first_token_s: m((r) => r.warm_load_s + r.first_request.ttft_s),
    ttft_s: m((r) => r.steady.ttft_s),
    prefill_tok_s: m((r) => r.steady.prefill_tok_s),
    decode_tok_s: m((r) => r.steady.decode_tok_s),
    engine_reported_prefill_tok_s: m((r) => (r.steady.engine_timings ? r.steady.engine_timings.prompt_per_second : null)),
    engine_reported_decode_tok_s: m((r) => (r.steady.engine_timings ? r.steady.engine_timings.predicted_per_second : null)),
    ua_memory_mib: m((r) => (r.memory.ua_bytes ? r.memory.ua_bytes / 1048576 : null)),
    wasm_memory_mib: m((r) => (r.memory.wasm_memory_bytes ? r.memory.wasm_memory_bytes / 1048576 : null)),
    renderer_peak_rss_mib: m((r) => r.renderer_peak_rss_mib),
    gpu_peak_rss_mib: m((r) => r.gpu_peak_rss_mib),
    per_run: runs,
  };
}

// --- Scaling: prefill and decode speed against prompt length, one session per engine (all
// open at once), lengths interleaved across engines.
async function scaling(port) {
  const ctx = Math.max(...SCALING) + SCALING_GEN + 64;
  const sessions = {};
  for (const name of SCALING_ENGINES) {
    const cfg = { ...CONFIGS[name], context: ctx };
    const s = await openSession(cfg, port);
    await s.call('load', cfg);
    // Warm-up request: wasm tier-up and buffer growth happen here, not in the first length.
    await s.call('generate', ALL_IDS.slice(0, 16), 4);
    sessions[name] = s;
  }
  const points = Object.fromEntries(SCALING_ENGINES.map((n) => [n, []]));
  try {
    for (const n of SCALING) {
      for (const name of SCALING_ENGINES) {
        const r = await sessions[name].call('generate', ALL_IDS.slice(0, n), SCALING_GEN);
        points[name].push({ prompt_tokens: n, gen_tokens: SCALING_GEN, ttft_s: r.ttft_s, prefill_tok_s: r.prefill_tok_s, decode_tok_s: r.decode_tok_s, load_avg: loadavg() });
        log(`scaling ${name.padEnd(13)} prompt ${String(n).padStart(4)}: prefill ${r.prefill_tok_s.toFixed(1)} tok/s, decode ${r.decode_tok_s.toFixed(1)} tok/s`);
      }
    }
  } finally {
    for (const s of Object.values(sessions)) { await s.call('unload').catch(() => {}); await s.close(); }
  }
  return { context: ctx, gen_tokens: SCALING_GEN, series: SCALING_ENGINES.map((n) => ({ key: n, name: `${CONFIGS[n].label} (browser)`, points: points[n] })) };
}

// --- Main.
const started = Date.now();
const load_avg_start = loadavg();
const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
const wllamaVersion = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', '@wllama', 'wllama', 'package.json'), 'utf8')).version;
const { server, port } = await startServer();
log(`${chromiumVersion}; wllama ${wllamaVersion}; load average ${load_avg_start.join(' ')}`);
log(`engines ${ENGINES.join(', ')}; ${PROMPT_TOKENS} prompt tokens, ${GEN_TOKENS} generated (WebGPU: ${WEBGPU_GEN}, ${WEBGPU_RUNS} runs), ${RUNS} rounds, context ${CONTEXT}`);

const perEngine = Object.fromEntries(ENGINES.map((e) => [e, []]));
const failures = {};
const rounds = Math.max(RUNS, ENGINES.includes('lmfast-webgpu') ? WEBGPU_RUNS : 0);
for (let round = 1; round <= rounds; round += 1) {
  for (const name of ENGINES) {
    if (failures[name]) continue;
    if (round > (CONFIGS[name].webgpu ? WEBGPU_RUNS : RUNS)) continue;
    try {
      const r = await benchSession(name, port);
      perEngine[name].push(r);
      log(`round ${round} ${name.padEnd(13)} cold ${r.cold_load_s.toFixed(2)} s, warm ${r.warm_load_s.toFixed(2)} s, first-request TTFT ${r.first_request.ttft_s.toFixed(2)} s | TTFT ${r.steady.ttft_s.toFixed(3)} s, prefill ${r.steady.prefill_tok_s.toFixed(1)} tok/s, decode ${r.steady.decode_tok_s.toFixed(2)} tok/s | renderer peak RSS ${r.renderer_peak_rss_mib ? r.renderer_peak_rss_mib.toFixed(0) : '?'} MiB${r.memory.adapter ? ` | adapter ${r.memory.adapter}` : ''} | load ${r.load_avg[0]}`);
    } catch (e) {
      failures[name] = String(e && e.stack ? e.stack : e);
      log(`round ${round} ${name} FAILED: ${e}`);
    }
  }
}

const results = {};
for (const name of ENGINES) if (perEngine[name].length) results[name] = summarizeEngine(name, perEngine[name]);

// Ratios against wllama's best configuration (the one that decodes fastest).
const wllamaBest = Object.keys(results).filter((n) => results[n].engine === 'wllama')
  .sort((a, b) => results[b].decode_tok_s - results[a].decode_tok_s)[0] || null;
const RATIO_KEYS = ['cold_load_s', 'warm_load_s', 'warm_load_to_first_token_s', 'ttft_s', 'prefill_tok_s', 'decode_tok_s', 'renderer_peak_rss_mib'];
const ratios = {};
if (wllamaBest) {
  for (const name of Object.keys(results)) {
    if (results[name].engine !== 'lmfast') continue;
    ratios[name] = Object.fromEntries(RATIO_KEYS.map((k) => [k, results[name][k] && results[wllamaBest][k] ? results[name][k] / results[wllamaBest][k] : null]));
  }
}

let scalingResult = null;
SCALING_ENGINES = SCALING_ENGINES.map((e) => (e === 'wllama-best' ? wllamaBest : e)).filter(Boolean);
if (SCALING.length && SCALING_ENGINES.length) {
  try { scalingResult = await scaling(port); } catch (e) { failures.scaling = String(e && e.stack ? e.stack : e); log(`scaling FAILED: ${e}`); }
}
server.close();

// --- Table.
const f = (x, d = 1) => (x === null || x === undefined ? '—' : x.toFixed(d));
const header = '| engine | model | runs | gen tokens | load cold s | load warm s | warm load → first token s | TTFT s | prefill tok/s | decode tok/s | renderer peak RSS MiB | JS+wasm memory MiB (measureUserAgentSpecificMemory) |';
const lines = [header, '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
for (const [name, r] of Object.entries(results)) {
  lines.push(`| ${r.label}${r.adapter ? ` (${r.adapter})` : ''} | ${r.model} | ${r.runs} | ${r.gen_tokens} | ${f(r.cold_load_s, 2)} | ${f(r.warm_load_s, 2)} | ${f(r.warm_load_to_first_token_s, 2)} | ${f(r.ttft_s, 3)} | ${f(r.prefill_tok_s)} | ${f(r.decode_tok_s)} | ${f(r.renderer_peak_rss_mib, 0)} | ${f(r.ua_memory_mib, 0)} |`);
}
for (const [name, q] of Object.entries(ratios)) {
  lines.push(`| **${results[name].label} / ${results[wllamaBest].label}** | | | | ${f(q.cold_load_s, 2)}× | ${f(q.warm_load_s, 2)}× | ${f(q.warm_load_to_first_token_s, 2)}× | ${f(q.ttft_s, 2)}× | ${f(q.prefill_tok_s, 2)}× | **${f(q.decode_tok_s, 2)}×** | ${f(q.renderer_peak_rss_mib, 2)}× | |`);
}
console.log('\n' + lines.join('\n') + '\n');
if (wllamaBest) console.log(`ratios are lmfast / ${results[wllamaBest].label} (wllama's fastest decoding configuration here); > 1 is better for tok/s, < 1 for seconds and MiB`);
const load_avg_end = loadavg();
console.log(`load average: ${load_avg_start.join(' ')} at the start, ${load_avg_end.join(' ')} at the end; ${((Date.now() - started) / 60000).toFixed(1)} min`);

const gitRev = (() => { try { return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })();
fs.mkdirSync(path.dirname(OUT), { recursive: true });
const doc = {
  date: new Date().toISOString(), git_rev: gitRev, chromium: chromiumVersion, wllama: wllamaVersion,
  cpu: (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || null, nproc: os.cpus().length,
  load_avg_start, load_avg_end, minutes: (Date.now() - started) / 60000,
  prompt_tokens: PROMPT_TOKENS, gen_tokens: GEN_TOKENS, webgpu_gen_tokens: WEBGPU_GEN, context: CONTEXT, runs: RUNS, webgpu_runs: WEBGPU_RUNS,
  prompt_ids: IDS, wllama_best: wllamaBest, results, ratios, table: lines.join('\n'), scaling: scalingResult, failures,
};
fs.writeFileSync(OUT + '.tmp', JSON.stringify(doc, null, 1));
fs.renameSync(OUT + '.tmp', OUT);
log(`wrote ${path.relative(ROOT, OUT)}`);
if (Object.keys(failures).length) { console.error('failures:', failures); process.exit(1); }
