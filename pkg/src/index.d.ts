// Types of the lmfast npm package (hand-written; the runtime is src/index.js).

/** Stable error codes: what failed, for a page to switch on. */
export type LmfastErrorCode =
  | 'network'      // a fetch failed (offline, refused, aborted by the network)
  | 'http'         // the server answered an error status
  | 'hash'         // a shard's sha256 or size does not match the manifest (after one re-fetch)
  | 'quota'        // the browser refused to store a shard (storage quota); loading continues
  | 'storage'      // the Cache API / OPFS is unavailable or failed
  | 'webgpu'       // no WebGPU adapter or device (with backend: 'webgpu')
  | 'device-lost'  // the WebGPU device was lost; load a new engine
  | 'model'        // the export is malformed or unsupported
  | 'generation'   // the prompt does not fit, a bad token, ...
  | 'input'        // a bad argument or call order
  | 'aborted'
  | 'worker'       // the engine's worker crashed
  | 'internal';

/** Every error the package throws. */
export class LmfastError extends Error {
  readonly code: LmfastErrorCode;
  readonly details: Record<string, unknown>;
}

/** A progress event while a model loads. */
export interface LoadProgress {
  phase: 'manifest' | 'shard' | 'verified' | 'warning' | 'done';
  /** Bytes of shards obtained so far (network or cache). */
  loaded: number;
  /** Bytes of all shards. */
  total: number;
  /** Index of the shard this event is about (-1 before the first). */
  shard: number;
  shards: number;
  /** Bytes obtained so far of this event's shard, and its size. */
  shardLoaded: number;
  shardTotal: number;
  file: string;
  /** Whether the shard came from the browser's storage instead of the network. */
  fromCache: boolean;
  /** Whether the shard had to be fetched again after a failed sha256 check. */
  refetched?: boolean;
  /** With phase 'warning': why the shard could not be stored (e.g. code 'quota'). */
  error?: { code: LmfastErrorCode; message: string };
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /**
   * 'auto' (default): WebGPU when the browser gives a hardware adapter, else the wasm CPU path
   * (also when the only adapter is a software fallback such as SwiftShader, which is slower
   * than the CPU path). 'webgpu' uses any adapter or fails; 'cpu' never touches WebGPU.
   */
  backend?: 'auto' | 'webgpu' | 'cpu';
  /**
   * Where shards are kept between visits. 'auto' (default): the origin private file system
   * where the engine runs in a worker (read synchronously: the fastest warm load), the Cache
   * API on the page's thread, nothing where neither exists. 'cache' / 'opfs' force one.
   */
  cache?: 'auto' | 'cache' | 'opfs' | 'none';
  /**
   * Threads for the wasm CPU path (default: the device's logical cores, at most 8). More than
   * one needs a cross-origin isolated page (COOP: same-origin, COEP: require-corp, as
   * `lmfast serve` sends) and a browser with wasm relaxed SIMD (Chrome 114+; checked here in Chromium 156 only);
   * otherwise the CPU path runs on one thread and `info().threads_reason` says why.
   */
  threads?: number;
  /** Run the engine in a Web Worker (default true) or on the calling thread. */
  worker?: boolean;
  /** Key/value cache positions (default: the model's limit, at most 4096). */
  contextLength?: number;
  /** Errors outside a call: device lost, worker crash. */
  onError?: (e: LmfastError) => void;
}

export interface SamplingOptions {
  max_tokens?: number;
  /** 0 is greedy. Default 0.7. */
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  seed?: number;
  stop?: string | string[];
  /** Keep generating past end-of-sequence tokens (fixed-length benchmarks). */
  ignore_eos?: boolean;
  /** Reuse the cached prefix shared with the previous prompt (default true). */
  reuse_cache?: boolean;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
}

export interface Timings {
  prompt_tokens: number;
  cached_prompt_tokens: number;
  generated_tokens: number;
  prefill_seconds: number;
  decode_seconds: number;
  time_to_first_token: number;
  prefill_tokens_per_second: number;
  decode_tokens_per_second: number;
}

export interface Usage { prompt_tokens: number; completion_tokens: number; total_tokens: number }
export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: { role: 'assistant'; content: string }; finish_reason: FinishReason; logprobs: null }[];
  usage: Usage;
  timings: Timings;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string }; finish_reason: FinishReason | null; logprobs: null }[];
  /** On the last chunk. */
  usage?: Usage;
  timings?: Timings;
}

export interface ChatCompletionParams extends SamplingOptions {
  messages: ChatMessage[];
  stream?: boolean;
  model?: string;
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: FinishReason; logprobs: null }[];
  tokens: number[];
  usage: Usage;
  timings: Timings;
}

export interface EngineInfo {
  backend: 'webgpu' | 'cpu';
  /** The WebGPU adapter's name, vendor, limits and features (null on the CPU path). */
  adapter: Record<string, unknown> | null;
  /** Why the CPU path was used, when it was. */
  fallback_reason: string | null;
  model: { name: string | null; quant: string; embedding_quant: string | null; bytes: number; shards: number; config: Record<string, unknown>; /** Whether the model has a chat template (false: a base model; use generate()). */ chat: boolean };
  context_length: number;
  kernels: string;
  /** Threads the CPU path's matrix products use (1 on WebGPU). */
  threads: number;
  /** Why the CPU path runs on one thread, when it does. */
  threads_reason?: string;
  /** Linear memory of the wasm instance (never shrinks: also its peak). */
  wasm_memory_bytes: number;
  load: { seconds: number; url: string; store: 'cache' | 'opfs' | 'none'; network_bytes: number; cache_bytes: number; shards_from_network: number; shards_from_cache: number; refetched: number; warnings: { code: LmfastErrorCode; message: string }[] };
}

export class Engine {
  /** Loads the export folder at `url` (or its manifest.json). */
  static load(url: string, options?: LoadOptions): Promise<Engine>;
  readonly chat: {
    completions: {
      create(params: ChatCompletionParams & { stream: true }): Promise<AsyncIterableIterator<ChatCompletionChunk>>;
      create(params: ChatCompletionParams & { stream?: false }): Promise<ChatCompletion>;
    };
  };
  generate(prompt: string | number[], options: SamplingOptions & { stream: true }): Promise<AsyncIterableIterator<{ text: string; token: number }> & { /** The completion, once the iterator has ended. */ result?: TextCompletion }>;
  generate(prompt: string | number[], options?: SamplingOptions & { stream?: false }): Promise<TextCompletion>;
  /** Stops the running generation; it resolves with finish_reason 'cancelled'. */
  interrupt(): void;
  tokenize(text: string, options?: { addSpecial?: boolean }): Promise<number[]>;
  detokenize(ids: number[] | Uint32Array, options?: { skipSpecial?: boolean }): Promise<string>;
  renderChat(messages: ChatMessage[]): Promise<string>;
  info(): Promise<EngineInfo>;
  /** Forgets the cached conversation prefix. */
  reset(): Promise<void>;
  /** Frees the model and stops the worker. */
  unload(): Promise<void>;
  addEventListener(type: 'error', listener: (e: LmfastError) => void): void;
}

/** Runs every WebGPU kernel against the CPU reference. */
export function runKernelChecks(options?: { worker?: boolean }): Promise<{
  adapter: Record<string, unknown>;
  checks: { name: string; max_abs_error: number; tolerance: number; passed: boolean }[];
}>;

/** Deletes every stored shard (Cache API and OPFS). */
export function clearStores(): Promise<void>;
