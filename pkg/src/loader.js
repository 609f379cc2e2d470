// Fetching an export folder: the manifest and text files, then each shard from the store
// or the network, with byte-level progress, a sha256 check, one re-fetch of a corrupt
// shard, and the shard handed to the wasm loader as soon as it is verified.

import { LmfastError } from './errors.js';
import { openStore } from './storage.js';

/** Bytes of a shard handed to wasm per call (see the shard loop below). */
const SHARD_RANGE_BYTES = 4 << 20;
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** Lower-case hex SHA-256 of `bytes`, with the browser's WebCrypto. */
export async function sha256(bytes) {
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

/** The folder URL with a trailing slash, whether given the folder or its manifest.json. */
export function folderUrl(url) {
  const u = new URL(url, globalThis.location ? globalThis.location.href : undefined);
  if (u.pathname.endsWith('/manifest.json')) u.pathname = u.pathname.slice(0, -'manifest.json'.length);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

async function request(url, init, what) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw new LmfastError('aborted', `loading ${what} was aborted`);
    throw new LmfastError('network', `could not fetch ${what} (${url}): ${e.message || e}`, { url });
  }
  if (!response.ok) {
    throw new LmfastError('http', `fetching ${what} (${url}) answered HTTP ${response.status} ${response.statusText}`, { url, status: response.status });
  }
  return response;
}

/** Reads a response body chunk by chunk, calling `onBytes(n)` as bytes arrive. */
async function readBody(response, expected, onBytes, what) {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.byteLength);
    return bytes;
  }
  const out = new Uint8Array(expected);
  let at = 0;
  const reader = response.body.getReader();
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new LmfastError('network', `the download of ${what} broke off after ${at} bytes: ${e.message || e}`);
    }
    if (chunk.done) break;
    const v = chunk.value;
    if (at + v.byteLength > expected) {
      throw new LmfastError('hash', `${what} is longer than the ${expected} bytes the manifest records`, { file: what });
    }
    out.set(v, at);
    at += v.byteLength;
    onBytes(v.byteLength);
  }
  if (at !== expected) {
    throw new LmfastError('hash', `${what} has ${at} bytes, the manifest records ${expected}`, { file: what });
  }
  return out;
}

/** How long the reader worker may take to start before stored shards are read here. */
const READER_START_MS = 5000;
let reader = null;

/**
 * The stored-shard reader worker (`reader.js`), started once per thread; resolves to null
 * where no worker can start (stored shards are then read and checked on this thread).
 * Loads call it first thing, so that the worker starts while the engine's wasm does.
 */
export function startReader() {
  if (!reader) {
    reader = new Promise((resolve) => {
      let worker;
      const pending = new Map();
      let next = 0;
      const timer = setTimeout(() => giveUp(), READER_START_MS);
      function giveUp() {
        clearTimeout(timer);
        if (worker) worker.terminate();
        for (const p of pending.values()) p.reject(new LmfastError('storage', 'the stored-shard reader stopped'));
        pending.clear();
        reader = null;
        resolve(null);
      }
      try {
        worker = new Worker(new URL('./reader.js', import.meta.url), { type: 'module', name: 'lmfast-shard-reader' });
      } catch {
        giveUp();
        return;
      }
      worker.onerror = () => giveUp();
      worker.onmessage = ({ data }) => {
        if (data.ready) {
          clearTimeout(timer);
          resolve({
            worker,
            read: (store, shard) => new Promise((res, rej) => {
              const id = next++;
              pending.set(id, { resolve: res, reject: rej });
              worker.postMessage({ id, store, sha256: shard.sha256, bytes: shard.bytes });
            }),
          });
          return;
        }
        const p = pending.get(data.id);
        if (!p) return;
        pending.delete(data.id);
        if (data.error) p.reject(new LmfastError(data.code || 'storage', data.error));
        else p.resolve(data);
      };
    });
  }
  return reader;
}

/** Ends this thread's reader worker (the engine's worker is shutting down). */
export async function stopReader() {
  const r = reader && (await reader);
  reader = null;
  if (r) r.worker.terminate();
}

/**
 * A shard's copy in `store`, checked against its size and sha256 in this thread:
 * `{ status: 'ok', bytes }`, `{ status: 'absent' }` or `{ status: 'corrupt', actual }`.
 * The reader worker runs this too.
 */
export async function readAndCheck(store, shard) {
  const bytes = await store.get(shard.sha256);
  if (!bytes) return { status: 'absent' };
  const actual = bytes.byteLength === shard.bytes ? await sha256(bytes) : `${bytes.byteLength} bytes`;
  return actual === shard.sha256 ? { status: 'ok', bytes } : { status: 'corrupt', actual };
}

/** {@link readAndCheck} on the reader worker where there is one, else here. */
async function readStored(store, shard) {
  const r = store.kind === 'none' ? null : await startReader();
  return r ? r.read(store.kind, shard) : readAndCheck(store, shard);
}

/** Fetches a small text file of the export, falling back to the stored copy offline. */
async function textFile(base, file, store, signal) {
  const key = `text:${base}${file}`;
  try {
    const r = await request(base + file, { signal, cache: 'no-cache' }, file);
    const bytes = new Uint8Array(await r.arrayBuffer());
    if (store.kind === 'cache') {
      // Best effort, and not waited for: the copy only serves a later offline load.
      store.cache.put(new Request(`https://lmfast.invalid/${encodeURIComponent(key)}`), new Response(bytes)).catch(() => {});
    }
    return bytes;
  } catch (e) {
    if (store.kind === 'cache') {
      const hit = await store.cache.match(new Request(`https://lmfast.invalid/${encodeURIComponent(key)}`));
      if (hit) return new Uint8Array(await hit.arrayBuffer());
    }
    throw e;
  }
}

/** Shards read ahead of the one being handed to wasm: one, so JS holds at most two. */
const READ_AHEAD = 1;

/**
 * Loads the export at `url` into a wasm `ModelLoader` created by `createLoader(manifest,
 * tokenizer, template)`. Returns `{ loader, manifest, stats }`.
 *
 * `onProgress` receives `{ phase, loaded, total, shard, shards, file, fromCache, refetched }`
 * (`phase`: 'manifest' | 'shard' | 'verified' | 'done'), and `{ phase: 'warning', error }`
 * when a shard could not be stored (quota): the model still loads.
 */
export async function loadExport(url, { cache = 'auto', onProgress = () => {}, signal, createLoader }) {
  const base = folderUrl(url);
  const store = await openStore(cache);
  const started = performance.now();
  onProgress({ phase: 'manifest', loaded: 0, total: 0, shard: -1, shards: 0, file: 'manifest.json', fromCache: false });
  const manifestBytes = await textFile(base, 'manifest.json', store, signal);
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (e) {
    throw new LmfastError('model', `${base}manifest.json is not JSON: ${e.message}`);
  }
  if (manifest.format !== 'lmfast-export' || !Array.isArray(manifest.shards)) {
    throw new LmfastError('model', `${base}manifest.json is not an lmfast export manifest (format '${manifest.format}')`);
  }
  const shards = manifest.shards;
  const total = shards.reduce((n, s) => n + s.bytes, 0);
  const stats = { store: store.kind, network_bytes: 0, cache_bytes: 0, shards_from_network: 0, shards_from_cache: 0, refetched: 0, warnings: [] };
  let loaded = 0;
  // Bytes obtained so far of each shard, so a page can draw one bar per shard.
  const shardLoaded = shards.map(() => 0);
  const report = (extra) => onProgress({
    loaded, total, shards: shards.length, ...extra,
    shardLoaded: extra.shard >= 0 ? shardLoaded[extra.shard] : 0,
    shardTotal: extra.shard >= 0 ? shards[extra.shard].bytes : 0,
  });

  // Shards come READ_AHEAD ahead of the one being handed to the GPU / wasm, each checked
  // against its sha256 before it is handed over: a stored copy on the reader worker, a
  // download here.
  const fetchShard = async (i) => {
    const s = shards[i];
    const stored = await readStored(store, s);
    if (stored.status === 'ok') {
      loaded += s.bytes;
      shardLoaded[i] = s.bytes;
      stats.cache_bytes += s.bytes;
      stats.shards_from_cache += 1;
      report({ phase: 'shard', shard: i, file: s.file, fromCache: true });
      return { bytes: stored.bytes, fromCache: true, refetched: false };
    }
    // A stored copy that is truncated or fails its sha256 is replaced by a download.
    let refetched = stored.status === 'corrupt';
    if (refetched) {
      await store.delete(s.sha256);
      stats.refetched += 1;
    }
    for (let attempt = 0; ; attempt += 1) {
      const before = loaded;
      const response = await request(base + s.file, { signal, cache: attempt === 0 ? 'default' : 'reload' }, s.file);
      let bytes;
      try {
        bytes = await readBody(response, s.bytes, (n) => { loaded += n; shardLoaded[i] += n; report({ phase: 'shard', shard: i, file: s.file, fromCache: false, refetched }); }, s.file);
      } catch (e) {
        if (e.code !== 'hash' || attempt > 0) throw e;
        loaded = before;
        shardLoaded[i] = 0;
        refetched = true;
        stats.refetched += 1;
        continue;
      }
      const actual = await sha256(bytes);
      if (actual === s.sha256) {
        stats.network_bytes += s.bytes;
        stats.shards_from_network += 1;
        try {
          await store.put(s.sha256, bytes);
        } catch (e) {
          const err = LmfastError.from(e);
          stats.warnings.push(err.toJSON());
          report({ phase: 'warning', shard: i, file: s.file, error: err.toJSON() });
        }
        return { bytes, fromCache: false, refetched };
      }
      if (attempt > 0) {
        throw new LmfastError('hash', `${s.file} is corrupt: its sha256 is ${actual}, the manifest says ${s.sha256} (fetched twice)`, { file: s.file, expected: s.sha256, actual });
      }
      loaded = before;
      shardLoaded[i] = 0;
      refetched = true;
      stats.refetched += 1;
    }
  };

  const pending = [];
  const readAhead = (i) => {
    if (i >= shards.length || pending[i]) return;
    pending[i] = fetchShard(i);
    // Keep a rejected read from being reported as unhandled before it is awaited.
    pending[i].catch(() => {});
  };
  // The first shards are read (and checked) while the tokenizer is fetched and parsed.
  for (let i = 0; i <= READ_AHEAD; i += 1) readAhead(i);

  const [tokenizer, templateBytes] = await Promise.all([
    textFile(base, manifest.tokenizer.file, store, signal),
    manifest.chat_template ? textFile(base, manifest.chat_template.file, store, signal) : null,
  ]);
  const template = templateBytes ? new TextDecoder().decode(templateBytes) : undefined;
  const loader = await createLoader(manifestBytes, tokenizer, template);

  for (let i = 0; i < shards.length; i += 1) {
    let current;
    try {
      current = await pending[i];
    } catch (e) {
      try { loader.free(); } catch { /* already consumed */ }
      throw e;
    }
    pending[i] = null;
    readAhead(i + READ_AHEAD + 1);
    try {
      // In ranges, so that wasm memory holds one range and the tensors being filled rather
      // than a copy of the whole shard (wasm memory never shrinks).
      const view = current.bytes;
      if (view.length === 0) loader.addShardRange(i, 0, view);
      for (let at = 0; at < view.length; at += SHARD_RANGE_BYTES) {
        loader.addShardRange(i, at, view.subarray(at, Math.min(view.length, at + SHARD_RANGE_BYTES)));
      }
    } catch (e) {
      try { loader.free(); } catch { /* already consumed */ }
      throw LmfastError.from(e);
    }
    report({ phase: 'verified', shard: i, file: shards[i].file, fromCache: current.fromCache, refetched: current.refetched });
  }
  stats.seconds = (performance.now() - started) / 1000;
  report({ phase: 'done', shard: shards.length - 1, file: '', fromCache: stats.shards_from_network === 0 });
  return { loader, manifest, stats };
}
