//! The bots directories built by `cargo xtask build-bots`: examples,
//! fixtures, and the examples in Python and JavaScript, each a complete
//! bots directory (manifests and `.wasm` files).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// `BATON_TEST_BOTS`, or `target/test-bots` filled by running the xtask
/// once per test process.
fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(dir) = std::env::var("BATON_TEST_BOTS") {
            return std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir));
        }
        let root = workspace_root();
        let out = root.join("target/test-bots");
        for (flag, sub) in [(None, "bots"), (Some("--fixtures"), "fixtures")] {
            build_bots(&root, flag, &out.join(sub));
        }
        out
    })
}

fn build_bots(root: &Path, flag: Option<&str>, dest: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root)
        .args(["xtask", "build-bots", "--out"])
        .arg(dest);
    cmd.args(flag);
    let status = cmd.status().expect("running cargo xtask build-bots");
    assert!(status.success(), "building the test bots failed");
}

/// The example metaservices (`bots/`), built.
pub fn example_bots() -> PathBuf {
    built().join("bots")
}

/// The examples written in Python and JavaScript (`bots/feedback`,
/// `bots/leave`), built.
pub fn lang_bots() -> PathBuf {
    // Built on first use only, under a plain `cargo test`: they need
    // Python, Node.js and their toolchains, which most tests do not.
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = built().join("langs");
        if std::env::var_os("BATON_TEST_BOTS").is_none() {
            build_bots(&workspace_root(), Some("--langs"), &dir);
        }
        dir
    })
    .clone()
}

/// The misbehaving fixtures (`tests/fixtures/bots/`), built.
pub fn fixture_bots() -> PathBuf {
    built().join("fixtures")
}
