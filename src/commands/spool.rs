//! `plan`'s spool: what pass 1's [`Engine::prepare`](crate::exchange::stamp::Engine::prepare)
//! found of each object that claims a value, written to an unnamed temporary file so that
//! pass 2 reads it back instead of preparing the object again.
//!
//! Each record is what [`Prepared::spool`](crate::exchange::stamp::Prepared::spool) wrote,
//! then, for an object pass 2 need not read again, the attributes of it that
//! [`Engine::finish`](crate::exchange::stamp::Engine::finish) reads
//! ([`Put::entry`](crate::model::flat::Put::entry)); [`put_parts`] joins the two.
//! Pass 1's workers make the records; the calling thread writes them in input order, so the
//! file is written sequentially and its offsets are known where the records are consumed.
//! Pass 2's workers read records at those offsets (positioned reads of a chunk at a time, no
//! shared cursor). The file lives in the page cache, not in the process's memory: the spool
//! costs disk space (a few hundred bytes per claiming object), not resident memory.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

use crate::commands::places::{thread_slot, Place, Places};
use crate::error::{Error, Result};

/// How errors name the spool file.
const NAME: &str = "temporary spool file";

/// The spool file and the place of every record in it.
pub struct Spool {
    file: Sink,
    notes: Notes,
    /// Per reading thread (by rayon index, the last one for any other thread): the bytes read
    /// last. A batch's records lie next to each other in the file and one worker reads them
    /// in order, so one read serves many records.
    chunks: Vec<Mutex<Chunk>>,
}

/// Bytes of the spool file from `at`.
#[derive(Default)]
struct Chunk {
    at: u64,
    data: Vec<u8>,
}

/// How much one read of the spool file takes in (more when a record is larger).
const CHUNK: usize = 256 << 10;

/// Where the records are (see [`Spool::parts`]).
#[derive(Default)]
pub struct Notes {
    len: u64,
    /// Per object (by place, the key pass 2 finds records by): where its record starts in
    /// the file, and its length.
    spots: Places<(u64, u32)>,
}

/// Where the records are written (see [`Spool::parts`]).
pub struct Sink(File);

impl Notes {
    /// Notes that the next `len` bytes written are the record of the object at `place` (one
    /// record per place).
    pub fn note(&mut self, place: Place, len: usize) {
        self.spots
            .push(place, (self.len, u32::try_from(len).unwrap_or(u32::MAX)));
        self.len += len as u64;
    }
}

impl Sink {
    /// Appends records' bytes, in the order they were noted.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.0.write_all(bytes).map_err(|e| Error::io(NAME, e))
    }
}

impl Spool {
    /// An empty spool in the system's temporary directory (`TMPDIR`); the file is deleted
    /// when the spool is dropped, or by the system if the process dies.
    pub fn new() -> Result<Spool> {
        let file = tempfile::tempfile().map_err(|e| {
            let dir = std::env::temp_dir();
            Error::io(format!("{NAME} in {} (TMPDIR)", dir.display()), e)
        })?;
        Ok(Spool {
            file: Sink(file),
            notes: Notes::default(),
            chunks: Vec::new(),
        })
    }

    /// Where records are noted and where they are written, to be used by two closures at
    /// once (the records' bytes reach the file after they were noted).
    pub fn parts(&mut self) -> (&mut Notes, &mut Sink) {
        (&mut self.notes, &mut self.file)
    }

    /// Makes the written records readable by [`Spool::read`] from `threads` rayon worker
    /// threads (and any other thread).
    pub fn finish(&mut self, threads: usize) -> Result<()> {
        self.chunks = (0..=threads).map(|_| Mutex::default()).collect();
        self.notes.spots.share(threads);
        self.file.0.flush().map_err(|e| Error::io(NAME, e))
    }

    /// `f` of the record spooled for the object at `place`, if there is one. The record is
    /// lent where it was read (the reading thread's chunk), not copied out.
    pub fn read<R>(&self, place: Place, f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        let Some(&(at, len)) = self.notes.spots.get(place) else {
            return Ok(None);
        };
        let len = len as usize;
        let io = |e| Error::io(NAME, e);
        let Some(Ok(mut chunk)) = self
            .chunks
            .get(thread_slot(self.chunks.len()))
            .map(Mutex::lock)
        else {
            let mut rec = vec![0u8; len];
            read_at(&self.file.0, &mut rec, at).map_err(io)?;
            return Ok(Some(f(&rec)));
        };
        if at < chunk.at || at + len as u64 > chunk.at + chunk.data.len() as u64 {
            let want = (self.notes.len - at).min(CHUNK.max(len) as u64) as usize;
            chunk.data.resize(want, 0);
            read_at(&self.file.0, &mut chunk.data, at).map_err(io)?;
            chunk.at = at;
        }
        let from = (at - chunk.at) as usize;
        Ok(Some(f(&chunk.data[from..from + len])))
    }
}

/// Appends a record of two parts for [`parts`] to split: what `first` appends, then what
/// `second` appends. When `first` returns `false`, `out` is left as it was and so is the
/// result.
pub fn put_parts(
    out: &mut Vec<u8>,
    first: impl FnOnce(&mut Vec<u8>) -> bool,
    second: impl FnOnce(&mut Vec<u8>),
) -> bool {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    if !first(out) {
        out.truncate(start);
        return false;
    }
    let len = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    second(out);
    true
}

/// The two parts of a record [`put_parts`] made; `None` when it is too short for the first.
pub fn parts(rec: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = rec.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// The error for a record that does not read back as it was written.
pub fn damaged() -> Error {
    Error::Input(format!("{NAME}: a record does not read back as written"))
}

/// Fills `buf` from `file` at offset `at`, without moving a shared cursor.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

/// Fills `buf` from `file` at offset `at`, without moving a shared cursor.
#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, at) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_part_records_split_where_they_were_joined() {
        let mut out = b"before".to_vec();
        assert!(put_parts(
            &mut out,
            |o| {
                o.extend_from_slice(b"first");
                true
            },
            |o| o.extend_from_slice(b"second part"),
        ));
        assert_eq!(parts(&out[6..]), Some((&b"first"[..], &b"second part"[..])));
        assert!(!put_parts(
            &mut out,
            |o| {
                o.extend_from_slice(b"dropped");
                false
            },
            |o| o.extend_from_slice(b"never"),
        ));
        assert_eq!(out.len(), 6 + 4 + 5 + 11);
        // A record cut inside its first part is refused.
        assert_eq!(parts(&out[6..6 + 4 + 3]), None);
        assert_eq!(parts(&out[6..8]), None);
    }

    #[test]
    fn records_are_read_back_by_place() {
        let mut spool = Spool::new().unwrap();
        let record = |i: u64| {
            format!("record {i} ")
                .repeat(i as usize % 7 + 1)
                .into_bytes()
        };
        for i in 0..50u64 {
            let rec = record(i);
            let (notes, sink) = spool.parts();
            notes.note(((i / 20) as u32, i * 100), rec.len());
            sink.write(&rec).unwrap();
        }
        spool.finish(2).unwrap();
        // Backwards (every read misses the chunk read before), then forwards.
        for i in (0..50u64).rev().chain(0..50) {
            let back = spool
                .read(((i / 20) as u32, i * 100), <[u8]>::to_vec)
                .unwrap()
                .unwrap();
            assert_eq!(back, record(i));
        }
        assert!(spool.read((0, 150), <[u8]>::to_vec).unwrap().is_none());
        assert!(spool.read((9, 0), <[u8]>::to_vec).unwrap().is_none());
    }
}
