//! The `ldifstamp` binary: parse arguments, run the command, map the result to an exit code.

use clap::Parser;

fn main() {
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
