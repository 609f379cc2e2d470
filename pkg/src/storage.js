// Where shards are kept between visits: the Cache API, the origin private file system
// (OPFS), or nowhere. Entries are keyed by the shard's sha256, so identical shards of two
// exports are stored once and a changed shard can never be mistaken for the old one.

import { LmfastError } from './errors.js';

const CACHE_NAME = 'lmfast-shards-v1';
const OPFS_DIR = 'lmfast-shards-v1';

function isQuota(e) {
  return e && (e.name === 'QuotaExceededError' || /quota/i.test(String(e.message)));
}

class NoStore {
  get kind() { return 'none'; }
  async get() { return null; }
  async put() {}
  async delete() {}
}

class CacheStore {
  constructor(cache) { this.cache = cache; }
  get kind() { return 'cache'; }
  static key(sha256) { return new Request(`https://lmfast.invalid/sha256/${sha256}`); }
  async get(sha256) {
    const r = await this.cache.match(CacheStore.key(sha256));
    return r ? new Uint8Array(await r.arrayBuffer()) : null;
  }
  async put(sha256, bytes) {
    try {
      await this.cache.put(CacheStore.key(sha256), new Response(bytes, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
      }));
    } catch (e) {
      throw new LmfastError(isQuota(e) ? 'quota' : 'storage',
        `could not store a ${bytes.byteLength}-byte shard in the Cache API: ${e.message || e}`);
    }
  }
  async delete(sha256) { await this.cache.delete(CacheStore.key(sha256)); }
}

class OpfsStore {
  constructor(dir) { this.dir = dir; }
  get kind() { return 'opfs'; }
  async get(sha256) {
    try {
      const handle = await this.dir.getFileHandle(sha256);
      // In a worker a synchronous handle reads the file straight into our buffer, several
      // times faster than File.arrayBuffer(); it locks the file, so a second tab reading the
      // same shard at that moment takes the File path.
      if (handle.createSyncAccessHandle) {
        let access = null;
        try {
          access = await handle.createSyncAccessHandle();
          const out = new Uint8Array(access.getSize());
          const n = access.read(out, { at: 0 });
          if (n === out.length) return out;
        } catch { /* locked or unsupported: read it the other way */ } finally {
          if (access) access.close();
        }
      }
      return new Uint8Array(await (await handle.getFile()).arrayBuffer());
    } catch (e) {
      if (e && e.name === 'NotFoundError') return null;
      throw new LmfastError('storage', `could not read shard ${sha256} from OPFS: ${e.message || e}`);
    }
  }
  async put(sha256, bytes) {
    // Written under a temporary name and moved into place, so a full disk or a closed tab
    // never leaves a truncated file under the real name.
    const tmp = `${sha256}.partial`;
    try {
      const handle = await this.dir.getFileHandle(tmp, { create: true });
      const writable = await handle.createWritable();
      await writable.write(bytes);
      await writable.close();
      if (handle.move) await handle.move(sha256);
      else {
        const final = await this.dir.getFileHandle(sha256, { create: true });
        const w = await final.createWritable();
        await w.write(bytes);
        await w.close();
        await this.dir.removeEntry(tmp);
      }
    } catch (e) {
      try { await this.dir.removeEntry(tmp); } catch { /* nothing to clean */ }
      throw new LmfastError(isQuota(e) ? 'quota' : 'storage',
        `could not store a ${bytes.byteLength}-byte shard in OPFS: ${e.message || e}`);
    }
  }
  async delete(sha256) {
    try { await this.dir.removeEntry(sha256); } catch { /* already gone */ }
  }
}

/**
 * Opens the store named by `kind` ('auto' | 'cache' | 'opfs' | 'none'). 'auto' is OPFS where
 * this context can read it synchronously (a dedicated worker: the engine's default home),
 * the Cache API elsewhere, and no store at all where neither exists (an insecure context).
 */
export async function openStore(kind) {
  if (kind === 'none') return new NoStore();
  if (kind === 'auto') {
    if (typeof FileSystemSyncAccessHandle !== 'undefined' && globalThis.navigator && navigator.storage && navigator.storage.getDirectory) {
      try { return await openStore('opfs'); } catch { /* e.g. storage blocked: try the Cache API */ }
    }
    if (typeof caches !== 'undefined') {
      try { return await openStore('cache'); } catch { /* fall through */ }
    }
    return new NoStore();
  }
  if (kind === 'cache') {
    if (typeof caches === 'undefined') {
      throw new LmfastError('storage', 'the Cache API is not available here (it needs a secure context: https or localhost)');
    }
    return new CacheStore(await caches.open(CACHE_NAME));
  }
  if (kind === 'opfs') {
    if (!navigator.storage || !navigator.storage.getDirectory) {
      throw new LmfastError('storage', 'OPFS (navigator.storage.getDirectory) is not available in this browser');
    }
    const root = await navigator.storage.getDirectory();
    return new OpfsStore(await root.getDirectoryHandle(OPFS_DIR, { create: true }));
  }
  throw new LmfastError('input', `cache must be 'auto', 'cache', 'opfs' or 'none', not '${kind}'`);
}

/** Deletes every stored shard of every model. */
export async function clearStores() {
  if (typeof caches !== 'undefined') await caches.delete(CACHE_NAME);
  if (navigator.storage && navigator.storage.getDirectory) {
    const root = await navigator.storage.getDirectory();
    try { await root.removeEntry(OPFS_DIR, { recursive: true }); } catch { /* none */ }
  }
}
