//! The spinning worker pool behind [`super::for_each_chunk`].
//!
//! Protocol: the caller publishes a job (a type-erased `&dyn Fn(usize)` and a task count)
//! under a lock-free generation number. Workers and the caller take task indices from a
//! shared counter; each worker then records that it has finished with that generation.
//! The caller returns only when every active worker has done so, so no worker touches the
//! job after `run` returns — which is what makes erasing the closure's lifetime sound.
//!
//! Natively the pool spawns its helper threads itself. In the browser (wasm32 built with
//! shared memory) threads are Web Workers that only JavaScript can start: the pool then
//! makes empty helper slots ([`prepare`]), each worker claims its slot ([`claim_helper`]) and
//! runs [`run_helper`], and the engine's thread turns the claimed slots on ([`activate`])
//! between jobs, so a helper never joins a job that is already running.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;
use std::time::Duration;
use web_time::Instant;

static REQUESTED: AtomicUsize = AtomicUsize::new(0);
static POOL: OnceLock<Pool> = OnceLock::new();
/// Only one job runs at a time; concurrent callers (e.g. two tests) take turns.
static RUNNING: Mutex<()> = Mutex::new(());

/// How long an idle worker waits (spinning, then yielding) before it parks.
const SPIN: Duration = Duration::from_millis(2);

/// Busy-wait iterations (a few microseconds) before waiting threads start yielding.
const YIELD_AFTER: u32 = 2000;

/// Spins between two looks at the clock (in the browser a look is a call into JavaScript).
const CLOCK_EVERY: u32 = 64;

type Job = dyn Fn(usize) + Sync;

struct Shared {
    generation: AtomicUsize,
    job: AtomicPtr<JobSlot>,
    next: AtomicUsize,
    tasks: AtomicUsize,
    finished: Vec<AtomicUsize>,
    parked: Vec<AtomicBool>,
    /// Set by [`stop`]: helpers leave their loop at their next wait.
    stopped: AtomicBool,
}

/// The published job: a fat pointer to the caller's closure, behind a thin pointer.
struct JobSlot {
    f: *const Job,
}

struct Pool {
    shared: &'static Shared,
    /// Each helper's handle, set once the helper runs (for `unpark`).
    helpers: Vec<OnceLock<Thread>>,
    /// Which helpers take part in jobs. Changed only by `activate`, between jobs.
    active: Vec<AtomicBool>,
    active_count: AtomicUsize,
}

pub(super) fn set_threads(n: usize) {
    REQUESTED.store(n, Ordering::Relaxed);
}

pub(super) fn threads() -> usize {
    pool().active_count.load(Ordering::Relaxed) + 1
}

fn requested() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 if cfg!(target_arch = "wasm32") => 1,
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let helpers = requested().saturating_sub(1);
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            generation: AtomicUsize::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            next: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
            finished: (0..helpers).map(|_| AtomicUsize::new(0)).collect(),
            parked: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
            stopped: AtomicBool::new(false),
        }));
        let pool = Pool {
            shared,
            helpers: (0..helpers).map(|_| OnceLock::new()).collect(),
            active: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
            active_count: AtomicUsize::new(0),
        };
        #[cfg(not(target_arch = "wasm32"))]
        for index in 0..helpers {
            // Active before it starts: no job runs until the pool exists.
            pool.active[index].store(true, Ordering::Release);
            let spawned = std::thread::Builder::new()
                .name(format!("lmfast-worker-{index}"))
                .spawn(move || run_helper(index));
            match spawned {
                Ok(handle) => {
                    let _ = pool.helpers[index].set(handle.thread().clone());
                    pool.active_count.fetch_add(1, Ordering::Relaxed);
                }
                // Fewer threads than asked: the jobs still complete (the caller does them).
                Err(_) => {
                    pool.active[index].store(false, Ordering::Relaxed);
                    break;
                }
            }
        }
        pool
    })
}

/// Makes the pool with `threads - 1` empty helper slots (browser threads) and returns how
/// many there are. Later calls return the existing pool's slot count.
pub(super) fn prepare(threads: usize) -> usize {
    if POOL.get().is_none() {
        set_threads(threads.max(1));
    }
    pool().helpers.len()
}

/// Claims helper slot `index` for the calling thread; false if there is no such slot or it
/// is taken. The thread must then call [`run_helper`].
pub(super) fn claim_helper(index: usize) -> bool {
    let pool = pool();
    match pool.helpers.get(index) {
        Some(slot) => slot.set(std::thread::current()).is_ok(),
        None => false,
    }
}

/// Lets every claimed helper take part in the jobs from now on; returns the thread count.
/// Call from the thread that runs the jobs, between jobs.
pub(super) fn activate() -> usize {
    let pool = pool();
    let _turn = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let s = pool.shared;
    for (i, (slot, active)) in pool.helpers.iter().zip(&pool.active).enumerate() {
        let Some(thread) = slot.get() else { continue };
        if !active.load(Ordering::Relaxed) {
            // The helper joins the jobs published after this generation.
            s.finished[i].store(s.generation.load(Ordering::Relaxed), Ordering::Relaxed);
            active.store(true, Ordering::Release);
            pool.active_count.fetch_add(1, Ordering::Relaxed);
            thread.unpark();
        }
    }
    threads()
}

thread_local! {
    /// Set while this thread runs tasks of a job: a parallel loop started from inside a task
    /// runs in place instead of waiting for a pool that is busy with its caller.
    static IN_JOB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f(task)` for every `task < tasks` on the pool and the calling thread.
pub(super) fn run(tasks: usize, f: &(dyn Fn(usize) + Sync + '_)) {
    let pool = pool();
    if pool.active_count.load(Ordering::Relaxed) == 0 || IN_JOB.with(|j| j.get()) {
        (0..tasks).for_each(f);
        return;
    }
    let _turn = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let s = pool.shared;
    let erased: *const (dyn Fn(usize) + Sync + '_) = f;
    // SAFETY: only the lifetime is erased; `run` does not return before every active
    // worker has finished with this job (see the module comment), so the closure outlives
    // every use.
    let erased: *const Job = unsafe { std::mem::transmute(erased) };
    let mut slot = JobSlot { f: erased };
    s.job.store(&mut slot, Ordering::Relaxed);
    s.tasks.store(tasks, Ordering::Relaxed);
    s.next.store(0, Ordering::Relaxed);
    // Release: everything above is visible to a worker that sees the new generation.
    let generation = s.generation.fetch_add(1, Ordering::Release) + 1;
    let active = |i: usize| pool.active[i].load(Ordering::Relaxed);
    for i in (0..pool.helpers.len()).filter(|&i| active(i)) {
        if s.parked[i].load(Ordering::Acquire) {
            unpark(pool, i);
        }
    }
    work(s, f, tasks);
    for i in (0..pool.helpers.len()).filter(|&i| active(i)) {
        let done = &s.finished[i];
        let mut spins = 0u32;
        while done.load(Ordering::Acquire) != generation {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(4096) && s.parked[i].load(Ordering::Acquire) {
                unpark(pool, i);
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

fn unpark(pool: &Pool, index: usize) {
    if let Some(thread) = pool.helpers[index].get() {
        thread.unpark();
    }
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

/// Ends the browser helpers' loops for good: every helper returns from [`run_helper`] at its
/// next wait (a Web Worker still inside it cannot be terminated at once: Chrome waits for
/// its script to return, for seconds), and later jobs run on the calling thread alone.
/// Call from the thread that runs the jobs, between jobs.
pub(super) fn stop() {
    let pool = pool();
    let _turn = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let s = pool.shared;
    s.stopped.store(true, Ordering::Release);
    for active in &pool.active {
        active.store(false, Ordering::Relaxed);
    }
    pool.active_count.store(0, Ordering::Relaxed);
    for index in 0..pool.helpers.len() {
        unpark(pool, index);
    }
}

/// A helper's loop: waits for jobs and works on them until [`stop`].
pub(super) fn run_helper(index: usize) {
    let pool = pool();
    let s = pool.shared;
    // A helper looks at no job before it is active: no job would wait for it.
    while !pool.active[index].load(Ordering::Acquire) {
        if s.stopped.load(Ordering::Acquire) {
            return;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
    // The generation it was activated at (written before the Release above): jobs
    // published after it are the helper's to join.
    let mut seen = s.finished[index].load(Ordering::Relaxed);
    loop {
        let idle_since = Instant::now();
        let mut spins = 0u32;
        let mut parking = false;
        let generation = loop {
            let g = s.generation.load(Ordering::Acquire);
            if g != seen {
                break g;
            }
            if !parking {
                spins = spins.wrapping_add(1);
                if !spins.is_multiple_of(CLOCK_EVERY) || idle_since.elapsed() < SPIN {
                    if spins > YIELD_AFTER {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                    continue;
                }
                // Idle for SPIN: from now on the helper sleeps until a job (or `stop`)
                // wakes it, instead of spinning again after every timeout.
                parking = true;
            }
            if s.stopped.load(Ordering::Acquire) {
                return;
            }
            s.parked[index].store(true, Ordering::Release);
            // Re-check after announcing, so a publish between the check and the flag
            // is not missed (the publisher unparks anyone flagged).
            if s.generation.load(Ordering::Acquire) == seen {
                std::thread::park_timeout(Duration::from_millis(10));
            }
            s.parked[index].store(false, Ordering::Release);
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
