//! One module per subcommand, plus what they share: diagnostics on stderr, the rejects file and
//! exit codes.

pub mod apply;
pub mod check;
pub mod convert;
pub mod diff;
pub mod places;
pub mod plan;
pub mod spool;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::error::{Location, Result};
use crate::input::Item;
use crate::ldif::writer::{WriteOptions, Writer};
use crate::sink::Output;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every record was processed (warnings allowed): exit 0.
    Clean,
    /// Some records were rejected: exit 1.
    Rejected,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Outcome::Clean => 0,
            Outcome::Rejected => 1,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Convert(args) => convert::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Check(args) => check::run(&args),
    }
}

/// Writes `items` as LDIF to `output` (atomically for a file): the header, then `emit` for
/// each item, in bounded chunks.
pub fn write_ldif<T>(
    output: Option<&Path>,
    opts: &WriteOptions,
    items: impl IntoIterator<Item = T>,
    mut emit: impl FnMut(&mut Writer, &mut Vec<u8>, T),
) -> Result<()> {
    let mut out = Output::open(output)?;
    let mut w = Writer::new(opts.clone());
    let mut buf = Vec::new();
    w.header(&mut buf);
    for item in items {
        emit(&mut w, &mut buf, item);
        if buf.len() > 1 << 20 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.commit()
}

/// Most messages of one kind printed before the rest are only counted.
const MAX_PRINTED: usize = 50;

/// Collects warnings and rejected records: prints them on stderr (up to a limit) and writes
/// rejected records to the `--rejects` file.
pub struct Diagnostics {
    quiet: bool,
    rejects: Option<Output>,
    writer: Writer,
    /// Warnings seen.
    pub warnings: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Records skipped (no data: trailers, referrals).
    pub skipped: u64,
    printed_warnings: usize,
    printed_errors: usize,
}

impl Diagnostics {
    /// Diagnostics writing rejects to `rejects` (if any) in `write`'s dialect.
    pub fn new(quiet: bool, rejects: Option<&Path>, write: &WriteOptions) -> Result<Self> {
        Ok(Diagnostics {
            quiet,
            rejects: rejects.map(|p| Output::open(Some(p))).transpose()?,
            writer: Writer::new(WriteOptions {
                wrap: 0,
                ..write.clone()
            }),
            warnings: 0,
            rejected: 0,
            skipped: 0,
            printed_warnings: 0,
            printed_errors: 0,
        })
    }

    /// Prints the item's warnings.
    pub fn warnings_of(&mut self, item: &Item) {
        for w in &item.warnings {
            self.warning(&item.location, w.line, &w.message);
        }
    }

    /// One warning.
    pub fn warning(&mut self, loc: &Location, line: u64, message: &str) {
        self.warnings += 1;
        if self.quiet {
            return;
        }
        if self.printed_warnings < MAX_PRINTED {
            let mut at = loc.clone();
            if line > 0 {
                at.line = line;
            }
            crate::note!("warning: {at}: {message}");
            self.printed_warnings += 1;
            if self.printed_warnings == MAX_PRINTED {
                crate::note!("warning: further warnings are counted, not printed");
            }
        }
    }

    /// Whether [`Diagnostics::warning`] would still print a warning (not `-q`, and fewer than
    /// the most it prints so far). Once false it stays false.
    pub fn prints_warnings(&self) -> bool {
        !self.quiet && self.printed_warnings < MAX_PRINTED
    }

    /// Records a rejected record: stderr and the rejects file.
    pub fn reject(&mut self, loc: &Location, message: &str, raw: Option<&[u8]>) -> Result<()> {
        self.rejected += 1;
        if self.printed_errors < MAX_PRINTED {
            crate::note!("error: {loc}: {message}");
            self.printed_errors += 1;
            if self.printed_errors == MAX_PRINTED {
                crate::note!(
                    "error: further rejected records are counted, not printed (see --rejects)"
                );
            }
        }
        if let Some(out) = self.rejects.as_mut() {
            let mut buf = Vec::new();
            self.writer
                .comment(&mut buf, &format!("error: {loc}: {message}"));
            if let Some(raw) = raw {
                // The record as read, each line kept; never a partial change record.
                for line in raw.split(|c| *c == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.is_empty() {
                        continue;
                    }
                    buf.extend_from_slice(line);
                    buf.extend_from_slice(self.writer.options().line_ending.bytes());
                }
            }
            buf.extend_from_slice(self.writer.options().line_ending.bytes());
            out.write_all(&buf)?;
        }
        Ok(())
    }

    /// Handles an item that is not a record: a rejection or a skip. Returns true if it was one.
    pub fn handle_non_record(&mut self, item: &Item) -> Result<bool> {
        if item.skipped.is_some() {
            self.skipped += 1;
            return Ok(true);
        }
        if let Err(msg) = &item.result {
            self.reject(&item.location, msg, item.raw.as_deref())?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Commits the rejects file and returns the outcome.
    pub fn finish(self) -> Result<Outcome> {
        if let Some(r) = self.rejects {
            r.commit()?;
        }
        Ok(if self.rejected > 0 {
            Outcome::Rejected
        } else {
            Outcome::Clean
        })
    }
}
