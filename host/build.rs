//! `sqlx::migrate!` embeds `migrations/` into the binary when the crate is
//! compiled, but cargo does not know the macro read that folder: without
//! this, a migration added to an already built tree would be missing from
//! the next build.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
