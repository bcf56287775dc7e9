//! `ldif-floor FILE`: the least work any LDIF reader has to do, as a speed floor for
//! `scripts/bench`.
//!
//! Streams FILE in 1 MiB chunks, finds every line end with `memchr`, splits records on empty
//! lines, unfolds continuation lines (a line starting with one space continues the previous
//! one; the pieces of a folded logical line are joined into a scratch buffer), and counts
//! records, logical lines and unfolded bytes. It decodes nothing (no base64, no UTF-8 check)
//! and builds no records, so no real reader can be faster. Prints
//! `records=N lines=N unfolded_bytes=N` on stdout.

use std::fs::File;
use std::io::{self, Read};
use std::process::ExitCode;

#[derive(Default)]
struct Counts {
    records: u64,
    lines: u64,
    unfolded: u64,
    /// Lines in the current record.
    in_record: u64,
}

/// The logical line being built: either still a slice of the chunk (`head`, not folded yet) or
/// copied into `scratch` (folded, or carried over a chunk boundary).
struct Open {
    head: Option<(usize, usize)>,
    scratch: Vec<u8>,
    copied: bool,
}

impl Counts {
    fn close_line(&mut self, len: usize) {
        self.lines += 1;
        self.unfolded += len as u64;
        self.in_record += 1;
    }

    fn close_record(&mut self) {
        if self.in_record > 0 {
            self.records += 1;
            self.in_record = 0;
        }
    }
}

fn run(path: &str) -> io::Result<Counts> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut filled = 0usize;
    let mut c = Counts::default();
    let mut open = Open {
        head: None,
        scratch: Vec::with_capacity(4096),
        copied: false,
    };
    let mut eof = false;
    while !eof {
        if filled == buf.len() {
            // A line longer than the buffer: grow.
            buf.resize(buf.len() * 2, 0);
        }
        let n = file.read(&mut buf[filled..])?;
        if n == 0 {
            eof = true;
            if filled > 0 && buf[filled - 1] != b'\n' {
                buf.truncate(filled);
                buf.push(b'\n');
                filled += 1;
            }
        }
        filled += n;
        let data = &buf[..filled];
        let mut start = 0usize;
        for nl in memchr::memchr_iter(b'\n', data) {
            let mut end = nl;
            if end > start && data[end - 1] == b'\r' {
                end -= 1;
            }
            let line = &data[start..end];
            start = nl + 1;
            match line.first() {
                None => {
                    close_open(&mut open, data, &mut c);
                    c.close_record();
                }
                Some(b' ') => {
                    if !open.copied {
                        if let Some((s, e)) = open.head {
                            open.scratch.clear();
                            open.scratch.extend_from_slice(&data[s..e]);
                        }
                        open.copied = true;
                    }
                    open.scratch.extend_from_slice(&line[1..]);
                }
                Some(_) => {
                    close_open(&mut open, data, &mut c);
                    open.head = Some((end - line.len(), end));
                    open.copied = false;
                }
            }
        }
        // The open logical line may continue in the next chunk: keep its bytes.
        if !open.copied {
            if let Some((s, e)) = open.head {
                open.scratch.clear();
                open.scratch.extend_from_slice(&data[s..e]);
                open.copied = true;
            }
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
    close_open(&mut open, &buf, &mut c);
    c.close_record();
    Ok(c)
}

fn close_open(open: &mut Open, data: &[u8], c: &mut Counts) {
    if open.copied {
        c.close_line(open.scratch.len());
        open.scratch.clear();
        open.copied = false;
        open.head = None;
    } else if let Some((s, e)) = open.head.take() {
        c.close_line(data[s..e].len());
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: ldif-floor FILE");
        return ExitCode::from(2);
    };
    match run(&path) {
        Ok(c) => {
            println!(
                "records={} lines={} unfolded_bytes={}",
                c.records, c.lines, c.unfolded
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: `{path}`: {e}");
            ExitCode::FAILURE
        }
    }
}
