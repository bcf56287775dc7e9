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

impl Item {
    /// Turns line and record numbers counted from the start of the item's batch (the first
    /// line and record of a batch are 1) into numbers counted from the start of the input,
    /// when `lines` newlines and `records` records came before the batch.
    pub fn rebase(&mut self, lines: u64, records: u64) {
        if self.location.line > 0 {
            self.location.line += lines;
        }
        if self.location.record > 0 {
            self.location.record += records;
        }
        for w in &mut self.warnings {
            if w.line > 0 {
                w.line += lines;
            }
        }
    }
}

/// Index of the first byte equal to `byte` in `word` (eight bytes, little-endian).
#[inline]
pub(crate) fn first_byte(word: u64, byte: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (LO * u64::from(byte));
    // The lowest byte of `x` that is zero sets the lowest high bit here (higher ones may be
    // false positives, which do not matter).
    let t = x.wrapping_sub(LO) & !x & HI;
    (t != 0).then(|| (t.trailing_zeros() / 8) as usize)
}

/// Position of the first `\n` in `hay`, eight bytes at a time: on LDIF's 30-byte lines this is
/// several times cheaper than a call to `memchr`, whose set-up is made for long haystacks.
#[inline]
pub(crate) fn find_newline(hay: &[u8]) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if let Some(i) = first_byte(u64::from_le_bytes(w), b'\n') {
            return Some(at + i);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'\n')
        .map(|p| at + p)
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn find_newline_is_memchr(hay in proptest::collection::vec(
            proptest::sample::select(vec![b'\n', b'\r', b'a', 0x0b, 0x8a, 0x09, 0xff, 0]), 0..40)) {
            proptest::prop_assert_eq!(super::find_newline(&hay), memchr::memchr(b'\n', &hay));
        }
    }
}
