// The page's bridge to the lmfast npm package. index.html imports the package and puts it on
// globalThis.lmfast before the page's wasm starts; these functions give the Rust side plain
// values (JSON strings, callbacks) and turn every failure into { code, message }.

function lm() {
  const m = globalThis.lmfast;
  if (!m) throw { code: 'internal', message: 'the lmfast package did not load (see the browser console)' };
  return m;
}

function plainError(e) {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return { code: String(e.code), message: String(e.message) };
  return { code: 'internal', message: String((e && e.message) || e) };
}

// Loads a model; progress events and later errors (device lost, worker crash) go to the
// callbacks as JSON strings.
export async function loadEngine(url, backend, cache, onProgress, onError) {
  try {
    return await lm().Engine.load(url, {
      backend,
      cache,
      onProgress: (p) => onProgress(JSON.stringify(p)),
      onError: (e) => onError(JSON.stringify(plainError(e))),
    });
  } catch (e) {
    throw plainError(e);
  }
}

// Streams a chat reply: onDelta(text) per chunk; resolves to the last chunk's
// { finish_reason, usage, timings } as JSON.
export async function streamChat(engine, paramsJson, onDelta) {
  try {
    const params = JSON.parse(paramsJson);
    const info = await engine.info();
    if (info.model && info.model.chat === false) return await streamText(engine, params, onDelta);
    const stream = await engine.chat.completions.create({ ...params, stream: true });
    let last = { finish_reason: null, usage: null, timings: null };
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) onDelta(choice.delta.content);
      if (choice && choice.finish_reason) last.finish_reason = choice.finish_reason;
      if (chunk.usage) last.usage = chunk.usage;
      if (chunk.timings) last.timings = chunk.timings;
    }
    return JSON.stringify(last);
  } catch (e) {
    throw plainError(e);
  }
}

// A base model (no chat template, e.g. Gemma 3 270M) continues text: the conversation's
// turns become one plain prompt, and the reply is its continuation. Nothing is guessed
// about a chat format the model was not trained on.
async function streamText(engine, params, onDelta) {
  const { messages, ...options } = params;
  const prompt = messages.filter((m) => m.role !== 'system').map((m) => m.content).join('\n\n');
  const stream = await engine.generate(prompt, { ...options, stream: true });
  for await (const chunk of stream) {
    if (chunk.text) onDelta(chunk.text);
  }
  const r = stream.result || {};
  const choice = (r.choices && r.choices[0]) || {};
  return JSON.stringify({ finish_reason: choice.finish_reason || null, usage: r.usage || null, timings: r.timings || null });
}

export function interruptEngine(engine) {
  if (engine) engine.interrupt();
}

export async function engineInfo(engine) {
  try {
    return JSON.stringify(await engine.info());
  } catch (e) {
    throw plainError(e);
  }
}

export async function unloadEngine(engine) {
  try {
    await engine.unload();
  } catch {
    // The worker may already be gone (device lost, crash): nothing left to free.
  }
}

export async function clearModelStores() {
  try {
    await lm().clearStores();
  } catch (e) {
    throw plainError(e);
  }
}

// The models the server lists (`lmfast serve`'s /v1/models): [{ id, url, bytes, quant, chat }].
export async function listServerModels() {
  try {
    const r = await fetch('/v1/models', { headers: { accept: 'application/json' } });
    if (!r.ok) return '[]';
    const body = await r.json();
    const list = (body.data || [])
      .filter((m) => m.lmfast && m.lmfast.url)
      .map((m) => ({ id: m.id, url: m.lmfast.url, bytes: m.lmfast.bytes || 0, quant: m.lmfast.quant || '', chat: m.lmfast.chat !== false }));
    return JSON.stringify(list);
  } catch {
    // Served by something other than `lmfast serve`: the visitor types a URL instead.
    return '[]';
  }
}

export function hasWebGpu() {
  return typeof navigator !== 'undefined' && 'gpu' in navigator;
}

export function nowSeconds() {
  return performance.now() / 1000;
}
