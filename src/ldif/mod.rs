//! LDIF (RFC 2849) reading and writing.
//!
//! [`framer`] splits a byte stream into raw records, [`parse`] turns one raw record into a
//! [`Record`](crate::model::Record), and [`writer`] prints change records that both
//! `ldifde -i` and `ldapmodify` accept.

pub mod framer;
pub mod parse;
pub mod writer;
