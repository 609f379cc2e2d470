// A helper thread of the threaded CPU build: instantiates the engine's wasm module on the
// engine's shared memory, claims its helper slot, says so, and then works on the engine's
// parallel matrix products until the engine stops its helpers (threadsStop) or its worker
// (or page) goes away.

import { initSync, threadHelperClaim, threadHelperRun } from '../wasm-threads/lmfast_web.js';

self.onmessage = ({ data }) => {
  const { module, memory, index } = data || {};
  let claimed = false;
  try {
    initSync({ module, memory });
    claimed = threadHelperClaim(index);
  } catch (e) {
    self.postMessage({ claimed: false, error: String(e && e.message ? e.message : e) });
    return;
  }
  self.postMessage({ claimed });
  if (claimed) threadHelperRun(index);
};
