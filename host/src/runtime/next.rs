//! What the draft next version of the contract (`wit/next`,
//! baton:bot@0.2.0) adds to the released one: the `clock` import. A new
//! version includes the released world whole and adds imports, so one
//! linker serves both: the released imports keep their `@0.1.0` names, and
//! the additions are linked beside them here. 0.1.0 bots never see them.
//!
//! (A version that added or changed *exports* would also need the calls
//! of `invoke.rs` chosen per version; none does yet.)

use wasmtime::component::Linker;

use super::BotState;

/// Links the imports the draft adds.
pub(super) fn link(linker: &mut Linker<BotState>) -> wasmtime::Result<()> {
    let mut clock = linker.instance("baton:bot/clock@0.2.0")?;
    clock.func_wrap("now", |store, (): ()| {
        let state: &BotState = store.data();
        match state.session.as_ref() {
            // The invocation's time: the clock that runs waits and
            // lifetimes (a test's manual clock too).
            Some(session) => Ok((session.now,)),
            None => Err(wasmtime::format_err!("describe() may not call the host")),
        }
    })?;
    Ok(())
}
