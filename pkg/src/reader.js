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
import { readAndCheck } from './loader.js';

const stores = new Map();

self.onmessage = async ({ data }) => {
  const { id, store: kind, sha256, bytes } = data || {};
  if (id === undefined) return;
  try {
    if (!stores.has(kind)) stores.set(kind, openStore(kind));
    const result = await readAndCheck(await stores.get(kind), { sha256, bytes });
    if (result.status !== 'ok') {
      self.postMessage({ id, ...result });
      return;
    }
    const b = result.bytes;
    const out = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
    self.postMessage({ id, status: 'ok', bytes: out }, [out.buffer]);
  } catch (e) {
    self.postMessage({ id, error: String(e && e.message ? e.message : e), code: (e && e.code) || 'storage' });
  }
};
self.postMessage({ ready: true });
