// lmfast: run a small language model in the page, on WebGPU or the wasm CPU path.
//
//   const engine = await Engine.load('/models/smollm2-135m-q4/', { onProgress: console.log });
//   const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }] });
//
// By default the engine runs in a Web Worker so the page never freezes; `{ worker: false }`
// runs it on the calling thread.

import { LmfastError } from './errors.js';
import { clearStores } from './storage.js';

export { LmfastError, clearStores };

/** An async iterator fed by pushes (stream chunks arriving from the worker). */
class ChunkStream {
  constructor() { this.items = []; this.waiters = []; this.done = false; this.error = null; }
  push(item) { const w = this.waiters.shift(); if (w) w.resolve({ value: item, done: false }); else this.items.push(item); }
  end(error) {
    this.done = true;
    this.error = error || null;
    for (const w of this.waiters.splice(0)) error ? w.reject(error) : w.resolve({ value: undefined, done: true });
  }
  next() {
    if (this.items.length) return Promise.resolve({ value: this.items.shift(), done: false });
    if (this.done) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  [Symbol.asyncIterator]() { return this; }
}

/** Talks to a worker running `worker.js`. */
class WorkerBackend {
  constructor(worker, onError) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    worker.onmessage = (e) => this.receive(e.data);
    worker.onerror = (e) => {
      const err = new LmfastError('worker', `the engine's worker failed: ${e.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (onError) onError(err);
    };
  }
  receive({ id, type, value, error, progress, chunk }) {
    const p = this.pending.get(id);
    if (!p) return;
    if (type === 'progress') p.onProgress && p.onProgress(progress);
    else if (type === 'token') p.onChunk && p.onChunk(chunk);
    else {
      this.pending.delete(id);
      if (type === 'error') p.reject(LmfastError.from(error));
      else p.resolve(value);
    }
  }
  request(op, args, { onProgress, onChunk } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress, onChunk });
      this.worker.postMessage({ id, op, args });
    });
  }
  interrupt() { this.worker.postMessage({ op: 'interrupt' }); }
  terminate() { this.worker.terminate(); }
}

/** Runs the runtime on this thread, with the same request interface. */
class InPageBackend {
  constructor(runtimeModule) { this.m = runtimeModule; this.runtime = null; }
  async request(op, args, { onProgress, onChunk } = {}) {
    const need = () => {
      if (!this.runtime) throw new LmfastError('input', 'no model is loaded in this engine');
      return this.runtime;
    };
    switch (op) {
      case 'load':
        this.runtime = await this.m.Runtime.load(args.url, { ...args.options, onProgress });
        return this.runtime.info();
      case 'info': return need().info();
      case 'tokenize': return need().tokenize(args.text, args.addSpecial);
      case 'detokenize': return need().detokenize(args.ids, args.skipSpecial);
      case 'renderChat': return need().renderChat(args.messages);
      case 'chat': return need().chat(args.params, args.params.stream ? onChunk : null);
      case 'generate': return need().generate(args.prompt, args.options, args.stream ? (text, e) => onChunk({ text, token: e.token }) : null);
      case 'reset': return need().reset();
      case 'unload': if (this.runtime) this.runtime.unload(); this.runtime = null; return undefined;
      case 'kernelChecks': return this.m.kernelChecks(args.wasmUrl);
      default: throw new LmfastError('input', `unknown operation '${op}'`);
    }
  }
  interrupt() { if (this.runtime) this.runtime.interrupt(); }
  terminate() { if (this.runtime) this.runtime.unload(); this.runtime = null; }
}

async function makeBackend(worker, onError) {
  if (worker === false) return new InPageBackend(await import('./runtime.js'));
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'lmfast-engine' });
  return new WorkerBackend(w, onError);
}

/** A loaded model. Create one with `Engine.load(url, options)`. */
export class Engine {
  constructor(backend, info, listeners) {
    this.backend = backend;
    this._info = info;
    this.listeners = listeners;
    const engine = this;
    /** OpenAI-shaped chat: `engine.chat.completions.create({ messages, stream, ... })`. */
    this.chat = { completions: { create: (params) => engine._chat(params) } };
  }

  /**
   * Loads the export folder at `url` (or its manifest.json).
   * options: { onProgress, backend: 'auto'|'webgpu'|'cpu', cache: 'auto'|'cache'|'opfs'|'none',
   *            threads, worker: true|false, contextLength, onError }
   */
  static async load(url, options = {}) {
    const { onProgress, onError, worker = true, ...rest } = options;
    const listeners = { error: onError ? [onError] : [] };
    const emit = (err) => listeners.error.forEach((f) => f(err));
    const backend = await makeBackend(worker, emit);
    try {
      const absolute = new URL(url, globalThis.location ? globalThis.location.href : undefined).href;
      const info = await backend.request('load', { url: absolute, options: rest }, { onProgress });
      return new Engine(backend, info, listeners);
    } catch (e) {
      backend.terminate();
      throw LmfastError.from(e);
    }
  }

  /** Registers a listener for errors that happen outside a call (device lost, worker crash). */
  addEventListener(type, listener) {
    if (type === 'error') this.listeners.error.push(listener);
  }

  async _chat(params) {
    this._checkOpen();
    if (!params || !params.stream) return this._call('chat', { params: { ...(params || {}), stream: false } });
    const stream = new ChunkStream();
    this.backend
      .request('chat', { params: { ...params } }, { onChunk: (c) => stream.push(c) })
      .then(() => stream.end(), (e) => { const err = LmfastError.from(e); this._maybeLost(err); stream.end(err); });
    return stream;
  }

  /** Completes `prompt` (text, or token ids); `{ stream: true }` gives an async iterator of
   * `{ text, token }`, whose `result` holds the text completion (finish reason, usage,
   * timings) once it has ended. */
  async generate(prompt, options = {}) {
    this._checkOpen();
    const { stream, ...rest } = options;
    if (!stream) return this._call('generate', { prompt, options: rest, stream: false });
    const s = new ChunkStream();
    this.backend
      .request('generate', { prompt, options: rest, stream: true }, { onChunk: (c) => s.push(c) })
      .then((r) => { s.result = r; s.end(); }, (e) => { const err = LmfastError.from(e); this._maybeLost(err); s.end(err); });
    return s;
  }

  /** Stops the running generation; it resolves with `finish_reason: 'cancelled'`. */
  interrupt() { if (this.backend) this.backend.interrupt(); }

  /** Token ids of `text`. */
  tokenize(text, { addSpecial = true } = {}) { return this._call('tokenize', { text, addSpecial }); }
  /** Text of token ids. */
  detokenize(ids, { skipSpecial = true } = {}) { return this._call('detokenize', { ids: Array.from(ids), skipSpecial }); }
  /** The chat template's rendering of `messages`. */
  renderChat(messages) { return this._call('renderChat', { messages }); }
  /** Backend, adapter, model config, load statistics and wasm memory (fresh each call). */
  info() { return this._call('info', {}); }
  /** Forgets the cached conversation prefix. */
  reset() { return this._call('reset', {}); }

  /** Frees the model and stops the worker; the engine cannot be used afterwards. */
  async unload() {
    if (!this.backend) return;
    try { await this.backend.request('unload', { shutdown: true }); } catch { /* the worker may be gone */ }
    this.backend.terminate();
    this.backend = null;
  }

  _checkOpen() { if (!this.backend) throw new LmfastError('input', 'this engine was unloaded'); }

  async _call(op, args) {
    this._checkOpen();
    try {
      return await this.backend.request(op, args);
    } catch (e) {
      const err = LmfastError.from(e);
      this._maybeLost(err);
      throw err;
    }
  }

  _maybeLost(err) {
    if (err.code === 'device-lost') this.listeners.error.forEach((f) => f(err));
  }
}

/** Runs every WebGPU kernel against the CPU reference; resolves to `{ adapter, checks }`. */
export async function runKernelChecks({ worker = true } = {}) {
  const backend = await makeBackend(worker);
  try {
    return await backend.request('kernelChecks', {});
  } finally {
    backend.terminate();
  }
}
