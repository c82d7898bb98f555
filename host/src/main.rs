//! The `baton` binary; see [`baton_host::cli`].

fn main() -> std::process::ExitCode {
    baton_host::cli::main()
}
