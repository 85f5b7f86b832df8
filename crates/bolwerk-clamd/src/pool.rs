//! The bounded scan pool: at most `MaxThreads` scans run at once on
//! blocking threads, at most `MaxQueue` more wait for one; a request
//! beyond that waits before it is even queued, so a flood of clients
//! slows down rather than piling up work. Connections themselves cost no
//! thread: they are served by the async runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

/// A bounded set of scanning threads with a bounded queue.
pub struct Pool {
    queue: Semaphore,
    threads: Arc<Semaphore>,
    max_threads: usize,
    active: Arc<AtomicUsize>,
    waiting: AtomicUsize,
}

impl Pool {
    /// A pool of `max_threads` with room for `max_queue` waiting jobs.
    pub fn new(max_threads: usize, max_queue: usize) -> Pool {
        Pool {
            queue: Semaphore::new(max_threads + max_queue),
            threads: Arc::new(Semaphore::new(max_threads)),
            max_threads,
            active: Arc::new(AtomicUsize::new(0)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Run `job` on a scanning thread once one is free; `None` if the job
    /// panicked.
    pub async fn run<R, F>(&self, job: F) -> Option<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let _slot = self.queue.acquire().await.ok()?;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let thread = self.threads.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let thread = thread.ok()?;
        let active = self.active.clone();
        active.fetch_add(1, Ordering::Relaxed);
        let handle = tokio::task::spawn_blocking(move || {
            let r = job();
            active.fetch_sub(1, Ordering::Relaxed);
            drop(thread);
            r
        });
        handle.await.ok()
    }

    /// Scans running now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Scans waiting for a thread.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// The thread bound.
    pub fn max_threads(&self) -> usize {
        self.max_threads
    }
}
