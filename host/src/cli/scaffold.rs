//! `baton bots new NAME --lang rust`: a new metaservice with one ticket
//! type and the bot of its first state, ready to build, test and deploy:
//!
//! ```text
//! NAME/NAME.metaservice.toml     the manifest (`request`: open -> done)
//! NAME/request/Cargo.toml        the bot crate, with its deployed names
//! NAME/request/src/lib.rs        the bot
//! NAME/request/tests/bot.rs      a unit test against the SDK's test host
//! ```
//!
//! The templates are `host/scaffold/`, built into the binary. The crate
//! depends on the SDK by path (`--sdk`, by default the SDK of the source
//! tree this binary was built from), since `baton-sdk` is not published.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The languages a bot can be scaffolded in.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

const MANIFEST: &str = include_str!("../../scaffold/manifest.toml");
const RUST_CARGO: &str = include_str!("../../scaffold/rust/Cargo.toml");
const RUST_LIB: &str = include_str!("../../scaffold/rust/src/lib.rs");
const RUST_TEST: &str = include_str!("../../scaffold/rust/tests/bot.rs");

/// The SDK of the source tree this binary was built from.
fn default_sdk() -> Option<PathBuf> {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk"))
        .canonicalize()
        .ok()
}

fn fill(template: &str, name: &str, sdk: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{crate}}", &format!("{}_request", name.replace('-', "_")))
        .replace("{{sdk}}", sdk)
        .replace("{{limits}}", "")
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

pub(super) fn new_bot(
    name: &str,
    lang: Lang,
    dir: &Path,
    sdk: Option<PathBuf>,
) -> anyhow::Result<()> {
    if !crate::model::ticket::is_identifier(name) {
        bail!("{name:?} is not a metaservice name: a-z, 0-9 and '_', starting with a letter");
    }
    let root = dir.join(name);
    if root.exists() {
        bail!(
            "{} exists already; choose another name or directory",
            root.display()
        );
    }
    let sdk = match sdk.or_else(default_sdk) {
        Some(path) => format!("baton-sdk = {{ path = {:?} }}", path.display().to_string()),
        None => bail!("where is baton-sdk? pass --sdk PATH (the `sdk` folder of Baton's source)"),
    };
    match lang {
        Lang::Rust => {}
        Lang::Python | Lang::Js => bail!(
            "--lang {lang:?} is not built yet: the Python and JavaScript SDKs are on their way \
             (see the README); use --lang rust"
        ),
    }
    write(
        &root.join(format!("{name}.metaservice.toml")),
        &fill(MANIFEST, name, &sdk),
    )?;
    let krate = root.join("request");
    write(&krate.join("Cargo.toml"), &fill(RUST_CARGO, name, &sdk))?;
    write(&krate.join("src/lib.rs"), &fill(RUST_LIB, name, &sdk))?;
    write(&krate.join("tests/bot.rs"), &fill(RUST_TEST, name, &sdk))?;
    let lib = format!("{}_request", name.replace('-', "_"));
    println!(
        "created {root}\n\
         next:\n  \
         cd {krate} && cargo test                      # the unit test\n  \
         cargo build --release --target wasm32-wasip2  # the component\n  \
         cp ../{name}.metaservice.toml BOTS_DIR/ && \\\n    \
         cp target/wasm32-wasip2/release/{lib}.wasm BOTS_DIR/{name}-request-1-open.wasm\n  \
         baton bots check BOTS_DIR/{name}-request-1-open.wasm",
        root = root.display(),
        krate = krate.display(),
    );
    Ok(())
}
