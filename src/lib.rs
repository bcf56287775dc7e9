//! # ldifstamp
//!
//! An offline Exchange 2000/2003 Recipient Update Service: it reads Active Directory exports
//! (LDIF from ldifde, ldapsearch or ldbsearch; CSV from csvde), applies declarative policies,
//! and writes LDIF change records that `ldifde -i` and `ldapmodify` both import.
//!
//! ## Data flow
//!
//! ```text
//! input bytes ──► input (BOM/encoding sniffing, spooling) ──► ldif::framer (records, line map)
//!      ──► ldif::parse / tabular (Record: Entry or ChangeRecord, bytes)
//!      ──► commands (convert / diff / plan) ──► ldif::writer ──► sink (atomic file, rejects)
//! ```
//!
//! ## Invariants
//!
//! * Values and DNs are bytes from reading to writing; text is decoded only where a rule needs
//!   it. Binary attributes are never decoded.
//! * Output is deterministic: the same input and settings give the same bytes, whatever the
//!   number of threads.
//! * A bad record is rejected with its file, line, record number and DN; it never produces a
//!   partial output record. Output files are written to a temporary file and renamed only on
//!   success.
//!
//! ## Modules, in dependency order
//!
//! [`model`] ← [`ldif`], [`tabular`], [`filter`] ← [`input`] ← [`apply`], [`diff`] ←
//! [`sink`] ← [`commands`] ← [`cli`].

/// Writes one line to standard error, ignoring failures: a closed stderr (`2>&1 | head`)
/// must not turn into a panic.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod alloc;
pub mod apply;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod error;
pub mod exchange;
pub mod filter;
pub mod input;
pub mod ldif;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod sink;
pub mod tabular;

pub use error::{Error, Location, RecordError, Result};
