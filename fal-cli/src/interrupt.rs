//! Ctrl-C and `--timeout` while a verb waits on fal: the request being paid
//! for is never lost.
//!
//! On the first Ctrl-C (or when `--timeout` fires) the request id is printed on
//! stderr at once when one is known, whether or not stderr is a terminal. If
//! the request is queued, a cancel is sent and awaited briefly
//! ([`CANCEL_WAIT`]); work that holds a connection instead (a direct run, a
//! stream, an upload) is dropped, which is how fal stops those. If Ctrl-C comes
//! while the submit is still in flight, the submit is given the same short
//! time to answer so its id can be printed and cancelled. A second Ctrl-C
//! exits at once. Exit status: 130 after Ctrl-C (the shell's convention for
//! SIGINT), 1 after a timeout (the request did not complete).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::watch;

use crate::output::escape;
use crate::Failure;

/// How long a cancel (or an unanswered submit) may take before the command
/// gives up on it and exits anyway.
pub const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// Exit status after Ctrl-C: 128 + SIGINT.
pub const INTERRUPTED_EXIT: u8 = 130;

/// Where the verb publishes the id of the request it is working on.
#[derive(Clone, Debug)]
pub struct RequestIdSlot(watch::Sender<Option<String>>);

impl RequestIdSlot {
    /// Records the request id (the first one wins: later ones are the same request).
    pub fn set(&self, request_id: &str) {
        self.0.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(request_id.to_owned());
                true
            } else {
                false
            }
        });
    }
}

/// How the verb's request is stopped once interrupted.
pub enum Stop<'a> {
    /// Queued: ask fal to cancel the request with this id.
    Cancel(Box<dyn FnOnce(String) -> CancelFuture<'a> + Send + 'a>),
    /// Held open by the connection (direct run, stream, upload): closing it stops it.
    CloseConnection,
}

/// A pending cancel call.
pub type CancelFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), fal_runtime::Error>> + Send + 'a>>;

/// Why waiting stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Interrupted,
    TimedOut(Duration),
}

/// Runs `work` (which reports its request id through the slot it is given)
/// until it ends, Ctrl-C arrives or `timeout` passes; see the module docs.
pub async fn guarded<'a, T, W, F>(
    timeout: Option<Duration>,
    stop: Stop<'a>,
    work: W,
) -> Result<T, Failure>
where
    W: FnOnce(RequestIdSlot) -> F,
    F: Future<Output = Result<T, Failure>> + Send + 'a,
{
    // Listening starts before the work does, and one listener serves both
    // Ctrl-Cs, so a second one is seen however soon it follows the first.
    let mut ctrl_c = CtrlC::listen();
    let (sender, mut ids) = watch::channel(None::<String>);
    let mut work = Box::pin(work(RequestIdSlot(sender)));
    let deadline = async {
        match timeout {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    let why = tokio::select! {
        outcome = &mut work => return outcome,
        () = ctrl_c.next() => Why::Interrupted,
        () = deadline => Why::TimedOut(timeout.unwrap_or_default()),
    };
    let known = ids.borrow_and_update().clone();
    say(why, known.as_deref());
    let cancel = match stop {
        Stop::Cancel(cancel) => cancel,
        Stop::CloseConnection => {
            drop(work);
            return Err(stopped(why, known.as_deref(), "its connection was closed"));
        }
    };
    // A submit in flight may still be answered: wait briefly for its id.
    let id = match known {
        Some(id) => id,
        None => {
            let waited = tokio::select! {
                outcome = &mut work => return outcome,
                changed = ids.changed() => changed.ok().and_then(|()| ids.borrow().clone()),
                () = tokio::time::sleep(CANCEL_WAIT) => None,
                () = ctrl_c.next() => exit_now(),
            };
            let Some(id) = waited else {
                drop(work);
                return Err(stopped(
                    why,
                    None,
                    "no request id was received, so nothing was cancelled",
                ));
            };
            eprintln!("request id: {}", escape(&id));
            id
        }
    };
    drop(work);
    eprintln!(
        "cancelling request {} (waiting up to {}s; Ctrl-C again exits now)",
        escape(&id),
        CANCEL_WAIT.as_secs()
    );
    let result = tokio::select! {
        result = tokio::time::timeout(CANCEL_WAIT, cancel(id.clone())) => result,
        () = ctrl_c.next() => exit_now(),
    };
    let what = match result {
        Ok(Ok(())) => "it was cancelled".to_owned(),
        Ok(Err(err)) => format!("the cancel failed: {err}"),
        Err(_) => format!("the cancel got no answer within {}s", CANCEL_WAIT.as_secs()),
    };
    Err(stopped(why, Some(&id), &what))
}

/// Ctrl-C notifications, from one listener installed up front.
struct CtrlC {
    #[cfg(unix)]
    listener: Option<tokio::signal::unix::Signal>,
    #[cfg(windows)]
    listener: Option<tokio::signal::windows::CtrlC>,
}

impl CtrlC {
    /// Starts listening. If the handler cannot be installed, Ctrl-C keeps its
    /// default action (ending the process at once).
    fn listen() -> Self {
        #[cfg(unix)]
        let listener =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        #[cfg(windows)]
        let listener = tokio::signal::windows::ctrl_c().ok();
        CtrlC { listener }
    }

    /// Resolves on the next Ctrl-C (one that came since the last call counts).
    async fn next(&mut self) {
        let received = match self.listener.as_mut() {
            Some(listener) => listener.recv().await.is_some(),
            None => false,
        };
        if !received {
            std::future::pending::<()>().await;
        }
    }
}

/// The first thing printed: what happened and, when known, the request id.
fn say(why: Why, request_id: Option<&str>) {
    let what = match why {
        Why::Interrupted => "interrupted".to_owned(),
        Why::TimedOut(after) => format!(
            "timed out after {} (--timeout)",
            humantime::format_duration(after)
        ),
    };
    match request_id {
        Some(id) => eprintln!("{what}; request id: {}", escape(id)),
        None => eprintln!("{what}; no request id yet"),
    }
}

/// The outcome once stopped: exit 130 when interrupted, 1 when timed out.
fn stopped(why: Why, request_id: Option<&str>, what: &str) -> Failure {
    let request = request_id.map_or_else(String::new, |id| format!("request {id}: "));
    match why {
        Why::Interrupted => Failure::Interrupted(format!("interrupted; {request}{what}")),
        Why::TimedOut(after) => Failure::Api(format!(
            "timed out after {} (--timeout); {request}{what}",
            humantime::format_duration(after)
        )),
    }
}

/// The second Ctrl-C: leave now.
fn exit_now() -> ! {
    eprintln!("interrupted again; exiting without waiting");
    std::process::exit(i32::from(INTERRUPTED_EXIT));
}
