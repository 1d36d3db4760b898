//! The `wasmig` binary: everything lives in the `cli` module.

mod cli;

/// mimalloc, not glibc's malloc: the project loader decodes manifests on
/// several threads, and glibc grows each thread's arena a page at a time
/// (an `mprotect` and a fault per page); `heads` at 10,000 revisions spent
/// a fifth of its time there (docs/PERFORMANCE.md). Built without
/// transparent huge pages (`no_thp`): with them, a run right after a
/// memory-hungry process waited on the kernel compacting memory for 2 MiB
/// pages (`heads` from 44 to 117 ms). Only the binary picks an allocator: an
/// application embedding the library keeps its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}
