// lmfast in headless Chromium: cold and warm load, time to first token, prefill and decode
// tokens/s and wasm memory, on the wasm CPU path and on WebGPU (when pkg/wasm has it), for
// the default export and a 128-token prompt with 128 greedy tokens. Medians of --runs.
//
//   node bench/run-browser.mjs [--runs 5] [--model models/smollm2-135m-q4] [--out bench/out/browser.json]
//
// Needs pkg/wasm (scripts/build-web.sh) and tests/browser/node_modules (scripts/test.sh's set-up).

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');
const { startServer } = await import(path.join(ROOT, 'tests', 'browser', 'server.mjs'));

const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const RUNS = Number(arg('--runs', 5));
const MODEL = arg('--model', 'models/smollm2-135m-q4');
const OUT = path.join(ROOT, arg('--out', 'bench/out/browser.json'));
const PROMPT = fs.readFileSync(path.join(ROOT, 'bench', 'prompt.txt'), 'utf8').trim();
const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'pkg', 'wasm', 'build.json'), 'utf8'));
const backends = build.features.includes('webgpu') ? ['webgpu', 'cpu'] : ['cpu'];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const { server, port } = await startServer();
const results = {};
for (const backend of backends) {
  const profile = fs.mkdtempSync('/tmp/lmfast-bench-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--enable-unsafe-webgpu', '--headless=new', '--no-sandbox', '--enable-features=Vulkan'],
  });
  const page = context.pages()[0] || (await context.newPage());
  await page.goto(`http://127.0.0.1:${port}/tests/browser/pages/blank.html`);
  const r = await page.evaluate(async ({ model, backend, runs, prompt }) => {
    const { Engine, clearStores } = await import('/pkg/src/index.js');
    await clearStores();
    const load = async () => {
      const t0 = performance.now();
      const engine = await Engine.load(model, { backend, cache: 'cache' });
      return { engine, seconds: (performance.now() - t0) / 1000 };
    };
    const cold = await load();
    await cold.engine.unload();
    const warm = await load();
    const engine = warm.engine;
    let ids = await engine.tokenize(prompt, { addSpecial: false });
    while (ids.length < 128) ids = ids.concat(ids);
    ids = ids.slice(0, 128);
    const timings = [];
    for (let i = 0; i < runs; i += 1) {
      await engine.reset();
      const out = await engine.generate(ids, { temperature: 0, max_tokens: 128, ignore_eos: true, reuse_cache: false });
      timings.push(out.timings);
    }
    const info = await engine.info();
    await engine.unload();
    return { cold: cold.seconds, warm: warm.seconds, timings, info };
  }, { model: `/${MODEL}/`, backend, runs: RUNS, prompt: PROMPT });
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
  results[backend] = {
    adapter: r.info.adapter ? r.info.adapter.name || r.info.adapter.description || JSON.stringify(r.info.adapter) : null,
    load_cold_s: r.cold,
    load_warm_s: r.warm,
    ttft_s: median(r.timings.map((t) => t.time_to_first_token)),
    prefill_tok_s: median(r.timings.map((t) => t.prefill_tokens_per_second)),
    decode_tok_s: median(r.timings.map((t) => t.decode_tokens_per_second)),
    wasm_memory_mib: r.info.wasm_memory_bytes / 1048576,
    runs: r.timings,
  };
  const x = results[backend];
  console.log(`${backend.padEnd(7)} load cold ${x.load_cold_s.toFixed(2)} s, warm ${x.load_warm_s.toFixed(2)} s | TTFT ${x.ttft_s.toFixed(3)} s | prefill ${x.prefill_tok_s.toFixed(1)} tok/s | decode ${x.decode_tok_s.toFixed(1)} tok/s | wasm memory ${x.wasm_memory_mib.toFixed(0)} MiB${x.adapter ? ` | adapter ${x.adapter}` : ''}`);
}
server.close();
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, JSON.stringify({ model: MODEL, runs: RUNS, prompt_tokens: 128, gen_tokens: 128, results }, null, 1));
console.log(`wrote ${path.relative(ROOT, OUT)}`);
