//! Ctrl-C and SIGTERM: the first asks the running work to stop cleanly (wasmig::interrupt), a second exits at once.

use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

use super::exit::Exit;

/// The first stop signal received, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Listens for SIGINT and SIGTERM on a thread of its own. The first one
/// cancels the running statement, rolls the step back and stops the run
/// (the command then reports what committed and exits 130 or 143); a second
/// one ends the process at once.
pub fn install() {
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => {
            tracing::warn!("cannot listen for Ctrl-C: it will end wasmig without a clean stop ({error})");
            return;
        }
    };
    let spawned = std::thread::Builder::new().name("wasmig-signals".into()).spawn(move || {
        for signal in signals.forever() {
            if RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                eprintln!(
                    "stopping: cancelling the running statement and rolling back its step \
                     (press Ctrl-C again to exit at once)"
                );
                wasmig::interrupt::request();
            } else {
                eprintln!("stopped at once: the running step may be left for the server to roll back");
                std::process::exit(exit_for(signal).code().into());
            }
        }
    });
    if let Err(error) = spawned {
        tracing::warn!("cannot listen for Ctrl-C: it will end wasmig without a clean stop ({error})");
    }
}

/// The exit for a run a signal stopped, if one did.
pub fn stopped_by() -> Option<Exit> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(exit_for(signal)),
    }
}

fn exit_for(signal: i32) -> Exit {
    if signal == SIGTERM { Exit::Terminated } else { Exit::Interrupted }
}
