//! The data model: entries with byte values, change records, DNs and schema facts.
//!
//! Nothing here does I/O. Every other module builds on these types.

pub mod binary;
pub mod change;
pub mod dn;
pub mod entry;
pub mod flat;
pub mod intern;
pub mod schema;

pub use change::{Change, ChangeRecord, Control, ModOp, ModRef, Modification, Record};
pub use entry::{attr_eq, attr_key, attr_type, AttrRef, Desc, Entry, EntryBuilder, Name, TypeSet};
pub use intern::intern;

/// `bytes` as text when they are valid UTF-8, as [`std::str::from_utf8`] decides.
///
/// Directory values are nearly always plain ASCII, and most are short: checking that a word at
/// a time first costs a fraction of the general validation's set-up.
#[inline]
pub fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: every ASCII byte sequence is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// `bytes` as text, invalid UTF-8 replaced as [`String::from_utf8_lossy`] does, with the
/// same ASCII check first as [`utf8`].
#[inline]
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
