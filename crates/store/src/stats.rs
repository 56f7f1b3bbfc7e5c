//! How many times a piece of work went to the database: each store call (one SQL statement on
//! the read paths; a write transaction counts once) is noted in a counter that lives as long
//! as the future given to [`count_queries`] (a task-local, so concurrent requests never mix
//! their counts). The HTTP layer wraps every request in it and exports the count per route
//! (`meetvault_http_request_db_queries`), which is how an N+1 shows up — and how a test proves
//! a route's cost does not grow with its page size.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static QUERIES: Cell<u32>;
}

/// Runs `work`, counting the store calls it makes (on its own task; work it spawns is not
/// counted).
pub async fn count_queries<F: Future>(work: F) -> (F::Output, u32) {
    QUERIES
        .scope(Cell::new(0), async move {
            let out = work.await;
            (out, QUERIES.with(Cell::get))
        })
        .await
}

/// Notes one store call, when something is counting.
pub(crate) fn note_query() {
    let _ = QUERIES.try_with(|c| c.set(c.get().saturating_add(1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_are_per_future_and_nothing_counts_outside() {
        note_query();
        let ((), n) = count_queries(async {
            note_query();
            note_query();
            let ((), inner) = count_queries(async { note_query() }).await;
            assert_eq!(inner, 1);
        })
        .await;
        assert_eq!(n, 2);
    }
}
