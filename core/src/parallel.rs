//! Data parallelism for the kernels: a small pool of spinning worker threads, spawned by
//! the pool natively and started as Web Workers by the npm package in the browser (wasm32
//! built with shared memory); without helpers the loops run in place.
//!
//! A decode step of a 30-layer model runs about 120 parallel matrix products of well under
//! a millisecond each. A general-purpose pool that puts idle workers to sleep pays a wake-up
//! (tens of microseconds) per product; here idle workers spin briefly on an atomic, so a
//! hand-off costs well under a microsecond while the model is running, and they only park
//! after a pause in the work.

mod pool;

/// Chooses how many threads the kernels use (the caller's thread included); call before the
/// first parallel loop (later calls have no effect). The default is every core natively and
/// one thread in the browser until [`prepare_helpers`] is called.
pub fn set_threads(n: usize) {
    pool::set_threads(n);
}

/// Threads the parallel loops use.
pub fn threads() -> usize {
    pool::threads()
}

/// Browser threads, step 1 (the engine's thread): makes room for `threads - 1` helpers and
/// returns how many slots there are. Each helper is a Web Worker sharing this instance's
/// memory that calls [`claim_helper`] and then [`run_helper`].
pub fn prepare_helpers(threads: usize) -> usize {
    pool::prepare(threads)
}

/// Browser threads, step 2 (each helper): claims slot `index` for the calling thread; false
/// if there is no such slot or another thread has it.
pub fn claim_helper(index: usize) -> bool {
    pool::claim_helper(index)
}

/// Browser threads, step 3 (each helper, after claiming): waits for jobs and works on them;
/// returns only after [`stop_helpers`]. The helper idles (parked) while there is no work.
pub fn run_helper(index: usize) {
    pool::run_helper(index)
}

/// Browser threads, step 4 (the engine's thread, between generations): lets every claimed
/// helper take part in the parallel loops; returns the number of threads now used.
pub fn activate_helpers() -> usize {
    pool::activate()
}

/// Browser threads, the end (the engine's thread, between jobs): every helper leaves
/// [`run_helper`] at its next wait, so that its Web Worker can be terminated at once; later
/// parallel loops run on the calling thread alone.
pub fn stop_helpers() {
    pool::stop()
}

/// Calls `f(index, item)` for every item, in parallel where threads exist.
pub fn for_each_indexed<T: Send>(items: &mut [T], f: impl Fn(usize, &mut T) + Sync + Send) {
    for_each_chunk(items, 1, |i, chunk| f(i, &mut chunk[0]));
}

/// Splits `out` into chunks of `chunk` elements and calls `f(chunk_index, chunk)` on each,
/// in parallel where threads exist.
pub fn for_each_chunk<T: Send>(
    out: &mut [T],
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let chunk = chunk.max(1);
    let tasks = out.len().div_ceil(chunk);
    if tasks > 1 && threads() > 1 {
        let len = out.len();
        let base = SendPtr(out.as_mut_ptr());
        pool::run(tasks, &move |task| {
            let start = task * chunk;
            let end = (start + chunk).min(len);
            // SAFETY: tasks are distinct indices below `tasks`, so the ranges
            // start..end are disjoint and inside `out`, which stays mutably borrowed
            // (and so alive and unaliased) until `pool::run` returns after every task.
            let part =
                unsafe { std::slice::from_raw_parts_mut(base.get().add(start), end - start) };
            f(task, part);
        });
        return;
    }
    out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// Calls `f(task)` for every `task < tasks`, in parallel where threads exist.
pub fn for_each_task(tasks: usize, f: impl Fn(usize) + Sync + Send) {
    if tasks > 1 && threads() > 1 {
        pool::run(tasks, &f);
        return;
    }
    (0..tasks).for_each(f);
}

/// A slice that tasks write into at disjoint indices, shared across threads.
///
/// The tasks themselves must guarantee that no index is written by two of them (e.g. each
/// task owns a set of rows of a row-major output); reads and writes go through raw pointers.
pub struct SharedOut<'a, T> {
    ptr: SendPtr<T>,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

impl<'a, T: Send> SharedOut<'a, T> {
    /// Shares `out` for disjoint writes until the returned value is dropped.
    pub fn new(out: &'a mut [T]) -> Self {
        Self {
            ptr: SendPtr(out.as_mut_ptr()),
            len: out.len(),
            _borrow: std::marker::PhantomData,
        }
    }

    /// Writes `value` at `index`.
    ///
    /// # Safety
    /// No other task may access `index` while the parallel loop runs.
    pub unsafe fn write(&self, index: usize, value: T) {
        assert!(index < self.len, "index {index} out of {}", self.len);
        // SAFETY: in bounds (asserted); exclusive per the caller's contract.
        unsafe { self.ptr.get().add(index).write(value) };
    }
}

// SAFETY: only disjoint indices are written from different threads (the `write` contract).
unsafe impl<T: Send> Sync for SharedOut<'_, T> {}

/// A raw pointer that may cross threads; only used for the disjoint chunks above.
struct SendPtr<T>(*mut T);

impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SendPtr<T> {}

impl<T> SendPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: the pointer is only turned into disjoint sub-slices, one per task (see above).
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above; sharing the pointer value itself is harmless.
unsafe impl<T: Send> Sync for SendPtr<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parallel_loop_inside_a_task_runs_and_fills_every_item() {
        let mut outer = vec![0u64; 64];
        for_each_chunk(&mut outer, 8, |c, chunk| {
            let mut inner = vec![0u64; 16];
            for_each_chunk(&mut inner, 4, |i, part| {
                for (k, v) in part.iter_mut().enumerate() {
                    *v = (i * 4 + k) as u64;
                }
            });
            let sum: u64 = inner.iter().sum();
            for (k, v) in chunk.iter_mut().enumerate() {
                *v = (c * 8 + k) as u64 * 1000 + sum;
            }
        });
        for (i, v) in outer.iter().enumerate() {
            assert_eq!(*v, i as u64 * 1000 + 120);
        }
    }
}
