//! The `baton` binary; see [`baton_host::cli`].

/// mimalloc rather than the C library's allocator: a commit is built on a
/// runtime thread and dropped on the SQLite writer thread, and glibc's
/// malloc frees memory into the arena of the thread that allocated it,
/// under that arena's lock. Profiled during the throughput bench's drain,
/// about a tenth of the runtime threads' samples waited on those locks
/// (BENCHMARKS.md). mimalloc frees across threads without a lock.
///
/// Built with its `no_thp` feature, which turns transparent huge pages off
/// for the process (`prctl`): with them, mimalloc's heaps were backed by
/// 2 MiB pages that count whole once touched, and an idle server's
/// resident memory went from 37 MB (glibc) to 67 MB; without, 40 MB
/// (measured on a kernel whose THP mode is `madvise`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    baton_host::cli::main()
}
