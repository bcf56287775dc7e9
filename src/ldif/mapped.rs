//! Batches of whole records cut from a memory-mapped file, one window per batch.
//!
//! [`framer::Framer`] reads its input with `read(2)`, which copies every byte from the page
//! cache into a buffer. For a regular file whose bytes need no decoding, [`MappedFramer`]
//! maps each batch's window of the file instead, so the parser reads the page cache itself;
//! the window is unmapped when the batch is dropped. Only the windows of the batches in flight
//! are mapped at a time, never the whole file, so the resident set does not grow with the
//! input. A window is populated when mapped (its page tables set up in one call), except for
//! a reader that skips most records ([`MappedFramer::sparse`]: `plan`'s second pass), which
//! faults in only the pages it reads. Batches are cut exactly where [`framer::Framer`] cuts
//! them; a record longer than the batch size (no record boundary in a whole window) is read by
//! a [`framer::Framer`], which knows the size cap.
//!
//! A mapped file that another process truncates while it is read makes the kernel stop this
//! process (`SIGBUS`) rather than return an error: `--no-mmap` reads with `read(2)` instead.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::framer::{self, Batch, Bytes};

/// The mapped bytes of one batch.
pub struct Window {
    map: memmap2::Mmap,
    /// Bytes of `map` that belong to the batch.
    len: usize,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Window").field("len", &self.len).finish()
    }
}

impl std::ops::Deref for Window {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

/// Reads a regular file in batches of whole records by mapping a window per batch.
pub struct MappedFramer {
    file: File,
    /// File offset of input byte 0 (3 after a UTF-8 byte-order mark).
    base: u64,
    /// File length when opened.
    len: u64,
    /// Input offset of the next batch.
    pos: u64,
    max_record: usize,
    /// Whether windows are populated when mapped (see [`MappedFramer::sparse`]).
    populate: bool,
}

impl MappedFramer {
    /// A framer over `file` from byte `base` (its length read now), with a per-record cap of
    /// `max_record` bytes.
    pub fn new(file: File, base: u64, max_record: usize) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(MappedFramer {
            file,
            base,
            len,
            pos: 0,
            max_record: max_record.max(1),
            populate: true,
        })
    }

    /// Maps windows without populating them: for a reader that skips most records
    /// (`plan`'s second pass), whose pages are then faulted in only where it reads.
    pub fn sparse(mut self) -> Self {
        self.populate = false;
        self
    }

    /// Bytes of input not framed yet.
    pub fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.base.saturating_add(self.pos))
    }

    /// The next batch: about `target` bytes of whole records (more when one record is
    /// longer), or `None` at the end of the file; cut as [`framer::Framer::next_batch`] cuts.
    pub fn next_batch(&mut self, target: usize) -> io::Result<Option<Batch>> {
        let target = target.max(1);
        let start = self.base.saturating_add(self.pos);
        let remaining = self.remaining();
        if remaining == 0 {
            return Ok(None);
        }
        let want = remaining.min(target as u64);
        let want = usize::try_from(want).map_err(io::Error::other)?;
        // SAFETY: the mapping is read-only and owned by this batch alone. The file is not
        // modified by this program while it is read; a file that another process truncates
        // meanwhile makes the kernel send SIGBUS (see the module's documentation).
        let map = unsafe {
            let mut options = memmap2::MmapOptions::new();
            options.offset(start).len(want);
            if self.populate {
                options.populate();
            }
            options.map(&self.file)?
        };
        // As the reading framer: the rest of the input when it is shorter than a batch.
        let cut = if remaining < target as u64 {
            Some(want)
        } else {
            framer::last_boundary(&map)
        };
        let Some(cut) = cut else {
            // A record longer than a whole batch: the reading framer cuts it (or cuts it short
            // past the size cap).
            drop(map);
            return self.read_one(target);
        };
        let offset = self.pos;
        self.pos += cut as u64;
        Ok(Some(Batch {
            data: Bytes::Mapped(Window { map, len: cut }),
            offset,
            span: cut as u64,
            oversized: false,
            skipped_lines: 0,
        }))
    }

    /// One batch read by a [`framer::Framer`] from the current position.
    fn read_one(&mut self, target: usize) -> io::Result<Option<Batch>> {
        let start = self.base.saturating_add(self.pos);
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        let rest = file.take(self.len.saturating_sub(start));
        let mut reader = framer::Framer::new(rest, self.max_record);
        let Some(mut batch) = reader.next_batch(target)? else {
            return Ok(None);
        };
        batch.offset += self.pos;
        self.pos = batch.offset + batch.span;
        Ok(Some(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A record as a framer hands it on: input offset, the bytes kept, whether it is
    /// rejected for its size.
    type Seen = (u64, Vec<u8>, bool);

    /// The records of both framers over `text` (mapped, then read), and the input lines each
    /// accounted for; the mapped framer's are the same whether its windows are populated or
    /// not (checked here).
    fn both(text: &[u8], base: usize, target: usize, max: usize) -> [(Vec<Seen>, u64); 2] {
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(text).expect("write");
        let mut sparse = MappedFramer::new(f.try_clone().expect("clone"), base as u64, max)
            .expect("map")
            .sparse();
        let mut mapped = MappedFramer::new(f, base as u64, max).expect("map");
        let mut read = framer::Framer::new(&text[base..], max);
        let mut out = [(Vec::new(), 0), (Vec::new(), 0)];
        let mut sparse_out = (Vec::new(), 0);
        let seen = |b: Batch, (records, lines): &mut (Vec<Seen>, u64)| {
            *lines += framer::count_newlines(&b.data) + b.skipped_lines;
            if b.oversized {
                records.push((b.offset, b.data.to_vec(), true));
                return;
            }
            for r in framer::Records::new(&b.data, max) {
                let kept = b.data[r.start..r.end].to_vec();
                records.push((b.offset + r.start as u64, kept, r.too_large));
            }
        };
        while let Some(b) = mapped.next_batch(target).expect("mapped batch") {
            seen(b, &mut out[0]);
        }
        while let Some(b) = read.next_batch(target).expect("read batch") {
            seen(b, &mut out[1]);
        }
        while let Some(b) = sparse.next_batch(target).expect("sparse batch") {
            seen(b, &mut sparse_out);
        }
        assert_eq!(sparse_out, out[0], "populated or not, the same batches");
        out
    }

    #[test]
    fn empty_and_bom_only_files_have_no_batch() {
        let [m, r] = both(b"", 0, 16, 1 << 20);
        assert!(m.0.is_empty() && r.0.is_empty());
        let [m, _] = both(b"\xef\xbb\xbf", 3, 16, 1 << 20);
        assert!(m.0.is_empty());
    }

    #[test]
    fn long_records_go_through_the_reading_framer() {
        let long = format!("dn: cn=a\ndescription: {}\n\ndn: cn=b\n\n", "x".repeat(100));
        let [m, r] = both(long.as_bytes(), 0, 16, 1 << 20);
        assert_eq!(m, r);
        let [m, r] = both(long.as_bytes(), 0, 16, 40);
        assert_eq!(m, r);
        assert!(
            m.0.iter().any(|r| r.2),
            "the record past the cap is rejected"
        );
    }

    proptest::proptest! {
        #[test]
        fn batches_are_the_reading_framers(
            lines in proptest::collection::vec(
                proptest::sample::select(vec!["dn: cn=x", "a: b", " c", "", "\r", " ", "dn: cn=yy\r", "long: 0123456789abcdef"]),
                0..60),
            target in 1usize..80,
            max in 8usize..200,
            bom in proptest::bool::ANY,
        ) {
            let mut text = if bom { b"\xef\xbb\xbf".to_vec() } else { Vec::new() };
            for l in &lines {
                text.extend_from_slice(l.as_bytes());
                text.push(b'\n');
            }
            let base = if bom { 3 } else { 0 };
            let [m, r] = both(&text, base, target, max);
            proptest::prop_assert_eq!(m, r);
        }
    }
}
