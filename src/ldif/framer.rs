//! Cuts an LDIF byte stream into batches of whole records, and splits a batch into records.
//!
//! A record ends at an empty line (`\n\n`, `\r\n\r\n`, mixed). A line holding only spaces or
//! carriage returns also ends a record (OpenLDAP would merge the two records, which silently
//! corrupts them; the splitter flags it so the caller can warn).
//!
//! Reading is split in two so that only the cheap part is sequential:
//! - [`Framer::next_batch`] (the reading thread) reads about `target` bytes and cuts them after
//!   the last empty line, looking at the lines near the cut only. It never looks at the other
//!   lines, so it neither counts lines nor records: a batch knows its byte offset in the input,
//!   and its line and record numbers are settled later, in input order.
//! - The worker that parses a batch walks its lines once, finding records as it parses them
//!   ([`crate::ldif::parse::Parser::read_batch`]); [`skip_blank`] and [`scan_record`] are the
//!   splitting rules it shares with [`Records`], which splits a batch on its own (tests,
//!   benches, records the parser's fast path leaves to the full parser).
//!
//! A per-record size cap turns a corrupt file with no blank lines into one rejected record
//! instead of an out-of-memory crash: memory stays bounded by the batch size plus the cap.

use std::io::{self, Read};

/// One raw record inside a [`Batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    /// Byte range of the record in the batch's data (separator lines excluded).
    pub start: usize,
    /// End of the range (exclusive).
    pub end: usize,
    /// 1-based line number of the record's first line, counted from the batch's first line.
    pub line: u64,
    /// 1-based number of the record, counted from the batch's first record.
    pub number: u64,
    /// The record exceeded the size cap; `start..end` holds only its first bytes.
    pub too_large: bool,
    /// Whitespace-only lines that ended this record.
    pub blankish_separator: bool,
}

impl RawRecord {
    /// The record [`scan_record`] found at `pos`, numbered `line` and `number`, cut to its
    /// first [`OVERSIZED_HEAD`] bytes and flagged when it is longer than `max_record`.
    pub fn scanned(pos: usize, scan: &Scan, line: u64, number: u64, max_record: usize) -> Self {
        let len = scan.end - pos;
        let too_large = len > max_record;
        RawRecord {
            start: pos,
            end: if too_large {
                pos + OVERSIZED_HEAD.min(len)
            } else {
                scan.end
            },
            line,
            number,
            too_large,
            blankish_separator: scan.blankish,
        }
    }
}

/// The bytes of a [`Batch`]: read into a buffer, or a window of a memory-mapped file
/// ([`crate::ldif::mapped`]).
#[derive(Debug)]
pub enum Bytes {
    /// Read into a buffer that can be read into again ([`Framer::recycle`]).
    Owned(Vec<u8>),
    /// A window of a mapped file, unmapped when dropped.
    Mapped(crate::ldif::mapped::Window),
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::Owned(Vec::new())
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(w) => w,
        }
    }
}

impl Bytes {
    /// The buffer the bytes were read into, to read into again; `None` for a mapped window.
    pub fn into_buffer(self) -> Option<Vec<u8>> {
        match self {
            Bytes::Owned(v) => Some(v),
            Bytes::Mapped(_) => None,
        }
    }
}

/// Consecutive whole records sharing one buffer, as read from the input.
#[derive(Debug, Default)]
pub struct Batch {
    /// The bytes: whole records and the empty lines around them.
    pub data: Bytes,
    /// Byte offset of `data[0]` in the input (after transcoding).
    pub offset: u64,
    /// Bytes of input the batch stands for (the next batch starts at `offset + span`).
    pub span: u64,
    /// `data` is only the first bytes of one record larger than the size cap; the rest of it
    /// was skipped.
    pub oversized: bool,
    /// Newlines in the skipped rest of an oversized record (the input lines this batch stands
    /// for that are not in `data`).
    pub skipped_lines: u64,
}

/// Bytes of an oversized record kept for its error message.
pub const OVERSIZED_HEAD: usize = 4096;

/// Reads an input in batches of whole records.
pub struct Framer<R> {
    reader: R,
    buf: Vec<u8>,
    /// Input offset of `buf[0]`.
    offset: u64,
    eof: bool,
    max_record: usize,
    chunk: usize,
    /// Buffers of finished batches given back with [`Framer::recycle`].
    spare: Vec<Vec<u8>>,
}

/// Default per-record size cap (64 MiB).
pub const DEFAULT_MAX_RECORD: usize = 64 << 20;

impl<R: Read> Framer<R> {
    /// A framer over `reader` with a per-record cap of `max_record` bytes.
    pub fn new(reader: R, max_record: usize) -> Self {
        Framer {
            reader,
            buf: Vec::new(),
            offset: 0,
            eof: false,
            max_record: max_record.max(1),
            chunk: 1 << 20,
            spare: Vec::new(),
        }
    }

    /// Sets the largest read (tests use tiny reads to exercise boundaries).
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Gives back the buffer of a batch that is no longer needed, to read a later batch into:
    /// fresh memory costs a page fault per 4 KiB.
    pub fn recycle(&mut self, data: Bytes) {
        let Some(mut data) = data.into_buffer() else {
            return;
        };
        data.clear();
        if self.spare.len() < 8 {
            self.spare.push(data);
        }
    }

    /// Appends up to `want` bytes (at most one chunk) of input to `buf`; false at the end.
    fn fill(&mut self, want: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let want = want.clamp(1, self.chunk);
        let old = self.buf.len();
        // `read_to_end` fills the spare capacity without zeroing it first.
        let got = loop {
            match (&mut self.reader)
                .take(want as u64)
                .read_to_end(&mut self.buf)
            {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        if got < want {
            self.eof = true;
        }
        Ok(got > 0)
    }

    /// Reads the next batch: about `target` bytes of whole records (more when one record is
    /// longer), or `None` at the end of the input.
    ///
    /// The batch's buffer is the buffer the input was read into: only the start of the record
    /// after the cut is copied into the next buffer.
    pub fn next_batch(&mut self, target: usize) -> io::Result<Option<Batch>> {
        let target = target.max(1);
        if self.buf.capacity() < target {
            // The first batch: reading into an empty buffer would grow it by doubling.
            self.buf
                .reserve((target + self.chunk).saturating_sub(self.buf.len()));
        }
        while self.buf.len() < target && self.fill(target - self.buf.len())? {}
        if self.buf.is_empty() {
            return Ok(None);
        }
        let cut = if self.eof && self.buf.len() <= target {
            Some(self.buf.len())
        } else {
            last_boundary(&self.buf[..target.min(self.buf.len())])
        };
        let cut = match cut {
            Some(cut) => cut,
            None => match self.boundary_after(target)? {
                Some(cut) => cut,
                None => return self.oversized().map(Some),
            },
        };
        Ok(Some(self.hand_over(cut, target)))
    }

    /// The first record boundary after the first `from` bytes (reading more input as needed),
    /// the end of the input, or `None` when the record there is longer than the size cap.
    ///
    /// Called when no empty line ends in `buf[..from]`: the record at the start of `buf` goes
    /// on past `from`.
    fn boundary_after(&mut self, from: usize) -> io::Result<Option<usize>> {
        // The line holding byte `from` may be the empty line: look from its start.
        let from = from.min(self.buf.len());
        let mut at = memchr::memrchr(b'\n', &self.buf[..from]).map_or(0, |i| i + 1);
        loop {
            if let Some((_, cut)) = first_boundary(&self.buf, at) {
                return Ok(Some(cut));
            }
            // Every complete line is part of the record; the last one may not be complete.
            at = memchr::memrchr(b'\n', &self.buf[at..]).map_or(at, |i| at + i + 1);
            if at > self.max_record {
                return Ok(None);
            }
            if !self.fill(self.chunk)? {
                return Ok(Some(self.buf.len()));
            }
        }
    }

    /// `buf` starts with a record longer than the cap (no empty line in its complete lines):
    /// keeps its first [`OVERSIZED_HEAD`] bytes, skips the rest up to the next record boundary,
    /// and returns the head as a batch.
    fn oversized(&mut self) -> io::Result<Batch> {
        let offset = self.offset;
        let mut head: Vec<u8> = Vec::new();
        let (mut span, mut newlines) = (0u64, 0u64);
        let keep = |head: &mut Vec<u8>, bytes: &[u8]| {
            let room = OVERSIZED_HEAD.saturating_sub(head.len());
            head.extend_from_slice(&bytes[..room.min(bytes.len())]);
        };
        let mut done = memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1);
        loop {
            // `buf[..done]` belongs to the record; what follows starts a line.
            keep(&mut head, &self.buf[..done]);
            newlines += count_newlines(&self.buf[..done]);
            span += done as u64;
            self.discard(done);
            if !self.fill(self.chunk)? {
                // The record ends the input (a space-only last line is not part of it).
                let last = &self.buf[..];
                let end = if is_blank(last) { 0 } else { last.len() };
                keep(&mut head, &last[..end]);
                span += last.len() as u64;
                self.discard(last.len());
                break;
            }
            if let Some((end, cut)) = first_boundary(&self.buf, 0) {
                keep(&mut head, &self.buf[..end]);
                newlines += count_newlines(&self.buf[..cut]);
                span += cut as u64;
                self.discard(cut);
                break;
            }
            done = memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1);
        }
        let skipped_lines = newlines - count_newlines(&head);
        Ok(Batch {
            data: Bytes::Owned(head),
            offset,
            span,
            oversized: true,
            skipped_lines,
        })
    }

    /// Drops the first `n` bytes of `buf`.
    fn discard(&mut self, n: usize) {
        self.buf.drain(..n);
        self.offset += n as u64;
    }

    /// Hands `buf[..cut]` over as a batch; the rest starts the next buffer.
    fn hand_over(&mut self, cut: usize, target: usize) -> Batch {
        let rest = &self.buf[cut..];
        let mut next = self.spare.pop().unwrap_or_default();
        next.reserve(rest.len().max(target) + self.chunk);
        next.extend_from_slice(rest);
        let mut data = std::mem::replace(&mut self.buf, next);
        data.truncate(cut);
        let offset = self.offset;
        self.offset += cut as u64;
        Batch {
            data: Bytes::Owned(data),
            offset,
            span: cut as u64,
            oversized: false,
            skipped_lines: 0,
        }
    }
}

/// Newlines in `bytes`.
pub fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Whether `line` (without its `\n`) is empty or holds only spaces and carriage returns.
#[inline]
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|c| matches!(c, b' ' | b'\r'))
}

/// The end (just past its `\n`) of the last empty line in `window`, if any.
pub(crate) fn last_boundary(window: &[u8]) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', window)?;
    loop {
        let start = memchr::memrchr(b'\n', &window[..end]).map_or(0, |i| i + 1);
        if is_blank(&window[start..end]) {
            return Some(end + 1);
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}

/// The start and the end (just past its `\n`) of the first empty line starting at or after
/// line start `from`, if one is complete in `buf`.
pub(crate) fn first_boundary(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut start = from;
    while let Some(i) = memchr::memchr(b'\n', &buf[start..]) {
        let end = start + i;
        if is_blank(&buf[start..end]) {
            return Some((start, end + 1));
        }
        start = end + 1;
    }
    None
}

/// Skips the empty and space-only lines at `pos`: returns the start of the next line with
/// content (or the end of `data`) and the number of newlines skipped.
pub fn skip_blank(data: &[u8], mut pos: usize) -> (usize, u64) {
    let mut lines = 0;
    loop {
        let ws = data[pos..]
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\r'))
            .count();
        let j = pos + ws;
        match data.get(j) {
            Some(b'\n') => {
                pos = j + 1;
                lines += 1;
            }
            // A space-only last line without a newline is a separator too.
            None => return (data.len(), lines),
            Some(_) => return (pos, lines),
        }
    }
}

/// The extent of the record starting at line start `pos` (a line with content).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// End of the record (the start of the line that ends it, or the end of the data).
    pub end: usize,
    /// Newlines from `pos` to `end`.
    pub lines: u64,
    /// The line that ends the record holds spaces (not only an empty line).
    pub blankish: bool,
}

/// Finds the end of the record starting at `pos`: the first empty or space-only line after
/// it, or the end of `data` (a trailing space-only line is not part of the record).
pub fn scan_record(data: &[u8], pos: usize) -> Scan {
    let mut lines = 0;
    let mut from = pos;
    while let Some(nl) = super::find_newline(&data[from..]) {
        let next = from + nl + 1;
        lines += 1;
        let ws = data[next..]
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\r'))
            .count();
        let j = next + ws;
        if j == data.len() {
            // A space-only last line (or nothing) follows.
            return Scan {
                end: next,
                lines,
                blankish: false,
            };
        }
        if data[j] == b'\n' {
            return Scan {
                end: next,
                lines,
                blankish: data[next..j].iter().any(|c| *c != b'\r'),
            };
        }
        from = next;
    }
    Scan {
        end: data.len(),
        lines,
        blankish: false,
    }
}

/// Splits a batch's bytes into records (without parsing them).
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    /// 1-based line number at `pos`.
    line: u64,
    number: u64,
    max_record: usize,
}

impl<'a> Records<'a> {
    /// The records of `data`, flagging those longer than `max_record` bytes.
    pub fn new(data: &'a [u8], max_record: usize) -> Self {
        Records {
            data,
            pos: 0,
            line: 1,
            number: 0,
            max_record,
        }
    }

    /// Newlines passed so far (all of them once the iterator is exhausted).
    pub fn lines(&self) -> u64 {
        self.line - 1
    }
}

impl Iterator for Records<'_> {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        let (pos, skipped) = skip_blank(self.data, self.pos);
        self.line += skipped;
        self.pos = pos;
        if pos == self.data.len() {
            return None;
        }
        let scan = scan_record(self.data, pos);
        self.number += 1;
        let rec = RawRecord::scanned(pos, &scan, self.line, self.number, self.max_record);
        self.pos = scan.end;
        self.line += scan.lines;
        Some(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `input` as (text, absolute line, absolute number, too large), read
    /// through batches of `target` bytes and reads of `chunk` bytes, with numbers settled in
    /// order the way the pipeline does.
    fn frame(input: &[u8], chunk: usize, max: usize) -> Vec<(String, u64, u64, bool)> {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut out: Option<Vec<(String, u64, u64, bool)>> = None;
        for target in [1, 7, 64, 1 << 20] {
            let mut f = Framer::new(input, max).with_chunk(chunk);
            let mut got = Vec::new();
            let (mut lines, mut records, mut offset) = (0u64, 0u64, 0u64);
            while let Some(b) = f.next_batch(target).unwrap() {
                assert_eq!(b.offset, offset, "target {target} chunk {chunk}");
                if b.oversized {
                    records += 1;
                    got.push((lossy(&b.data), lines + 1, records, true));
                    lines += count_newlines(&b.data) + b.skipped_lines;
                    offset += b.span;
                    continue;
                }
                assert_eq!(b.span, b.data.len() as u64);
                let mut recs = Records::new(&b.data, max);
                let mut n = 0;
                for r in recs.by_ref() {
                    got.push((
                        lossy(&b.data[r.start..r.end]),
                        r.line + lines,
                        r.number + records,
                        r.too_large,
                    ));
                    n = r.number;
                }
                records += n;
                assert_eq!(recs.lines(), count_newlines(&b.data));
                lines += recs.lines();
                offset += b.data.len() as u64;
            }
            assert_eq!(offset, input.len() as u64, "target {target} chunk {chunk}");
            assert_eq!(
                lines,
                count_newlines(input),
                "target {target} chunk {chunk}"
            );
            match &out {
                None => out = Some(got),
                Some(o) => assert_eq!(o, &got, "target {target} chunk {chunk}"),
            }
        }
        out.unwrap_or_default()
    }

    #[test]
    fn records_split_on_blank_lines_with_line_numbers() {
        let input = b"\n\ndn: a\nx: 1\n\n\ndn: b\r\ny: 2\r\n\r\ndn: c\n";
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            let r = frame(input, chunk, 1 << 20);
            assert_eq!(r.len(), 3, "chunk {chunk}");
            assert_eq!(r[0].0, "dn: a\nx: 1\n");
            assert_eq!(r[0].1, 3);
            assert_eq!(r[1].0, "dn: b\r\ny: 2\r\n");
            assert_eq!(r[1].1, 7);
            assert_eq!(r[2].0, "dn: c\n");
            assert_eq!(r[2].1, 10);
            assert_eq!(r[2].2, 3);
        }
    }

    #[test]
    fn whitespace_only_lines_separate_records() {
        let input = b"dn: a\nx: 1\n \ndn: b\n";
        let recs: Vec<_> = Records::new(input, 1 << 20).collect();
        assert_eq!(recs.len(), 2);
        assert!(recs[0].blankish_separator);
        assert_eq!(recs[1].line, 4);
        for chunk in [1, 3, 64] {
            let r = frame(input, chunk, 1 << 20);
            assert_eq!(r[1].1, 4);
        }
    }

    #[test]
    fn continuation_lines_do_not_split() {
        let input = b"dn: a\n b\nx: 1\n\ndn: c";
        let r = frame(input, 2, 1 << 20);
        assert_eq!(r[0].0, "dn: a\n b\nx: 1\n");
        assert_eq!(r[1].0, "dn: c");
        assert_eq!(r[1].1, 5);
    }

    #[test]
    fn oversized_records_become_one_flagged_record() {
        let mut input = b"dn: big\n".to_vec();
        for _ in 0..1000 {
            input.extend_from_slice(b"description: xxxxxxxxxxxxxxxxxxxxxxxx\n");
        }
        input.extend_from_slice(b"\ndn: small\nx: 1\n");
        for chunk in [16, 4096, 1 << 20] {
            let r = frame(&input, chunk, 1000);
            let big: Vec<_> = r.iter().filter(|x| x.3).collect();
            assert_eq!(big.len(), 1, "chunk {chunk}");
            assert!(big[0].0.starts_with("dn: big\n"));
            let last = r.last().unwrap();
            assert_eq!(last.0, "dn: small\nx: 1\n");
            assert!(!last.3);
            assert_eq!(last.1, 1003);
            assert_eq!(last.2, 2);
        }
    }

    #[test]
    fn an_oversized_last_record_ends_the_input() {
        let mut input = b"dn: a\nx: 1\n\ndn: big\n".to_vec();
        for _ in 0..200 {
            input.extend_from_slice(b"description: xxxxxxxxxxxxxxxxxxxxxxxx\n");
        }
        for chunk in [16, 1 << 20] {
            let r = frame(&input, chunk, 1000);
            assert_eq!(r.len(), 2, "chunk {chunk}");
            assert!(r[1].3);
            assert_eq!(r[1].1, 4);
        }
    }

    #[test]
    fn empty_and_blank_inputs_have_no_records() {
        assert!(frame(b"", 4, 100).is_empty());
        assert!(frame(b"\n\r\n  \n", 4, 100).is_empty());
        assert!(frame(b"\n\r\n  ", 4, 100).is_empty());
    }

    #[test]
    fn a_record_without_a_final_newline_is_whole() {
        let r = frame(b"dn: a\nx: 1\n\ndn: b\ny: 2  ", 3, 100);
        assert_eq!(r[1].0, "dn: b\ny: 2  ");
        let r = frame(b"dn: a\nx: 1\n  ", 3, 100);
        assert_eq!(r[0].0, "dn: a\nx: 1\n");
    }
}
