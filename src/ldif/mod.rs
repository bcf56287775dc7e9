//! LDIF (RFC 2849) reading and writing.
//!
//! [`framer`] splits a byte stream into raw records, [`parse`] turns one raw record into a
//! [`Record`], and [`writer`] prints change records that both
//! `ldifde -i` and `ldapmodify` accept.

pub mod framer;
pub mod parse;
pub mod writer;

use crate::error::Location;
use crate::ldif::parse::Warning;
use crate::model::Record;

/// One record read from an input, with its place and any problem.
#[derive(Debug)]
pub struct Item {
    /// Where it came from.
    pub location: Location,
    /// The record, or what was wrong with it.
    pub result: std::result::Result<Record, String>,
    /// The raw record text, kept only for rejected records (for `--rejects`).
    pub raw: Option<Vec<u8>>,
    /// Non-fatal observations.
    pub warnings: Vec<Warning>,
    /// Ignored record (ldapsearch trailer, referral, version line).
    pub skipped: Option<&'static str>,
}
