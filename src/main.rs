//! The `ldifstamp` binary: parse arguments, run the command, map the result to an exit code.

use clap::Parser;

/// mimalloc, reached by its unaligned fast path ([`ldifstamp::alloc`]): the pipeline allocates
/// and frees many small buffers on every worker thread, where glibc's allocator spent a
/// quarter of `plan`'s time (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: ldifstamp::alloc::MiMalloc = ldifstamp::alloc::MiMalloc;

fn main() {
    ldifstamp::alloc::keep_freed_memory();
    let cli = ldifstamp::cli::Cli::parse();
    let code = match ldifstamp::commands::run(cli) {
        Ok(outcome) => outcome.code(),
        Err(e) if ldifstamp::sink::is_broken_pipe(&e) => 0,
        Err(e) => {
            ldifstamp::note!("error: {e}");
            2
        }
    };
    std::process::exit(code);
}
