//! Errors with their place: file, line, record number and DN.

use std::fmt;

/// Where a record came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The input's name as given on the command line (`-` is shown as `<stdin>`).
    pub file: &'static str,
    /// 1-based line of the record's first line (0 when unknown).
    pub line: u64,
    /// 1-based record number within the file (0 when unknown).
    pub record: u64,
    /// The record's DN, when it was read.
    pub dn: Option<String>,
    /// Where the record starts: its byte offset in the input (after transcoding) for LDIF,
    /// its row number for CSV. The same on every read of the same input, and known to the
    /// thread that parses the record (unlike `line` and `record`, which the pipeline settles
    /// in input order: see [`crate::pipeline::run`]).
    pub offset: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if self.record > 0 {
            write!(f, ": record {}", self.record)?;
        }
        if let Some(dn) = &self.dn {
            write!(f, " (`{dn}`)")?;
        }
        Ok(())
    }
}

/// A problem with one record: the record is rejected, the run goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// Where.
    pub location: Location,
    /// What was wrong and what was expected.
    pub message: String,
}

impl RecordError {
    /// An error at `location`.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        RecordError {
            location,
            message: message.into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for RecordError {}

/// A fatal error: the run stops with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input or output file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Bad arguments or settings.
    #[error("{0}")]
    Usage(String),
    /// A policy file problem (all problems, one per line).
    #[error("{0}")]
    Policy(String),
    /// A fatal problem in the input that makes going on pointless.
    #[error("{0}")]
    Input(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with a fatal [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
