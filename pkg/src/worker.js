// The engine's Web Worker: owns one Runtime and answers the page's messages. Each request
// carries an id; replies are { id, type: 'progress' | 'token' | 'result' | 'error' }.

import { Runtime, kernelChecks, stopThreads } from './runtime.js';
import { stopReader } from './loader.js';
import { LmfastError } from './errors.js';

let runtime = null;

const reply = (msg) => self.postMessage(msg);
const fail = (id, e) => reply({ id, type: 'error', error: LmfastError.from(e).toJSON() });

const handlers = {
  async load(id, { url, options }) {
    if (runtime) runtime.unload();
    runtime = null;
    runtime = await Runtime.load(url, { ...options, onProgress: (p) => reply({ id, type: 'progress', progress: p }) });
    return runtime.info();
  },
  info: () => need().info(),
  tokenize: (id, { text, addSpecial }) => need().tokenize(text, addSpecial),
  detokenize: (id, { ids, skipSpecial }) => need().detokenize(ids, skipSpecial),
  renderChat: (id, { messages }) => need().renderChat(messages),
  async chat(id, { params }) {
    const stream = !!params.stream;
    return need().chat(params, stream ? (chunk) => reply({ id, type: 'token', chunk }) : null);
  },
  async generate(id, { prompt, options, stream }) {
    return need().generate(prompt, options, stream ? (text, e) => reply({ id, type: 'token', chunk: { text, token: e.token } }) : null);
  },
  reset: () => need().reset(),
  unload(id, { shutdown }) {
    if (runtime) runtime.unload();
    runtime = null;
    // The page is about to terminate this worker: let go of the shared memory now.
    if (shutdown) {
      stopThreads();
      stopReader();
    }
  },
  kernelChecks: (id, { wasmUrl }) => kernelChecks(wasmUrl),
};

function need() {
  if (!runtime) throw new LmfastError('input', 'no model is loaded in this engine');
  return runtime;
}

self.onmessage = async (event) => {
  const { id, op, args } = event.data || {};
  if (op === 'interrupt') {
    if (runtime) runtime.interrupt();
    return;
  }
  const handler = handlers[op];
  if (!handler) return fail(id, new LmfastError('input', `unknown operation '${op}'`));
  try {
    reply({ id, type: 'result', value: await handler(id, args || {}) });
  } catch (e) {
    fail(id, e);
  }
};
