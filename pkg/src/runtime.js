// The engine itself, wherever it runs (a worker by default, or the page): the wasm module,
// the loaded model, and generation as a loop of wasm steps that yields to the event loop
// between tokens so a stop request is seen at once.
//
// Two builds of the engine ship: `wasm/` (WebGPU decoder and a one-thread CPU path) and
// `wasm-threads/` (the CPU path on shared memory, whose matrix products split over helper
// Web Workers). The threaded one needs a cross-origin isolated page (COOP/COEP headers):
// only then do SharedArrayBuffer and shared wasm memory exist.

import * as plainBuild from '../wasm/lmfast_web.js';
import { LmfastError } from './errors.js';
import { loadExport, startReader } from './loader.js';
import { chatCompletion, chatChunk, textCompletion } from './openai.js';

let wasmReady = null;
/** Instantiates the one-thread (WebGPU) build once per thread; resolves to its bindings. */
export function initWasm(wasmUrl) {
  if (!wasmReady) wasmReady = plainBuild.default(wasmUrl ? { module_or_path: wasmUrl } : undefined).then(() => plainBuild);
  return wasmReady;
}

/** How long helper threads may take to start before the engine goes on without them. */
const HELPER_START_MS = 15000;
let threadedReady = null;
/** The threaded build's bindings once instantiated in this thread. */
let threadedBuild = null;
/** The helper workers started in this thread, and whether they were stopped for good. */
const helperWorkers = [];
let threadsStopped = false;

/**
 * Stops this thread's helper workers, before the engine's worker itself is terminated: the
 * shared wasm memory is freed only once no worker holds it, and helpers left to the engine
 * worker's teardown kept it (130 MB for the 135M model) alive for seconds after an unload.
 * The threaded build cannot be used in this thread afterwards.
 */
export function stopThreads() {
  threadsStopped = true;
  // Helpers leave their wasm loop first: a worker still running script is only forced to
  // stop seconds after terminate(), spinning and holding the memory meanwhile.
  try { if (threadedBuild) threadedBuild.threadsStop(); } catch { /* terminate() below still ends them */ }
  for (const w of helperWorkers.splice(0)) w.terminate();
}

/** Threads the CPU path may use by default: every logical core, at most 8. */
export function defaultThreads() {
  const cores = (globalThis.navigator && navigator.hardwareConcurrency) || 1;
  return Math.max(1, Math.min(cores, 8));
}

/** Why this context cannot run the threaded build, or null when it can. */
export function threadsUnavailableReason() {
  if (typeof SharedArrayBuffer === 'undefined' || !globalThis.crossOriginIsolated) {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (typeof Worker === 'undefined') return 'this context cannot start Web Workers';
  return null;
}

async function compileWasm(url) {
  const response = await fetch(url);
  if (!response.ok) throw new LmfastError('http', `${url}: HTTP ${response.status}`);
  if (WebAssembly.compileStreaming && (response.headers.get('Content-Type') || '').startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * Instantiates the threaded build once per thread and starts `threads - 1` helper workers on
 * its shared memory; resolves to `{ build, helpers }`, where `helpers` resolves once every
 * helper has started or given up (`{ asked, started }`). The model loads meanwhile.
 */
function initThreadedWasm(threads) {
  if (!threadedReady) {
    threadedReady = (async () => {
      const build = await import('../wasm-threads/lmfast_web.js');
      const module = await compileWasm(new URL('../wasm-threads/lmfast_web_bg.wasm', import.meta.url));
      const exports = await build.default({ module_or_path: module });
      threadedBuild = build;
      const asked = build.threadsPrepare(threads);
      const helpers = Promise.all(Array.from({ length: asked }, (_, index) => startHelper(module, exports.memory, index)))
        .then((ok) => ({ asked, started: ok.filter(Boolean).length }));
      return { build, helpers };
    })();
    threadedReady.catch(() => { threadedReady = null; });
  }
  return threadedReady;
}

/** Starts one helper worker; resolves true once it has claimed its slot, false otherwise. */
function startHelper(module, memory, index) {
  return new Promise((resolve) => {
    let worker;
    const timer = setTimeout(() => finish(false), HELPER_START_MS);
    function finish(ok) {
      clearTimeout(timer);
      if (!ok && worker) worker.terminate();
      resolve(ok);
    }
    try {
      worker = new Worker(new URL('./thread.js', import.meta.url), { type: 'module', name: `lmfast-thread-${index}` });
    } catch {
      return finish(false);
    }
    helperWorkers.push(worker);
    worker.onmessage = (e) => finish(!!(e.data && e.data.claimed));
    worker.onerror = () => finish(false);
    worker.postMessage({ module, memory, index });
  });
}

// A macrotask boundary without setTimeout's 4 ms clamp: lets queued messages (interrupt)
// run between tokens.
const channel = typeof MessageChannel !== 'undefined' ? new MessageChannel() : null;
const queue = [];
if (channel) channel.port1.onmessage = () => { const r = queue.shift(); if (r) r(); };
function yieldToEventLoop() {
  if (!channel) return new Promise((r) => setTimeout(r, 0));
  return new Promise((r) => { queue.push(r); channel.port2.postMessage(null); });
}

// Options forwarded to the wasm engine, and those the JS side consumes itself.
const SAMPLING_KEYS = new Set(['max_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'seed', 'stop', 'ignore_eos']);
const PASSED_ELSEWHERE = new Set(['messages', 'stream', 'model', 'reuse_cache', 'user']);

const call = (f) => { try { return f(); } catch (e) { throw LmfastError.from(e); } };

/** The browser's own description of its WebGPU adapter (wgpu cannot see GPUAdapterInfo). */
export async function browserAdapterInfo() {
  const gpu = globalThis.navigator && navigator.gpu;
  if (!gpu) return null;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return null;
    const i = adapter.info || (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
    const name = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ');
    return {
      name: name || 'unknown adapter',
      vendor: i.vendor || '', architecture: i.architecture || '', device: i.device || '', description: i.description || '',
      is_fallback_adapter: !!(i.isFallbackAdapter || adapter.isFallbackAdapter),
      features: Array.from(adapter.features || []),
    };
  } catch {
    return null;
  }
}

export class Runtime {
  constructor(wasm, engine, manifest, stats, loadSeconds, url) {
    this.wasm = wasm;
    this.engine = engine;
    this.manifest = manifest;
    this.stats = stats;
    this.loadSeconds = loadSeconds;
    this.url = url;
    this.interrupted = false;
    this.busy = false;
    this.modelId = manifest.name || url;
  }

  /** Loads the export at `url` (see `Engine.load` for the options). */
  static async load(url, { backend = 'auto', cache = 'auto', contextLength = 0, threads, onProgress, wasmUrl } = {}) {
    const started = performance.now();
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
      throw new LmfastError('input', `threads must be a positive integer (got ${threads})`);
    }
    // Stored shards are read and checked on a worker: it starts while the wasm does.
    if (cache !== 'none') startReader();
    // A software fallback adapter (SwiftShader, WARP) runs WGSL on the CPU, many times slower
    // than the wasm CPU path: 'auto' takes the CPU path then. 'webgpu' still uses it.
    let softwareReason = null;
    if (backend === 'auto') {
      const adapter = await browserAdapterInfo();
      if (!adapter) {
        softwareReason = globalThis.navigator && navigator.gpu ? 'no WebGPU adapter is available' : 'this browser has no WebGPU';
        backend = 'cpu';
      } else if (adapter.is_fallback_adapter) {
        softwareReason = `the only WebGPU adapter (${adapter.name}) is a software fallback, slower than the wasm CPU path`;
        backend = 'cpu';
      }
    }
    // The CPU path runs on the threaded build where the page allows it.
    let wasm = null;
    let threaded = null;
    let threadsReason = null;
    const wanted = threads || defaultThreads();
    if (backend === 'cpu' && !wasmUrl) {
      threadsReason = wanted < 2 ? `${threads ? 'threads: 1 was asked for' : 'this device reports one core'}` : threadsUnavailableReason();
      if (!threadsReason && threadsStopped) threadsReason = 'the helper threads of this context were stopped';
      if (!threadsReason) {
        try {
          threaded = await initThreadedWasm(wanted);
          wasm = threaded.build;
        } catch (e) {
          threadsReason = `the threaded build failed to start (${e && e.message ? e.message : e})`;
        }
      }
    }
    if (!wasm) wasm = await initWasm(wasmUrl);
    const { loader, manifest, stats } = await loadExport(url, {
      cache,
      onProgress,
      createLoader: async (m, t, template) => {
        try {
          return await wasm.ModelLoader.create(m, t, template, backend);
        } catch (e) {
          throw LmfastError.from(e);
        }
      },
    });
    if (threaded) {
      // Helpers join between jobs, on this thread: before the first one.
      const h = await threaded.helpers;
      if (wasm.threadsActivate() < 2) threadsReason = `no helper thread started (${h.started} of ${h.asked})`;
    }
    const engine = call(() => loader.finish(contextLength));
    const runtime = new Runtime(wasm, engine, manifest, stats, (performance.now() - started) / 1000, url);
    runtime.softwareReason = softwareReason;
    runtime.threadsReason = threadsReason;
    runtime.adapter = JSON.parse(engine.info()).backend === 'webgpu' ? await browserAdapterInfo() : null;
    return runtime;
  }

  info() {
    const info = JSON.parse(this.engine.info());
    if (info.adapter && this.adapter) info.adapter = { ...info.adapter, ...this.adapter };
    if (this.softwareReason) info.fallback_reason = this.softwareReason;
    if (info.backend !== 'webgpu' && this.threadsReason) info.threads_reason = this.threadsReason;
    info.load = { ...this.stats, seconds: this.loadSeconds, url: this.url };
    info.wasm_memory_bytes = this.wasm.wasmMemoryBytes();
    return info;
  }

  tokenize(text, addSpecial = true) { return Array.from(call(() => this.engine.tokenize(text, addSpecial))); }
  detokenize(ids, skipSpecial = true) { return call(() => this.engine.detokenize(Uint32Array.from(ids), skipSpecial)); }
  renderChat(messages) { return call(() => this.engine.renderChat(JSON.stringify(messages))); }

  /** Runs one generation; `onEvent` gets `{ token, index, text }` per token. `chat` picks
   * the chat turn's default budget over plain text's (the defaults live in lmfast-core). */
  async run(promptIds, options, onEvent, chat = false) {
    if (this.busy) throw new LmfastError('input', 'a generation is already running on this engine');
    this.busy = true;
    this.interrupted = false;
    try {
      const request = {};
      for (const [k, v] of Object.entries(options)) {
        if (v === undefined || v === null || PASSED_ELSEWHERE.has(k)) continue;
        if (!SAMPLING_KEYS.has(k)) {
          throw new LmfastError('input', `unknown option '${k}' (known: ${[...SAMPLING_KEYS, ...PASSED_ELSEWHERE].join(', ')})`);
        }
        request[k] = v;
      }
      if (typeof request.stop === 'string') request.stop = [request.stop];
      call(() => this.engine.start(Uint32Array.from(promptIds), JSON.stringify(request), options.reuse_cache !== false, chat));
      for (;;) {
        if (this.interrupted) this.engine.cancel();
        let event;
        try {
          event = JSON.parse(await this.engine.step());
        } catch (e) {
          throw LmfastError.from(e);
        }
        if (event.text || !event.done) onEvent(event);
        if (event.done) return event.result;
        await yieldToEventLoop();
      }
    } finally {
      this.busy = false;
    }
  }

  interrupt() { this.interrupted = true; }

  /** OpenAI-shaped chat completion; `onChunk` receives stream chunks when given. */
  async chat(params, onChunk) {
    if (!Array.isArray(params.messages) || params.messages.length === 0) {
      throw new LmfastError('input', 'chat.completions.create needs a non-empty messages array');
    }
    const messages = params.messages.map((m, i) => {
      if (!m || typeof m.role !== 'string' || typeof m.content !== 'string') {
        throw new LmfastError('input', `messages[${i}] needs a string role and a string content`);
      }
      return { role: m.role, content: m.content };
    });
    const ids = Array.from(call(() => this.engine.encodeChat(JSON.stringify(messages))));
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000);
    if (onChunk) onChunk(chatChunk(id, created, this.modelId, { role: 'assistant', content: '' }, null));
    const result = await this.run(ids, params, (e) => {
      if (onChunk && e.text) onChunk(chatChunk(id, created, this.modelId, { content: e.text }, null));
    }, true);
    if (onChunk) onChunk(chatChunk(id, created, this.modelId, {}, result.finish_reason, ids.length, result));
    return chatCompletion(id, created, this.modelId, ids.length, result);
  }

  /** Plain-text completion of `prompt` (BOS added when the tokenizer asks for it). */
  async generate(prompt, options = {}, onText) {
    const ids = Array.isArray(prompt) ? prompt : this.tokenize(prompt, true);
    const result = await this.run(ids, options, (e) => { if (onText && e.text) onText(e.text, e); });
    return textCompletion(this.modelId, ids.length, result);
  }

  reset() { this.engine.reset(); }

  unload() {
    if (this.engine) {
      this.engine.free();
      this.engine = null;
    }
  }
}

/** Runs every WebGPU kernel against the CPU reference (tests and diagnostics). */
export async function kernelChecks(wasmUrl) {
  const wasm = await initWasm(wasmUrl);
  try {
    const report = JSON.parse(await wasm.runKernelChecks());
    const adapter = await browserAdapterInfo();
    if (adapter) report.adapter = { ...report.adapter, ...adapter };
    return report;
  } catch (e) {
    throw LmfastError.from(e);
  }
}
