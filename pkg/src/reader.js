// The loader's stored-shard reader: a worker that reads shards from the browser's store
// (OPFS or the Cache API) and checks their sha256 before handing them over. Chrome computes
// WebCrypto digests on the calling thread (about 45 ms per 32 MB shard on a 2-core
// machine): done on the engine's thread, hashing added the whole model's hashing time to
// every warm load; here it runs on another core while the engine parses the tokenizer and
// builds the matrices of the shard before.
//
// Request: { id, store: 'opfs' | 'cache', sha256, bytes }.
// Reply: { id, status: 'ok', bytes } (the buffer is transferred), { id, status: 'absent' },
// { id, status: 'corrupt', actual } (wrong length or hash; the caller deletes and refetches)
// or { id, error, code }.

import { openStore } from './storage.js';
import { sha256 } from './loader.js';

const stores = new Map();

self.onmessage = async ({ data }) => {
  const { id, store: kind, sha256: expected, bytes: length } = data || {};
  if (id === undefined) return;
  try {
    if (!stores.has(kind)) stores.set(kind, openStore(kind));
    const store = await stores.get(kind);
    const bytes = await store.get(expected);
    if (!bytes) {
      self.postMessage({ id, status: 'absent' });
      return;
    }
    const actual = bytes.byteLength === length ? await sha256(bytes) : `${bytes.byteLength} bytes`;
    if (actual !== expected) {
      self.postMessage({ id, status: 'corrupt', actual });
      return;
    }
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const out = whole ? bytes : bytes.slice();
    self.postMessage({ id, status: 'ok', bytes: out }, [out.buffer]);
  } catch (e) {
    self.postMessage({ id, error: String(e && e.message ? e.message : e), code: (e && e.code) || 'storage' });
  }
};
self.postMessage({ ready: true });
