//! Pipelining: several requests on one connection in one round trip, and the pieces a hook's statement is sent with.
//!
//! tokio-postgres sends a request when its future is first polled and
//! answers requests in order, so futures polled together in one pass share
//! a round trip: [`join`] polls its two futures in order on every pass. The
//! host's checks travel this way with the guest's statement, at the cost of
//! a few microseconds of server time each, not a round trip.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use futures_core::Stream;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::error::db_error_in;
use super::state::{Level, Snapshot};
use super::tls::Connector;
use crate::sql::DbError;

/// How long a cancel request (its own short connection to the server) may take.
pub(super) const CANCEL_REQUEST_WAIT: Duration = Duration::from_secs(1);

/// Both outputs, the two futures polled in order on every pass (so that a
/// request `a` sends goes out before one `b` sends).
pub(super) async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut out_a = None;
    let mut out_b = None;
    poll_fn(move |cx| {
        if out_a.is_none()
            && let Poll::Ready(value) = a.as_mut().poll(cx)
        {
            out_a = Some(value);
        }
        if out_b.is_none()
            && let Poll::Ready(value) = b.as_mut().poll(cx)
        {
            out_b = Some(value);
        }
        match (out_a.take(), out_b.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                out_a = a;
                out_b = b;
                Poll::Pending
            }
        }
    })
    .await
}

/// The outputs of `futures`, in order. Each is polled once before any is
/// awaited, so that every request goes out in one write; then they are
/// awaited one after the other, as their answers arrive (in order): no
/// future is polled again before its answer can be there.
pub(super) async fn in_order<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    poll_fn(|cx| {
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Poll::Ready(value) = future.as_mut().poll(cx) {
                *output = Some(value);
            }
        }
        Poll::Ready(())
    })
    .await;
    let mut done = Vec::with_capacity(pending.len());
    for (future, output) in pending.into_iter().zip(outputs) {
        done.push(match output {
            Some(value) => value,
            None => future.await,
        });
    }
    done
}

/// Asks the server to cancel whatever this connection is running, with the
/// connection's own TLS settings (`tls`). The request travels on a
/// connection of its own and the server says nothing back, so this returns
/// once it was delivered (or could not be): whether it was delivered.
pub(super) async fn cancel(client: &Client, tls: Connector) -> bool {
    let token = client.cancel_token();
    matches!(tokio::time::timeout(CANCEL_REQUEST_WAIT, token.cancel_query(tls)).await, Ok(Ok(())))
}

/// What one exchange of a hook sends around the statement, in this order,
/// in one round trip. All of it is query text: nothing a revision could
/// have replaced (see `state`).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Around<'a> {
    /// Host SQL that sets the hook up and reads the session state
    /// (`state::prelude_sql`, after a `BEGIN` for a statement's own transaction).
    pub(super) before: Option<&'a str>,
    /// Host SQL after the statement, before the state is read back
    /// (`SET CONSTRAINTS ALL IMMEDIATE`, so that deferred triggers run now).
    pub(super) settle: Option<&'a str>,
    /// Host SQL after the state was read back (the resets of a statement run outside a transaction).
    pub(super) postlude: Option<&'a str>,
}

/// What came back from one exchange.
#[derive(Debug)]
pub(super) struct Exchange<T> {
    /// The session state the prelude read (`None` without one), or its error.
    pub(super) before: Result<Option<Snapshot>, DbError>,
    pub(super) statement: Result<T, DbError>,
    /// The session state after the statement, or the first error of
    /// `settle`, the check and `postlude` (one simple query).
    pub(super) after: Result<Snapshot, DbError>,
}

/// Sends `statement` with the host's SQL `around` it and a read of `level`
/// after it, pipelined, and waits for every answer.
pub(super) async fn exchange<T>(
    client: &Client,
    level: Level,
    around: Around<'_>,
    statement: impl Future<Output = Result<T, DbError>>,
) -> Exchange<T> {
    let before = async {
        match around.before {
            Some(prelude) => Snapshot::query(client, prelude, Level::Full).await.map(Some),
            None => Ok(None),
        }
    };
    let after_sql =
        [around.settle, Some(level.sql()), around.postlude].into_iter().flatten().collect::<Vec<_>>().join("; ");
    let after = Snapshot::query(client, &after_sql, level);
    let (before, (statement, after)) = join(before, join(statement, after)).await;
    Exchange { before, statement, after }
}

/// The rows of a simple query that the host reads: its first row and its
/// last (the host's own statements around the guest's, which return one
/// row each), or the first error. Other rows are dropped as they arrive.
#[derive(Debug)]
pub(super) struct Script {
    pub(super) first: Option<Vec<Option<String>>>,
    pub(super) last: Option<Vec<Option<String>>>,
    pub(super) result: Result<(), DbError>,
    /// How many statements completed before the answer ended (or failed).
    pub(super) completed: usize,
}

/// Runs `sql` as one simple query (one request, one answer). With
/// `want_first`, the first row is kept apart from the last.
pub(super) async fn script(client: &Client, sql: &str, want_first: bool) -> Script {
    let mut first = None;
    let mut last = None;
    let mut completed = 0;
    let stream = match client.simple_query_raw(sql).await {
        Ok(stream) => stream,
        Err(error) => return Script { first, last, result: Err(db_error_in(error, sql)), completed },
    };
    let mut stream = pin!(stream);
    while let Some(message) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        match message {
            Ok(SimpleQueryMessage::Row(row)) => {
                let values = (0..row.len()).map(|index| row.get(index).map(str::to_owned)).collect();
                if want_first && first.is_none() {
                    first = Some(values);
                } else {
                    last = Some(values);
                }
            }
            Ok(SimpleQueryMessage::CommandComplete(_)) => completed += 1,
            Ok(_) => {}
            Err(error) => return Script { first, last, result: Err(db_error_in(error, sql)), completed },
        }
    }
    Script { first, last, result: Ok(()), completed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_polls_in_order_and_returns_both() {
        let order = std::cell::RefCell::new(Vec::new());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (a, b) = runtime.block_on(join(
            async {
                order.borrow_mut().push("a");
                tokio::time::sleep(Duration::from_millis(5)).await;
                1
            },
            async {
                order.borrow_mut().push("b");
                2
            },
        ));
        assert_eq!((a, b), (1, 2));
        assert_eq!(*order.borrow(), ["a", "b"]);
    }
}
