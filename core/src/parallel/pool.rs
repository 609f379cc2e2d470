//! The spinning worker pool behind [`super::for_each_chunk`].
//!
//! Protocol: the caller publishes a job (a type-erased `&dyn Fn(usize)` and a task count)
//! under a lock-free generation number. Workers and the caller take task indices from a
//! shared counter; each worker then records that it has finished with that generation.
//! The caller returns only when every worker has done so, so no worker touches the job
//! after `run` returns — which is what makes erasing the closure's lifetime sound.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

static REQUESTED: AtomicUsize = AtomicUsize::new(0);
static POOL: OnceLock<Pool> = OnceLock::new();
/// Only one job runs at a time; concurrent callers (e.g. two tests) take turns.
static RUNNING: Mutex<()> = Mutex::new(());

/// How long an idle worker waits (spinning, then yielding) before it parks.
const SPIN: Duration = Duration::from_millis(2);

/// Busy-wait iterations (a few microseconds) before waiting threads start yielding.
const YIELD_AFTER: u32 = 2000;

type Job = dyn Fn(usize) + Sync;

struct Shared {
    generation: AtomicUsize,
    job: AtomicPtr<JobSlot>,
    next: AtomicUsize,
    tasks: AtomicUsize,
    finished: Vec<AtomicUsize>,
    parked: Vec<AtomicBool>,
}

/// The published job: a fat pointer to the caller's closure, behind a thin pointer.
struct JobSlot {
    f: *const Job,
}

struct Pool {
    shared: &'static Shared,
    workers: Vec<Thread>,
}

pub(super) fn set_threads(n: usize) {
    REQUESTED.store(n, Ordering::Relaxed);
}

pub(super) fn threads() -> usize {
    pool().workers.len() + 1
}

fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let n = match REQUESTED.load(Ordering::Relaxed) {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let helpers = n.saturating_sub(1);
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            generation: AtomicUsize::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            next: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
            finished: (0..helpers).map(|_| AtomicUsize::new(0)).collect(),
            parked: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
        }));
        let mut workers = Vec::with_capacity(helpers);
        for index in 0..helpers {
            let spawned = std::thread::Builder::new()
                .name(format!("lmfast-worker-{index}"))
                .spawn(move || worker(shared, index));
            match spawned {
                Ok(handle) => workers.push(handle.thread().clone()),
                // Fewer threads than asked: the jobs still complete (the caller does them).
                Err(_) => break,
            }
        }
        // Workers that failed to spawn must not be waited for.
        let alive = workers.len();
        for f in &shared.finished[alive..] {
            f.store(usize::MAX, Ordering::Relaxed);
        }
        Pool { shared, workers }
    })
}

thread_local! {
    /// Set while this thread runs tasks of a job: a parallel loop started from inside a task
    /// runs in place instead of waiting for a pool that is busy with its caller.
    static IN_JOB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f(task)` for every `task < tasks` on the pool and the calling thread.
pub(super) fn run(tasks: usize, f: &(dyn Fn(usize) + Sync + '_)) {
    let pool = pool();
    if pool.workers.is_empty() || IN_JOB.with(|j| j.get()) {
        (0..tasks).for_each(f);
        return;
    }
    let _turn = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let s = pool.shared;
    let erased: *const (dyn Fn(usize) + Sync + '_) = f;
    // SAFETY: only the lifetime is erased; `run` does not return before every worker has
    // finished with this job (see the module comment), so the closure outlives every use.
    let erased: *const Job = unsafe { std::mem::transmute(erased) };
    let mut slot = JobSlot { f: erased };
    s.job.store(&mut slot, Ordering::Relaxed);
    s.tasks.store(tasks, Ordering::Relaxed);
    s.next.store(0, Ordering::Relaxed);
    // Release: everything above is visible to a worker that sees the new generation.
    let generation = s.generation.fetch_add(1, Ordering::Release) + 1;
    for (i, thread) in pool.workers.iter().enumerate() {
        if s.parked[i].load(Ordering::Acquire) {
            thread.unpark();
        }
    }
    work(s, f, tasks);
    for (i, done) in s.finished.iter().enumerate().take(pool.workers.len()) {
        let mut spins = 0u32;
        while done.load(Ordering::Acquire) != generation {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(4096) && s.parked[i].load(Ordering::Acquire) {
                pool.workers[i].unpark();
            }
            // On a busy machine the worker may be waiting for a core: give ours up rather
            // than spin through its time slice.
            if spins > YIELD_AFTER {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
    s.job.store(std::ptr::null_mut(), Ordering::Relaxed);
}

fn work(s: &Shared, f: &(dyn Fn(usize) + Sync + '_), tasks: usize) {
    IN_JOB.with(|j| j.set(true));
    loop {
        let task = s.next.fetch_add(1, Ordering::Relaxed);
        if task >= tasks {
            break;
        }
        f(task);
    }
    IN_JOB.with(|j| j.set(false));
}

fn worker(s: &'static Shared, index: usize) {
    let mut seen = 0usize;
    loop {
        let mut idle_since = Instant::now();
        let mut spins = 0u32;
        let generation = loop {
            let g = s.generation.load(Ordering::Acquire);
            if g != seen {
                break g;
            }
            spins += 1;
            if idle_since.elapsed() < SPIN {
                if spins > YIELD_AFTER {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
                continue;
            }
            s.parked[index].store(true, Ordering::Release);
            // Re-check after announcing, so a publish between the check and the flag
            // is not missed (the publisher unparks anyone flagged).
            if s.generation.load(Ordering::Acquire) == seen {
                std::thread::park_timeout(Duration::from_millis(10));
            }
            s.parked[index].store(false, Ordering::Release);
            idle_since = Instant::now();
            spins = 0;
        };
        seen = generation;
        let slot = s.job.load(Ordering::Relaxed);
        let tasks = s.tasks.load(Ordering::Relaxed);
        if !slot.is_null() {
            // SAFETY: the publisher stored `slot` (pointing at its live closure) before
            // releasing this generation, and does not return — so the closure stays alive —
            // until this worker stores `finished = generation` below.
            let f = unsafe { &*(*slot).f };
            work(s, f, tasks);
        }
        s.finished[index].store(generation, Ordering::Release);
    }
}
