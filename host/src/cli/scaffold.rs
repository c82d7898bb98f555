//! `baton bots new NAME --lang rust|python|js`: a new metaservice with one
//! ticket type and the bot of its first state, ready to test, build and
//! deploy:
//!
//! ```text
//! NAME/NAME.metaservice.toml       the manifest (`request`: open -> done)
//! NAME/request/...                 the bot, with its deployed names:
//!   rust:   Cargo.toml, src/lib.rs, tests/bot.rs
//!   python: pyproject.toml, NAME_request/{bot,app}.py, tests/test_bot.py
//!   js:     package.json, src/{bot,component}.js, test/bot.test.js
//! ```
//!
//! The templates are `host/scaffold/`, built into the binary. The SDKs are
//! not published, so the project names its language's SDK by path (`--sdk`,
//! by default the SDK of the source tree this binary was built from), and
//! the Python and JavaScript build commands use the toolchains that
//! `cargo xtask up` installs, pinned, under that tree's `target/tools/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The languages a bot can be scaffolded in.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

impl Lang {
    /// The SDK's folder in Baton's source tree.
    fn sdk_folder(self) -> &'static str {
        match self {
            Lang::Rust => "sdk",
            Lang::Python => "sdk-python",
            Lang::Js => "sdk-js",
        }
    }
}

const MANIFEST: &str = include_str!("../../scaffold/manifest.toml");

/// A template: where it goes under `NAME/request/` and its text.
type Template = (&'static str, &'static str);

const RUST: &[Template] = &[
    ("Cargo.toml", include_str!("../../scaffold/rust/Cargo.toml")),
    ("src/lib.rs", include_str!("../../scaffold/rust/src/lib.rs")),
    (
        "tests/bot.rs",
        include_str!("../../scaffold/rust/tests/bot.rs"),
    ),
];

/// `{{module}}` in a path is the Python package's name.
const PYTHON: &[Template] = &[
    (
        "pyproject.toml",
        include_str!("../../scaffold/python/pyproject.toml"),
    ),
    (
        "{{module}}/__init__.py",
        include_str!("../../scaffold/python/pkg/__init__.py"),
    ),
    (
        "{{module}}/bot.py",
        include_str!("../../scaffold/python/pkg/bot.py"),
    ),
    (
        "{{module}}/app.py",
        include_str!("../../scaffold/python/pkg/app.py"),
    ),
    (
        "tests/test_bot.py",
        include_str!("../../scaffold/python/tests/test_bot.py"),
    ),
];

const JS: &[Template] = &[
    (
        "package.json",
        include_str!("../../scaffold/js/package.json"),
    ),
    ("src/bot.js", include_str!("../../scaffold/js/src/bot.js")),
    (
        "src/component.js",
        include_str!("../../scaffold/js/src/component.js"),
    ),
    (
        "test/bot.test.js",
        include_str!("../../scaffold/js/test/bot.test.js"),
    ),
];

/// Python and JavaScript components hold their language's runtime: they
/// need more memory than a Rust bot just to start (see docs/bots.md), so
/// their manifest says so instead of relying on the operator's default.
const RUNTIME_LIMITS: &str = "\n# A Python or JavaScript component holds its language's runtime: it needs\n\
# 9 to 13 MiB of memory just to start (`baton bots check` shows it) and\n\
# grows from there. The host's default (64 MiB) fits; this says so here\n\
# rather than depend on the operator's baton.toml.\n\
[limits]\nmemory_mib = 64\n";

/// The SDK of the source tree this binary was built from.
fn default_sdk(lang: Lang) -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(lang.sdk_folder())
        .canonicalize()
        .ok()
}

struct Fill<'a> {
    name: &'a str,
    module: String,
    sdk: String,
    limits: &'static str,
}

impl Fill<'_> {
    fn apply(&self, template: &str) -> String {
        template
            .replace("{{name}}", self.name)
            .replace("{{crate}}", &self.module)
            .replace("{{module}}", &self.module)
            .replace("{{sdk}}", &self.sdk)
            .replace("{{limits}}", self.limits)
    }
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
    let Some(sdk) = sdk.or_else(|| default_sdk(lang)) else {
        bail!(
            "where is the {lang:?} SDK? pass --sdk PATH (the `{}` folder of Baton's source)",
            lang.sdk_folder()
        );
    };
    let sdk = std::path::absolute(&sdk).unwrap_or(sdk);
    let sdk_text = sdk.display().to_string();
    // The path goes into TOML and JSON strings and single-quoted shell
    // words as it is: characters those would need escaped are refused.
    if sdk_text
        .chars()
        .any(|c| matches!(c, '"' | '\\' | '\'') || c.is_control())
    {
        bail!(
            "the SDK's path {sdk_text:?} holds a quote, a backslash or a control character, \
             which the generated files cannot carry as they are; use a copy of Baton's source \
             elsewhere, or pass --sdk"
        );
    }
    let (templates, limits) = match lang {
        Lang::Rust => (RUST, ""),
        Lang::Python => (PYTHON, RUNTIME_LIMITS),
        Lang::Js => (JS, RUNTIME_LIMITS),
    };
    let fill = Fill {
        name,
        module: format!("{name}_request"),
        sdk: sdk_text,
        limits,
    };
    write(
        &root.join(format!("{name}.metaservice.toml")),
        &fill.apply(MANIFEST),
    )?;
    let project = root.join("request");
    for (path, text) in templates {
        write(&project.join(fill.apply(path)), &fill.apply(text))?;
    }
    println!("created {}\nnext:", root.display());
    println!("{}", next_steps(lang, &fill, &project, &sdk));
    Ok(())
}

/// A path as one shell word: as it is when it holds nothing a shell reads
/// specially, else in single quotes.
fn sh_quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c));
    if plain && !text.is_empty() {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// What to run next: the unit test, the build, the deployment, the check.
fn next_steps(lang: Lang, fill: &Fill, project: &Path, sdk: &Path) -> String {
    let name = fill.name;
    let tools_dir = sdk.parent().unwrap_or(Path::new(".")).join("target/tools");
    let tools = tools_dir.display().to_string();
    let under = |path: &Path, rest: &str| sh_quote(&path.join(rest));
    let (test, build, wasm) = match lang {
        Lang::Rust => (
            "cargo test".to_string(),
            "cargo build --release --target wasm32-wasip2".to_string(),
            format!("target/wasm32-wasip2/release/{}.wasm", fill.module),
        ),
        Lang::Python => (
            under(&tools_dir, "python/bin/pytest"),
            format!(
                "PYTHONPATH={} {} -m baton_sdk.build .",
                under(sdk, "src"),
                under(&tools_dir, "python/bin/python")
            ),
            format!("build/bots/{name}-request-1-open.wasm"),
        ),
        Lang::Js => (
            format!("node --import {} --test", under(sdk, "tools/register.js")),
            format!("node {} .", under(sdk, "tools/build.js")),
            format!("build/bots/{name}-request-1-open.wasm"),
        ),
    };
    let tools_note = match lang {
        Lang::Rust => String::new(),
        _ => format!("  # ({tools} is filled by `cargo xtask up` in Baton's source)\n"),
    };
    format!(
        "{tools_note}  cd {project} && {test}    # the unit test\n  \
         {build}    # the component\n  \
         cp ../{name}.metaservice.toml BOTS_DIR/ && \\\n    \
         cp {wasm} BOTS_DIR/{name}-request-1-open.wasm\n  \
         baton bots check BOTS_DIR/{name}-request-1-open.wasm",
        project = sh_quote(project),
    )
}
