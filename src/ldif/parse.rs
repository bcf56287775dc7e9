//! Parses one raw LDIF record (from the [framer](super::framer)) into a [`Record`].
//!
//! The parser unfolds continuation lines at the byte level first (so a fold inside a UTF-8
//! sequence or inside base64 is rejoined correctly), skips comments (folded ones included),
//! then reads the record. It is lenient where the real tools are (no `version:`, `attr:value`,
//! several spaces, empty values, missing final `-`, keywords in any case, mixed content and
//! change records) and strict where a wrong guess would corrupt data: a TAB continuation, a
//! second `dn:` line, trailing spaces on `changetype:`/mod-spec/`-` lines, a value line whose
//! attribute differs from its mod-spec, and a record without `dn:` that holds data are all
//! errors, as they are for `ldapmodify`.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::IResult;
use nom::Parser as _;

use crate::ldif::framer::{scan_record, skip_blank, RawRecord};
use crate::model::schema::{attr_info, BinaryText};
use crate::model::{
    attr_eq, binary, Change, ChangeRecord, Control, EntryBuilder, ModOp, Modification, Record,
};

/// Base64 as LDIF writes it; padding is optional on input.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parser settings.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// Read `attr:< file://...` values from local files (refused by default).
    pub allow_file_urls: bool,
    /// Accept several `control:` lines in one record (`ldapmodify` accepts one).
    pub multiple_controls: bool,
    /// When set, entries may leave out attributes whose type is not in the set: a reader
    /// that needs only these (`plan`'s first pass) is spared storing the rest. Every line is
    /// still read and checked as without it (base64 values are checked, not decoded), so a
    /// record is accepted, refused or warned about exactly as it would be otherwise. An
    /// entry holds every value of the set's types; it may hold other attributes too (records
    /// the fast path leaves to the full parser keep all of theirs).
    pub keep: Option<std::sync::Arc<crate::model::TypeSet>>,
}

/// What parsing one raw record gave.
#[derive(Debug)]
pub enum Parsed {
    /// A record.
    Record(Record),
    /// A record with no `dn:` that carries no directory data (`ldapsearch`'s `search:` /
    /// `result:` trailer, a `ref:` continuation reference, a lone `version:` line, comments).
    Skipped(&'static str),
}

/// One record found by [`Parser::read_batch`].
#[derive(Debug)]
pub enum Found {
    /// An entry the fast path read, and where it was.
    Entry(RawRecord, crate::model::Entry),
    /// A record left to [`Parser::parse`] (or flagged as too large).
    Raw(RawRecord),
    /// A record the caller asked not to read ([`Parser::read_batch_settled`]): only where it
    /// is.
    Settled(RawRecord),
}

/// A record a previous pass read, for [`Parser::read_batch_settled`] to pass over: the
/// input offsets of its start and of the record after it, and the newlines from one to the
/// other. `next` is 0 when unknown (the record is then scanned for its end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skip {
    /// Where the record starts.
    pub offset: u64,
    /// Where the record after it starts: the first byte of its first line, past the empty
    /// lines between them, which reading then does not look at (0: unknown).
    pub next: u64,
    /// Newlines from `offset` to `next`.
    pub lines: u64,
}

/// A problem in one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Absolute 1-based line number of the offending line.
    pub line: u64,
    /// The record's DN when it was read before the error.
    pub dn: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A non-fatal observation about a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Absolute 1-based line number.
    pub line: u64,
    /// What was noticed.
    pub message: String,
}

/// One logical line: a range of the record when it was not folded, of the parser's scratch
/// buffer (where it was unfolded) when it was.
#[derive(Clone, Copy)]
struct Line {
    start: u32,
    end: u32,
    /// Physical line index within the record (0-based).
    phys: u32,
    folded: bool,
}

/// A reusable record parser (keeps its scratch buffers between records).
#[derive(Default)]
pub struct Parser {
    opts: ParseOptions,
    scratch: Vec<u8>,
    lines: Vec<Line>,
    names: Names,
    /// The fast path's bytes that are not in the record (decoded or unfolded values).
    extra: Vec<u8>,
    /// The fast path's attributes and values.
    scan: crate::model::entry::Scan,
    /// The parents of the last DNs the fast path read (see
    /// [`validate_sibling`](crate::model::dn::validate_sibling)).
    dn_parents: crate::model::dn::Parents,
}

use crate::model::entry::EXTRA;

/// Base64 symbol values; 0xFF for bytes outside the alphabet.
static B64_VALUE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// A base64 symbol's bits in the decoded group, for the symbol at each of a group's four
/// places, laid out so that the group's three bytes are the low three bytes of the OR of the
/// four, little-endian; a byte outside the alphabet sets bit 24 (`BAD`).
static B64_PLACED: [[u32; 256]; 4] = {
    let mut t = [[BAD; 256]; 4];
    let mut c = 0;
    while c < 256 {
        let v = B64_VALUE[c] as u32;
        if v < 64 {
            t[0][c] = v << 2;
            t[1][c] = (v >> 4) | ((v & 0x0F) << 12);
            t[2][c] = ((v >> 2) << 8) | ((v & 0x03) << 22);
            t[3][c] = v << 16;
        }
        c += 1;
    }
    t
};

/// [`B64_PLACED`]'s mark of a byte outside the alphabet.
const BAD: u32 = 1 << 24;

/// Decodes base64 onto the end of `out`, exactly as [`B64`] does (padding optional, no
/// stray bits): whole groups of four symbols are decoded here, anything else at the end by
/// [`B64`]. On error `out` may hold part of the value.
pub(crate) fn decode_base64(text: &[u8], out: &mut Vec<u8>) -> Result<(), base64::DecodeError> {
    // The last group (which may be padded or short) is left to the crate.
    let start = out.len();
    let body = text.len().saturating_sub(1) / 4 * 4;
    let groups = body / 4;
    // One byte more than the groups need: each group is stored as four bytes, the fourth
    // overwritten by the next group (or cut off below).
    out.resize(start + groups * 3 + 1, 0);
    // Bytes outside the alphabet (or padding in the middle) are collected and checked once
    // at the end, so the loop has no branch.
    let mut bad = 0u32;
    let dst = &mut out[start..];
    for (i, group) in text[..body].chunks_exact(4).enumerate() {
        let w = B64_PLACED[0][usize::from(group[0])]
            | B64_PLACED[1][usize::from(group[1])]
            | B64_PLACED[2][usize::from(group[2])]
            | B64_PLACED[3][usize::from(group[3])];
        bad |= w;
        if let Some(d) = dst.get_mut(i * 3..i * 3 + 4) {
            d.copy_from_slice(&w.to_le_bytes());
        }
    }
    out.truncate(start + groups * 3);
    if bad & BAD != 0 {
        // Not plain groups: the crate decides.
        out.truncate(start);
        return decode_rest(text, out);
    }
    match last_group(&text[body..]) {
        Some((w, n)) => out.extend_from_slice(&w.to_be_bytes()[1..1 + n]),
        None => {
            out.truncate(start);
            return decode_rest(text, out);
        }
    }
    Ok(())
}

/// A base64 value's last group as the fast decoder takes it: whole, `xx==`/`xx` (one byte)
/// or `xxx=`/`xxx` (two), with no stray bits, or empty. Gives the group's bits (the bytes
/// are bytes 1.. of their big-endian form) and how many bytes it holds; `None` for any other
/// form, which is left to the crate.
fn last_group(tail: &[u8]) -> Option<(u32, usize)> {
    let v = |i: usize| {
        tail.get(i)
            .map_or(0xFF, |&c| u32::from(B64_VALUE[usize::from(c)]))
    };
    let (a, b, c, d) = (v(0), v(1), v(2), v(3));
    let pad = |from: usize| tail[from..].iter().all(|&c| c == b'=');
    match tail.len() {
        4 if (a | b | c | d) <= 63 => Some(((a << 18) | (b << 12) | (c << 6) | d, 3)),
        2 | 4 if (a | b) <= 63 && b & 0x0F == 0 && pad(2) => Some(((a << 18) | (b << 12), 1)),
        3 | 4 if (a | b | c) <= 63 && c & 0x03 == 0 && pad(3) => {
            Some(((a << 18) | (b << 12) | (c << 6), 2))
        }
        0 => Some((0, 0)),
        _ => None,
    }
}

/// Whether [`decode_base64`] accepts `text`, without decoding it: for the values of
/// attributes a parser does not keep ([`ParseOptions::keep`]).
pub(crate) fn base64_ok(text: &[u8]) -> bool {
    let body = text.len().saturating_sub(1) / 4 * 4;
    // Every symbol of the whole groups in the alphabet (padding among them is not).
    let bad = text[..body]
        .iter()
        .fold(0u8, |all, &c| all | B64_VALUE[usize::from(c)]);
    if bad & 0xC0 != 0 {
        return decode_rest(text, &mut Vec::new()).is_ok();
    }
    last_group(&text[body..]).is_some() || decode_rest(text, &mut Vec::new()).is_ok()
}

/// [`decode_base64`] when a group is not plain: the whole value by the crate.
#[cold]
fn decode_rest(text: &[u8], out: &mut Vec<u8>) -> Result<(), base64::DecodeError> {
    B64.decode_vec(text, out).map(|_| ())
}

/// Appends `bytes` to `extra`; returns their range, marked with [`EXTRA`].
fn push_extra(extra: &mut Vec<u8>, bytes: &[u8]) -> (u32, u32) {
    let from = extra.len() as u32;
    extra.extend_from_slice(bytes);
    (from | EXTRA, extra.len() as u32 | EXTRA)
}

/// Whether `bytes` is UTF-8. Records are almost always plain ASCII (ldifde writes other text
/// base64): an OR of every byte, which the compiler turns into vector instructions, says so
/// at a fraction of the cost of the UTF-8 validator, which runs only when a byte is not ASCII.
fn is_utf8(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |all, &c| all | c) < 0x80 || std::str::from_utf8(bytes).is_ok()
}

/// Whether a line (without its line break) holds only spaces and carriage returns.
fn is_blank_line(line: &[u8]) -> bool {
    line.iter().all(|c| matches!(c, b' ' | b'\r'))
}

/// What the fast path needs to do with an attribute name besides storing its values.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum NameRole {
    #[default]
    Plain,
    /// `dn`: only the first line may have it.
    Dn,
    /// `changetype`: only `changetype: add` right after the DN.
    Changetype,
    /// `control`: left to the full parser.
    Control,
    /// An attribute whose values `ldbsearch` may print as a text GUID or SID.
    BinaryText,
    /// An attribute outside [`ParseOptions::keep`]: read and checked, not stored.
    Skip,
}

/// One attribute name the fast path has met, as written.
#[derive(Clone, Copy, Default)]
struct KnownName {
    /// The name followed by its `:` (zero-padded to 32), and the mask of those bytes: a line
    /// starts with this name exactly when its first 32 bytes, masked, equal `colon`. All zero
    /// for names of 32 bytes or more (which are never recognised so).
    colon: [u64; 4],
    mask: [u64; 4],
    /// Its length.
    len: u32,
    /// The number of its case-folded spelling (see [`Names::ids`]).
    id: u32,
    /// Its [`attr_key`](crate::model::attr_key).
    key: u64,
    role: NameRole,
    /// Whether it names a binary attribute (`attr_info(name).is_binary()`).
    binary: bool,
    /// Its place + 1 in [`WELL_KNOWN`](crate::model::entry::WELL_KNOWN) when the parser
    /// keeps some types ([`ParseOptions::keep`]; 0 otherwise, or when it is not there).
    known: u8,
}

impl KnownName {
    /// Whether a line whose first 32 bytes are `words` starts with this name and its `:`
    /// (which are then all in the line: neither holds a line break).
    #[inline]
    fn starts(&self, words: &[u64; 4]) -> bool {
        let differ = ((words[0] ^ self.colon[0]) & self.mask[0])
            | ((words[1] ^ self.colon[1]) & self.mask[1])
            | ((words[2] ^ self.colon[2]) & self.mask[2])
            | ((words[3] ^ self.colon[3]) & self.mask[3]);
        differ == 0 && self.mask[0] != 0
    }
}

/// The bytes a known name is compared on: names this long or longer (which leave no room for
/// the `:`) are looked up the slow way every time.
const KNOWN_NAME_MAX: usize = 32;
/// Entries of [`Names::cache`] (a power of two).
const NAME_CACHE: usize = 1024;
/// Distinct spellings kept before the tables are emptied (a bound on memory for inputs that
/// invent names).
const NAME_IDS_MAX: usize = 1 << 16;

/// The fast path's memory of attribute names: exports repeat the same few dozen names on
/// every record, so each line's name is recognised by a few word comparisons instead of being
/// validated, hashed and looked up in the entry byte by byte. Each spelling met gets a number
/// (an index in `known`), each case-folded spelling another (`ids`), and `slots` maps the
/// latter to the attribute of the entry being read.
#[derive(Default)]
struct Names {
    /// Every spelling met, by number.
    known: Vec<KnownName>,
    /// Spelling numbers + 1 (0 for free), direct-mapped (two ways) by a hash of the words.
    cache: Vec<u32>,
    /// Spelling -> number.
    spellings: std::collections::HashMap<Vec<u8>, u32>,
    /// Case-folded name -> number.
    ids: std::collections::HashMap<Vec<u8>, u32>,
    /// Per case-folded number: (entry stamp, slot in that entry).
    slots: Vec<(u32, u32)>,
    /// Per spelling number + 1 (0 for the start of a record): the spelling number + 1 that
    /// followed it last time (0: none yet). Records of one export list their attributes in
    /// much the same order, so this guess is usually right and costs one compact read.
    next: Vec<u32>,
    /// Per spelling number + 1: the follower [`Names::next`] held before its current one
    /// (records of different kinds, or with an optional attribute or without it, alternate
    /// between two followers).
    next2: Vec<u32>,
    /// Stamp of the entry being read; a `slots` entry with another stamp is stale.
    stamp: u32,
    /// [`ParseOptions::keep`]: names of other types get [`NameRole::Skip`].
    keep: Option<std::sync::Arc<crate::model::TypeSet>>,
}

impl Names {
    /// Starts a new entry: every name is new to it.
    fn next_entry(&mut self) {
        if self.cache.is_empty() || self.known.len() > NAME_IDS_MAX {
            self.known.clear();
            self.spellings.clear();
            self.cache = vec![0; NAME_CACHE];
            self.ids.clear();
            self.slots.clear();
            self.next = vec![0];
            self.next2 = vec![0];
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.slots.iter_mut().for_each(|s| *s = (0, 0));
            self.stamp = 1;
        }
    }

    /// The spelling number of the name of the line at `pos` of `record` (up to its first
    /// `:`, which must come before `end`, the end of the line), if it is an attribute type
    /// without options; `None` sends the record to the full parser.
    ///
    /// `prev` is the previous line's spelling number + 1, 0 on the first line.
    #[inline(always)]
    fn lookup(&mut self, record: &[u8], pos: usize, end: usize, prev: u32) -> Option<u32> {
        let line = &record[pos..end];
        // Bytes past the line are read too, and masked off by each name's mask.
        let Some(ahead) = record.get(pos..pos + KNOWN_NAME_MAX) else {
            return self.slow(line);
        };
        let words = [
            word_at(ahead, 0),
            word_at(ahead, 1),
            word_at(ahead, 2),
            word_at(ahead, 3),
        ];
        // The name that followed the previous one last time, or the previous one again (the
        // values of a multi-valued attribute come one after the other)?
        let guess = self.next[prev as usize];
        if guess != 0 && self.known[guess as usize - 1].starts(&words) {
            return Some(guess - 1);
        }
        if prev != 0 && self.known[prev as usize - 1].starts(&words) {
            return Some(prev - 1);
        }
        let other = self.next2[prev as usize];
        let found = if other != 0 && self.known[other as usize - 1].starts(&words) {
            other - 1
        } else {
            self.cached(line, words)?
        };
        self.next2[prev as usize] = guess;
        self.next[prev as usize] = found + 1;
        Some(found)
    }

    /// [`Names::lookup`] by the hashed cache; `words` are the first 32 bytes at the line.
    #[inline]
    fn cached(&mut self, line: &[u8], words: [u64; 4]) -> Option<u32> {
        // The first `:` (in the line, not in the bytes loaded after it).
        let len = words
            .iter()
            .enumerate()
            .find_map(|(i, &w)| super::first_byte(w, b':').map(|at| i * 8 + at));
        let len = match len {
            Some(len) if len > 0 && len < line.len() => len,
            _ => return self.slow(line),
        };
        let name = masked(words, len);
        let h = (name[0] ^ name[1].rotate_left(19) ^ name[2].rotate_left(37))
            .wrapping_add(name[3].rotate_left(53) ^ len as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // Two-way: a name is in one of two neighbouring entries.
        let home = ((h >> 40) as usize % NAME_CACHE) & !1;
        for way in [home, home + 1] {
            if let Some(n) = self.cache[way].checked_sub(1) {
                if self.known[n as usize].starts(&words) {
                    return Some(n);
                }
            }
        }
        let found = self.slow(line)?;
        if self.known[found as usize].mask[0] == 0 {
            // Too long for the words: never cached.
            return Some(found);
        }
        // The newest name takes the first way, the one it held moves to the second.
        self.cache[home + 1] = self.cache[home];
        self.cache[home] = found + 1;
        Some(found)
    }

    /// [`Names::lookup`] without the cache: adds the spelling.
    #[cold]
    fn slow(&mut self, line: &[u8]) -> Option<u32> {
        let len = line.iter().position(|&c| !NAME_CHARS[usize::from(c)])?;
        if len == 0 || line[len] != b':' {
            return None;
        }
        let name = &line[..len];
        let (mut colon, mut mask) = ([0u64; 4], [0u64; 4]);
        if len < KNOWN_NAME_MAX {
            let mut b = [0u8; KNOWN_NAME_MAX];
            b[..len].copy_from_slice(name);
            b[len] = b':';
            colon = words_of(&b);
            let mut m = [0u8; KNOWN_NAME_MAX];
            m[..=len].fill(0xFF);
            mask = words_of(&m);
        }
        // A spelling met before (too long to be cached) keeps its number.
        if let Some(&n) = self.spellings.get(name) {
            return Some(n);
        }
        self.spellings
            .insert(name.to_vec(), self.known.len() as u32);
        let folded = name.to_ascii_lowercase();
        let next_id = self.ids.len() as u32;
        let id = *self.ids.entry(folded).or_insert(next_id);
        if id as usize >= self.slots.len() {
            self.slots.resize(id as usize + 1, (0, 0));
        }
        let info = attr_info(name);
        let key = crate::model::attr_key(name);
        let role = if name.eq_ignore_ascii_case(b"dn") {
            NameRole::Dn
        } else if name.eq_ignore_ascii_case(b"changetype") {
            NameRole::Changetype
        } else if name.eq_ignore_ascii_case(b"control") {
            NameRole::Control
        } else if self
            .keep
            .as_ref()
            .is_some_and(|k| !k.contains_keyed(name, key))
        {
            NameRole::Skip
        } else if matches!(info.binary, BinaryText::Guid | BinaryText::Sid) {
            NameRole::BinaryText
        } else {
            NameRole::Plain
        };
        self.known.push(KnownName {
            colon,
            mask,
            len: len as u32,
            id,
            key,
            role,
            binary: info.is_binary(),
            known: if self.keep.is_some() {
                crate::model::entry::well_known_keyed(name, key)
            } else {
                0
            },
        });
        self.next.push(0);
        self.next2.push(0);
        Some(self.known.len() as u32 - 1)
    }

    /// The entry's slot for case-folded name number `id`, if the entry has that attribute
    /// already.
    #[inline]
    fn slot(&self, id: u32) -> Option<u32> {
        match self.slots[id as usize] {
            (stamp, slot) if stamp == self.stamp => Some(slot),
            _ => None,
        }
    }

    #[inline]
    fn set_slot(&mut self, id: u32, slot: u32) {
        self.slots[id as usize] = (self.stamp, slot);
    }
}

/// Word `i` (bytes `8 * i ..`) of `bytes`, little-endian.
#[inline]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
    u64::from_le_bytes(w)
}

/// The four little-endian words of 32 bytes.
fn words_of(b: &[u8; KNOWN_NAME_MAX]) -> [u64; 4] {
    [word_at(b, 0), word_at(b, 1), word_at(b, 2), word_at(b, 3)]
}

/// `words` with every byte from `len` on cleared.
#[inline]
fn masked(mut words: [u64; 4], len: usize) -> [u64; 4] {
    for (i, w) in words.iter_mut().enumerate() {
        let keep = len.saturating_sub(i * 8).min(8);
        if keep < 8 {
            *w &= (1u64 << (keep * 8)) - 1;
        }
    }
    words
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Plain,
    Base64,
    Url,
}

struct Ctx<'a> {
    /// The record's text.
    bytes: &'a [u8],
    first_line: u64,
    warnings: &'a mut Vec<Warning>,
}

impl Ctx<'_> {
    /// An error on physical line `phys`; the DN is attached by [`Parser::parse_lines`].
    fn err(&self, phys: u32, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.first_line + u64::from(phys),
            dn: None,
            message: message.into(),
        }
    }
}

/// The range `part` occupies inside `whole` (`part` must be a subslice of `whole`).
fn range_in(whole: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

/// `AttributeDescription` characters (type, options, and `=` for AD's `range=` option).
fn is_desc_char(c: u8) -> bool {
    DESC_CHARS[usize::from(c)]
}

/// Attribute type characters without options (`;`): the names the fast path reads.
static NAME_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'=' | b'*');
        c += 1;
    }
    t
};

/// [`is_desc_char`] as a table: it runs on every byte of every attribute name.
static DESC_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b';' | b'.' | b'_' | b'=' | b'*');
        c += 1;
    }
    t
};

/// `name` `:` (`:` | `<`)? — returns (name, kind, rest after the separator and FILL).
fn attr_line(input: &[u8]) -> IResult<&[u8], (&[u8], Kind)> {
    let (rest, name) = take_while1(is_desc_char)(input)?;
    let (rest, _) = take_while(|c| c == b' ')(rest)?;
    let (rest, _) = tag(&b":"[..])(rest)?;
    let (rest, kind) = match rest.first() {
        Some(b':') => (&rest[1..], Kind::Base64),
        Some(b'<') => (&rest[1..], Kind::Url),
        _ => (rest, Kind::Plain),
    };
    let (rest, _) = take_while(|c| c == b' ').parse(rest)?;
    Ok((rest, (name, kind)))
}

impl Parser {
    /// A parser with `opts`.
    pub fn new(opts: ParseOptions) -> Self {
        let mut scan = crate::model::entry::Scan::default();
        // A parser that keeps some types serves a reader that looks them up.
        scan.track_known = opts.keep.is_some();
        Parser {
            names: Names {
                keep: opts.keep.clone(),
                ..Names::default()
            },
            scan,
            opts,
            ..Parser::default()
        }
    }

    /// Splits `bytes` into logical lines (comments dropped). Lines that are not folded stay
    /// in `bytes`; folded ones are joined in `scratch` at the byte level.
    fn unfold(&mut self, bytes: &[u8], ctx: &Ctx<'_>) -> Result<(), ParseError> {
        self.scratch.clear();
        self.lines.clear();
        let mut phys = 0u32;
        let mut pos = 0usize;
        let mut in_comment = false;
        while pos < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            let mut line_end = end;
            if line_end > pos && bytes[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            match bytes[pos] {
                b' ' => {
                    if phys == 0 {
                        return Err(ctx.err(phys, "a record cannot start with a continuation line"));
                    }
                    if !in_comment {
                        if let Some(l) = self.lines.last_mut() {
                            if !l.folded {
                                let start = self.scratch.len() as u32;
                                self.scratch
                                    .extend_from_slice(&bytes[l.start as usize..l.end as usize]);
                                l.start = start;
                                l.folded = true;
                            }
                            self.scratch.extend_from_slice(&bytes[pos + 1..line_end]);
                            l.end = self.scratch.len() as u32;
                        }
                    }
                }
                b'\t' => {
                    return Err(ctx.err(
                        phys,
                        "a line starts with a TAB: continuation lines start with exactly one space (RFC 2849)",
                    ));
                }
                b'#' => in_comment = true,
                _ => {
                    in_comment = false;
                    self.lines.push(Line {
                        start: pos as u32,
                        end: line_end as u32,
                        phys,
                        folded: false,
                    });
                }
            }
            pos = end + 1;
            phys += 1;
        }
        Ok(())
    }

    /// Parses one raw record whose first line is line `first_line` of the input.
    pub fn parse(
        &mut self,
        bytes: &[u8],
        first_line: u64,
        warnings: &mut Vec<Warning>,
    ) -> Result<Parsed, ParseError> {
        if let Some(entry) = self.fast_entry(bytes) {
            return Ok(Parsed::Record(Record::Entry(entry)));
        }
        self.parse_full(bytes, first_line, warnings)
    }

    /// The full parser: every form the module docs list, with its errors and warnings.
    fn parse_full(
        &mut self,
        bytes: &[u8],
        first_line: u64,
        warnings: &mut Vec<Warning>,
    ) -> Result<Parsed, ParseError> {
        let mut ctx = Ctx {
            bytes,
            first_line,
            warnings,
        };
        self.unfold(bytes, &ctx)?;
        let lines = std::mem::take(&mut self.lines);
        let result = self.parse_lines(&lines, &mut ctx);
        self.lines = lines;
        result
    }

    /// Reads every record of a batch's bytes in one pass over its lines, handing each to
    /// `each` in order with this parser: an entry the fast path read ([`Found::Entry`]), or a
    /// record it left for [`Parser::parse`] ([`Found::Raw`]: everything else, records longer
    /// than `max_record` bytes, and with `utf8_only` records that are not valid UTF-8).
    ///
    /// Line and record numbers count from the start of `data` (its first line and record are
    /// 1). Returns the newlines and the records in `data`.
    pub fn read_batch(
        &mut self,
        data: &[u8],
        max_record: usize,
        utf8_only: bool,
        each: impl FnMut(&mut Parser, Found),
    ) -> (u64, u64) {
        self.read_batch_settled(data, 0, &[], max_record, utf8_only, each)
    }

    /// [`Parser::read_batch`] for `data` starting at input offset `offset`, handing the
    /// records that start where one of `settled` (in increasing order of offset) does on as
    /// [`Found::Settled`] without reading them: when the record after it starts in `data`,
    /// reading goes on there at once; otherwise the record's end is found and its lines are
    /// counted.
    pub fn read_batch_settled(
        &mut self,
        data: &[u8],
        offset: u64,
        settled: &[Skip],
        max_record: usize,
        utf8_only: bool,
        mut each: impl FnMut(&mut Parser, Found),
    ) -> (u64, u64) {
        let (mut pos, mut line, mut number) = (0usize, 1u64, 0u64);
        let mut settled = settled.iter().peekable();
        // Whether `pos` is where a record known from pass 1 starts (just past a skipped
        // one): no blank line to skip, so its bytes are not touched. A run of skipped records
        // then reads nothing of the input, which spares a cache miss and a page fault per
        // page.
        let mut at_record = false;
        loop {
            if !at_record {
                let (at, skipped) = skip_blank(data, pos);
                pos = at;
                line += skipped;
            }
            at_record = false;
            if pos == data.len() {
                break;
            }
            number += 1;
            let here = offset + pos as u64;
            while settled.next_if(|s| s.offset < here).is_some() {}
            if let Some(s) = settled.next_if(|s| s.offset == here) {
                let end = offset + data.len() as u64;
                if s.next > here && s.next <= end {
                    let to = (s.next - offset) as usize;
                    let rec = RawRecord {
                        start: pos,
                        end: to,
                        line,
                        number,
                        too_large: false,
                        blankish_separator: false,
                    };
                    each(self, Found::Settled(rec));
                    pos = to;
                    line += s.lines;
                    at_record = true;
                    continue;
                }
                let scan = scan_record(data, pos);
                each(
                    self,
                    Found::Settled(RawRecord::scanned(pos, &scan, line, number, usize::MAX)),
                );
                pos = scan.end;
                line += scan.lines;
                continue;
            }
            if let Some((entry, end, lines)) = self.scan_entry(data, pos) {
                let record = &data[pos..end];
                if record.len() <= max_record && (!utf8_only || is_utf8(record)) {
                    let rec = RawRecord {
                        start: pos,
                        end,
                        line,
                        number,
                        too_large: false,
                        blankish_separator: false,
                    };
                    each(self, Found::Entry(rec, entry));
                    pos = end;
                    line += lines;
                    continue;
                }
            }
            let scan = scan_record(data, pos);
            let rec = RawRecord::scanned(pos, &scan, line, number, max_record);
            each(self, Found::Raw(rec));
            pos = scan.end;
            line += scan.lines;
        }
        (line - 1, number)
    }

    /// [`Parser::scan_entry`] for one whole record: `None` unless the fast path reads all of
    /// `bytes` as one entry.
    fn fast_entry(&mut self, bytes: &[u8]) -> Option<crate::model::Entry> {
        match self.scan_entry(bytes, 0)? {
            (entry, end, _) if end == bytes.len() => Some(entry),
            _ => None,
        }
    }

    /// Reads the records exports are made of in one pass over the bytes: a `dn:` line, an
    /// optional `changetype: add`, then `attribute: value` and `attribute:: base64` lines, any
    /// of them folded, up to an empty line or the end of `data`. Names are recognised by a
    /// few word comparisons (see [`Names`]), and values that are not folded or encoded stay
    /// where they are in the record. `None` as soon as anything else appears (comments,
    /// options, URLs, controls, other changetypes, space-only lines, and every error):
    /// [`Parser::parse_full`] then reads the record, so both give the same result.
    ///
    /// The record starts at `start` (the start of a line with content) in `bytes`; returns
    /// the entry, the end of the record (the start of the empty line after it, or the end of
    /// `bytes`), and the newlines from `start` to that end.
    pub(crate) fn scan_entry(
        &mut self,
        bytes: &[u8],
        start: usize,
    ) -> Option<(crate::model::Entry, usize, u64)> {
        let n = bytes.len();
        if n - start >= EXTRA as usize {
            return None;
        }
        let rel = |p: usize| (p - start) as u32;
        let Parser {
            names,
            scratch,
            extra,
            scan,
            dn_parents,
            ..
        } = self;
        names.next_entry();
        extra.clear();
        scan.clear();
        let mut newlines = super::Newlines::new(bytes, start);
        // Physical lines read.
        let mut lines = 1u64;

        // The first line is the DN.
        let (end, next) = newlines.line(start);
        let spelling = names.lookup(bytes, start, end, 0)?;
        let k = &names.known[spelling as usize];
        if k.role != NameRole::Dn {
            return None;
        }
        let i = start + k.len as usize + 1;
        let (value, base64, mut pos) =
            line_value(bytes, i, end, next, &mut newlines, scratch, &mut lines)?;
        let text: &[u8] = match &value {
            Some(r) => &bytes[r.clone()],
            None => trim_start_spaces(scratch),
        };
        let decoded;
        let dn_bytes: &[u8] = if base64 {
            decoded = B64.decode(trim_end_spaces(text)).ok()?;
            &decoded
        } else {
            text
        };
        if crate::model::utf8(dn_bytes).is_err()
            || crate::model::dn::validate_sibling(dn_bytes, dn_parents).is_err()
        {
            return None;
        }
        let dn = match &value {
            Some(r) if !base64 => (rel(r.start), rel(r.end)),
            _ => push_extra(extra, dn_bytes),
        };

        // Logical lines read, the DN's included.
        let mut logical = 1usize;
        let mut prev = spelling + 1;
        while pos < n {
            match bytes[pos] {
                b'\n' => break,
                b'\r' if bytes.get(pos + 1) == Some(&b'\n') => break,
                _ => {}
            }
            let (end, next) = newlines.line(pos);
            lines += 1;
            logical += 1;
            // The attribute description (options are left to the full parser).
            let spelling = names.lookup(bytes, pos, end, prev)?;
            prev = spelling + 1;
            let k = &names.known[spelling as usize];
            let (len, id, key, role, binary, known) =
                (k.len as usize, k.id, k.key, k.role, k.binary, k.known);
            let i = pos + len + 1;
            // The usual line: `name: value` (or `name:value`, or `name:`), not folded, of an
            // attribute with nothing else to it.
            let plain = matches!(role, NameRole::Plain | NameRole::Skip)
                && bytes.get(next) != Some(&b' ')
                && !matches!(bytes.get(i), Some(b':' | b'<') if i < end);
            if plain {
                if role == NameRole::Skip {
                    pos = next;
                    continue;
                }
                let mut v = i;
                while v < end && bytes[v] == b' ' {
                    v += 1;
                }
                match names.slot(id) {
                    Some(slot) => scan.value(slot, rel(v), rel(end)),
                    None => {
                        let slot = scan.attribute_with_value(
                            (rel(pos), rel(pos + len)),
                            key,
                            binary,
                            (rel(v), rel(end)),
                        );
                        if known != 0 {
                            scan.known_slot(known, slot);
                        }
                        names.set_slot(id, slot);
                    }
                }
                pos = next;
                continue;
            }
            let (value, base64, after) =
                line_value(bytes, i, end, next, &mut newlines, scratch, &mut lines)?;
            let text: &[u8] = match &value {
                Some(r) => &bytes[r.clone()],
                None => trim_start_spaces(scratch),
            };
            match role {
                NameRole::Dn | NameRole::Control => return None,
                NameRole::Skip => {
                    // Checked as a kept value would be, then dropped.
                    if base64 && !base64_ok(trim_end_spaces(text)) {
                        return None;
                    }
                }
                NameRole::Changetype => {
                    // Only `changetype: add` right after the DN makes an entry.
                    if logical != 2 || base64 || !text.eq_ignore_ascii_case(b"add") {
                        return None;
                    }
                }
                NameRole::Plain | NameRole::BinaryText => {
                    let (a, b) = if base64 {
                        let from = extra.len();
                        decode_base64(trim_end_spaces(text), extra).ok()?;
                        (from as u32 | EXTRA, extra.len() as u32 | EXTRA)
                    } else if let Some(bin) = (role == NameRole::BinaryText)
                        .then(|| binary_from_text(&bytes[pos..pos + len], text))
                        .flatten()
                    {
                        push_extra(extra, &bin)
                    } else {
                        match value {
                            Some(r) => (rel(r.start), rel(r.end)),
                            None => push_extra(extra, text),
                        }
                    };
                    let slot = match names.slot(id) {
                        Some(slot) => slot,
                        None => {
                            let slot = scan.attribute(rel(pos), rel(pos + len), key, binary);
                            if known != 0 {
                                scan.known_slot(known, slot);
                            }
                            names.set_slot(id, slot);
                            slot
                        }
                    };
                    scan.value(slot, a, b);
                }
            }
            pos = after;
        }
        // Every line read ended at a newline but perhaps the last one of `bytes`.
        if pos == n && bytes.last() != Some(&b'\n') {
            lines -= 1;
        }
        let entry = crate::model::Entry::from_scan(&bytes[start..pos], extra, dn, scan);
        Some((entry, pos, lines))
    }

    /// The text of logical line `l` of the record `bytes`.
    fn text<'s>(&'s self, bytes: &'s [u8], l: &Line) -> &'s [u8] {
        let r = l.start as usize..l.end as usize;
        if l.folded {
            &self.scratch[r]
        } else {
            &bytes[r]
        }
    }

    fn parse_lines(&self, lines: &[Line], ctx: &mut Ctx<'_>) -> Result<Parsed, ParseError> {
        let mut i = 0;
        // Leading `version:` and slapcat entry-id lines; records without dn.
        let mut saw_version = false;
        while i < lines.len() {
            let t = self.text(ctx.bytes, &lines[i]);
            if t.first().is_some_and(u8::is_ascii_digit) {
                i += 1;
                continue;
            }
            match attr_line(t) {
                Ok((rest, (name, _))) if name.eq_ignore_ascii_case(b"version") && !saw_version => {
                    if rest != b"1" {
                        ctx.warnings.push(Warning {
                            line: ctx.first_line + u64::from(lines[i].phys),
                            message: format!(
                                "`version: {}` is not 1; read as version 1",
                                String::from_utf8_lossy(rest)
                            ),
                        });
                    }
                    saw_version = true;
                    i += 1;
                }
                _ => break,
            }
        }
        if i == lines.len() {
            return Ok(Parsed::Skipped(if saw_version {
                "version line"
            } else {
                "comments only"
            }));
        }
        let first = &lines[i];
        let (rest, (name, kind)) = attr_line(self.text(ctx.bytes, first))
            .map_err(|_| ctx.err(first.phys, "expected `dn:` or `attribute: value`"))?;
        if !name.eq_ignore_ascii_case(b"dn") {
            let trailer = lines[i..].iter().all(|l| {
                attr_line(self.text(ctx.bytes, l)).is_ok_and(|(_, (n, _))| {
                    n.eq_ignore_ascii_case(b"search")
                        || n.eq_ignore_ascii_case(b"result")
                        || n.eq_ignore_ascii_case(b"ref")
                        || n.eq_ignore_ascii_case(b"control")
                        || n.eq_ignore_ascii_case(b"matchedDN")
                        || n.eq_ignore_ascii_case(b"text")
                })
            });
            if trailer {
                return Ok(Parsed::Skipped("ldapsearch trailer or referral"));
            }
            return Err(ctx.err(
                first.phys,
                format!(
                    "the record has no `dn:` line (it starts with `{}:`); an empty line inside a record splits it in two",
                    String::from_utf8_lossy(name)
                ),
            ));
        }
        let dn = self.value(kind, rest, first, ctx)?;
        if std::str::from_utf8(&dn).is_err() {
            return Err(ctx.err(first.phys, "the DN is not valid UTF-8"));
        }
        if let Err(e) = crate::model::dn::validate(&dn) {
            return Err(ctx.err(first.phys, format!("malformed DN: {e}")));
        }
        self.after_dn(&dn, lines, i + 1, ctx).map_err(|mut e| {
            if e.dn.is_none() {
                e.dn = Some(String::from_utf8_lossy(&dn).into_owned());
            }
            e
        })
    }

    /// The rest of a record whose DN is `dn` and whose next logical line is `lines[i]`.
    fn after_dn(
        &self,
        dn: &[u8],
        lines: &[Line],
        i: usize,
        ctx: &mut Ctx<'_>,
    ) -> Result<Parsed, ParseError> {
        // Controls, then changetype.
        let mut controls = Vec::new();
        let mut j = i;
        let mut changetype: Option<(&[u8], u32)> = None;
        while j < lines.len() {
            let l = &lines[j];
            let t = self.text(ctx.bytes, l);
            let Ok((rest, (name, kind))) = attr_line(t) else {
                break;
            };
            if name.eq_ignore_ascii_case(b"control") {
                controls.push((rest, kind, l));
                j += 1;
                continue;
            }
            if name.eq_ignore_ascii_case(b"changetype") {
                if kind != Kind::Plain {
                    return Err(ctx.err(l.phys, "`changetype:` must be plain text"));
                }
                changetype = Some((rest, l.phys));
                j += 1;
            }
            break;
        }
        let Some((ct, ct_phys)) = changetype else {
            // A content record: `control` lines, if any, were attributes.
            return self
                .content(dn, &lines[i..], ctx)
                .map(|e| Parsed::Record(Record::Entry(e)));
        };
        if controls.len() > 1 && !self.opts.multiple_controls {
            return Err(ctx.err(
                controls[1].2.phys,
                "more than one `control:` line in a record (ldapmodify accepts one; use --allow-multiple-controls)",
            ));
        }
        let mut parsed_controls = Vec::with_capacity(controls.len());
        for (rest, kind, l) in controls {
            parsed_controls.push(self.control(rest, kind, l, ctx)?);
        }
        let body = &lines[j..];
        let change = match ct.to_ascii_lowercase().as_slice() {
            b"add" => {
                let entry = self.content(dn, body, ctx)?;
                if parsed_controls.is_empty() {
                    return Ok(Parsed::Record(Record::Entry(entry)));
                }
                Change::Add(entry)
            }
            b"delete" => {
                if let Some(l) = body.first() {
                    return Err(ctx.err(
                        l.phys,
                        "a `changetype: delete` record takes no further lines (is an empty line missing before the next `dn:`?)",
                    ));
                }
                Change::Delete
            }
            b"modify" => Change::Modify(self.modify(body, ctx)?),
            b"modrdn" | b"moddn" | b"rename" => self.moddn(body, ctx)?,
            other => {
                let hint = if other.starts_with(b"ntdsschema") {
                    " (ldifde-only changetypes are not accepted: ldapmodify rejects them)"
                } else if other.last() == Some(&b' ') {
                    " (trailing space)"
                } else {
                    ""
                };
                return Err(ctx.err(
                    ct_phys,
                    format!(
                        "unknown changetype `{}`{hint}: expected add, delete, modify, modrdn or moddn",
                        String::from_utf8_lossy(ct)
                    ),
                ));
            }
        };
        Ok(Parsed::Record(Record::Change(Box::new(ChangeRecord {
            dn: dn.to_vec(),
            controls: parsed_controls,
            change,
        }))))
    }

    /// Decodes a value of `kind` whose text after the separator is `rest`.
    fn value(
        &self,
        kind: Kind,
        rest: &[u8],
        l: &Line,
        ctx: &Ctx<'_>,
    ) -> Result<Vec<u8>, ParseError> {
        let mut out = Vec::new();
        self.value_into(kind, rest, l, ctx, &mut out)?;
        Ok(out)
    }

    fn value_into(
        &self,
        kind: Kind,
        rest: &[u8],
        l: &Line,
        ctx: &Ctx<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ParseError> {
        match kind {
            Kind::Plain => {
                out.extend_from_slice(rest);
                Ok(())
            }
            Kind::Base64 => {
                let trimmed = trim_end_spaces(rest);
                B64.decode_vec(trimmed, out)
                    .map_err(|e| ctx.err(l.phys, format!("invalid base64 value: {e}")))
            }
            Kind::Url => {
                if !self.opts.allow_file_urls {
                    return Err(ctx.err(
                        l.phys,
                        "`:<` URL values are refused (they read local files); pass --allow-file-urls to read `file://` URLs",
                    ));
                }
                let url = String::from_utf8_lossy(trim_end_spaces(rest)).into_owned();
                let Some(path) = url.strip_prefix("file://") else {
                    return Err(ctx.err(
                        l.phys,
                        format!("only `file://` URLs can be read, not `{url}`"),
                    ));
                };
                let data = std::fs::read(path)
                    .map_err(|e| ctx.err(l.phys, format!("cannot read `{url}`: {e}")))?;
                out.extend_from_slice(&data);
                Ok(())
            }
        }
    }

    fn control(
        &self,
        rest: &[u8],
        kind: Kind,
        l: &Line,
        ctx: &Ctx<'_>,
    ) -> Result<Control, ParseError> {
        if kind != Kind::Plain {
            return Err(ctx.err(l.phys, "`control:` must be followed by an OID"));
        }
        let oid_len = rest
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .count();
        if oid_len == 0 {
            return Err(ctx.err(l.phys, "`control:` must be followed by an OID"));
        }
        let oid = String::from_utf8_lossy(&rest[..oid_len]).into_owned();
        let mut r = &rest[oid_len..];
        let sp = r.iter().take_while(|c| **c == b' ').count();
        r = &r[sp..];
        let mut critical = false;
        if r.starts_with(b"true") {
            critical = true;
            r = &r[4..];
        } else if r.starts_with(b"false") {
            r = &r[5..];
        }
        let value = if r.is_empty() {
            None
        } else if let Some(v) = r.strip_prefix(b"::") {
            Some(self.value(Kind::Base64, trim_start_spaces(v), l, ctx)?)
        } else if let Some(v) = r.strip_prefix(b":<") {
            Some(self.value(Kind::Url, trim_start_spaces(v), l, ctx)?)
        } else if let Some(v) = r.strip_prefix(b":") {
            Some(trim_start_spaces(v).to_vec())
        } else {
            return Err(ctx.err(
                l.phys,
                "expected `true`, `false` or a value after the control OID",
            ));
        };
        Ok(Control {
            oid,
            critical,
            value,
        })
    }

    fn content(
        &self,
        dn: &[u8],
        lines: &[Line],
        ctx: &mut Ctx<'_>,
    ) -> Result<crate::model::Entry, ParseError> {
        // The entry's buffer starts with the record's text: values of lines that were not
        // folded are kept as positions in it, without a copy.
        let mut b = EntryBuilder::over_record(ctx.bytes, lines.len());
        b.set_dn(dn);
        let mut ranged = false;
        for l in lines {
            let t = self.text(ctx.bytes, l);
            let Ok((rest, (name, kind))) = attr_line(t) else {
                return Err(ctx.err(
                    l.phys,
                    if t == b"-" {
                        "a `-` line belongs in a modify record".to_string()
                    } else {
                        format!(
                            "expected `attribute: value`, found `{}`",
                            String::from_utf8_lossy(&t[..t.len().min(40)])
                        )
                    },
                ));
            };
            if name.eq_ignore_ascii_case(b"dn") {
                return Err(ctx.err(
                    l.phys,
                    "a second `dn:` line in one record: records must be separated by an empty line",
                ));
            }
            if name.eq_ignore_ascii_case(b"changetype") {
                return Err(ctx.err(
                    l.phys,
                    "`changetype:` must directly follow `dn:` (and any `control:` lines)",
                ));
            }
            if name.contains(&b';') {
                ranged |= crate::model::entry::attr_options(name)
                    .any(|o| o.len() > 6 && o[..6].eq_ignore_ascii_case(b"range="));
            }
            if kind == Kind::Plain {
                if let Some(bin) = binary_from_text(name, rest) {
                    b.push(name, &bin);
                } else if l.folded {
                    b.push(name, rest);
                } else {
                    b.push_spans(range_in(ctx.bytes, name), range_in(ctx.bytes, rest));
                }
            } else if l.folded {
                b.push_with(name, |buf| self.value_into(kind, rest, l, ctx, buf))?;
            } else {
                b.push_span_with(range_in(ctx.bytes, name), |buf| {
                    self.value_into(kind, rest, l, ctx, buf)
                })?;
            }
        }
        let entry = b.finish();
        if ranged {
            return merge_ranges(&entry)
                .map_err(|m| ctx.err(lines.first().map_or(0, |l| l.phys), m));
        }
        Ok(entry)
    }

    fn modify(&self, lines: &[Line], ctx: &mut Ctx<'_>) -> Result<Vec<Modification>, ParseError> {
        let mut mods = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let l = &lines[i];
            let t = self.text(ctx.bytes, l);
            let Ok((rest, (op_name, kind))) = attr_line(t) else {
                return Err(ctx.err(
                    l.phys,
                    if t.starts_with(b"-") {
                        "a `-` line must hold only `-` and follow a mod-spec".to_string()
                    } else {
                        format!(
                            "expected `add:`, `delete:`, `replace:` or `increment:`, found `{}`",
                            String::from_utf8_lossy(&t[..t.len().min(40)])
                        )
                    },
                ));
            };
            let op = match op_name.to_ascii_lowercase().as_slice() {
                b"add" => ModOp::Add,
                b"delete" => ModOp::Delete,
                b"replace" => ModOp::Replace,
                b"increment" => ModOp::Increment,
                _ => {
                    return Err(ctx.err(
                        l.phys,
                        format!(
                            "expected `add:`, `delete:`, `replace:` or `increment:`, found `{}:`",
                            String::from_utf8_lossy(op_name)
                        ),
                    ))
                }
            };
            if kind != Kind::Plain || rest.is_empty() || !rest.iter().all(|c| is_desc_char(*c)) {
                return Err(ctx.err(
                    l.phys,
                    format!(
                        "`{}:` must name one attribute description with no trailing space, found `{}`",
                        op.keyword(),
                        String::from_utf8_lossy(rest)
                    ),
                ));
            }
            let attr = rest.to_vec();
            let mut values = Vec::new();
            i += 1;
            while i < lines.len() {
                let l = &lines[i];
                let t = self.text(ctx.bytes, l);
                if t == b"-" {
                    i += 1;
                    break;
                }
                let Ok((vrest, (name, vkind))) = attr_line(t) else {
                    return Err(ctx.err(
                        l.phys,
                        format!(
                            "expected `{}: value` or `-`, found `{}`",
                            String::from_utf8_lossy(&attr),
                            String::from_utf8_lossy(&t[..t.len().min(40)])
                        ),
                    ));
                };
                if !attr_eq(name, &attr) {
                    // The next mod-spec without a `-` before it is an error too, as in
                    // ldapmodify.
                    return Err(ctx.err(
                        l.phys,
                        format!(
                            "value line for `{}` inside the mod-spec for `{}` (the attribute descriptions must match, options included; is a `-` missing?)",
                            String::from_utf8_lossy(name),
                            String::from_utf8_lossy(&attr)
                        ),
                    ));
                }
                let v = if vkind == Kind::Plain {
                    binary_from_text(name, vrest).unwrap_or_else(|| vrest.to_vec())
                } else {
                    self.value(vkind, vrest, l, ctx)?
                };
                values.push(v);
                i += 1;
            }
            if op == ModOp::Increment && values.len() != 1 {
                return Err(ctx.err(l.phys, "`increment:` takes exactly one value"));
            }
            mods.push(Modification { op, attr, values });
        }
        Ok(mods)
    }

    fn moddn(&self, lines: &[Line], ctx: &mut Ctx<'_>) -> Result<Change, ParseError> {
        let mut new_rdn = None;
        let mut delete_old = None;
        let mut new_superior = None;
        for l in lines {
            let t = self.text(ctx.bytes, l);
            let Ok((rest, (name, kind))) = attr_line(t) else {
                return Err(ctx.err(
                    l.phys,
                    "expected `newrdn:`, `deleteoldrdn:` or `newsuperior:`",
                ));
            };
            let lname = name.to_ascii_lowercase();
            match lname.as_slice() {
                b"newrdn" if new_rdn.is_none() => new_rdn = Some(self.value(kind, rest, l, ctx)?),
                b"deleteoldrdn" if delete_old.is_none() && new_rdn.is_some() => {
                    delete_old = Some(match rest {
                        b"0" => false,
                        b"1" => true,
                        _ => return Err(ctx.err(l.phys, "`deleteoldrdn:` must be 0 or 1")),
                    })
                }
                b"newsuperior" if new_superior.is_none() && delete_old.is_some() => {
                    new_superior = Some(self.value(kind, rest, l, ctx)?)
                }
                _ => {
                    return Err(ctx.err(
                        l.phys,
                        format!(
                            "unexpected `{}:` in a modrdn record (expected newrdn, deleteoldrdn, then optional newsuperior)",
                            String::from_utf8_lossy(name)
                        ),
                    ))
                }
            }
        }
        let (Some(new_rdn), Some(delete_old_rdn)) = (new_rdn, delete_old) else {
            let last = lines.last().map_or(0, |l| l.phys);
            return Err(ctx.err(last, "a modrdn record needs `newrdn:` and `deleteoldrdn:`"));
        };
        if let Err(e) = crate::model::dn::parse(&new_rdn) {
            return Err(ctx.err(0, format!("malformed `newrdn:`: {e}")));
        }
        Ok(Change::ModDn {
            new_rdn,
            delete_old_rdn,
            new_superior,
        })
    }
}

fn trim_end_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|c| **c == b' ').count();
    &s[..s.len() - n]
}

fn trim_start_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b' ').count();
    &s[n..]
}

/// The value of the fast path's line whose text ends at `end` and whose value's kind starts at
/// `i` (just after the name's `:`), `next` being the start of the line after it: the value's
/// range in `bytes` (leading spaces passed over) or, when the line is folded, `None` with the
/// unfolded text (leading spaces kept) in `scratch`; whether it is base64; and the start of
/// the line after the value's last one. Counts the continuation lines into `lines`. `None`
/// for what the fast path leaves to the full parser: a `:<` URL, a kind on a continuation
/// line, a space-only continuation line.
#[inline(never)]
fn line_value(
    bytes: &[u8],
    mut i: usize,
    end: usize,
    mut next: usize,
    newlines: &mut super::Newlines<'_>,
    scratch: &mut Vec<u8>,
    lines: &mut u64,
) -> Option<(Option<std::ops::Range<usize>>, bool, usize)> {
    let n = bytes.len();
    let folded = next < n && bytes[next] == b' ';
    if folded && i >= end {
        // The kind of value (`::`, `:<`) would be on the continuation line.
        return None;
    }
    let base64 = match bytes.get(i) {
        Some(b':') if i < end => {
            i += 1;
            true
        }
        Some(b'<') if i < end => return None,
        _ => false,
    };
    if !folded {
        while i < end && bytes[i] == b' ' {
            i += 1;
        }
        return Some((Some(i..end), base64, next));
    }
    scratch.clear();
    scratch.extend_from_slice(&bytes[i..end]);
    while next < n && bytes[next] == b' ' {
        let (e, after) = newlines.line(next);
        *lines += 1;
        if is_blank_line(&bytes[next..e]) {
            // A space-only line ends the record: the full parser warns about it.
            return None;
        }
        scratch.extend_from_slice(&bytes[next + 1..e]);
        next = after;
    }
    Some((None, base64, next))
}

/// Converts `ldbsearch`'s text form of a GUID or SID into bytes, for attributes with that
/// syntax. Cheap for everything else: only values shaped like a GUID or SID are looked up.
pub fn binary_from_text(name: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    if !binary_shaped(value) {
        return None;
    }
    let guid_shaped = (value.len() == 36 || value.len() == 38) && value.contains(&b'-');
    let sid_shaped = value.len() > 4 && (value.starts_with(b"S-") || value.starts_with(b"s-"));
    if !guid_shaped && !sid_shaped {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    match attr_info(name).binary {
        BinaryText::Guid if guid_shaped => binary::guid_text_to_bytes(text).map(|b| b.to_vec()),
        BinaryText::Sid if sid_shaped => binary::sid_text_to_bytes(text),
        _ => None,
    }
}

/// Whether a value could be the text form of a GUID or SID (a cheap test on its length and
/// first bytes, made before [`binary_from_text`]).
#[inline]
fn binary_shaped(value: &[u8]) -> bool {
    value.len() == 36
        || value.len() == 38
        || (value.len() > 4 && value[0] | 0x20 == b's' && value[1] == b'-')
}

/// Merges `attr;range=a-b` pieces into `attr` when every range is present; otherwise says
/// which part is missing.
fn merge_ranges(entry: &crate::model::Entry) -> Result<crate::model::Entry, String> {
    use std::collections::BTreeMap;
    // base description (without range option) -> (low, high or None for *, values)
    struct Piece<'a> {
        low: u64,
        high: Option<u64>,
        values: Vec<&'a [u8]>,
    }
    let mut pieces: BTreeMap<Vec<u8>, (Vec<u8>, Vec<Piece<'_>>)> = BTreeMap::new();
    let mut b = EntryBuilder::new(entry.dn());
    let mut order: Vec<Vec<u8>> = Vec::new();
    for a in entry.attributes() {
        let name = a.name();
        let mut range = None;
        let mut base = crate::model::attr_type(name).to_vec();
        for o in crate::model::entry::attr_options(name) {
            if o.len() > 6 && o[..6].eq_ignore_ascii_case(b"range=") {
                range = Some(&o[6..]);
            } else {
                base.push(b';');
                base.extend_from_slice(o);
            }
        }
        match range {
            None => {
                for v in a.values() {
                    b.push(name, v);
                }
            }
            Some(r) => {
                let text = String::from_utf8_lossy(r);
                let (lo, hi) = text
                    .split_once('-')
                    .ok_or_else(|| format!("malformed range option `{text}`"))?;
                let low: u64 = lo
                    .parse()
                    .map_err(|_| format!("malformed range option `{text}`"))?;
                let high = if hi == "*" {
                    None
                } else {
                    Some(
                        hi.parse::<u64>()
                            .map_err(|_| format!("malformed range option `{text}`"))?,
                    )
                };
                let key = crate::model::schema::case_fold(&base);
                if !pieces.contains_key(&key) {
                    order.push(key.clone());
                }
                pieces
                    .entry(key)
                    .or_insert_with(|| (base.clone(), Vec::new()))
                    .1
                    .push(Piece {
                        low,
                        high,
                        values: a.values().collect(),
                    });
            }
        }
    }
    for key in order {
        let Some((base, mut ps)) = pieces.remove(&key) else {
            continue;
        };
        ps.sort_by_key(|p| p.low);
        let mut expect = 0u64;
        let mut complete = false;
        for p in &ps {
            if p.low != expect {
                return Err(format!(
                    "`{}` is a partial value set: range {}-... is missing (ranged retrieval must cover 0-*; re-export with ldifde or page the attribute fully)",
                    String::from_utf8_lossy(&base),
                    expect
                ));
            }
            match p.high {
                Some(h) => expect = h + 1,
                None => complete = true,
            }
        }
        if !complete {
            return Err(format!(
                "`{}` is a partial value set: the last range ends at {} without `*` (more values exist on the server)",
                String::from_utf8_lossy(&base),
                expect.saturating_sub(1)
            ));
        }
        for p in ps {
            for v in p.values {
                b.push(&base, v);
            }
        }
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;

    /// Lines the fast path must take or leave to the full parser.
    const FIRST_LINES: &[&str] = &[
        "dn: CN=a,DC=x",
        "dn: CN=a,DC=x",
        "dn:: Q049YSxEQz14",
        "DN:CN=b\\, c,DC=x",
        "dn:  CN=spaces,DC=x  ",
        "dn: not a dn",
        "dn:: !!",
        "dn:< file:///etc/hostname",
        "dn : CN=a,DC=x",
        "version: 1",
        "# comment",
        "1234",
        "cn: no dn",
    ];
    const SECOND_LINES: &[&str] = &[
        "changetype: add",
        "changetype: ADD",
        "changetype: add ",
        "changetype:: YWRk",
        "changetype: modify",
        "changetype: delete",
        "control: 1.2.3 true",
        "cn: x",
        "objectClass: top",
    ];
    const LINES: &[&str] = &[
        "cn: value",
        "cn:value",
        "CN:  two spaces then trailing  ",
        "sn:",
        "objectGUID: 01234567-89ab-cdef-0123-456789abcdef",
        "objectGUID:: ASNFZ4mrze8BI0VniavN7w==",
        "objectSid: S-1-5-21-1-2-3-500",
        "description:: w6lsw6k=",
        "description:: w6lsw6k",
        "description:: !!",
        "description:: ",
        "mail: a@x",
        "proxyAddresses: SMTP:a@x",
        "proxyAddresses: smtp:b@x",
        "ou;lang-de: x",
        "member;range=0-1: CN=a",
        "x-y.z_1: v",
        "# comment",
        "-",
        "dn: CN=again,DC=x",
        "changetype: add",
        "control: 1.2.3",
        "x:< file:///etc/hostname",
        "a : b",
        "\tx: y",
        " lonely continuation",
        "",
        "nocolon",
        "é: x",
        "OBJECTCLASS: person",
        "objectclass: user",
        "msExchMailboxSecurityDescriptor:: AQAEgA==",
        "msexchmailboxsecuritydescriptor: x",
        "anAttributeNameOfThirtyOneChars: v",
        "anAttributeNameOfThirtyTwoChars1: v",
        "ANATTRIBUTENAMEOFTHIRTYTWOCHARS1: w",
        "anAttributeNameLongerThanThirtyTwoBytes: v",
        "anattributenamelongerthanthirtytwobytes:: dg==",
        ":no name",
    ];

    fn record_text() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        (
            proptest::sample::select(FIRST_LINES),
            proptest::option::of(proptest::sample::select(SECOND_LINES)),
            proptest::collection::vec(proptest::sample::select(LINES), 0..8),
            any::<bool>(),
            proptest::collection::vec(0usize..40, 0..6),
            any::<bool>(),
        )
            .prop_map(|(first, second, rest, crlf, folds, final_break)| {
                let mut lines: Vec<String> = vec![first.to_string()];
                lines.extend(second.map(str::to_string));
                lines.extend(rest.iter().map(|l| l.to_string()));
                // Fold lines at the given byte positions (of the line picked by the position).
                for (k, at) in folds.iter().enumerate() {
                    let count = lines.len();
                    let l = &mut lines[k % count];
                    let at = (*at).min(l.len());
                    if at > 0 && l.is_char_boundary(at) {
                        l.insert_str(at, "\n ");
                    }
                }
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = lines.join("\n").replace('\n', eol);
                if final_break {
                    text.push_str(eol);
                }
                text.into_bytes()
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Whenever the fast path reads a record, the full parser reads the same entry.
        #[test]
        fn the_fast_path_agrees_with_the_full_parser(
            texts in proptest::collection::vec(record_text(), 1..4)
        ) {
            // One parser for several records: what it remembers of names must not leak.
            let mut p = Parser::new(ParseOptions::default());
            for text in &texts {
                if let Some(fast) = p.fast_entry(text) {
                    let mut w = Vec::new();
                    let full = p.parse_full(text, 1, &mut w);
                    let Ok(Parsed::Record(Record::Entry(full))) = full else {
                        panic!("fast path read {:?} but the full parser gave {full:?}", String::from_utf8_lossy(text));
                    };
                    proptest::prop_assert_eq!(format!("{fast:?}"), format!("{full:?}"));
                    proptest::prop_assert_eq!(fast, full);
                }
            }
        }
    }

    /// The attributes of `e` whose type is in `keep`, as (name, values), in entry order.
    fn kept_of(e: &Entry, keep: &crate::model::TypeSet) -> Vec<(String, Vec<Vec<u8>>)> {
        e.attributes()
            .filter(|a| keep.contains_keyed(a.name(), a.key()))
            .map(|a| {
                (
                    a.name_str().to_string(),
                    a.values().map(<[u8]>::to_vec).collect(),
                )
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// A parser that keeps some types accepts, refuses and warns about every record as
        /// one that keeps all do, and its entries hold the same values of the kept types.
        #[test]
        fn keeping_some_types_reads_the_same_records(
            texts in proptest::collection::vec(record_text(), 1..4)
        ) {
            let mut keep = crate::model::TypeSet::default();
            for t in ["cn", "objectGUID", "member", "proxyAddresses", "x-y.z_1", "objectClass", "mail"] {
                keep.insert(t.as_bytes());
            }
            let keep = std::sync::Arc::new(keep);
            let mut all = Parser::new(ParseOptions::default());
            let mut some = Parser::new(ParseOptions { keep: Some(keep.clone()), ..ParseOptions::default() });
            for text in &texts {
                let (a, b) = (all.fast_entry(text), some.fast_entry(text));
                proptest::prop_assert_eq!(a.is_some(), b.is_some(), "{:?}", String::from_utf8_lossy(text));
                if let (Some(a), Some(b)) = (&a, &b) {
                    proptest::prop_assert_eq!(a.dn(), b.dn());
                    proptest::prop_assert_eq!(kept_of(a, &keep), kept_of(b, &keep));
                    // The fast path stores nothing else.
                    proptest::prop_assert!(b.attributes().all(|x| keep.contains_keyed(x.name(), x.key())));
                    // The well-known types it noted while reading are found as any other.
                    for t in crate::model::entry::WELL_KNOWN {
                        let values = |a: Option<crate::model::AttrRef<'_>>| {
                            a.map(|a| a.values().map(<[u8]>::to_vec).collect::<Vec<_>>())
                        };
                        proptest::prop_assert_eq!(
                            values(b.get(crate::model::Name::new(t))),
                            values(b.get_bytes(t.as_bytes())),
                            "{}", t
                        );
                    }
                }
                let (mut wa, mut wb) = (Vec::new(), Vec::new());
                let (a, b) = (all.parse(text, 1, &mut wa), some.parse(text, 1, &mut wb));
                proptest::prop_assert_eq!(format!("{wa:?}"), format!("{wb:?}"));
                match (a, b) {
                    (Ok(Parsed::Record(Record::Entry(a))), Ok(Parsed::Record(Record::Entry(b)))) => {
                        proptest::prop_assert_eq!(a.dn(), b.dn());
                        proptest::prop_assert_eq!(kept_of(&a, &keep), kept_of(&b, &keep));
                    }
                    (a, b) => proptest::prop_assert_eq!(format!("{a:?}"), format!("{b:?}")),
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]

        /// The fast path's base64 decoder accepts and rejects what the crate does, and gives
        /// the same bytes.
        #[test]
        fn base64_decodes_as_the_crate_does(
            text in proptest::collection::vec(proptest::sample::select(
                b"AQgw/+9zZ==\xff .-_\n".to_vec()), 0..40),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            cut in 0usize..4,
        ) {
            let encoded = B64.encode(&bytes);
            let unpadded = encoded.trim_end_matches('=');
            for t in [&text[..], encoded.as_bytes(), unpadded.as_bytes(), &encoded.as_bytes()[..encoded.len().saturating_sub(cut)]] {
                let mut out = b"kept".to_vec();
                let ours = decode_base64(t, &mut out).is_ok();
                let theirs = B64.decode(t);
                proptest::prop_assert_eq!(ours, theirs.is_ok(), "{:?}", String::from_utf8_lossy(t));
                proptest::prop_assert_eq!(base64_ok(t), ours, "{:?}", String::from_utf8_lossy(t));
                if let Ok(v) = theirs {
                    proptest::prop_assert_eq!(&out[..4], b"kept");
                    proptest::prop_assert_eq!(&out[4..], &v[..]);
                }
            }
        }
    }

    #[test]
    fn the_fast_path_reads_the_shipped_exports() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut fast = 0;
        let mut total = 0;
        for name in ["samples/corp.ldf", "samples/corp-large-group.ldf"] {
            let data = std::fs::read(root.join(name)).unwrap();
            let mut p = Parser::new(ParseOptions::default());
            for r in crate::ldif::framer::Records::new(&data, 1 << 30) {
                total += 1;
                let record = &data[r.start..r.end];
                fast += usize::from(p.fast_entry(record).is_some());
                // Read in place, the record gives the same entry and ends where it ends.
                if let Some(e) = p.fast_entry(record) {
                    let (again, end, lines) = p.scan_entry(&data, r.start).unwrap();
                    assert_eq!(e, again);
                    assert_eq!(end, r.end);
                    assert_eq!(lines, crate::ldif::framer::count_newlines(record));
                }
            }
        }
        // Everything but the version line and ldifde's follow-up modify record.
        assert!(total > 50, "{total}");
        assert!(
            fast + 2 >= total,
            "{fast} of {total} records took the fast path"
        );
    }

    #[test]
    fn entries_read_over_recycled_buffers_are_the_entries_the_full_parser_makes() {
        use crate::name;
        // Each entry read by the fast path gives its buffers back for the next one, as the
        // pipeline's workers do: a larger or different entry before must not show through.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(root.join("samples/corp.ldf")).unwrap();
        let mut p = Parser::new(ParseOptions::default());
        let mut read = 0;
        for r in crate::ldif::framer::Records::new(&data, 1 << 30) {
            let record = &data[r.start..r.end];
            let Some(e) = p.fast_entry(record) else {
                continue;
            };
            let Ok(Parsed::Record(Record::Entry(reference))) = parse(record) else {
                panic!("the full parser reads no entry at {}", r.start);
            };
            assert_eq!(e, reference);
            assert_eq!(e.known_places(), reference.known_places());
            for name in [
                name!("proxyAddresses"),
                name!("mail"),
                name!("objectClass"),
                name!("member"),
            ] {
                assert!(
                    e.values(name).eq(reference.values(name)),
                    "{}",
                    name.as_str()
                );
            }
            e.recycle();
            read += 1;
        }
        assert!(read > 50, "{read}");
    }

    fn parse(text: &[u8]) -> Result<Parsed, ParseError> {
        let mut w = Vec::new();
        Parser::new(ParseOptions::default()).parse(text, 1, &mut w)
    }

    fn entry(text: &[u8]) -> Entry {
        match parse(text).unwrap() {
            Parsed::Record(Record::Entry(e)) => e,
            other => panic!("not an entry: {other:?}"),
        }
    }

    fn change(text: &[u8]) -> ChangeRecord {
        match parse(text).unwrap() {
            Parsed::Record(Record::Change(c)) => *c,
            other => panic!("not a change: {other:?}"),
        }
    }

    #[test]
    fn folds_inside_utf8_and_base64_are_rejoined() {
        let e = entry("dn: cn=a\ndescription: J\u{fc}\n rgen\ncn:: SsO8\n cmdlbg==\n".as_bytes());
        assert_eq!(e.first("description").unwrap(), "Jürgen".as_bytes());
        assert_eq!(e.first("cn").unwrap(), "Jürgen".as_bytes());
        // a fold splitting the two bytes of ü
        let mut raw = b"dn: cn=a\ndescription: J\xc3\n \xbcrgen\n".to_vec();
        raw.extend_from_slice(b"");
        assert_eq!(
            entry(&raw).first("description").unwrap(),
            "Jürgen".as_bytes()
        );
    }

    #[test]
    fn folded_comments_are_skipped() {
        let e = entry(b"dn: cn=a\n# a comment\n  that continues\ncn: a\n");
        assert_eq!(e.attr_count(), 1);
    }

    #[test]
    fn plain_values_lose_leading_fill_and_keep_trailing_spaces() {
        let e = entry(b"dn:cn=a\ndescription:    x  \nempty:\n");
        assert_eq!(e.first("description").unwrap(), b"x  ");
        assert_eq!(e.first("empty").unwrap(), b"");
        assert_eq!(e.dn(), b"cn=a");
    }

    #[test]
    fn ldbsearch_text_guids_and_sids_become_binary() {
        let e = entry(
            b"dn: cn=a\nobjectGUID: 12345678-9abc-def0-1122-334455667788\nobjectSid: S-1-5-10\ndescription: S-1-5-10\n",
        );
        assert_eq!(e.first("objectGUID").unwrap().len(), 16);
        assert_eq!(e.first("objectSid").unwrap(), &binary::SID_SELF);
        assert_eq!(e.first("description").unwrap(), b"S-1-5-10");
    }

    #[test]
    fn ranged_attributes_merge_only_when_complete() {
        let e = entry(b"dn: cn=g\nmember;range=0-1: a\nmember;range=0-1: b\nmember;range=2-*: c\n");
        let m: Vec<&[u8]> = e.values("member").collect();
        assert_eq!(m, vec![&b"a"[..], b"b", b"c"]);
        let err = parse(b"dn: cn=g\nmember;range=0-1: a\nmember;range=0-1: b\n").unwrap_err();
        assert!(err.message.contains("partial value set"), "{}", err.message);
        assert_eq!(err.dn.as_deref(), Some("cn=g"));
        let err = parse(b"dn: cn=g\nmember;range=2-*: c\n").unwrap_err();
        assert!(err.message.contains("range 0-"), "{}", err.message);
    }

    #[test]
    fn modify_records_parse_every_operation() {
        let c = change(
            b"dn: cn=a\nchangetype: modify\nadd: mail\nmail: a@x\n-\ndelete: description\n-\nreplace: sn\n-\nincrement: uidNumber\nuidNumber: 1\n",
        );
        let Change::Modify(m) = c.change else {
            panic!()
        };
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].op, ModOp::Add);
        assert_eq!(m[1].op, ModOp::Delete);
        assert!(m[2].values.is_empty());
        assert_eq!(m[3].op, ModOp::Increment);
    }

    #[test]
    fn structural_lines_with_trailing_spaces_are_errors() {
        assert!(parse(b"dn: cn=a\nchangetype: modify \nreplace: mail\nmail: a\n-\n").is_err());
        assert!(parse(b"dn: cn=a\nchangetype: modify\nreplace: mail \nmail: a\n-\n").is_err());
        assert!(parse(b"dn: cn=a\nchangetype: modify\nreplace: mail\nmail: a\n- \n").is_err());
    }

    #[test]
    fn a_value_cannot_inject_a_second_record() {
        let err = parse(b"dn: cn=a\ncn: a\ndn: cn=admin\n").unwrap_err();
        assert!(err.message.contains("second `dn:`"));
        assert_eq!(err.line, 3);
    }

    #[test]
    fn moddn_with_newsuperior() {
        let c = change(b"dn: cn=a,dc=x\nchangetype: moddn\nnewrdn: cn=b\ndeleteoldrdn: 0\nnewsuperior: ou=y,dc=x\n");
        assert_eq!(
            c.change,
            Change::ModDn {
                new_rdn: b"cn=b".to_vec(),
                delete_old_rdn: false,
                new_superior: Some(b"ou=y,dc=x".to_vec())
            }
        );
    }

    #[test]
    fn controls_are_kept() {
        let c = change(b"dn: cn=a\ncontrol: 1.2.840.113556.1.4.805 true\nchangetype: delete\n");
        assert_eq!(c.controls[0].oid, "1.2.840.113556.1.4.805");
        assert!(c.controls[0].critical);
    }

    #[test]
    fn trailers_and_referrals_are_skipped_but_data_without_dn_is_an_error() {
        assert!(matches!(
            parse(b"search: 2\nresult: 0 Success\n").unwrap(),
            Parsed::Skipped(_)
        ));
        assert!(matches!(
            parse(b"ref: ldap://x/dc=x\n").unwrap(),
            Parsed::Skipped(_)
        ));
        assert!(matches!(
            parse(b"version: 1\n").unwrap(),
            Parsed::Skipped(_)
        ));
        assert!(parse(b"delete: description\n-\n").is_err());
    }

    #[test]
    fn file_urls_are_refused_by_default() {
        let err = parse(b"dn: cn=a\njpegPhoto:< file:///etc/hostname\n").unwrap_err();
        assert!(err.message.contains("--allow-file-urls"));
    }
}
