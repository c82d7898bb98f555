//! Ctrl-C, SIGTERM or SIGHUP while `cargo xtask up` or `test` waits for
//! its child: xtask must outlive the child, to stop and delete what it
//! started for it (a PostgreSQL cluster, dropped when the command
//! returns). By default such a signal ends xtask at once, without running
//! any drop, and the cluster kept running until the next start reaped it.
//!
//! So xtask catches them: the flag is set, the child is sent SIGTERM (a
//! Ctrl-C from the terminal reaches it anyway, as one of the foreground
//! group), and xtask returns normally once the child has ended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static ASKED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // An atomic store is all a signal handler may safely do here.
    ASKED.store(true, Ordering::SeqCst);
}

/// From now on, SIGINT, SIGTERM and SIGHUP ask xtask to stop instead of
/// ending it.
pub fn catch() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores into a static atomic, which is
        // async-signal-safe; `signal` has no other precondition.
        unsafe {
            libc::signal(signal, handler);
        }
    }
}

/// Whether a stop was asked for.
pub fn asked() -> bool {
    ASKED.load(Ordering::SeqCst)
}

/// Passes a stop on to the process `pid` (SIGTERM) when one is asked,
/// from a thread of its own, so that the caller may block on the child's
/// output or exit.
pub fn pass_on(pid: u32) {
    std::thread::spawn(move || {
        while !asked() {
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("xtask: stopping (signal received); cleaning up after the child ends");
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: kill has no memory-safety preconditions; at worst the
            // child is gone and this fails with ESRCH.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    });
}
