// The engine itself, wherever it runs (a worker by default, or the page): the wasm module,
// the loaded model, and generation as a loop of wasm steps that yields to the event loop
// between tokens so a stop request is seen at once.

import init, { ModelLoader, wasmMemoryBytes, runKernelChecks } from '../wasm/lmfast_web.js';
import { LmfastError } from './errors.js';
import { loadExport } from './loader.js';
import { chatCompletion, chatChunk, textCompletion } from './openai.js';

let wasmReady = null;
/** Instantiates the wasm module once per thread. */
export function initWasm(wasmUrl) {
  if (!wasmReady) wasmReady = init(wasmUrl ? { module_or_path: wasmUrl } : undefined);
  return wasmReady;
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
  constructor(engine, manifest, stats, loadSeconds, url) {
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
  static async load(url, { backend = 'auto', cache = 'cache', contextLength = 0, onProgress, wasmUrl } = {}) {
    const started = performance.now();
    await initWasm(wasmUrl);
    // A software fallback adapter (SwiftShader, WARP) runs WGSL on the CPU, many times slower
    // than the wasm CPU path: 'auto' takes the CPU path then. 'webgpu' still uses it.
    let softwareReason = null;
    if (backend === 'auto') {
      const adapter = await browserAdapterInfo();
      if (adapter && adapter.is_fallback_adapter) {
        softwareReason = `the only WebGPU adapter (${adapter.name}) is a software fallback, slower than the wasm CPU path`;
        backend = 'cpu';
      }
    }
    const { loader, manifest, stats } = await loadExport(url, {
      cache,
      onProgress,
      createLoader: async (m, t, template) => {
        try {
          return await ModelLoader.create(m, t, template, backend);
        } catch (e) {
          throw LmfastError.from(e);
        }
      },
    });
    const engine = call(() => loader.finish(contextLength));
    const runtime = new Runtime(engine, manifest, stats, (performance.now() - started) / 1000, url);
    runtime.softwareReason = softwareReason;
    runtime.adapter = JSON.parse(engine.info()).backend === 'webgpu' ? await browserAdapterInfo() : null;
    return runtime;
  }

  info() {
    const info = JSON.parse(this.engine.info());
    if (info.adapter && this.adapter) info.adapter = { ...info.adapter, ...this.adapter };
    if (this.softwareReason) info.fallback_reason = this.softwareReason;
    info.load = { ...this.stats, seconds: this.loadSeconds, url: this.url };
    info.wasm_memory_bytes = wasmMemoryBytes();
    return info;
  }

  tokenize(text, addSpecial = true) { return Array.from(call(() => this.engine.tokenize(text, addSpecial))); }
  detokenize(ids, skipSpecial = true) { return call(() => this.engine.detokenize(Uint32Array.from(ids), skipSpecial)); }
  renderChat(messages) { return call(() => this.engine.renderChat(JSON.stringify(messages))); }

  /** Runs one generation; `onEvent` gets `{ token, index, text }` per token. */
  async run(promptIds, options, onEvent) {
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
      call(() => this.engine.start(Uint32Array.from(promptIds), JSON.stringify(request), options.reuse_cache !== false));
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
    });
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
  await initWasm(wasmUrl);
  try {
    const report = JSON.parse(await runKernelChecks());
    const adapter = await browserAdapterInfo();
    if (adapter) report.adapter = { ...report.adapter, ...adapter };
    return report;
  } catch (e) {
    throw LmfastError.from(e);
  }
}
