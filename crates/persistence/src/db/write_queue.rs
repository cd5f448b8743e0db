//! One writer at a time per pool, first come first served (SQLite).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::AnyConnection;
use super::pool::Watch;

/// SQLite admits one writer at a time. Left to SQLite, waiting writers
/// poll in its busy handler, sleeping up to 100 ms between tries: whoever
/// polls at the right moment wins, so under load some writers lose for
/// seconds. A pool's writers therefore wait here, first come first served,
/// before `BEGIN IMMEDIATE`; SQLite's busy timeout is left for writers of
/// other processes (and other pools).
#[derive(Debug)]
pub struct WriteQueue {
    state: Mutex<QueueState>,
    turn: Condvar,
    /// How long a writer waits for its turn before failing as busy.
    timeout: Duration,
}

#[derive(Debug, Default)]
pub(super) struct QueueState {
    /// A writer holds the turn.
    held: bool,
    /// Tickets of the waiting writers, in arrival order.
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

/// The turn of one writer; dropping it lets the next one in.
pub(super) struct WriteTurn {
    queue: Arc<WriteQueue>,
}

impl WriteQueue {
    pub fn new(timeout: Duration) -> Self {
        Self {
            state: Mutex::new(QueueState::default()),
            turn: Condvar::new(),
            timeout,
        }
    }

    /// Waits for this writer's turn; `None` when the timeout passed first.
    fn enter(self: &Arc<Self>) -> Option<WriteTurn> {
        let deadline = Instant::now() + self.timeout;
        // A poisoned lock only means a writer panicked; the state is still whole.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back(ticket);
        loop {
            if !state.held && state.waiting.front() == Some(&ticket) {
                state.waiting.pop_front();
                state.held = true;
                return Some(WriteTurn {
                    queue: self.clone(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.waiting.retain(|&t| t != ticket);
                drop(state);
                // The next in line may be free to go now that we are not in front.
                self.turn.notify_all();
                return None;
            }
            state = self
                .turn
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        let mut state = self
            .queue
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.held = false;
        drop(state);
        self.queue.turn.notify_all();
    }
}

/// The error of a writer whose turn did not come within the busy timeout:
/// the same as SQLite's own, so callers see `StoreError::Busy`.
pub(super) fn queue_timeout() -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(String::from(
            "database is locked (waiting in the write queue)",
        )),
    )
}

/// Runs `f` in a transaction that takes the write lock up front on SQLite
/// (`BEGIN IMMEDIATE`), so two writers queue instead of failing with
/// "database is locked" when a read turns into a write; a pool's writers
/// queue in order ([`WriteQueue`]). On PostgreSQL it is an ordinary
/// transaction; row locks do the queueing.
pub fn write_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let AnyConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    if AnsiTransactionManager::transaction_manager_status_mut(inner)
        .transaction_depth()
        .map_err(E::from)?
        .is_some()
    {
        // Already inside a transaction: a savepoint is all we can take.
        return conn.transaction(f);
    }
    let queue = conn
        .instrumentation()
        .downcast_ref::<Watch>()
        .and_then(|watch| watch.writers.clone());
    let _turn = match &queue {
        Some(queue) => Some(queue.enter().ok_or_else(|| E::from(queue_timeout()))?),
        None => None,
    };
    let AnyConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE").map_err(E::from)?;
    match f(conn) {
        Ok(value) => {
            if let AnyConnection::Sqlite(inner) = conn {
                AnsiTransactionManager::commit_transaction(inner).map_err(E::from)?;
            }
            Ok(value)
        }
        Err(error) => {
            if let AnyConnection::Sqlite(inner) = conn
                && let Err(rollback) = AnsiTransactionManager::rollback_transaction(inner)
            {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(queue: &WriteQueue) -> usize {
        queue.state.lock().unwrap().waiting.len()
    }

    #[test]
    fn writers_take_turns_in_arrival_order() {
        let queue = Arc::new(WriteQueue::new(Duration::from_secs(60)));
        let first = queue.enter().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut writers = Vec::new();
        for i in 0..5 {
            let (mine, order) = (queue.clone(), order.clone());
            writers.push(std::thread::spawn(move || {
                let _turn = mine.enter().unwrap();
                order.lock().unwrap().push(i);
            }));
            // The next writer arrives only once this one waits.
            while waiting(&queue) < i + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_writer_gives_up_after_the_timeout_and_leaves_the_queue() {
        let queue = Arc::new(WriteQueue::new(Duration::from_millis(20)));
        let held = queue.enter().unwrap();
        assert!(queue.enter().is_none());
        assert_eq!(waiting(&queue), 0);
        drop(held);
        assert!(queue.enter().is_some());
    }
}
