//! Splits an LDIF byte stream into raw records, in batches, without parsing them.
//!
//! A record ends at an empty line (`\n\n`, `\r\n\r\n`, mixed). A line holding only spaces or
//! tabs also ends a record (OpenLDAP would merge the two records, which silently corrupts them;
//! the framer counts it so the caller can warn). The framer tracks the 1-based line number of
//! each record's first line and enforces a per-record size cap, so a corrupt file with no
//! blank lines becomes an error instead of an out-of-memory crash. Memory stays bounded by the
//! batch size plus the largest record.

use std::io::{self, Read};

/// One raw record inside a [`Batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    /// Byte range of the record in the batch's data (separator lines excluded).
    pub start: usize,
    /// End of the range (exclusive).
    pub end: usize,
    /// 1-based line number of the record's first line in the input.
    pub line: u64,
    /// 1-based number of the record in the input (counting only non-empty records).
    pub number: u64,
    /// The record exceeded the size cap; `start..end` holds only its first bytes.
    pub too_large: bool,
    /// Whitespace-only lines that ended this record.
    pub blankish_separator: bool,
}

/// A batch of consecutive raw records sharing one buffer.
#[derive(Debug, Default)]
pub struct Batch {
    /// The bytes of the records.
    pub data: Vec<u8>,
    /// The records, in input order.
    pub records: Vec<RawRecord>,
}

impl Batch {
    /// The bytes of record `i`.
    pub fn bytes(&self, rec: &RawRecord) -> &[u8] {
        &self.data[rec.start..rec.end]
    }
}

/// Splits a byte stream into raw records.
pub struct Framer<R> {
    reader: R,
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    pos: usize,
    /// Line number of the first line at `pos`.
    line: u64,
    records: u64,
    eof: bool,
    max_record: usize,
    chunk: usize,
    /// Skipping the rest of an oversized record.
    skipping: bool,
    /// Records of the batch being read (ranges of `buf`).
    pending: Vec<RawRecord>,
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
            pos: 0,
            line: 1,
            records: 0,
            eof: false,
            max_record: max_record.max(1),
            chunk: 1 << 20,
            skipping: false,
            pending: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Sets the read chunk size (tests use tiny chunks to exercise boundaries).
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Gives back the buffer of a batch that is no longer needed, to read a later batch into:
    /// fresh memory costs a page fault per 4 KiB, which is a quarter of the framing time.
    pub fn recycle(&mut self, mut data: Vec<u8>) {
        data.clear();
        if self.spare.len() < 8 {
            self.spare.push(data);
        }
    }

    /// Appends up to one chunk of input to `buf`; false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pending.is_empty() && self.pos > 0 {
            // Nothing in `buf` is needed before `pos` (blank lines, a skipped oversized record).
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        // `read_to_end` fills the spare capacity without zeroing it first.
        let got = loop {
            match (&mut self.reader)
                .take(self.chunk as u64)
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
        if got < self.chunk {
            self.eof = true;
        }
        Ok(got > 0)
    }

    /// Reads the next batch of records totalling at least `target` bytes (or up to the end).
    /// Returns `None` at the end of the input.
    ///
    /// The batch's buffer is the buffer the input was read into: records are not copied, and
    /// only the start of the record after the batch is copied into the next buffer.
    pub fn next_batch(&mut self, target: usize) -> io::Result<Option<Batch>> {
        let mut size = 0usize;
        while size < target {
            if !self.skip_blank_lines()? {
                break;
            }
            match self.scan_record()? {
                Scan::Record {
                    len,
                    lines,
                    blankish,
                } => {
                    if self.skipping {
                        // The tail of an oversized record already reported.
                        self.skipping = false;
                        self.pos += len;
                        self.line += lines;
                        continue;
                    }
                    self.records += 1;
                    let too_large = len > self.max_record;
                    let keep = if too_large { len.min(4096) } else { len };
                    self.pending.push(RawRecord {
                        start: self.pos,
                        end: self.pos + keep,
                        line: self.line,
                        number: self.records,
                        too_large,
                        blankish_separator: blankish,
                    });
                    self.pos += len;
                    self.line += lines;
                    size += len;
                }
                Scan::TooLarge { consumed, lines } => {
                    let first = !self.skipping;
                    if first {
                        // Keep the head of the record for the error message, and end the
                        // batch so that skipping the rest does not keep it in memory.
                        self.skipping = true;
                        self.records += 1;
                        self.pending.push(RawRecord {
                            start: self.pos,
                            end: self.pos + consumed.min(4096),
                            line: self.line,
                            number: self.records,
                            too_large: true,
                            blankish_separator: false,
                        });
                    }
                    self.pos += consumed;
                    self.line += lines;
                    if first {
                        break;
                    }
                }
            }
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        // Hand the buffer over; what follows the batch starts the next buffer.
        let rest = &self.buf[self.pos..];
        let mut next = self.spare.pop().unwrap_or_default();
        next.reserve(target.max(self.chunk) + 2 * self.chunk + rest.len());
        next.extend_from_slice(rest);
        let mut data = std::mem::replace(&mut self.buf, next);
        data.truncate(self.pos);
        self.pos = 0;
        Ok(Some(Batch {
            data,
            records: std::mem::take(&mut self.pending),
        }))
    }

    /// Skips empty and space-only lines; false at end of input.
    fn skip_blank_lines(&mut self) -> io::Result<bool> {
        loop {
            let data = &self.buf[self.pos..];
            let mut i = 0;
            while i < data.len() {
                let j = i + data[i..]
                    .iter()
                    .take_while(|c| matches!(c, b' ' | b'\r'))
                    .count();
                if j < data.len() && data[j] == b'\n' {
                    i = j + 1;
                    self.line += 1;
                    continue;
                }
                if j < data.len() {
                    // A line with content starts at `i`.
                    self.pos += i;
                    return Ok(true);
                }
                break;
            }
            // `data[i..]` is a partial blank-looking line: read more to decide.
            self.pos += i;
            if !self.fill()? {
                let rest = &self.buf[self.pos..];
                if rest.iter().all(|c| matches!(c, b' ' | b'\r')) {
                    self.pos = self.buf.len();
                    return Ok(false);
                }
                return Ok(true);
            }
        }
    }

    /// Finds the end of the record starting at `pos`, reading more input as needed.
    fn scan_record(&mut self) -> io::Result<Scan> {
        // `from`: offset from `pos` of the start of the first line not yet known to belong to
        // the record; `lines`: newlines before `from`.
        let mut from = 0usize;
        let mut lines = 0u64;
        loop {
            let data = &self.buf[self.pos..];
            while let Some(nl) = super::find_newline(&data[from..]) {
                let next = from + nl + 1;
                // Is the following line empty or space-only?
                let ws = data[next..]
                    .iter()
                    .take_while(|c| matches!(c, b' ' | b'\r'))
                    .count();
                let j = next + ws;
                if j == data.len() {
                    break; // undecided: need more input
                }
                lines += 1;
                from = next;
                if data[j] == b'\n' {
                    let blankish = data[next..j].iter().any(|c| *c != b'\r');
                    return Ok(Scan::Record {
                        len: next,
                        lines,
                        blankish,
                    });
                }
            }
            if data.len() > self.max_record {
                let consumed = if from > 0 { from } else { data.len() };
                let counted = if from > 0 {
                    lines
                } else {
                    bytecount_newlines(&data[..consumed])
                };
                return Ok(Scan::TooLarge {
                    consumed,
                    lines: counted,
                });
            }
            if !self.fill()? {
                let data = &self.buf[self.pos..];
                // A trailing space-only last line is a separator, not content.
                let mut len = data.len();
                let last_start = memchr::memrchr(b'\n', data).map_or(0, |i| i + 1);
                if data[last_start..].iter().all(|c| matches!(c, b' ' | b'\r')) {
                    len = last_start;
                }
                let body = &data[..len];
                let mut total = bytecount_newlines(body);
                if body.last().is_some_and(|c| *c != b'\n') {
                    total += 1;
                }
                return Ok(Scan::Record {
                    len,
                    lines: total,
                    blankish: false,
                });
            }
        }
    }
}

fn bytecount_newlines(data: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', data).count() as u64
}

enum Scan {
    Record {
        len: usize,
        lines: u64,
        blankish: bool,
    },
    TooLarge {
        consumed: usize,
        lines: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(input: &[u8], chunk: usize, max: usize) -> Vec<(String, u64, u64, bool)> {
        let mut f = Framer::new(input, max).with_chunk(chunk);
        let mut out = Vec::new();
        while let Some(b) = f.next_batch(1).unwrap() {
            for r in &b.records {
                out.push((
                    String::from_utf8_lossy(b.bytes(r)).into_owned(),
                    r.line,
                    r.number,
                    r.too_large,
                ));
            }
        }
        out
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
        let mut f = Framer::new(&input[..], 1 << 20);
        let b = f.next_batch(1 << 20).unwrap().unwrap();
        assert_eq!(b.records.len(), 2);
        assert!(b.records[0].blankish_separator);
        assert_eq!(b.records[1].line, 4);
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
            let last = r.last().unwrap();
            assert_eq!(last.0, "dn: small\nx: 1\n");
            assert!(!last.3);
            assert_eq!(last.1, 1003);
        }
    }

    #[test]
    fn empty_and_blank_inputs_have_no_records() {
        assert!(frame(b"", 4, 100).is_empty());
        assert!(frame(b"\n\r\n  \n", 4, 100).is_empty());
    }
}
