// Typed errors of the lmfast package: every failure carries a stable `code` a page can
// switch on, and a message that names the file, shard or setting at fault.

/** Codes: network, http, hash, quota, storage, webgpu, device-lost, model, generation,
 *  input, aborted, worker. */
export class LmfastError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'LmfastError';
    this.code = code;
    this.details = details;
  }

  /** A plain object that survives postMessage. */
  toJSON() {
    return { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error sent by the worker (or wraps anything else). */
  static from(value) {
    if (value instanceof LmfastError) return value;
    if (value && typeof value === 'object' && typeof value.code === 'string' && 'message' in value) {
      return new LmfastError(value.code, value.message, value.details || {});
    }
    const message = value && value.message ? value.message : String(value);
    // The wasm side prefixes its messages with "[code] ".
    const m = /^\[([a-z-]+)\] ([\s\S]*)$/.exec(message);
    if (m) return new LmfastError(m[1], m[2]);
    if (value && value.name === 'AbortError') return new LmfastError('aborted', message);
    return new LmfastError('internal', message);
  }
}
