// In-page half of the browser benchmark (bench/browser/run.mjs drives it with page.evaluate).
// One engine per page: load it, generate from token ids with per-token streaming, report
// memory. Every time is taken here, on the page's clock, the same way for every engine:
// time to first token = from the call to the first streamed token; decode tokens/s = (tokens
// after the first) / (time from the first streamed token to the end of the stream).

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
    const handle = await Engine.load(cfg.model, { backend: cfg.backend, cache: 'cache', contextLength: cfg.context });
    engine = { kind: 'lmfast', handle };
  } else {
    const { Wllama } = await import(`${WLLAMA}/index.js`);
    const handle = new Wllama({ default: `${WLLAMA}/wasm/wllama.wasm` }, { suppressNativeLog: true, logger: quietLogger });
    // n_gpu_layers 0: the CPU (wasm) build; with WebGPU flags off there is no adapter anyway.
    await handle.loadModelFromUrl(new URL(cfg.model, location.href).href, {
      n_threads: cfg.threads, n_ctx: cfg.context, n_gpu_layers: 0,
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

/**
 * Greedy generation of exactly `gen` tokens (end-of-sequence ignored) from the prompt `ids`;
 * `text` is the same prompt as text (for wllama, which takes text only: it must tokenize to
 * `ids`, checked below by its prompt token count and by bench/make_prompt_texts.py).
 */
export async function generate(ids, text, gen) {
  const t0 = performance.now();
  let tFirst = null;
  let tLast = null;
  if (engine.kind === 'lmfast') {
    const tokens = [];
    let text = '';
    const stream = await engine.handle.generate(ids, {
      stream: true, temperature: 0, max_tokens: gen, ignore_eos: true, reuse_cache: false,
    });
    for await (const chunk of stream) {
      const t = performance.now();
      if (tFirst === null) tFirst = t;
      tLast = t;
      tokens.push(chunk.token);
      text += chunk.text;
    }
    return summarize(ids.length, tokens.length, t0, tFirst, tLast, { tokens, text });
  }
  // wllama 3 runs llama-server's request handling in wasm and hands it the request as JSON:
  // cache_prompt: false stops it from reusing the previous run's KV cache (each run prefills
  // all of the prompt), temperature 0 selects llama.cpp's greedy sampler and ignore_eos keeps
  // it going for exactly max_tokens.
  let last = null;
  let out = '';
  await engine.handle.createCompletion({
    prompt: text, max_tokens: gen, temperature: 0, ignore_eos: true, cache_prompt: false,
    stream: true,
    onData: (chunk) => {
      const t = performance.now();
      // The stream carries one chunk per token (a token that ends inside a UTF-8 character
      // waits for the next one); the last chunk carries usage and llama.cpp's own timings.
      const piece = chunk.choices && chunk.choices[0] && chunk.choices[0].text ? chunk.choices[0].text : '';
      if (tFirst === null && piece) tFirst = t;
      tLast = t;
      out += piece;
      last = chunk;
    },
  });
  const timings = last && last.timings ? last.timings : null;
  const usage = last && last.usage ? last.usage : null;
  const generated = timings ? timings.predicted_n : usage ? usage.completion_tokens : null;
  const prompt = timings ? timings.prompt_n : usage ? usage.prompt_tokens : null;
  if (generated !== gen || prompt !== ids.length) {
    throw new Error(`wllama processed ${prompt} prompt tokens and generated ${generated} (asked ${ids.length} and ${gen})`);
  }
  return summarize(ids.length, generated, t0, tFirst, tLast, {
    text: out,
    engine_timings: timings && {
      prompt_n: timings.prompt_n, prompt_per_second: timings.prompt_per_second,
      predicted_n: timings.predicted_n, predicted_per_second: timings.predicted_per_second,
    },
  });
}

function summarize(promptTokens, generated, t0, tFirst, tLast, extra) {
  const ttft = (tFirst - t0) / 1000;
  const decodeSeconds = (tLast - tFirst) / 1000;
  return {
    prompt_tokens: promptTokens,
    generated_tokens: generated,
    ttft_s: ttft,
    prefill_tok_s: promptTokens / ttft,
    decode_s: decodeSeconds,
    decode_tok_s: generated > 1 ? (generated - 1) / decodeSeconds : null,
    ...extra,
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
