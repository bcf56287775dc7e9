//! LDIF (RFC 2849) reading and writing.
//!
//! [`framer`] splits a byte stream into raw records, [`parse`] turns one raw record into a
//! [`Record`], and [`writer`] prints change records that both
//! `ldifde -i` and `ldapmodify` accept.

pub mod framer;
pub mod mapped;
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
    /// What is left where an item was taken out (of a consumed batch): no record, nothing
    /// else.
    pub fn taken() -> Item {
        Item {
            location: Location::default(),
            result: Err(String::new()),
            raw: None,
            warnings: Vec::new(),
            skipped: None,
        }
    }

    /// Whether this is an entry the reader was told to pass over
    /// ([`Parser::read_batch_settled`](crate::ldif::parse::Parser::read_batch_settled)): its
    /// record was framed but not read, so it holds an empty entry and no DN. Only items read
    /// with [`InputOptions::item_dn`](crate::input::InputOptions::item_dn) set tell.
    pub fn is_unread(&self) -> bool {
        matches!(self.result, Ok(Record::Entry(_))) && self.location.dn.is_none()
    }

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

/// Takes the newlines of one stretch of input one after the other, 64 bytes at a time: each
/// block's newlines become the bits of one word, and taking the next newline clears the lowest
/// bit. LDIF lines are about 30 bytes, and starting a scan (of any kind) for every one of them
/// cost more than the search itself.
pub(crate) struct Newlines<'a> {
    bytes: &'a [u8],
    /// Start of the block `mask` describes.
    base: usize,
    /// Bit `i` set when `bytes[base + i]` is a newline not taken yet.
    mask: u64,
}

impl<'a> Newlines<'a> {
    /// A cursor over the newlines of `bytes` from `from` on.
    #[inline]
    pub(crate) fn new(bytes: &'a [u8], from: usize) -> Self {
        Newlines {
            bytes,
            base: from,
            mask: block_mask(bytes, from),
        }
    }

    /// Takes the next newline: its position, or the length of the bytes when none is left.
    #[inline(always)]
    pub(crate) fn take(&mut self) -> usize {
        while self.mask == 0 {
            let next = self.base + 64;
            if next >= self.bytes.len() {
                return self.bytes.len();
            }
            self.base = next;
            self.mask = block_mask(self.bytes, next);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        at
    }

    /// The line starting at `pos`, whose newline is the next one not taken (every newline
    /// before `pos` has been taken): where its text ends (before its `\r\n` or `\n`) and where
    /// the next line starts (the end of the bytes for the last line).
    #[inline(always)]
    pub(crate) fn line(&mut self, pos: usize) -> (usize, usize) {
        let n = self.bytes.len();
        let nl = self.take();
        debug_assert!(nl >= pos);
        let end = if nl > pos && self.bytes.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        (end, (nl + 1).min(n))
    }
}

/// The newlines of the 64 bytes of `bytes` from `at` (fewer at the end) as bits.
#[inline(always)]
fn block_mask(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 64) {
        Some(block) => {
            let sixteen = |i: usize| -> u64 {
                let mut b = [0u8; 16];
                b.copy_from_slice(&block[16 * i..16 * i + 16]);
                u64::from(newline_bits(&b)) << (16 * i)
            };
            sixteen(0) | sixteen(1) | sixteen(2) | sixteen(3)
        }
        None => {
            let tail = bytes.get(at..).unwrap_or_default();
            let mut m = 0u64;
            for (i, &c) in tail.iter().enumerate() {
                m |= u64::from(c == b'\n') << i;
            }
            m
        }
    }
}

/// Bit `i` set when `block[i]` is a newline.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn newline_bits(block: &[u8; 16]) -> u16 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    // SAFETY: SSE2 is part of every x86_64 target, and the unaligned load reads exactly the
    // 16 bytes `block` refers to.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))) as u16
    }
}

/// Bit `i` set when `block[i]` is a newline.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn newline_bits(block: &[u8; 16]) -> u16 {
    let mut m = 0u16;
    for (i, &c) in block.iter().enumerate() {
        m |= u16::from(c == b'\n') << i;
    }
    m
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn find_newline_is_memchr(hay in proptest::collection::vec(
            proptest::sample::select(vec![b'\n', b'\r', b'a', 0x0b, 0x8a, 0x09, 0xff, 0]), 0..40)) {
            proptest::prop_assert_eq!(super::find_newline(&hay), memchr::memchr(b'\n', &hay));
        }

        #[test]
        fn newlines_are_taken_as_memchr_finds_them(
            hay in proptest::collection::vec(
                proptest::sample::select(vec![b'\n', b'\r', b'a', 0x0a ^ 0x80, b' ', 0]), 0..300),
            from in 0usize..300,
        ) {
            let from = from.min(hay.len());
            let mut cursor = super::Newlines::new(&hay, from);
            let want: Vec<usize> = memchr::memchr_iter(b'\n', &hay[from..]).map(|i| from + i).collect();
            for &at in &want {
                proptest::prop_assert_eq!(cursor.take(), at);
            }
            // Then the end, again and again.
            proptest::prop_assert_eq!(cursor.take(), hay.len());
            proptest::prop_assert_eq!(cursor.take(), hay.len());
        }
    }
}
