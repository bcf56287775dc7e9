//! Writes change records that `ldifde -i` and `ldapmodify` both accept.
//!
//! The rules (ldif-interop.md 8.1): change records only, each with an explicit `changetype:`;
//! pure 7-bit ASCII (base64 for non-ASCII, control characters, a leading space, `:` or `<`, a
//! trailing space, and every binary attribute); `-` after every mod-spec; no trailing
//! whitespace; no whitespace-only lines; no BOM; folding at 76 columns by default, never inside
//! a UTF-8 sequence and never leaving a space at the end of a physical line; one empty line
//! after every record. Structural lines (`changetype:`, mod-specs, `-`) are never folded.

use base64::Engine;

use crate::model::schema::attr_info;
use crate::model::{Change, ChangeRecord, Control, Entry, ModOp, ModRef};

/// Line endings of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    /// `\r\n` (Windows, ldifde).
    Crlf,
    /// `\n` (ldapmodify).
    Lf,
}

impl LineEnding {
    /// The bytes that end a line.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Crlf => b"\r\n",
            LineEnding::Lf => b"\n",
        }
    }
}

/// The two importers ldifstamp writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Microsoft `ldifde -i`: CRLF line endings (the default).
    #[default]
    Ldifde,
    /// OpenLDAP `ldapmodify`: LF line endings.
    Ldapmodify,
}

/// Writer settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Line endings.
    pub line_ending: LineEnding,
    /// Fold lines longer than this many bytes; 0 disables folding.
    pub wrap: usize,
    /// Start the output with `version: 1`.
    pub version_line: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions::for_dialect(Dialect::Ldifde)
    }
}

impl WriteOptions {
    /// The defaults for `dialect` (76-column folding, no version line).
    pub fn for_dialect(dialect: Dialect) -> Self {
        WriteOptions {
            line_ending: match dialect {
                Dialect::Ldifde => LineEnding::Crlf,
                Dialect::Ldapmodify => LineEnding::Lf,
            },
            wrap: 76,
            version_line: false,
        }
    }
}

/// Whether `value` of attribute `attr` must be written base64 (`attr:: ...`).
pub fn needs_base64(attr: &[u8], value: &[u8]) -> bool {
    attr_info(attr).is_binary() || text_needs_base64(value)
}

/// Whether a text value (or DN) must be written base64.
#[inline]
pub fn text_needs_base64(value: &[u8]) -> bool {
    match (value.first(), value.last()) {
        (None, _) => false,
        (Some(b' ' | b':' | b'<'), _) | (_, Some(b' ')) => true,
        _ => !is_printable(value),
    }
}

/// Whether every byte of `value` is printable ASCII (`0x20..=0x7e`), a word at a time. Most
/// values are short: one of 4 to 7 bytes is read as two overlapping 4-byte halves, a longer
/// one eight bytes a step with a last word that overlaps the steps, so only values of under
/// 4 bytes are read byte by byte. (The compiler-vectorised byte fold used before spent most
/// of its instructions on the set-up and tail of such short values.)
fn is_printable(value: &[u8]) -> bool {
    let word = |w: &[u8; 8]| unprintable(u64::from_le_bytes(*w));
    let half = |w: &[u8; 4]| u64::from(u32::from_le_bytes(*w));
    let bad = if let Some(last) = value.last_chunk::<8>() {
        let mut chunks = value.chunks_exact(8);
        let mut bad = word(last);
        for c in &mut chunks {
            if let Ok(c) = c.try_into() {
                bad |= word(c);
            }
        }
        bad
    } else if let (Some(first), Some(last)) = (value.first_chunk::<4>(), value.last_chunk::<4>()) {
        unprintable(half(first) | half(last) << 32)
    } else {
        return value.iter().all(|c| (0x20..0x7f).contains(c));
    };
    bad == 0
}

/// The high bit of a lane is set for some lane of `x` whose byte is below 0x20 or above 0x7e
/// whenever there is one (a borrow or carry may mark the next lane as well), else zero.
#[inline]
fn unprintable(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = x.wrapping_sub(ONES * 0x20) & !x;
    let above = x.wrapping_add(ONES) | x;
    (below | above) & HIGH
}

/// Writes LDIF change records into byte buffers.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    opts: WriteOptions,
}

impl Writer {
    /// A writer with `opts`.
    pub fn new(opts: WriteOptions) -> Self {
        Writer { opts }
    }

    /// The settings.
    pub fn options(&self) -> &WriteOptions {
        &self.opts
    }

    /// The file header (`version: 1` and an empty line when asked for, else nothing).
    pub fn header(&self, out: &mut Vec<u8>) {
        if self.opts.version_line {
            out.extend_from_slice(b"version: 1");
            self.eol(out);
            self.eol(out);
        }
    }

    #[inline]
    fn eol(&self, out: &mut Vec<u8>) {
        // Each arm copies a constant: no call to `memcpy` for one or two bytes.
        match self.opts.line_ending {
            LineEnding::Crlf => out.extend_from_slice(b"\r\n"),
            LineEnding::Lf => out.push(b'\n'),
        }
    }

    /// Writes a structural line verbatim (never folded): `head` then `tail`, with room for
    /// both made once (a modify record has two such lines per attribute).
    #[inline]
    fn line2(&self, out: &mut Vec<u8>, head: &[u8], tail: &[u8]) {
        out.reserve(head.len() + tail.len() + 2);
        out.extend_from_slice(head);
        out.extend_from_slice(tail);
        self.eol(out);
    }

    /// Writes a line of `text` alone.
    #[inline]
    fn line(&self, out: &mut Vec<u8>, text: &[u8]) {
        self.line2(out, text, b"");
    }

    /// Writes `name: value` or `name:: base64`, folded.
    fn attr_value(&mut self, out: &mut Vec<u8>, name: &[u8], value: &[u8], binary: bool) {
        let plain = !value.is_empty() && !binary && !text_needs_base64(value);
        let w = self.opts.wrap;
        if plain && (w == 0 || name.len() + 2 + value.len() <= w) {
            // The common line: written straight into `out`, its room reserved once.
            out.reserve(name.len() + value.len() + 4);
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            self.eol(out);
            return;
        }
        if plain && self.plain_folded(out, name, value) {
            return;
        }
        // Any other line is written whole and folded where it stands: no scratch buffer.
        let start = out.len();
        out.extend_from_slice(name);
        if value.is_empty() {
            out.push(b':');
        } else if !plain {
            out.extend_from_slice(b":: ");
            b64_into(value, out);
        } else {
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
        }
        self.fold_tail(out, start);
    }

    /// The usual long line, a plain (ASCII, unencoded) value folded where [`Writer::fold_tail`]
    /// would fold it when no fold follows a space: every `w` bytes on the first physical line
    /// and every `w - 1` after it. Written piece by piece straight into `out`, with no second
    /// pass to find the fold points and no move to make room for the breaks. `false` (nothing
    /// written) when a fold would follow a space or the name fills the first line.
    fn plain_folded(&self, out: &mut Vec<u8>, name: &[u8], value: &[u8]) -> bool {
        let w = self.opts.wrap;
        let head = name.len() + 2;
        if w < 2 || head >= w {
            return false;
        }
        // The value's bytes on the first physical line, then on each continuation line.
        let first = w - head;
        let rest = w - 1;
        let mut at = first;
        while at < value.len() {
            if value[at - 1] == b' ' {
                return false;
            }
            at += rest;
        }
        let breaks = value.len().saturating_sub(first).div_ceil(rest);
        let eol = self.opts.line_ending.bytes();
        out.reserve(head + value.len() + (breaks + 1) * (eol.len() + 1));
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        let (line, mut more) = value.split_at(first.min(value.len()));
        out.extend_from_slice(line);
        while !more.is_empty() {
            let (line, after) = more.split_at(rest.min(more.len()));
            out.extend_from_slice(eol);
            out.push(b' ');
            out.extend_from_slice(line);
            more = after;
        }
        self.eol(out);
        true
    }

    /// Writes a logical line folded at the configured width.
    fn folded(&self, out: &mut Vec<u8>, line: &[u8]) {
        let start = out.len();
        out.extend_from_slice(line);
        self.fold_tail(out, start);
    }

    /// Folds the logical line `out[start..]` at the configured width, in place, and ends it.
    ///
    /// The fold points are found twice: once to count them, which says how far the line must
    /// move right to make room for the continuation breaks, and once while copying each
    /// physical line back to its place. The copy never overtakes what is still to be read.
    fn fold_tail(&self, out: &mut Vec<u8>, start: usize) {
        let w = self.opts.wrap;
        let len = out.len() - start;
        if w == 0 || len <= w {
            self.eol(out);
            return;
        }
        let eol = self.opts.line_ending.bytes();
        let breaks = fold_points(&out[start..], w).count() - 1;
        let room = breaks * (eol.len() + 1);
        out.resize(start + len + room, 0);
        out.copy_within(start..start + len, start + room);
        let mut at = start;
        let mut from = 0;
        while from < len {
            let end = fold_point_at(&out[start + room..], w, from);
            if from > 0 {
                out[at..at + eol.len()].copy_from_slice(eol);
                out[at + eol.len()] = b' ';
                at += eol.len() + 1;
            }
            out.copy_within(start + room + from..start + room + end, at);
            at += end - from;
            from = end;
        }
        debug_assert_eq!(at, out.len());
        self.eol(out);
    }

    /// Writes a `# text` comment (folded; continuation lines stay part of the comment).
    pub fn comment(&mut self, out: &mut Vec<u8>, text: &str) {
        for l in text.lines() {
            let mut line = b"# ".to_vec();
            line.extend(l.bytes().map(|c| if c == b'\r' { b' ' } else { c }));
            while line.last() == Some(&b' ') {
                line.pop();
            }
            self.folded(out, &line);
        }
    }

    /// Writes `dn: ...` / `dn:: ...`.
    fn dn_line(&mut self, out: &mut Vec<u8>, key: &[u8], dn: &[u8]) {
        self.attr_value(out, key, dn, false);
    }

    /// Writes one change record followed by an empty line.
    pub fn record(&mut self, out: &mut Vec<u8>, rec: &ChangeRecord) {
        self.dn_line(out, b"dn", &rec.dn);
        for c in &rec.controls {
            self.control(out, c);
        }
        self.line2(out, b"changetype: ", rec.changetype().as_bytes());
        match &rec.change {
            Change::Add(entry) => self.attributes(out, entry),
            Change::Delete => {}
            Change::Modify(mods) => {
                for m in mods {
                    let binary = attr_info(&m.attr).is_binary();
                    self.mod_spec(
                        out,
                        m.op,
                        &m.attr,
                        binary,
                        m.values.iter().map(Vec::as_slice),
                    );
                }
            }
            Change::ModDn {
                new_rdn,
                delete_old_rdn,
                new_superior,
            } => {
                self.dn_line(out, b"newrdn", new_rdn);
                self.line2(
                    out,
                    b"deleteoldrdn: ",
                    if *delete_old_rdn { b"1" } else { b"0" },
                );
                if let Some(s) = new_superior {
                    self.dn_line(out, b"newsuperior", s);
                }
            }
        }
        self.eol(out);
    }

    /// Writes a modify record of `mods` for `dn`, as [`Writer::record`] writes a
    /// [`ChangeRecord`] of the same mod-specs (without controls).
    pub fn modify<'m, 'a: 'm>(
        &mut self,
        out: &mut Vec<u8>,
        dn: &[u8],
        mods: impl IntoIterator<Item = &'m ModRef<'a>>,
    ) {
        self.dn_line(out, b"dn", dn);
        self.line(out, b"changetype: modify");
        for m in mods {
            self.mod_spec(out, m.op, m.attr, m.binary, m.values.iter().copied());
        }
        self.eol(out);
    }

    /// Writes one mod-spec: `op: attr`, its values, `-`.
    fn mod_spec<'v>(
        &mut self,
        out: &mut Vec<u8>,
        op: ModOp,
        attr: &[u8],
        binary: bool,
        values: impl Iterator<Item = &'v [u8]>,
    ) {
        self.line2(out, op.keyword_colon().as_bytes(), attr);
        for v in values {
            self.attr_value(out, attr, v, binary);
        }
        self.line(out, b"-");
    }

    /// Writes `entry` as a `changetype: add` record.
    pub fn add_record(&mut self, out: &mut Vec<u8>, entry: &Entry) {
        self.dn_line(out, b"dn", entry.dn());
        self.line(out, b"changetype: add");
        self.attributes(out, entry);
        self.eol(out);
    }

    fn attributes(&mut self, out: &mut Vec<u8>, entry: &Entry) {
        for a in entry.attributes() {
            let binary = a.is_binary();
            for v in a.values() {
                self.attr_value(out, a.name(), v, binary);
            }
        }
    }

    fn control(&mut self, out: &mut Vec<u8>, c: &Control) {
        let mut line = format!("control: {}", c.oid).into_bytes();
        if c.critical {
            line.extend_from_slice(b" true");
        }
        match &c.value {
            None => {}
            Some(v) if text_needs_base64(v) => {
                line.extend_from_slice(b":: ");
                b64_into(v, &mut line);
            }
            Some(v) => {
                line.extend_from_slice(b": ");
                line.extend_from_slice(v);
            }
        }
        self.folded(out, &line);
    }
}

/// Appends the base64 of `value` to `out`.
pub fn b64_into(value: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let len = base64::encoded_len(value.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(value, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
}

/// Where the physical lines of the logical line `line` end, folded at width `w` (`w > 0`).
fn fold_points(line: &[u8], w: usize) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        (from < line.len()).then(|| {
            from = fold_point_at(line, w, from);
            from
        })
    })
}

/// The end of the physical line of `line` that starts at `from` (the first when `from` is 0).
fn fold_point_at(line: &[u8], w: usize, from: usize) -> usize {
    let room = if from == 0 { w } else { w - 1 };
    let end = (from + room).min(line.len());
    if end < line.len() {
        fold_point(line, from, end)
    } else {
        end
    }
}

/// Chooses where to end a physical line that would end at `end`: not inside a UTF-8
/// sequence, and not right after a space (which would be trailing whitespace).
fn fold_point(line: &[u8], pos: usize, end: usize) -> usize {
    let bad = |e: usize| (line[e] & 0xC0) == 0x80 || line[e - 1] == b' ';
    let mut e = end;
    while e > pos + 1 && bad(e) {
        e -= 1;
    }
    if e > pos + 1 || !bad(e) {
        return e;
    }
    // A run of spaces or one long character sequence: move forward instead.
    let mut e = end;
    while e < line.len() && bad(e) {
        e += 1;
    }
    e
}

/// The keyword of a modification (re-exported for callers building records).
pub fn mod_keyword(op: ModOp) -> &'static str {
    op.keyword()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryBuilder, Modification};

    fn lf() -> Writer {
        Writer::new(WriteOptions::for_dialect(Dialect::Ldapmodify))
    }

    #[test]
    fn reference_modify_record_is_written_exactly() {
        let rec = ChangeRecord::modify(
            "CN=Jürgen Müller,OU=Users,DC=X".as_bytes(),
            vec![
                Modification::new(ModOp::Replace, "mailNickname", vec![b"jmueller".to_vec()]),
                Modification::new(
                    ModOp::Replace,
                    "msExchMailboxGuid",
                    vec![crate::model::binary::guid_text_to_bytes(
                        "1b6f2a3c-4d5e-4f60-8a9b-0c1d2e3f4a5b",
                    )
                    .unwrap()
                    .to_vec()],
                ),
                Modification::new(ModOp::Replace, "extensionAttribute1", vec![]),
                Modification::new(
                    ModOp::Replace,
                    "description",
                    vec![b"ends with space ".to_vec()],
                ),
            ],
        );
        let mut out = Vec::new();
        Writer::default().record(&mut out, &rec);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "dn:: Q049SsO8cmdlbiBNw7xsbGVyLE9VPVVzZXJzLERDPVg=\r\nchangetype: modify\r\n\
             replace: mailNickname\r\nmailNickname: jmueller\r\n-\r\n\
             replace: msExchMailboxGuid\r\nmsExchMailboxGuid:: PCpvG15NYE+KmwwdLj9KWw==\r\n-\r\n\
             replace: extensionAttribute1\r\n-\r\n\
             replace: description\r\ndescription:: ZW5kcyB3aXRoIHNwYWNlIA==\r\n-\r\n\r\n"
        );
    }

    proptest::proptest! {
        /// The straight path for plain long lines writes exactly what writing the line whole
        /// and folding it where it stands writes, or leaves the line to that path.
        #[test]
        fn plain_lines_fold_as_fold_tail_does(
            name in "[a-zA-Z][a-zA-Z0-9-]{0,90}",
            value in "[!-~][ -~]{0,400}[!-~]",
            wrap in 2usize..100,
            crlf in proptest::bool::ANY,
        ) {
            let mut opts = WriteOptions::for_dialect(if crlf { Dialect::Ldifde } else { Dialect::Ldapmodify });
            opts.wrap = wrap;
            let w = Writer::new(opts);
            let (name, value) = (name.as_bytes(), value.as_bytes());
            let mut whole = b"x".to_vec();
            whole.extend_from_slice(name);
            whole.extend_from_slice(b": ");
            whole.extend_from_slice(value);
            w.fold_tail(&mut whole, 1);
            let mut straight = b"x".to_vec();
            if w.plain_folded(&mut straight, name, value) {
                proptest::prop_assert_eq!(
                    String::from_utf8_lossy(&straight),
                    String::from_utf8_lossy(&whole)
                );
            } else {
                proptest::prop_assert_eq!(straight, b"x".to_vec());
            }
        }
    }

    #[test]
    fn folding_keeps_width_and_never_ends_a_line_with_a_space() {
        let mut b = EntryBuilder::new(b"cn=a");
        let value = "word ".repeat(40);
        b.push(b"description", value.trim_end().as_bytes());
        let mut out = Vec::new();
        lf().add_record(&mut out, &b.finish());
        for line in out.split(|c| *c == b'\n') {
            assert!(line.len() <= 76, "{}", String::from_utf8_lossy(line));
            assert!(line.last() != Some(&b' '), "trailing space");
        }
    }

    #[test]
    fn values_that_need_base64() {
        for v in [
            &b" a"[..],
            b":a",
            b"<a",
            b"a ",
            b"a\nb",
            b"a\rb",
            b"a\0b",
            b"\x7f",
            "é".as_bytes(),
        ] {
            assert!(text_needs_base64(v), "{v:?}");
        }
        for v in [&b"a"[..], b"a:b", b"a<b", b"#x", b""] {
            assert!(!text_needs_base64(v), "{v:?}");
        }
        assert!(needs_base64(b"objectGUID", b"abc"));
    }

    #[test]
    fn empty_value_has_no_trailing_space() {
        let mut b = EntryBuilder::new(b"cn=a");
        b.push(b"description", b"");
        let mut out = Vec::new();
        lf().add_record(&mut out, &b.finish());
        assert_eq!(out, b"dn: cn=a\nchangetype: add\ndescription:\n\n");
    }

    /// The folding as first written: each physical line copied out of a separate buffer.
    fn folded_by_copy(line: &[u8], w: usize, eol: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if w == 0 || line.len() <= w {
            out.extend_from_slice(line);
            out.extend_from_slice(eol);
            return out;
        }
        let (mut pos, mut first) = (0, true);
        while pos < line.len() {
            let room = if first { w } else { w - 1 };
            let mut end = (pos + room).min(line.len());
            if end < line.len() {
                end = fold_point(line, pos, end);
            }
            if !first {
                out.push(b' ');
            }
            out.extend_from_slice(&line[pos..end]);
            out.extend_from_slice(eol);
            pos = end;
            first = false;
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn printable_check_reads_every_byte(
            value in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b' ', b'~', 0x1f, 0x7f, 0x80, 0xff, 0, b'\n']),
                0..40,
            ),
        ) {
            let want = value.iter().all(|c| (0x20..=0x7e).contains(c));
            proptest::prop_assert_eq!(is_printable(&value), want);
        }
    }

    proptest::proptest! {
        #[test]
        fn folding_in_place_matches_folding_by_copy(
            line in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b' ', b':', 0xC3, 0xA9, 0xE2, 0x82, 0xAC]),
                0..400,
            ),
            w in 0usize..90,
            crlf: bool,
            before in proptest::collection::vec(proptest::num::u8::ANY, 0..20),
        ) {
            let w = if w == 1 { 2 } else { w };
            let opts = WriteOptions {
                line_ending: if crlf { LineEnding::Crlf } else { LineEnding::Lf },
                wrap: w,
                version_line: false,
            };
            let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut out = before.clone();
            Writer::new(opts).folded(&mut out, &line);
            let mut want = before;
            want.extend_from_slice(&folded_by_copy(&line, w, eol));
            proptest::prop_assert_eq!(out, want);
        }
    }

    #[test]
    fn wrap_zero_disables_folding() {
        let mut w = Writer::new(WriteOptions {
            wrap: 0,
            ..WriteOptions::for_dialect(Dialect::Ldapmodify)
        });
        let long = "x".repeat(500);
        let rec = ChangeRecord::delete(format!("cn={long}").into_bytes());
        let mut out = Vec::new();
        w.record(&mut out, &rec);
        assert_eq!(out.iter().filter(|c| **c == b'\n').count(), 3);
    }
}
