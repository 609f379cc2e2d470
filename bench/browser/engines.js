// In-page half of the browser benchmark (bench/browser/run.mjs drives it with page.evaluate).
// One engine per page: load it, generate from token ids token by token, report memory.
// Every time is taken here, on the page's clock, the same way for every engine:
// time to first token = from the call to the first token (lmfast: streamed from its worker;
// wllama: returned by samplingSample); decode tokens/s = (tokens after the first) / (time from
// the first token to the last).

const WLLAMA = '/bench/browser/node_modules/@wllama/wllama/esm';
let engine = null;   // the loaded engine: { kind, handle }
const logs = [];     // wllama's warnings and errors (its native log is silenced)

const quietLogger = {
  debug: () => {},
  log: () => {},
  warn: (...a) => logs.push(`warn: ${a.join(' ')}`),
  error: (...a) => logs.push(`error: ${a.join(' ')}`),
};

/** Loads cfg's engine; returns the seconds it took (the promise resolving = ready to generate). */
export async function load(cfg) {
  const t0 = performance.now();
  if (cfg.engine === 'lmfast') {
    const { Engine } = await import('/pkg/src/index.js');
    const handle = await Engine.load(cfg.model, { backend: cfg.backend, contextLength: cfg.context, threads: cfg.threads });
    engine = { kind: 'lmfast', handle };
  } else {
    const { Wllama } = await import(`${WLLAMA}/index.js`);
    // Both builds are given; wllama takes the multi-threaded one when n_threads > 1 and the
    // page is cross-origin isolated, the single-threaded one otherwise.
    const handle = new Wllama({
      'single-thread/wllama.wasm': `${WLLAMA}/single-thread/wllama.wasm`,
      'multi-thread/wllama.wasm': `${WLLAMA}/multi-thread/wllama.wasm`,
    }, { suppressNativeLog: true, logger: quietLogger });
    // n_batch = the context: a prompt is prefilled in one llama_decode call, as lmfast does.
    await handle.loadModelFromUrl(new URL(cfg.model, location.href).href, {
      n_threads: cfg.threads, n_ctx: cfg.context, n_batch: cfg.context,
    });
    engine = { kind: 'wllama', handle };
  }
  return (performance.now() - t0) / 1000;
}

export async function unload() {
  if (!engine) return;
  if (engine.kind === 'lmfast') await engine.handle.unload();
  else await engine.handle.exit();
  engine = null;
}

/** Greedy generation of exactly `gen` tokens (end-of-sequence ignored) from the prompt `ids`. */
export async function generate(ids, gen) {
  const t0 = performance.now();
  let tFirst = null;
  let tLast = null;
  const tokens = [];
  if (engine.kind === 'lmfast') {
    const stream = await engine.handle.generate(ids, {
      stream: true, temperature: 0, max_tokens: gen, ignore_eos: true, reuse_cache: false,
    });
    for await (const chunk of stream) {
      const t = performance.now();
      if (tFirst === null) tFirst = t;
      tLast = t;
      tokens.push(chunk.token);
    }
    // With ignore_eos lmfast generates exactly max_tokens, but its stream skips a token whose
    // text is empty (the first byte of a character split over two tokens arrives with the
    // next one), so the chunks can number fewer than the tokens: count the tokens asked for.
    return summarize(ids.length, gen, t0, tFirst, tLast, tokens);
  }
  // wllama's own completion loop (createCompletion in wllama 2.3.7) with the prompt given as
  // ids and no end-of-generation check: clear the KV cache, prefill, then sample / accept /
  // decode one token at a time. temp 0 with top_k 1 and neutral penalties is llama.cpp's greedy
  // choice. The token after the last one is not decoded (lmfast does not either).
  const w = engine.handle;
  await w.samplingInit({ temp: 0, top_k: 1, penalty_repeat: 1, penalty_freq: 0, penalty_present: 0 });
  await w.kvClear();
  await w.samplingAccept(ids);
  await w.decode(ids, {});
  for (let i = 0; i < gen; i += 1) {
    const { token } = await w.samplingSample();
    const t = performance.now();
    if (tFirst === null) tFirst = t;
    tLast = t;
    tokens.push(token);
    if (i + 1 < gen) {
      await w.samplingAccept([token]);
      await w.decode([token], {});
    }
  }
  return summarize(ids.length, tokens.length, t0, tFirst, tLast, tokens);
}

function summarize(promptTokens, generated, t0, tFirst, tLast, tokens) {
  const ttft = (tFirst - t0) / 1000;
  const decodeSeconds = (tLast - tFirst) / 1000;
  return {
    prompt_tokens: promptTokens,
    generated_tokens: generated,
    ttft_s: ttft,
    prefill_tok_s: promptTokens / ttft,
    decode_s: decodeSeconds,
    decode_tok_s: generated > 1 ? (generated - 1) / decodeSeconds : null,
    tokens,
  };
}

/**
 * Memory as the page sees it: performance.measureUserAgentSpecificMemory (needs the page to be
 * cross-origin isolated; counts the page and its workers, wasm memories included), the JS
 * heap (performance.memory) and, for lmfast, its wasm linear memory (never shrinks, so it is
 * also the peak). The process's peak RSS is read from /proc by run.mjs.
 */
export async function memory() {
  const out = { cross_origin_isolated: self.crossOriginIsolated, ua_bytes: null, js_heap_used_bytes: null, wasm_memory_bytes: null, adapter: null, logs: logs.slice(-20) };
  if (self.crossOriginIsolated && performance.measureUserAgentSpecificMemory) {
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000));
    const m = await Promise.race([performance.measureUserAgentSpecificMemory(), timeout]);
    if (m) {
      out.ua_bytes = m.bytes;
      out.ua_breakdown = m.breakdown.filter((b) => b.bytes > 0).map((b) => ({ bytes: b.bytes, types: b.types, scopes: b.attribution.map((a) => a.scope) }));
    }
  }
  if (performance.memory) out.js_heap_used_bytes = performance.memory.usedJSHeapSize;
  if (engine && engine.kind === 'lmfast') {
    const info = await engine.handle.info();
    out.wasm_memory_bytes = info.wasm_memory_bytes;
    out.backend = info.backend;
    out.kernels = info.kernels;
    out.threads = info.threads;
    if (info.threads_reason) out.threads_reason = info.threads_reason;
    out.load_stats = info.load;
    const a = info.adapter;
    out.adapter = a ? `${a.name || 'unknown adapter'}${a.is_fallback_adapter ? ' (fallback adapter)' : ''}` : null;
  }
  if (engine && engine.kind === 'wllama') {
    out.threads = engine.handle.getNumThreads();
    out.multithread = engine.handle.isMultithread();
  }
  return out;
}
