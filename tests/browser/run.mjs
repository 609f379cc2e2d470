// The browser tests: headless Debian chromium (WebGPU on SwiftShader) driven by
// playwright-core, against pages served from this repository by server.mjs.
//
//   node tests/browser/run.mjs            every test (scripts/test.sh runs this)
//   node tests/browser/run.mjs --only cpu-parity,cache
//
// Needs: pkg/wasm built (scripts/build-web.sh), target/release/lmfast, the default export
// models/smollm2-135m-q4 (scripts/test.sh makes it). Results go to tests/artifacts/browser/.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LMFAST = path.join(ROOT, 'target', 'release', 'lmfast');
const EXPORT = 'models/smollm2-135m-q4';
const TINY = 'target/browser-fixtures/tiny-llama-q4';
const GEMMA = 'models/gemma3-270m-q4';
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts', 'browser');
const PARITY_TOKENS = 32;
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--headless=new', '--no-sandbox', '--use-angle=swiftshader', '--enable-features=Vulkan'];
const NO_WEBGPU_ARGS = ['--headless=new', '--no-sandbox', '--disable-webgpu'];

// Whether pkg/wasm was built with the WebGPU decoder (scripts/build-web.sh records it).
const BUILD = JSON.parse(fs.readFileSync(path.join(ROOT, 'pkg', 'wasm', 'build.json'), 'utf8'));
const HAS_WEBGPU = BUILD.features.split(/[ ,]+/).includes('webgpu');
const NEEDS_WEBGPU = new Set(['kernels', 'webgpu-parity', 'gemma3-webgpu']);
// SwiftShader decodes ~1 token/s: the full run asks WebGPU for the first few parity prompts,
// `--only webgpu-parity` for all 14 (~10 minutes here).
const WEBGPU_PARITY_PROMPTS = 3;

// Kernel checks known to miss on an adapter (matched on its name, lower case), and why.
// None now: every kernel repeats the CPU's float steps (core/src/shared_math.rs) and must
// match it bit for bit; an entry here would need a driver that breaks WGSL's rules.
const EXPECTED_KERNEL_MISSES = {};

const only = (() => { const i = process.argv.indexOf('--only'); return i > 0 ? process.argv[i + 1].split(',') : null; })();
fs.mkdirSync(ARTIFACTS, { recursive: true });

function native(model, prompt, { tokens = PARITY_TOKENS } = {}) {
  const out = execFileSync(LMFAST, ['generate', '--model', model, '--prompt', prompt, '--temperature', '0', '--max-tokens', String(tokens), '--json'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24,
  });
  return JSON.parse(out.toString());
}

function parityPrompts(file = 'model_parity.json') {
  const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/reference/fixtures', file), 'utf8'));
  return fixture.prompts.map((p) => ({ name: p.name, prompt: p.prompt }));
}

async function withBrowser(args, fn) {
  const profile = fs.mkdtempSync('/tmp/lmfast-chromium-');
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args, headless: true });
  const page = context.pages()[0] || (await context.newPage());
  const logs = [];
  page.on('console', (m) => logs.push(`[console] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  try {
    return await fn(page, context, logs);
  } catch (e) {
    if (logs.length) console.error(logs.slice(-20).join('\n'));
    throw e;
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function open(page, base, { isolated = true } = {}) {
  await page.goto(`${base}/tests/browser/pages/blank.html${isolated ? '' : '?isolated=0'}`);
}

/** Loads `model` in the page and generates greedily for each prompt; returns tokens + info. */
async function browserGreedy(page, model, prompts, options, n = PARITY_TOKENS) {
  return page.evaluate(async ({ model, prompts, options, n }) => {
    const { Engine } = await import('/pkg/src/index.js');
    const t0 = performance.now();
    const engine = await Engine.load(model, options);
    const loadSeconds = (performance.now() - t0) / 1000;
    const results = [];
    for (const p of prompts) {
      const r = await engine.generate(p.prompt, { temperature: 0, max_tokens: n, reuse_cache: false });
      results.push({ name: p.name, tokens: r.tokens, text: r.choices[0].text, timings: r.timings });
    }
    const info = await engine.info();
    await engine.unload();
    return { loadSeconds, results, info };
  }, { model: `/${model}/`, prompts, options, n });
}

function compare(label, browser, nativeOut) {
  const rows = [];
  let identical = 0;
  for (const b of browser.results) {
    const n = nativeOut[b.name];
    let same = 0;
    while (same < n.tokens.length && b.tokens[same] === n.tokens[same]) same += 1;
    const equal = same === n.tokens.length && b.tokens.length === n.tokens.length;
    if (equal) identical += 1;
    rows.push({ name: b.name, equal, same_prefix: same, browser: b.tokens, native: n.tokens });
  }
  fs.writeFileSync(path.join(ARTIFACTS, `${label}.json`), JSON.stringify({ info: browser.info, rows }, null, 1));
  return { identical, total: rows.length, rows };
}

const tests = {
  async 'kernels'(base) {
    // Every WebGPU kernel against the CPU reference on random data.
    await withBrowser(WEBGPU_ARGS, async (page) => {
      await open(page, base);
      const report = await page.evaluate(async () => {
        const { runKernelChecks } = await import('/pkg/src/index.js');
        return runKernelChecks();
      });
      console.log(`  adapter: ${JSON.stringify(report.adapter)}`);
      for (const c of report.checks) console.log(`  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name}: max |error| ${c.max_abs_error.toExponential(2)} (tolerance ${c.tolerance.toExponential(1)})`);
      fs.writeFileSync(path.join(ARTIFACTS, 'kernels.json'), JSON.stringify(report, null, 1));
      // Per-adapter expectations (as wgpu's own test harness keeps them): checks known to
      // miss on an adapter, with the reason. Every other check must pass, and an expected
      // miss that starts passing fails too, so the table cannot go stale.
      const adapterName = `${report.adapter.name} ${report.adapter.description || ''} ${report.adapter.vendor || ''}`;
      const expectedMisses = Object.entries(EXPECTED_KERNEL_MISSES)
        .filter(([adapter]) => adapterName.toLowerCase().includes(adapter))
        .flatMap(([, misses]) => misses);
      const failed = report.checks.filter((c) => !c.passed && !expectedMisses.some((m) => c.name.startsWith(m.check)));
      const stale = expectedMisses.filter((m) => report.checks.some((c) => c.name.startsWith(m.check) && c.passed));
      for (const m of expectedMisses) console.log(`  expected on this adapter: '${m.check}' misses (${m.why})`);
      if (report.checks.length < 8) throw new Error(`only ${report.checks.length} kernel checks ran`);
      if (failed.length) throw new Error(`kernels off the CPU reference: ${failed.map((c) => c.name).join(', ')}`);
      if (stale.length) throw new Error(`expected misses now pass (update EXPECTED_KERNEL_MISSES): ${stale.map((m) => m.check).join(', ')}`);
    });
  },

  async 'tiny-model'(base) {
    // A tiny llama (committed HF fixture, exported at q4g32) on both backends vs native.
    const prompts = [{ name: 'a', prompt: 'hello world' }, { name: 'b', prompt: 'the quick brown fox' }];
    const nat = Object.fromEntries(prompts.map((p) => [p.name, native(TINY, p.prompt)]));
    for (const backend of HAS_WEBGPU ? ['webgpu', 'cpu'] : ['cpu']) {
      await withBrowser(WEBGPU_ARGS, async (page) => {
        await open(page, base);
        const out = await browserGreedy(page, TINY, prompts, { backend, cache: 'none' });
        const c = compare(`tiny-${backend}`, out, nat);
        console.log(`  ${backend}: ${c.identical}/${c.total} prompts identical to native`);
        if (c.identical !== c.total) throw new Error(`tiny model on ${backend} differs from native: ${JSON.stringify(c.rows.filter((r) => !r.equal).map((r) => [r.name, r.same_prefix]))}`);
      });
    }
  },

  async 'gemma3-cpu'(base) {
    // Gemma 3 270M (q4g32 export): the wasm CPU path greedy-decodes native's tokens on the
    // fixture's short prompts (the long one past the 512 window stays native-only: too slow
    // here), and the model reports that it is a base model.
    const prompts = parityPrompts('gemma3_model_parity.json').filter((p) => p.prompt.length < 400).slice(0, 6);
    const n = 16;
    const nat = Object.fromEntries(prompts.map((p) => [p.name, native(GEMMA, p.prompt, { tokens: n })]));
    await withBrowser(NO_WEBGPU_ARGS, async (page) => {
      await open(page, base);
      const out = await browserGreedy(page, GEMMA, prompts, { backend: 'cpu', cache: 'none', threads: 2 }, n);
      const c = compare('gemma3-cpu', out, nat);
      console.log(`  ${c.identical}/${c.total} prompts x ${n} tokens identical to native (${out.info.kernels}, ${out.info.threads} threads); chat template: ${out.info.model.chat}`);
      if (out.info.model.chat !== false) throw new Error('Gemma 3 270M should report no chat template');
      if (c.identical !== c.total) throw new Error(`Gemma 3 on the CPU path differs: ${JSON.stringify(c.rows.filter((r) => !r.equal).map((r) => [r.name, r.same_prefix]))}`);
    });
  },

  async 'gemma3-webgpu'(base) {
    // The same on the WGSL decoder (SwiftShader here: few prompts, few tokens).
    const prompts = parityPrompts('gemma3_model_parity.json').filter((p) => p.prompt.length < 100).slice(0, 2);
    const n = 6;
    const nat = Object.fromEntries(prompts.map((p) => [p.name, native(GEMMA, p.prompt, { tokens: n })]));
    await withBrowser(WEBGPU_ARGS, async (page) => {
      await open(page, base);
      const out = await browserGreedy(page, GEMMA, prompts, { backend: 'webgpu', cache: 'none' }, n);
      const c = compare('gemma3-webgpu', out, nat);
      console.log(`  ${c.identical}/${c.total} prompts x ${n} tokens identical to native on ${out.info.adapter && out.info.adapter.name}`);
      if (c.identical !== c.total) throw new Error(`Gemma 3 on WebGPU differs: ${JSON.stringify(c.rows.filter((r) => !r.equal).map((r) => [r.name, r.same_prefix]))}`);
    });
  },

  async 'cpu-parity'(base) {
    // The wasm CPU path's kernels repeat native's AVX2 float operations in the same order:
    // the greedy tokens must be identical to native lmfast on every parity prompt, on both
    // builds: the threaded one (2 threads, relaxed SIMD; the test server isolates its pages)
    // and the one-thread one. WebGPU is turned off, so `auto` must fall back to the CPU and
    // say why.
    const prompts = parityPrompts();
    const nat = Object.fromEntries(prompts.map((p) => [p.name, native(EXPORT, p.prompt)]));
    await withBrowser(NO_WEBGPU_ARGS, async (page) => {
      await open(page, base);
      // First each build's kernels alone, against the portable ones on random data, over
      // schemes the default export does not use (int8, symmetric int4, 128-wide groups).
      const checks = await page.evaluate(async () => Promise.all(['wasm', 'wasm-threads'].map(async (dir) => {
        const build = await import(`/pkg/${dir}/lmfast_web.js`);
        await build.default();
        return { dir, ...JSON.parse(build.cpuKernelCheck()) };
      })));
      for (const k of checks) {
        console.log(`  pkg/${k.dir} kernels (${k.isa}): ${k.values - k.mismatch_count}/${k.values} values of ${k.products} products bit-identical to the portable kernels`);
        if (k.mismatch_count !== 0 || k.values === 0) throw new Error(`pkg/${k.dir} kernels differ from the portable ones: ${k.mismatches.join('; ')}`);
      }
      if (!checks[1].isa.includes('relaxed-simd') || checks[0].isa.includes('relaxed-simd')) throw new Error(`kernel sets: ${checks.map((k) => k.isa).join(', ')}`);
      for (const threads of [2, 1]) {
        const out = await browserGreedy(page, EXPORT, prompts, { backend: 'auto', cache: 'none', threads });
        if (out.info.backend !== 'cpu') throw new Error(`with WebGPU off the backend is ${out.info.backend}`);
        if (!out.info.fallback_reason) throw new Error('the CPU fallback gives no reason');
        const c = compare(`cpu-parity-${threads}t`, out, nat);
        console.log(`  ${threads} thread(s) asked: ${out.info.threads} used (${out.info.threads_reason || 'no reason needed'}), kernels ${out.info.kernels}; fallback reason: ${out.info.fallback_reason}`);
        console.log(`  ${c.identical}/${c.total} prompts x ${PARITY_TOKENS} tokens identical to native lmfast`);
        if (out.info.threads !== threads) throw new Error(`${threads} threads asked, ${out.info.threads} used: ${out.info.threads_reason}`);
        const relaxed = out.info.kernels.includes('relaxed-simd');
        if (relaxed !== (threads > 1)) throw new Error(`kernels '${out.info.kernels}' with ${threads} thread(s)`);
        if (c.identical !== c.total) throw new Error(`CPU path (${threads} threads) differs: ${JSON.stringify(c.rows.filter((r) => !r.equal).map((r) => [r.name, r.same_prefix]))}`);
      }
    });
    // A page without COOP/COEP cannot share memory: one thread, a reason naming the
    // headers, and still native's tokens.
    await withBrowser(NO_WEBGPU_ARGS, async (page) => {
      await open(page, base, { isolated: false });
      const out = await browserGreedy(page, EXPORT, prompts.slice(0, 1), { backend: 'cpu', cache: 'none', threads: 2 });
      console.log(`  not isolated: ${out.info.threads} thread (${out.info.threads_reason})`);
      if (out.info.threads !== 1 || !/cross-origin isolated/.test(out.info.threads_reason || '')) throw new Error('a page without COOP/COEP did not fall back to one thread with a reason');
      if (compare('cpu-parity-not-isolated', out, nat).identical !== 1) throw new Error('the one-thread fallback differs from native');
    });
  },

  async 'webgpu-parity'(base) {
    // The WGSL decoder repeats the CPU decoder's float steps (core/src/shared_math.rs): its
    // greedy tokens must be native lmfast's (AVX2 kernels) on the same export.
    const prompts = only ? parityPrompts() : parityPrompts().slice(0, WEBGPU_PARITY_PROMPTS);
    const nat = Object.fromEntries(prompts.map((p) => [p.name, native(EXPORT, p.prompt)]));
    await withBrowser(WEBGPU_ARGS, async (page) => {
      await open(page, base);
      const out = await browserGreedy(page, EXPORT, prompts, { backend: 'webgpu', cache: 'none' });
      const c = compare('webgpu-parity', out, nat);
      const prefix = c.rows.reduce((n, r) => n + r.same_prefix, 0) / c.rows.length;
      console.log(`  adapter: ${out.info.adapter && out.info.adapter.name}`);
      console.log(`  ${c.identical}/${c.total} prompts x up to ${PARITY_TOKENS} tokens identical to native; mean identical prefix ${prefix.toFixed(1)} tokens`);
      for (const r of c.rows.filter((r) => !r.equal)) console.log(`    ${r.name}: first ${r.same_prefix} tokens equal`);
      if (c.identical !== c.total) throw new Error(`WebGPU differs from native on ${c.total - c.identical} prompts`);
    });
  },

  async 'cache'(base, server) {
    // A second load in the same profile fetches no shard; a shard corrupted once is
    // re-fetched; a shard that stays corrupt is reported by name.
    await withBrowser(WEBGPU_ARGS, async (page) => {
      await open(page, base);
      const load = (opts) => page.evaluate(async ({ url, opts }) => {
        const { Engine } = await import('/pkg/src/index.js');
        try {
          const e = await Engine.load(url, opts);
          const info = await e.info();
          await e.unload();
          return { ok: true, info };
        } catch (err) {
          return { ok: false, code: err.code, message: err.message };
        }
      }, { url: `/${EXPORT}/`, opts });
      await fetch(`${base}/__reset`, { method: 'POST' });
      const cold = await load({ backend: 'cpu', cache: 'cache' });
      if (!cold.ok) throw new Error(`cold load failed: ${cold.message}`);
      const shardRequests = (log) => log.filter((p) => p.endsWith('.bin'));
      const coldLog = await (await fetch(`${base}/__log`)).json();
      await fetch(`${base}/__reset`, { method: 'POST' });
      const warm = await load({ backend: 'cpu', cache: 'cache' });
      const warmLog = await (await fetch(`${base}/__log`)).json();
      console.log(`  cold: ${shardRequests(coldLog).length} shard requests, ${cold.info.load.seconds.toFixed(2)} s; warm: ${shardRequests(warmLog).length} shard requests, ${warm.info.load.seconds.toFixed(2)} s`);
      if (shardRequests(coldLog).length !== cold.info.model.shards) throw new Error('the cold load did not fetch every shard');
      if (shardRequests(warmLog).length !== 0 || warm.info.load.shards_from_cache !== warm.info.model.shards) {
        throw new Error(`the warm load fetched ${JSON.stringify(shardRequests(warmLog))}`);
      }
      // The default store in the engine's worker is OPFS (read synchronously): the same
      // cold/warm behaviour.
      await fetch(`${base}/__reset`, { method: 'POST' });
      const autoCold = await load({ backend: 'cpu' });
      const autoColdLog = await (await fetch(`${base}/__log`)).json();
      await fetch(`${base}/__reset`, { method: 'POST' });
      const autoWarm = await load({ backend: 'cpu' });
      const autoWarmLog = await (await fetch(`${base}/__log`)).json();
      console.log(`  default store '${autoWarm.info.load.store}': cold ${shardRequests(autoColdLog).length} shard requests, ${autoCold.info.load.seconds.toFixed(2)} s; warm ${shardRequests(autoWarmLog).length}, ${autoWarm.info.load.seconds.toFixed(2)} s`);
      if (!autoCold.ok || !autoWarm.ok || autoWarm.info.load.store !== 'opfs') throw new Error(`the default store is ${autoWarm.info && autoWarm.info.load.store}, not OPFS`);
      if (shardRequests(autoColdLog).length !== autoCold.info.model.shards || shardRequests(autoWarmLog).length !== 0) {
        throw new Error('the OPFS store did not serve the warm load');
      }
      // A stored copy corrupted on disk (same length): it is handed to wasm while its
      // sha256 is checked, found bad, deleted and downloaded again; the model then loads
      // and gives the same tokens as from the good copy.
      const shard = 'shard-00001.bin';
      const greedy = () => page.evaluate(async ({ url }) => {
        const { Engine } = await import('/pkg/src/index.js');
        const e = await Engine.load(url, { backend: 'cpu', cache: 'cache' });
        const out = await e.generate('The capital of France is', { temperature: 0, max_tokens: 8 });
        const info = await e.info();
        await e.unload();
        return { text: out.choices[0].text, info };
      }, { url: `/${EXPORT}/` });
      const good = await greedy();
      const flipped = await page.evaluate(async ({ url, shard }) => {
        const manifest = await (await fetch(`${url}manifest.json`)).json();
        const entry = manifest.shards.find((s) => s.file === shard);
        const cache = await caches.open('lmfast-shards-v1');
        const key = new Request(`https://lmfast.invalid/sha256/${entry.sha256}`);
        const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
        for (let i = 1000; i < bytes.length; i += 4096) bytes[i] ^= 0x5a;
        await cache.put(key, new Response(bytes));
        return bytes.length;
      }, { url: `/${EXPORT}/`, shard });
      await fetch(`${base}/__reset`, { method: 'POST' });
      const healed = await greedy();
      const healLog = await (await fetch(`${base}/__log`)).json();
      console.log(`  stored copy corrupted (${flipped} bytes): ${shardRequests(healLog).join(', ') || 'no request'}, refetched=${healed.info.load.refetched}, "${healed.text}" (from the good copy: "${good.text}")`);
      if (JSON.stringify(shardRequests(healLog).map((p) => p.split('/').pop())) !== JSON.stringify([shard]) || healed.info.load.refetched !== 1) {
        throw new Error('a corrupt stored shard was not downloaded again, alone and once');
      }
      if (healed.text !== good.text) throw new Error('the model loaded after healing the cache answers differently');
      await fetch(`${base}/__reset`, { method: 'POST' });
      const again = await load({ backend: 'cpu', cache: 'cache' });
      const againLog = await (await fetch(`${base}/__log`)).json();
      if (!again.ok || shardRequests(againLog).length !== 0) throw new Error('the healed cache is not used by the next load');
      // Corrupt in transit once: detected, re-fetched, loads.
      await fetch(`${base}/__reset`, { method: 'POST' });
      await fetch(`${base}/__corrupt?file=${shard}&times=1`);
      const once = await load({ backend: 'cpu', cache: 'none' });
      const onceLog = await (await fetch(`${base}/__log`)).json();
      if (!once.ok) throw new Error(`a shard corrupted once should be re-fetched: ${once.message}`);
      const refetches = onceLog.filter((p) => p.endsWith(shard)).length;
      console.log(`  corrupted once: loaded after ${refetches} requests of ${shard}, refetched=${once.info.load.refetched}`);
      if (once.info.load.refetched !== 1 || refetches !== 2) throw new Error('the corrupt shard was not re-fetched exactly once');
      // Corrupt every time: a typed error naming the shard.
      await fetch(`${base}/__corrupt?file=${shard}&times=5`);
      const bad = await load({ backend: 'cpu', cache: 'none' });
      console.log(`  corrupted always: ${bad.ok ? 'loaded!' : `${bad.code}: ${bad.message}`}`);
      if (bad.ok || bad.code !== 'hash' || !bad.message.includes(shard)) throw new Error('a persistently corrupt shard was not reported as a hash error naming it');
      await fetch(`${base}/__reset`, { method: 'POST' });
    });
  },
};


tests['api'] = async (base) => {
  // The JS API's shapes and behaviours, in a worker and on the page's thread.
  const nativeChat = JSON.parse(execFileSync(LMFAST, ['generate', '--chat', '--model', EXPORT, '--prompt', 'What is the capital of France?', '--temperature', '0', '--max-tokens', '12', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString());
  await withBrowser(NO_WEBGPU_ARGS, async (page) => {
    await open(page, base);
    const r = await page.evaluate(async (model) => {
      const { Engine, LmfastError } = await import('/pkg/src/index.js');
      const out = {};
      for (const worker of [true, false]) {
        const engine = await Engine.load(model, { cache: 'none', worker });
        const key = worker ? 'worker' : 'page';
        const ids = await engine.tokenize('Hello, world');
        const text = await engine.detokenize(ids);
        const messages = [{ role: 'user', content: 'What is the capital of France?' }];
        const whole = await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 12 });
        const chunks = [];
        for await (const c of await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 12, stream: true })) chunks.push(c);
        // Interrupt a long generation after a few tokens.
        const stream = await engine.generate('Once upon a time', { temperature: 0, max_tokens: 400, stream: true });
        let n = 0;
        for await (const c of stream) { n += 1; if (n === 3) engine.interrupt(); }
        const after = await engine.generate('The capital of France is', { temperature: 0, max_tokens: 4 });
        let bad = null;
        try { await engine.generate('x', { temprature: 1 }); } catch (e) { bad = { code: e.code, message: e.message, isError: e instanceof LmfastError }; }
        const seeded = [];
        for (let i = 0; i < 2; i += 1) seeded.push((await engine.generate('Tell me a story', { temperature: 0.9, seed: 42, max_tokens: 16 })).choices[0].text);
        out[key] = { ids, text, whole, chunks, interruptedAfter: n, after: after.choices[0], bad, seeded, info: await engine.info() };
        await engine.unload();
      }
      return out;
    }, `/${EXPORT}/`);
    for (const [key, x] of Object.entries(r)) {
      const streamed = x.chunks.map((c) => c.choices[0].delta.content || '').join('');
      const last = x.chunks[x.chunks.length - 1];
      console.log(`  ${key}: chat ${JSON.stringify(x.whole.choices[0].message.content)} (${x.whole.usage.completion_tokens} tokens), ${x.chunks.length} chunks, interrupted after ${x.interruptedAfter}, bad option -> ${x.bad && x.bad.code}`);
      if (x.text !== 'Hello, world') throw new Error(`${key}: detokenize(tokenize) gave ${JSON.stringify(x.text)}`);
      if (x.whole.object !== 'chat.completion' || x.whole.choices[0].message.role !== 'assistant') throw new Error(`${key}: not a chat.completion`);
      if (x.whole.choices[0].message.content !== nativeChat.text) throw new Error(`${key}: the chat answer ${JSON.stringify(x.whole.choices[0].message.content)} is not native's ${JSON.stringify(nativeChat.text)}`);
      if (streamed !== x.whole.choices[0].message.content) throw new Error(`${key}: streamed ${JSON.stringify(streamed)} differs from the whole answer`);
      if (x.chunks[0].choices[0].delta.role !== 'assistant' || last.choices[0].finish_reason === null || !last.usage) throw new Error(`${key}: stream chunks are not OpenAI-shaped`);
      if (x.interruptedAfter > 8) throw new Error(`${key}: interrupt() did not stop the stream (${x.interruptedAfter} chunks)`);
      if (!x.after.text.includes('Paris')) throw new Error(`${key}: the engine did not recover after an interrupt`);
      if (!x.bad || x.bad.code !== 'input' || !x.bad.message.includes('temprature') || !x.bad.isError) throw new Error(`${key}: a misspelt option gave ${JSON.stringify(x.bad)}`);
      if (x.seeded[0] !== x.seeded[1]) throw new Error(`${key}: the same seed gave different samples`);
      if (x.info.backend !== 'cpu' || x.info.model.config.num_layers !== 30) throw new Error(`${key}: info() is wrong`);
    }
  });
};

tests['npm-package'] = async (base) => {
  // `npm pack` in pkg/, installed into a fresh folder, imported by a plain HTML page that
  // streams a greedy answer, with WebGPU and with WebGPU turned off.
  const dir = path.join(ROOT, 'target', 'npm-smoke');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: path.join(ROOT, 'pkg') }).toString().trim().split('\n').pop();
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'smoke', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', `./${tarball}`], { cwd: dir, stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html>
<html><head><meta charset="utf-8"><title>lmfast from npm</title></head>
<body><pre id="out"></pre>
<script type="module">
  import { Engine } from './node_modules/lmfast/src/index.js';
  const out = document.getElementById('out');
  const params = new URLSearchParams(location.search);
  const engine = await Engine.load('/${EXPORT}/', { backend: params.get('backend') || 'auto', cache: 'none' });
  const stream = await engine.generate('The capital of France is', { temperature: 0, max_tokens: 12, stream: true });
  let chunks = 0;
  for await (const c of stream) { out.textContent += c.text; chunks += 1; }
  window.result = { text: out.textContent, chunks, info: await engine.info() };
</script></body></html>`);
  console.log(`  packed ${tarball} (${(fs.statSync(path.join(dir, tarball)).size / 1048576).toFixed(1)} MiB), installed into target/npm-smoke`);
  // WebGPU asked for by name (SwiftShader is a fallback adapter, which 'auto' passes over),
  // then 'auto' with WebGPU turned off.
  for (const [label, args, query] of [['webgpu', WEBGPU_ARGS, '?backend=webgpu'], ['webgpu off', NO_WEBGPU_ARGS, '']]) {
    await withBrowser(args, async (page) => {
      await page.goto(`${base}/target/npm-smoke/index.html${query}`);
      await page.waitForFunction(() => window.result, null, { timeout: 240000 });
      const r = await page.evaluate(() => window.result);
      console.log(`  ${label}: backend ${r.info.backend}${r.info.backend === 'cpu' ? ` (${r.info.threads} threads)` : ''}, ${r.chunks} streamed chunks: ${JSON.stringify(r.text)}`);
      if (!r.text.includes('Paris')) throw new Error(`no Paris in ${JSON.stringify(r.text)}`);
      if (r.chunks < 3) throw new Error('the answer was not streamed');
      if (label === 'webgpu off' && r.info.backend !== 'cpu') throw new Error('WebGPU off but the backend is not the CPU');
      // The page is cross-origin isolated: the packed threaded build must be there and run.
      if (label === 'webgpu off' && !(r.info.threads > 1)) throw new Error(`the packed package ran the CPU path on one thread: ${r.info.threads_reason}`);
      if (label === 'webgpu' && r.info.backend !== 'webgpu') throw new Error(`backend 'webgpu' ran on ${r.info.backend}`);
    });
  }
};

const { server, port } = await startServer();
const base = `http://127.0.0.1:${port}`;
let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  if (only && !only.includes(name)) continue;
  if (NEEDS_WEBGPU.has(name) && !HAS_WEBGPU) {
    console.log(`browser test ${name}: skipped (pkg/wasm was built without the webgpu feature)`);
    continue;
  }
  const t0 = Date.now();
  console.log(`browser test ${name} ...`);
  try {
    await test(base, server);
    console.log(`browser test ${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed += 1;
    console.log(`browser test ${name}: FAILED (${((Date.now() - t0) / 1000).toFixed(1)} s)\n  ${e.stack || e}`);
  }
}
server.close();
if (failed) {
  console.log(`${failed} browser test(s) failed`);
  process.exit(1);
}
console.log('all browser tests passed');
