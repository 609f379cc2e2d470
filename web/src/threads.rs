//! Threads for the wasm CPU path. A build with shared memory (`target-feature=+atomics`,
//! `scripts/build-web.sh` makes it as `pkg/wasm-threads/`) can run the kernels' parallel
//! loops on Web Workers that share the engine's memory: the npm package starts them (only
//! JavaScript can), each worker claims a helper slot and then runs the helper loop, and the
//! engine's thread turns the claimed helpers on. Without shared memory there are no slots.

use wasm_bindgen::prelude::*;

/// Whether this build can run helper threads (it was built with shared memory).
#[wasm_bindgen(js_name = threadsSupported)]
pub fn threads_supported() -> bool {
    cfg!(target_feature = "atomics")
}

/// Makes room for `threads - 1` helper threads and returns how many helpers to start (0 in
/// a build without shared memory). Call once, from the engine's thread, before any model.
#[wasm_bindgen(js_name = threadsPrepare)]
pub fn threads_prepare(threads: usize) -> usize {
    if !threads_supported() {
        return 0;
    }
    lmfast_core::parallel::prepare_helpers(threads)
}

/// In a helper worker, after instantiating the module on the shared memory: claims helper
/// slot `index`; false when there is no such slot or it is taken.
#[wasm_bindgen(js_name = threadHelperClaim)]
pub fn thread_helper_claim(index: usize) -> bool {
    threads_supported() && lmfast_core::parallel::claim_helper(index)
}

/// In a helper worker, after a successful claim: works on the engine's parallel loops until
/// `threadsStop` (the worker parks while there is no work), so call it last.
#[wasm_bindgen(js_name = threadHelperRun)]
pub fn thread_helper_run(index: usize) {
    lmfast_core::parallel::run_helper(index)
}

/// On the engine's thread, once the helpers have claimed their slots: lets them work and
/// returns the number of threads the kernels now use.
#[wasm_bindgen(js_name = threadsActivate)]
pub fn threads_activate() -> usize {
    lmfast_core::parallel::activate_helpers()
}

/// On the engine's thread, before its helper workers are terminated: makes every helper
/// return from `threadHelperRun`, so that terminating its worker takes effect at once
/// (Chrome gives a worker still running script seconds before it forces it to stop, and
/// keeps the shared memory until then). The kernels run on one thread afterwards.
#[wasm_bindgen(js_name = threadsStop)]
pub fn threads_stop() {
    if threads_supported() {
        lmfast_core::parallel::stop_helpers();
    }
}
