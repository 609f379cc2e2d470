//! The generation queue: a bounded list of waiting requests served by `--parallel` worker
//! threads.
//!
//! Generation is CPU-bound and blocking, so it runs on plain threads rather than on the
//! async runtime; the bound turns overload into a quick 429 instead of an ever longer wait.
//! Tokens travel back to the request's handler over a channel; when the handler is gone
//! (the client disconnected) the next token's send fails and the generation is cancelled.

use super::metrics::Metrics;
use lmfast_core::engine::Engine;
use lmfast_core::generate::{GenerateOptions, GenerateOutput};
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// One generation to run.
pub struct Job {
    /// The model.
    pub engine: Arc<Engine>,
    /// The prompt, tokenized.
    pub prompt_ids: Vec<u32>,
    /// Budget, sampling and stop strings.
    pub options: GenerateOptions,
    /// Where tokens and the result go.
    pub events: UnboundedSender<JobEvent>,
}

/// What a worker reports about a job.
pub enum JobEvent {
    /// A token was generated; `text` is what became safe to show (may be empty).
    Token(String),
    /// The generation ended.
    Done(Result<GenerateOutput, String>),
}

/// Why a job was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue holds `--queue` waiting jobs already.
    Full,
    /// The server is shutting down.
    Closed,
}

/// The queue and its workers.
pub struct WorkQueue {
    sender: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    capacity: usize,
    metrics: Arc<Metrics>,
}

impl WorkQueue {
    /// Starts `parallel` workers behind a queue of `capacity` waiting jobs.
    ///
    /// `token_delay` slows every token (tests use it to keep generations in flight).
    pub fn start(
        parallel: usize,
        capacity: usize,
        token_delay: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        // A sync channel of `capacity` holds exactly the jobs no worker has taken yet.
        let (sender, receiver) = sync_channel::<Job>(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::with_capacity(parallel);
        for index in 0..parallel {
            let receiver = Arc::clone(&receiver);
            let metrics = Arc::clone(&metrics);
            let handle = std::thread::Builder::new()
                .name(format!("lmfast-serve-{index}"))
                .spawn(move || work(&receiver, &metrics, token_delay))?;
            workers.push(handle);
        }
        Ok(Self {
            sender: Mutex::new(Some(sender)),
            workers: Mutex::new(workers),
            capacity,
            metrics,
        })
    }

    /// How many jobs may wait.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queues `job` without waiting.
    pub fn submit(&self, job: Job) -> Result<(), SubmitError> {
        let guard = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let sender = guard.as_ref().ok_or(SubmitError::Closed)?;
        // Counted before the send: a worker may take the job (and count it out) at once.
        self.metrics.queue_depth.inc();
        match sender.try_send(job) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.metrics.queue_depth.dec();
                Err(match err {
                    TrySendError::Full(_) => SubmitError::Full,
                    TrySendError::Disconnected(_) => SubmitError::Closed,
                })
            }
        }
    }

    /// Stops taking jobs, lets the workers finish the queued ones, and waits for them.
    pub fn shutdown(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// A worker: takes jobs until the queue is closed and empty.
fn work(receiver: &Mutex<Receiver<Job>>, metrics: &Metrics, token_delay: Duration) {
    loop {
        // The lock is held only while waiting for a job, never while generating.
        let job = match receiver.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        metrics.queue_depth.dec();
        if job.events.is_closed() {
            // The client gave up while waiting.
            continue;
        }
        metrics.active_generations.inc();
        let events = &job.events;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            job.engine
                .generate(&job.prompt_ids, &job.options, |event| {
                    if !token_delay.is_zero() {
                        std::thread::sleep(token_delay);
                    }
                    match events.send(JobEvent::Token(event.text.clone())) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(_) => ControlFlow::Break(()),
                    }
                })
                .map_err(|err| err.to_string())
        }));
        metrics.active_generations.dec();
        // A panic in the model must not take the worker (and the server's capacity) down.
        let result = outcome.unwrap_or_else(|_| Err("internal error: generation panicked".into()));
        let _ = job.events.send(JobEvent::Done(result));
    }
}
