//! Opening exports: files or stdin, encoding sniffing, format detection, spooling for a second
//! pass, and the batch reader that turns bytes into [`Item`]s (records with their place).
//!
//! Encoding: a BOM selects UTF-8 (stripped), UTF-16LE or UTF-16BE (transcoded to UTF-8 while
//! streaming); without one the bytes are read as UTF-8 and any record that is not valid UTF-8 is
//! decoded as Windows-1252 (ldifde's "ANSI") with a warning. `--encoding` forces a charset.
//! The format (LDIF or csvde CSV) is detected from the content, never the file name.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;

use encoding_rs::Encoding;

use crate::error::{Error, Location, Result};
use crate::ldif::framer::{count_newlines, Batch, RawRecord};
use crate::ldif::parse::{Found, ParseOptions, Parsed, Parser, Warning};
use crate::model::{dn, Change, ModOp, Record};

/// Input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// LDIF (ldifde, ldapsearch, ldbsearch, slapcat).
    Ldif,
    /// csvde CSV.
    Csv,
}

/// How input bytes are decoded.
#[derive(Clone, Copy, Debug, Default)]
pub enum Charset {
    /// BOM sniffing, UTF-8, Windows-1252 fallback per record.
    #[default]
    Auto,
    /// This encoding (a BOM still wins, as in every Windows tool).
    Forced(&'static Encoding),
}

impl Charset {
    /// Parses an encoding label (`utf-8`, `utf-16le`, `windows-1252`, `latin1`, `cp850` ...).
    pub fn from_label(label: &str) -> Option<Charset> {
        if label.eq_ignore_ascii_case("auto") {
            return Some(Charset::Auto);
        }
        let l = label.to_ascii_lowercase();
        let l = match l.as_str() {
            "cp1252" | "ansi" => "windows-1252",
            "utf16" | "utf-16" | "unicode" => "utf-16le",
            other => other,
        };
        Encoding::for_label(l.as_bytes()).map(Charset::Forced)
    }
}

/// Everything that decides how inputs are read.
#[derive(Clone, Debug)]
pub struct InputOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// Decoding.
    pub charset: Charset,
    /// Per-record size cap in bytes.
    pub max_record_bytes: usize,
    /// LDIF parser settings.
    pub parse: ParseOptions,
    /// Extra attributes whose csvde values are `;`-joined lists.
    pub csv_multi_valued: Vec<String>,
    /// Target batch size in bytes for the parallel pipeline.
    pub batch_bytes: usize,
    /// Map the windows of a regular LDIF file that needs no decoding instead of reading them
    /// ([`crate::ldif::mapped`]).
    pub mmap: bool,
    /// Whether the items of entries the parser's fast path reads carry a copy of their DN in
    /// [`Location::dn`] for messages (true). A pass that reports nothing of its items can leave
    /// it out and save a copy per entry; [`Item::is_unread`] then cannot tell its items apart.
    pub item_dn: bool,
    /// Batches the pipeline lets its workers read beyond one each while the calling thread
    /// consumes in order (two at least): room for the workers to go on while the consumer is
    /// held up.
    pub batches_ahead: usize,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            format: None,
            charset: Charset::Auto,
            max_record_bytes: crate::ldif::framer::DEFAULT_MAX_RECORD,
            parse: ParseOptions::default(),
            csv_multi_valued: Vec::new(),
            batch_bytes: 2 << 20,
            mmap: true,
            item_dn: true,
            batches_ahead: 2,
        }
    }
}

/// A named input that can be opened (again, when spooled).
#[derive(Debug)]
pub struct Source {
    /// The name used in messages (`<stdin>` for `-`).
    pub name: &'static str,
    path: SourcePath,
}

#[derive(Debug)]
enum SourcePath {
    File(PathBuf),
    Stdin,
    Spooled(tempfile::NamedTempFile),
}

impl Source {
    /// A source for `arg` (`-` is standard input).
    pub fn new(arg: &str) -> Source {
        if arg == "-" {
            Source {
                name: "<stdin>",
                path: SourcePath::Stdin,
            }
        } else {
            Source {
                name: crate::model::intern(arg),
                path: SourcePath::File(PathBuf::from(arg)),
            }
        }
    }

    /// Makes the source readable twice: standard input is copied to a temporary file.
    pub fn spool(&mut self) -> Result<()> {
        if let SourcePath::Stdin = self.path {
            let mut tmp =
                tempfile::NamedTempFile::new().map_err(|e| Error::io("temporary spool file", e))?;
            io::copy(&mut io::stdin().lock(), tmp.as_file_mut())
                .map_err(|e| Error::io(self.name.to_string(), e))?;
            tmp.as_file_mut()
                .flush()
                .map_err(|e| Error::io("temporary spool file", e))?;
            self.path = SourcePath::Spooled(tmp);
        }
        Ok(())
    }

    /// What says whether a file given by path changed between two reads: its length and
    /// modification time (`None` for standard input, which is read once, and for the copy of
    /// it this program made).
    pub fn fingerprint(&self) -> Result<Option<(u64, Option<std::time::SystemTime>)>> {
        match &self.path {
            SourcePath::File(p) => {
                let m = std::fs::metadata(p).map_err(|e| Error::io(self.name.to_string(), e))?;
                Ok(Some((m.len(), m.modified().ok())))
            }
            SourcePath::Stdin | SourcePath::Spooled(_) => Ok(None),
        }
    }

    /// The size in bytes of a file, or of standard input once spooled; `None` otherwise (or
    /// when the system cannot tell).
    pub fn size(&self) -> Option<u64> {
        let path = match &self.path {
            SourcePath::File(p) => p.as_path(),
            SourcePath::Spooled(t) => t.path(),
            SourcePath::Stdin => return None,
        };
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    /// Opens the raw bytes.
    pub fn open_raw(&self) -> Result<Box<dyn Read + Send>> {
        let file = |p: &std::path::Path| -> Result<Box<dyn Read + Send>> {
            let f = File::open(p).map_err(|e| Error::io(self.name.to_string(), e))?;
            Ok(Box::new(f))
        };
        match &self.path {
            SourcePath::File(p) => file(p),
            SourcePath::Spooled(t) => file(t.path()),
            SourcePath::Stdin => Ok(Box::new(io::stdin())),
        }
    }

    /// Opens the source decoded to UTF-8 bytes (or raw bytes for the per-record fallback) and
    /// tells its format.
    pub fn open(&self, opts: &InputOptions) -> Result<Opened> {
        let mut raw = self.open_raw()?;
        let mut head = vec![0u8; 8192];
        let n = read_full(&mut raw, &mut head).map_err(|e| Error::io(self.name.to_string(), e))?;
        head.truncate(n);
        let bom = sniff_bom(&head);
        let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head.clone()).chain(raw));
        // Decoders that pass the file's bytes through set where those bytes start.
        let mut identity: Option<u64> = None;
        let (reader, encoding_name, fallback): (Box<dyn Read + Send>, &'static str, bool) =
            match (bom, opts.charset) {
                (Some(Bom::Utf8), _) => {
                    identity = Some(3);
                    (Box::new(SkipBytes::new(chained, 3)), "UTF-8 (BOM)", false)
                }
                (Some(Bom::Utf16Le), _) | (Some(Bom::Utf16Be), _) => {
                    let enc = if bom == Some(Bom::Utf16Le) {
                        encoding_rs::UTF_16LE
                    } else {
                        encoding_rs::UTF_16BE
                    };
                    (transcode(chained, enc), enc.name(), false)
                }
                (None, Charset::Forced(enc)) if enc == encoding_rs::UTF_8 => {
                    identity = Some(0);
                    (chained, "UTF-8", false)
                }
                (None, Charset::Forced(enc)) => (transcode(chained, enc), enc.name(), false),
                (None, Charset::Auto) => {
                    if looks_utf16le(&head) {
                        (
                            transcode(chained, encoding_rs::UTF_16LE),
                            "UTF-16LE (no BOM)",
                            false,
                        )
                    } else {
                        identity = Some(0);
                        (chained, "UTF-8", true)
                    }
                }
            };
        // Peek at the decoded start (a transcoder may return only a few bytes per read).
        let mut reader = reader;
        let mut peek = vec![0u8; 4096];
        let got =
            read_full(&mut reader, &mut peek).map_err(|e| Error::io(self.name.to_string(), e))?;
        peek.truncate(got);
        let format = match opts.format {
            Some(f) => f,
            None => detect_format(&peek).ok_or_else(|| {
                Error::Input(format!(
                    "{}: cannot tell whether this is LDIF or csvde CSV (expected `dn:` or a header starting with `DN`); use --from ldif|csv",
                    self.name
                ))
            })?,
        };
        let reader = BufReader::with_capacity(1 << 16, io::Cursor::new(peek).chain(reader));
        Ok(Opened {
            name: self.name,
            reader: Box::new(reader),
            format,
            encoding: encoding_name,
            fallback_1252: fallback,
            map_base: identity,
        })
    }

    /// The source's file for [`crate::ldif::mapped::MappedFramer`], when it is a regular file
    /// (not a pipe or a device given by path).
    pub fn open_mapped(&self) -> Result<Option<File>> {
        let path = match &self.path {
            SourcePath::File(p) => p.as_path(),
            SourcePath::Spooled(t) => t.path(),
            SourcePath::Stdin => return Ok(None),
        };
        let f = File::open(path).map_err(|e| Error::io(self.name.to_string(), e))?;
        let regular = f
            .metadata()
            .map_err(|e| Error::io(self.name.to_string(), e))?
            .is_file();
        Ok(regular.then_some(f))
    }
}

/// An open input.
pub struct Opened {
    /// Its name.
    pub name: &'static str,
    /// Its bytes, decoded to UTF-8 unless `fallback_1252`.
    pub reader: Box<dyn Read + Send>,
    /// The detected or forced format.
    pub format: Format,
    /// The encoding used (for the summary).
    pub encoding: &'static str,
    /// Whether records that are not UTF-8 are decoded as Windows-1252.
    pub fallback_1252: bool,
    /// Where the decoded bytes start in the source when they are its own bytes (after a UTF-8
    /// byte-order mark, or from its start): a source that is a regular file can then be mapped
    /// instead of read ([`Source::open_mapped`]).
    pub map_base: Option<u64>,
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn transcode(r: Box<dyn Read + Send>, enc: &'static Encoding) -> Box<dyn Read + Send> {
    Box::new(
        encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_override(true)
            .strip_bom(true)
            .build(r),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bom {
    Utf8,
    Utf16Le,
    Utf16Be,
}

fn sniff_bom(head: &[u8]) -> Option<Bom> {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        Some(Bom::Utf8)
    } else if head.starts_with(&[0xFF, 0xFE]) {
        Some(Bom::Utf16Le)
    } else if head.starts_with(&[0xFE, 0xFF]) {
        Some(Bom::Utf16Be)
    } else {
        None
    }
}

/// UTF-16LE without a BOM: ASCII text with every second byte zero.
fn looks_utf16le(head: &[u8]) -> bool {
    head.len() >= 8
        && head.iter().skip(1).step_by(2).take(16).all(|b| *b == 0)
        && head.iter().step_by(2).take(16).all(|b| *b != 0)
}

/// Tells LDIF from csvde CSV by the first significant line.
pub fn detect_format(head: &[u8]) -> Option<Format> {
    for line in head.split(|c| *c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Comments, their continuation lines, blank lines and slapcat entry ids say nothing.
        let t = line;
        if t.is_empty()
            || t.starts_with(b"#")
            || t.starts_with(b" ")
            || t.starts_with(b"\t")
            || t.iter().all(u8::is_ascii_digit)
        {
            continue;
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with(b"dn:") || lower.starts_with(b"version:") {
            return Some(Format::Ldif);
        }
        let first_field = lower.split(|c| *c == b',').next().unwrap_or(&[]);
        let first_field = first_field
            .strip_prefix(b"\"")
            .and_then(|f| f.strip_suffix(b"\""))
            .unwrap_or(first_field);
        if first_field == b"dn" {
            return Some(Format::Csv);
        }
        if lower.contains(&b':') {
            return Some(Format::Ldif);
        }
        return None;
    }
    // Empty input: LDIF with no records.
    Some(Format::Ldif)
}

/// Skips the first `n` bytes of a reader (a UTF-8 BOM).
struct SkipBytes<R> {
    inner: R,
    skip: usize,
}

impl<R: Read> SkipBytes<R> {
    fn new(inner: R, skip: usize) -> Self {
        SkipBytes { inner, skip }
    }
}

impl<R: Read> Read for SkipBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.skip > 0 {
            let mut tmp = [0u8; 8];
            let want = self.skip.min(tmp.len());
            let n = self.inner.read(&mut tmp[..want])?;
            if n == 0 {
                return Ok(0);
            }
            self.skip -= n;
        }
        self.inner.read(buf)
    }
}

pub use crate::ldif::Item;

/// Reads one batch: each record becomes an [`Item`] handed to `each`, in order. Returns the
/// newlines and the records the batch holds, which give the next batch's first line and
/// record number.
///
/// Line and record numbers in the items count from the batch's first line and record (1);
/// the pipeline adds the counts of the batches before it ([`Item::rebase`]). Of `opts`, the
/// record size cap and [`InputOptions::item_dn`] apply.
pub fn read_batch(
    parser: &mut Parser,
    name: &'static str,
    batch: &Batch,
    settled: &[crate::ldif::parse::Skip],
    fallback_1252: bool,
    opts: &InputOptions,
    mut each: impl FnMut(Item),
) -> (u64, u64) {
    let (max_record, item_dn) = (opts.max_record_bytes, opts.item_dn);
    let data = &batch.data[..];
    let raw = |parser: &mut Parser, rec: &RawRecord| {
        parse_raw(
            parser,
            name,
            data,
            batch.offset,
            rec,
            fallback_1252,
            max_record,
        )
    };
    if batch.oversized {
        let rec = RawRecord {
            start: 0,
            end: data.len(),
            line: 1,
            number: 1,
            too_large: true,
            blankish_separator: false,
        };
        each(raw(parser, &rec));
        return (count_newlines(data) + batch.skipped_lines, 1);
    }
    // An item for an entry read in place (or not read at all: an empty entry, no DN).
    let entry_item = |rec: &RawRecord, dn: Option<String>, entry| Item {
        location: Location {
            file: name,
            line: rec.line,
            record: rec.number,
            dn,
            offset: batch.offset + rec.start as u64,
        },
        result: Ok(Record::Entry(entry)),
        raw: None,
        warnings: Vec::new(),
        skipped: None,
    };
    parser.read_batch_settled(
        data,
        batch.offset,
        settled,
        max_record,
        fallback_1252,
        |parser, found| match found {
            Found::Entry(rec, entry) => {
                // The fast path only reads entries whose DN is UTF-8.
                let dn = item_dn.then(|| crate::model::lossy(entry.dn()).into_owned());
                each(entry_item(&rec, dn, entry));
            }
            Found::Raw(rec) => each(raw(parser, &rec)),
            Found::Settled(rec) => each(entry_item(&rec, None, crate::model::Entry::default())),
        },
    )
}

/// Parses one raw record of `data` (whose first byte is at input offset `offset`) into an
/// [`Item`].
pub fn parse_raw(
    parser: &mut Parser,
    name: &'static str,
    data: &[u8],
    offset: u64,
    rec: &RawRecord,
    fallback_1252: bool,
    max_record: usize,
) -> Item {
    let bytes = &data[rec.start..rec.end];
    let mut warnings = Vec::new();
    let mut location = Location {
        file: name,
        line: rec.line,
        record: rec.number,
        dn: None,
        offset: offset + rec.start as u64,
    };
    if rec.too_large {
        location.dn = peek_dn(bytes);
        return Item {
            location,
            result: Err(format!(
                "the record is larger than --max-record-bytes ({max_record} bytes); is the file corrupt or missing empty lines between records?"
            )),
            raw: Some(bytes.to_vec()),
            warnings,
            skipped: None,
        };
    }
    if rec.blankish_separator {
        warnings.push(Warning {
            line: rec.line,
            message: "the record is followed by a line of spaces, read as an empty line (ldapmodify would merge the two records)".into(),
        });
    }
    let decoded;
    let mut input = bytes;
    if fallback_1252 && std::str::from_utf8(bytes).is_err() && !unfolds_to_utf8(bytes) {
        // Only when the record is not UTF-8 even after unfolding (a fold may split a UTF-8
        // sequence): decode the unfolded text as Windows-1252.
        let unfolded = unfold_bytes(bytes);
        decoded = encoding_rs::WINDOWS_1252
            .decode(&unfolded)
            .0
            .into_owned()
            .into_bytes();
        input = &decoded;
        warnings.push(Warning {
            line: rec.line,
            message:
                "the record is not valid UTF-8; decoded as Windows-1252 (use --encoding to choose)"
                    .into(),
        });
    }
    match parser.parse(input, rec.line, &mut warnings) {
        Ok(Parsed::Record(r)) => {
            location.dn = Some(record_dn_lossy(&r));
            Item {
                location,
                result: Ok(r),
                raw: None,
                warnings,
                skipped: None,
            }
        }
        Ok(Parsed::Skipped(why)) => Item {
            location,
            result: Err(String::new()),
            raw: None,
            warnings,
            skipped: Some(why),
        },
        Err(e) => {
            location.dn = e.dn.clone().or_else(|| peek_dn(bytes));
            location.line = e.line;
            Item {
                location,
                result: Err(e.message),
                raw: Some(bytes.to_vec()),
                warnings,
                skipped: None,
            }
        }
    }
}

/// The record with continuation line breaks removed (`\n ` and `\r\n `).
fn unfold_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') && bytes.get(i + 2) == Some(&b' ')
        {
            i += 3;
        } else if bytes[i] == b'\n' && bytes.get(i + 1) == Some(&b' ') {
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn unfolds_to_utf8(bytes: &[u8]) -> bool {
    std::str::from_utf8(&unfold_bytes(bytes)).is_ok()
}

fn record_dn_lossy(r: &Record) -> String {
    match r {
        Record::Entry(e) => e.dn_lossy().into_owned(),
        Record::Change(c) => String::from_utf8_lossy(&c.dn).into_owned(),
    }
}

/// The plain-text DN of a raw record, for messages about records that did not parse.
fn peek_dn(bytes: &[u8]) -> Option<String> {
    let line = bytes
        .split(|c| *c == b'\n')
        .find(|l| !l.starts_with(b"#"))?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > 3 && line[..3].eq_ignore_ascii_case(b"dn:") && line.get(3) != Some(&b':') {
        Some(String::from_utf8_lossy(&line[3..]).trim().to_string())
    } else {
        None
    }
}

/// Merges `item` into the entry `held` when it is an ldifde follow-up of it (a modify record of
/// the same DN that only adds values: ldifde writes the values of an attribute past the
/// first 1,500 so, after the entry), and says whether it did; `item` then keeps its record
/// but not its warnings, which go to `held`. The pipeline merges a follow-up into the entry
/// read just before it, in the same batch or across batches.
pub fn absorb(held: &mut Item, item: &mut Item) -> bool {
    let Ok(Record::Change(c)) = &item.result else {
        return false;
    };
    let Change::Modify(mods) = &c.change else {
        return false;
    };
    let only_adds = !mods.is_empty() && mods.iter().all(|m| m.op == ModOp::Add);
    if !only_adds || !same_dn(held, &c.dn) {
        return false;
    }
    let Ok(Record::Entry(e)) = &mut held.result else {
        return false;
    };
    let mut b = crate::model::EntryBuilder::new(e.dn());
    for a in e.attributes() {
        for v in a.values() {
            b.push(a.name(), v);
        }
    }
    for m in mods {
        for v in &m.values {
            b.push(&m.attr, v);
        }
    }
    *e = b.finish();
    held.warnings.append(&mut item.warnings);
    true
}

fn same_dn(held: &Item, dn_bytes: &[u8]) -> bool {
    let Ok(Record::Entry(e)) = &held.result else {
        return false;
    };
    e.dn() == dn_bytes || dn::key_lossy(e.dn()) == dn::key_lossy(dn_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_length_is_known_and_standard_inputs_is_not() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, b"dn: cn=a\n\n").unwrap();
        let s = Source::new(f.path().to_str().unwrap());
        assert_eq!(s.size(), Some(10));
        assert_eq!(Source::new("-").size(), None);
        assert_eq!(Source::new("/nonexistent/export.ldf").size(), None);
    }

    #[test]
    fn formats_are_detected_from_content() {
        assert_eq!(detect_format(b"\r\ndn: cn=a\r\n"), Some(Format::Ldif));
        assert_eq!(detect_format(b"# c\nversion: 1\n"), Some(Format::Ldif));
        assert_eq!(detect_format(b"DN,cn,sn\n"), Some(Format::Csv));
        assert_eq!(detect_format(b"\"dn\",objectClass\r\n"), Some(Format::Csv));
        assert_eq!(detect_format(b"hello world\n"), None);
        assert_eq!(detect_format(b"42\ndn: cn=a\n"), Some(Format::Ldif));
    }

    #[test]
    fn charset_labels() {
        assert!(
            matches!(Charset::from_label("cp1252"), Some(Charset::Forced(e)) if e == encoding_rs::WINDOWS_1252)
        );
        assert!(
            matches!(Charset::from_label("UTF-16"), Some(Charset::Forced(e)) if e == encoding_rs::UTF_16LE)
        );
        assert!(Charset::from_label("klingon").is_none());
    }
}
