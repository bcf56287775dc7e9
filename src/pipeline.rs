//! The one place with threads: read and cut into batches (calling thread) → parse, merge and
//! transform each batch (one task per batch on the pool) → consume (calling thread, input
//! order).
//!
//! The calling thread only reads inputs and cuts them into batches of whole records after an
//! empty line ([`Framer`]); it never looks at the other lines. Each batch becomes one task on
//! the pipeline's rayon pool, which finds and parses its records in one pass over its lines
//! and runs the caller's transform on each as soon as it is read (an ldifde follow-up record
//! is merged into the entry before it, which is transformed again); the calling thread
//! meanwhile reads the next batches and consumes finished ones in input order,
//! merging a follow-up that continues the previous batch's last entry (and transforming that
//! entry again). Output therefore does not depend on the number of threads.
//!
//! Line and record numbers: a task counts them from the start of its batch, and reports how
//! many lines and records the batch held; the calling thread adds the counts of the batches
//! before it ([`Item::rebase`]) before `consume` sees an item. A transform therefore sees
//! numbers relative to its batch, and identifies a record by
//! [`Location::offset`](crate::error::Location::offset), which the task knows exactly.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::input::{self, Format, InputOptions, Item, Source};
use crate::ldif::framer::{Batch, Bytes, Framer};
use crate::ldif::mapped::MappedFramer;
use crate::ldif::parse::{Parser, Skip};
use crate::model::Record;

/// Progress reporting choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A bar on stderr when stderr is a terminal.
    Auto,
    /// Nothing.
    Off,
}

/// Builds the pipeline's thread pool (`jobs` = 0 means all cores).
pub fn pool(jobs: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {jobs} worker threads: {e}")))
}

/// Counts of what was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes of record text read.
    pub bytes: u64,
    /// Records seen (including rejected and skipped ones).
    pub records: u64,
}

/// Reads every source in order and hands each item, with the transform's result, to
/// `consume` in input order.
///
/// The calling thread reads the input, cuts it into batches and consumes results; every batch
/// is parsed and transformed by one task on `pool`, so reading, parsing, transforming and
/// consuming overlap. At most a few batches per worker are in flight, which bounds memory.
///
/// `transform` sees line and record numbers counted from the start of the item's batch;
/// `consume` sees them counted from the start of the input (see the module docs).
pub fn run<T, F, C>(
    sources: &[Source],
    opts: &InputOptions,
    pool: &rayon::ThreadPool,
    progress: Progress,
    transform: F,
    mut consume: C,
) -> Result<ReadStats>
where
    T: Send,
    F: Fn(&Item) -> T + Sync,
    C: FnMut(Item, T) -> Result<()>,
{
    run_with(
        sources,
        opts,
        pool,
        progress,
        Keep::Records,
        |item: &Item, _: &mut Vec<u8>| Some(transform(item)),
        // The records are handed over: each is taken out of its batch.
        |item: &mut Item, t: &mut Option<T>, _: &[u8]| match t.take() {
            Some(t) => consume(std::mem::replace(item, Item::taken()), t).map(|()| false),
            None => Ok(false),
        },
        &mut |_: &[u8]| Ok(()),
    )
}

/// [`run`] for a transform that writes bytes and a `consume` that needs only those bytes, the
/// transform's result and the item's location, warnings and errors.
///
/// `transform` appends its item's bytes to a buffer shared by the items of its batch, and
/// `consume` gets them as a slice: one buffer per batch, reused from batch to batch, instead
/// of one allocation per item. Each entry is dropped by the worker that transformed it (the
/// item then holds an empty entry), so its memory is freed and reused on that worker's thread
/// instead of crossing to the calling thread; the last entry of a batch is kept until the next
/// batch shows whether ldifde follow-up records continue it.
pub fn run_results<T, F, C>(
    sources: &[Source],
    opts: &InputOptions,
    pool: &rayon::ThreadPool,
    progress: Progress,
    transform: F,
    consume: C,
) -> Result<ReadStats>
where
    T: Send,
    F: Fn(&Item, &mut Vec<u8>) -> T + Sync,
    C: FnMut(&Item, &mut T, &[u8]) -> Result<()>,
{
    run_results_skipping(sources, opts, pool, progress, &[], transform, consume)
}

/// [`run_results`] without reading some records: `settled[i]` lists, in increasing order,
/// the offsets of records of LDIF source `i` that a previous pass read as entries and whose
/// results the caller already has. Each is only framed (its end found, its lines counted) and
/// handed on as an entry item with an empty entry and no DN, at its place and number.
pub fn run_results_skipping<T, F, C>(
    sources: &[Source],
    opts: &InputOptions,
    pool: &rayon::ThreadPool,
    progress: Progress,
    settled: &[Vec<Skip>],
    transform: F,
    consume: C,
) -> Result<ReadStats>
where
    T: Send,
    F: Fn(&Item, &mut Vec<u8>) -> T + Sync,
    C: FnMut(&Item, &mut T, &[u8]) -> Result<()>,
{
    let mut consume = consume;
    run_results_writing(
        sources,
        opts,
        pool,
        progress,
        settled,
        transform,
        |item: &Item, t: &mut T, bytes: &[u8]| consume(item, t, bytes).map(|()| false),
        |_: &[u8]| Ok(()),
    )
}

/// [`run_results_skipping`] for a caller that writes the transform's bytes out: `consume`
/// returns whether its item's bytes are to be written, and `write` gets them, in input order.
/// The bytes of consecutive items that are written lie next to each other in their batch's
/// buffer, so `write` gets them in runs as long as a batch instead of one call per item (no
/// copy of every record into the output's buffer).
#[allow(clippy::too_many_arguments)]
pub fn run_results_writing<T, F, C, W>(
    sources: &[Source],
    opts: &InputOptions,
    pool: &rayon::ThreadPool,
    progress: Progress,
    settled: &[Vec<Skip>],
    transform: F,
    consume: C,
    mut write: W,
) -> Result<ReadStats>
where
    T: Send,
    F: Fn(&Item, &mut Vec<u8>) -> T + Sync,
    C: FnMut(&Item, &mut T, &[u8]) -> Result<bool>,
    W: FnMut(&[u8]) -> Result<()>,
{
    let mut consume = consume;
    run_with(
        sources,
        opts,
        pool,
        progress,
        Keep::Results { settled },
        transform,
        |item: &mut Item, t: &mut T, bytes: &[u8]| consume(item, t, bytes),
        &mut write,
    )
}

/// What `consume` gets of each item.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep<'s> {
    /// The record as read.
    Records,
    /// Entries emptied once transformed (see [`run_results`]); the records at the offsets
    /// `settled[i]` of source `i` are not read (see [`run_results_skipping`]).
    Results { settled: &'s [Vec<Skip>] },
}

/// `consume` returns whether the item's bytes go to `write`. It gets each item and result in
/// place, in its batch, not moved out to it.
#[allow(clippy::too_many_arguments)]
fn run_with<T, F, C>(
    sources: &[Source],
    opts: &InputOptions,
    pool: &rayon::ThreadPool,
    progress: Progress,
    keep: Keep<'_>,
    transform: F,
    mut consume: C,
    write: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<ReadStats>
where
    T: Send,
    F: Fn(&Item, &mut Vec<u8>) -> T + Sync,
    C: FnMut(&mut Item, &mut T, &[u8]) -> Result<bool>,
{
    let mut stats = ReadStats::default();
    for (index, source) in sources.iter().enumerate() {
        let settled: &[Skip] = match keep {
            Keep::Results { settled } => settled.get(index).map_or(&[], Vec::as_slice),
            Keep::Records => &[],
        };
        let opened = source.open(opts)?;
        let bar = progress_bar(progress, source);
        let name = opened.name;
        let fallback = opened.fallback_1252;
        let mut input = match opened.format {
            Format::Ldif => {
                let mapped = match opened.map_base {
                    Some(base) if opts.mmap => source.open_mapped()?.map(|file| (file, base)),
                    _ => None,
                };
                Input::Ldif(match mapped {
                    Some((file, base)) => {
                        let framer = MappedFramer::new(file, base, opts.max_record_bytes)
                            .map_err(|e| Error::io(name.to_string(), e))?;
                        // A pass that skips records reads few of the pages: fault those in
                        // instead of setting up the whole window's.
                        Batches::Mapped(if settled.is_empty() {
                            framer
                        } else {
                            framer.sparse()
                        })
                    }
                    None => Batches::Read(Framer::new(opened.reader, opts.max_record_bytes)),
                })
            }
            Format::Csv => Input::Csv(
                crate::tabular::CsvReader::new(
                    name,
                    opened.reader,
                    &opts.csv_multi_valued,
                    fallback,
                )
                .map_err(Error::Input)?,
            ),
        };
        // Enough batches to keep every worker busy while one is read and one consumed, and
        // as many more as asked for.
        let in_flight = pool.current_num_threads() + opts.batches_ahead.max(2);
        let (tx, rx) = mpsc::channel::<Done<T>>();
        // Batch buffers go back to the framer once parsed, to read later batches into.
        let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
        // Output buffers go back to the workers once consumed.
        let spare_out: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
        let spare_out = &spare_out;
        // Parsers go back to the workers after each batch: the names a parser has learned
        // (see `ldif::parse`) serve the next batch instead of being learned again in each.
        let spare_parsers: std::sync::Mutex<Vec<Parser>> = std::sync::Mutex::new(Vec::new());
        let spare_parsers = &spare_parsers;
        let transform = &transform;
        pool.in_place_scope(|scope| -> Result<()> {
            let mut order = Reorder {
                next: 0,
                ready: BTreeMap::new(),
                held: None,
                lines: 0,
                records: 0,
            };
            let mut sent = 0u64;
            // Bytes of a CSV source counted in `stats` so far.
            let mut csv_bytes = 0u64;
            loop {
                let work = match &mut input {
                    Input::Ldif(batches) => {
                        let batch = batches
                            .next(opts.batch_bytes, pool.current_num_threads(), &spare_rx)
                            .map_err(|e| Error::io(name.to_string(), e))?;
                        let Some(batch) = batch else { break };
                        stats.bytes += batch.span;
                        if let Some(b) = &bar {
                            b.inc(batch.span);
                        }
                        Work::Raw(batch)
                    }
                    Input::Csv(reader) => {
                        let items = reader.next_batch(4096);
                        // Counted from the start of the file, the header included.
                        let read = reader.bytes_read().saturating_sub(csv_bytes);
                        csv_bytes += read;
                        stats.bytes += read;
                        if let Some(b) = &bar {
                            b.inc(read);
                        }
                        if items.is_empty() {
                            break;
                        }
                        Work::Parsed(items)
                    }
                };
                let tx = tx.clone();
                let spare_tx = spare_tx.clone();
                let seq = sent;
                scope.spawn(move |_| {
                    // A panic is handed to the calling thread, which would otherwise wait for
                    // this batch forever.
                    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut out: Vec<(Item, T, usize)> = Vec::with_capacity(match &work {
                            Work::Raw(batch) => batch.data.len() / 1024 + 1,
                            Work::Parsed(items) => items.len(),
                        });
                        // A new buffer starts at the batch's size rather than growing by doubling.
                        let fresh = || Vec::with_capacity(opts.batch_bytes);
                        let mut bytes = match spare_out.lock() {
                            Ok(mut spare) => spare.pop().unwrap_or_else(fresh),
                            Err(_) => fresh(),
                        };
                        let results = matches!(keep, Keep::Results { .. });
                        // Each item is transformed as soon as it is read, while it is still
                        // in the cache. An ldifde follow-up record of the entry just before it
                        // (a change record, rare) is merged into that entry, which is then
                        // transformed again, its bytes replaced; a follow-up that continues
                        // the previous batch's last entry is merged by `Reorder`.
                        let mut finished = |mut item: Item| {
                            if matches!(item.result, Ok(Record::Change(_))) {
                                let start = out.len().checked_sub(2).map_or(0, |i| out[i].2);
                                if let Some((prev, pt, end)) = out.last_mut() {
                                    if input::absorb(prev, &mut item) {
                                        bytes.truncate(start);
                                        *pt = transform(prev, &mut bytes);
                                        *end = bytes.len();
                                        return;
                                    }
                                }
                            }
                            let t = transform(&item, &mut bytes);
                            // With results kept, only an entry ending the batch can be needed
                            // again (the next batch may continue it): the one before is freed
                            // at once, so its memory serves the next entry while still cached.
                            if results {
                                if let Some((prev, _, _)) = out.last_mut() {
                                    if let Ok(Record::Entry(e)) = &mut prev.result {
                                        // Its buffers serve the next entry read here.
                                        std::mem::take(e).recycle();
                                    }
                                }
                            }
                            out.push((item, t, bytes.len()));
                        };
                        let counts = match work {
                            Work::Raw(batch) => {
                                let mut parser = spare_parsers
                                    .lock()
                                    .ok()
                                    .and_then(|mut spare| spare.pop())
                                    .unwrap_or_else(|| Parser::new(opts.parse.clone()));
                                let end = batch.offset + batch.span;
                                let from = settled.partition_point(|s| s.offset < batch.offset);
                                let to = settled.partition_point(|s| s.offset < end);
                                let counts = input::read_batch(
                                    &mut parser,
                                    name,
                                    &batch,
                                    &settled[from..to],
                                    fallback,
                                    opts,
                                    &mut finished,
                                );
                                // Items own their bytes: the buffer can be read into again.
                                if let Some(buffer) = batch.data.into_buffer() {
                                    let _ = spare_tx.send(buffer);
                                }
                                if let Ok(mut spare) = spare_parsers.lock() {
                                    spare.push(parser);
                                }
                                Some(counts)
                            }
                            Work::Parsed(items) => {
                                items.into_iter().for_each(&mut finished);
                                None
                            }
                        };
                        Finished {
                            items: out,
                            bytes,
                            counts,
                        }
                    }));
                    // The receiver is gone only when consuming failed; the error is reported
                    // there.
                    let _ = tx.send((seq, out));
                });
                sent += 1;
                // Consume what is ready; wait while too many batches are in flight.
                while let Ok((seq, out)) = rx.try_recv() {
                    match out {
                        Ok(out) => order.ready.insert(seq, out),
                        Err(panic) => std::panic::resume_unwind(panic),
                    };
                }
                order.drain(&mut consume, write, transform, &mut stats, spare_out)?;
                while sent - order.next >= in_flight as u64 {
                    let (seq, out) = receive(&rx)?;
                    order.ready.insert(seq, out);
                    order.drain(&mut consume, write, transform, &mut stats, spare_out)?;
                }
            }
            while order.next < sent {
                let (seq, out) = receive(&rx)?;
                order.ready.insert(seq, out);
                order.drain(&mut consume, write, transform, &mut stats, spare_out)?;
            }
            // Every batch is drained: the entry still held owns its bytes.
            order.consume_held(&mut consume, &[], &mut Run::default(), write, &mut stats)?;
            Ok(())
        })?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    }
    Ok(stats)
}

enum Input {
    Ldif(Batches),
    Csv(crate::tabular::CsvReader),
}

/// Where LDIF batches come from: read into buffers, or mapped windows of a file.
enum Batches {
    Read(Framer<Box<dyn std::io::Read + Send>>),
    Mapped(MappedFramer),
}

impl Batches {
    /// The next batch of about `target` bytes (less near the end of a mapped file, see
    /// [`tail_batch`]; `workers` read the batches); buffers the workers gave back on `spare`
    /// are read into again.
    fn next(
        &mut self,
        target: usize,
        workers: usize,
        spare: &mpsc::Receiver<Vec<u8>>,
    ) -> std::io::Result<Option<Batch>> {
        match self {
            Batches::Read(framer) => {
                while let Ok(buffer) = spare.try_recv() {
                    framer.recycle(Bytes::Owned(buffer));
                }
                framer.next_batch(target)
            }
            Batches::Mapped(framer) => {
                framer.next_batch(tail_batch(target, framer.remaining(), workers))
            }
        }
    }
}

/// The size of the next batch when `remaining` bytes are left to read by `workers`: `target`,
/// but near the end a share of what is left (a half of an even share, at least 256 KiB), so
/// that the last batches are small and the workers finish together instead of one reading a
/// whole batch while the others wait (at 8 MiB, a worker's batch takes `plan` about 13 ms).
fn tail_batch(target: usize, remaining: u64, workers: usize) -> usize {
    const LEAST: usize = 256 << 10;
    let share = remaining / (2 * workers.max(1) as u64);
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .clamp(LEAST.min(target), target)
}

/// What one task gets: raw LDIF records to parse, or CSV rows already read.
enum Work {
    Raw(Batch),
    Parsed(Vec<Item>),
}

/// What one task gives back: its items with their results and the end of each one's bytes in
/// `bytes`, and for LDIF the newlines and records its batch held (its items' numbers count
/// from the batch's start).
struct Finished<T> {
    items: Vec<(Item, T, usize)>,
    bytes: Vec<u8>,
    counts: Option<(u64, u64)>,
}

/// A finished batch: its sequence number and what its task gave back (or the panic of the
/// task).
type Done<T> = (u64, std::thread::Result<Finished<T>>);

/// The next finished batch; a task's panic continues on the calling thread.
fn receive<T>(rx: &mpsc::Receiver<Done<T>>) -> Result<(u64, Finished<T>)> {
    let (seq, out) = rx
        .recv()
        .map_err(|_| Error::Input("a worker thread stopped without a result".into()))?;
    match out {
        Ok(out) => Ok((seq, out)),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Puts transformed batches back in input order, and settles their line and record numbers.
struct Reorder<T> {
    /// Sequence number of the next batch to consume.
    next: u64,
    ready: BTreeMap<u64, Finished<T>>,
    /// Newlines and records of the input's batches consumed so far.
    lines: u64,
    records: u64,
    /// The last entry consumed so far is held back until the next batch shows whether it
    /// starts with ldifde follow-up records of it.
    held: Option<(Item, T, Held)>,
}

/// Where the bytes of the held entry are.
enum Held {
    /// In the buffer of the batch being consumed.
    InBatch(std::ops::Range<usize>),
    /// Copied out of the buffer of an earlier batch, or made again after a follow-up.
    Owned(Vec<u8>),
}

impl Held {
    /// The bytes, given the buffer of the batch being consumed.
    fn bytes<'a>(&'a self, batch: &'a [u8]) -> &'a [u8] {
        match self {
            Held::InBatch(r) => batch.get(r.clone()).unwrap_or_default(),
            Held::Owned(b) => b,
        }
    }
}

impl<T> Reorder<T> {
    fn drain<F, C>(
        &mut self,
        consume: &mut C,
        write: &mut dyn FnMut(&[u8]) -> Result<()>,
        transform: &F,
        stats: &mut ReadStats,
        spare: &std::sync::Mutex<Vec<Vec<u8>>>,
    ) -> Result<()>
    where
        F: Fn(&Item, &mut Vec<u8>) -> T,
        C: FnMut(&mut Item, &mut T, &[u8]) -> Result<bool>,
    {
        while let Some(done) = self.ready.remove(&self.next) {
            let Finished {
                mut items,
                mut bytes,
                counts,
            } = done;
            self.next += 1;
            let (lines, records) = (self.lines, self.records);
            if let Some((l, r)) = counts {
                self.lines += l;
                self.records += r;
            }
            // Bytes of this batch consumed and to be written, not written yet.
            let mut run = Run::default();
            // Only the batch's last entry waits for the next batch, so it alone is taken out
            // of the batch; every other item is consumed where it lies.
            let last = if items
                .last()
                .is_some_and(|(item, _, _)| matches!(item.result, Ok(Record::Entry(_))))
            {
                items.pop()
            } else {
                None
            };
            let mut from = 0;
            for (i, (item, t, end)) in items.iter_mut().enumerate() {
                let own = from..*end;
                from = *end;
                if counts.is_some() {
                    item.rebase(lines, records);
                }
                // Inside a batch the task merged follow-ups already: only the first item of a
                // batch can continue the entry held from the batch before.
                if i == 0 {
                    if let Some((held, ht, hb)) = self.held.as_mut() {
                        if input::absorb(held, item) {
                            // A follow-up changed the held entry after its batch was
                            // transformed: transform it again.
                            let mut again = Vec::new();
                            *ht = transform(held, &mut again);
                            *hb = Held::Owned(again);
                            continue;
                        }
                    }
                }
                // The entry held from the batch before is complete once an item that does not
                // continue it comes (the first one, or the one after a follow-up it absorbed).
                self.consume_held(consume, &bytes, &mut run, write, stats)?;
                stats.records += 1;
                if consume(item, t, &bytes[own.clone()])? {
                    run.add(own, &bytes, write)?;
                }
            }
            if let Some((mut item, t, end)) = last {
                if counts.is_some() {
                    item.rebase(lines, records);
                }
                // An entry never continues the one held: that one is complete.
                self.consume_held(consume, &bytes, &mut run, write, stats)?;
                self.held = Some((item, t, Held::InBatch(from..end)));
            }
            run.flush(&bytes, write)?;
            if let Some((_, _, hb)) = self.held.as_mut() {
                if let Held::InBatch(r) = hb {
                    // The batch's buffer is reused: the held entry keeps a copy of its bytes.
                    *hb = Held::Owned(bytes[r.clone()].to_vec());
                }
            }
            bytes.clear();
            if let Ok(mut spare) = spare.lock() {
                spare.push(bytes);
            }
        }
        Ok(())
    }

    /// Consumes the entry held from the batch before, if there is one: it is complete.
    fn consume_held<C>(
        &mut self,
        consume: &mut C,
        bytes: &[u8],
        run: &mut Run,
        write: &mut dyn FnMut(&[u8]) -> Result<()>,
        stats: &mut ReadStats,
    ) -> Result<()>
    where
        C: FnMut(&mut Item, &mut T, &[u8]) -> Result<bool>,
    {
        let Some((mut h, mut ht, hb)) = self.held.take() else {
            return Ok(());
        };
        stats.records += 1;
        if consume(&mut h, &mut ht, hb.bytes(bytes))? {
            match hb {
                Held::InBatch(r) => run.add(r, bytes, write)?,
                Held::Owned(b) => {
                    run.flush(bytes, write)?;
                    write(&b)?;
                }
            }
        }
        Ok(())
    }
}

/// Consecutive bytes of a batch's buffer waiting to be written as one piece.
#[derive(Default)]
struct Run(std::ops::Range<usize>);

impl Run {
    /// Adds `r`, which follows everything added so far; writes what was waiting first when `r`
    /// does not continue it (an item whose bytes are not written lies between).
    fn add(
        &mut self,
        r: std::ops::Range<usize>,
        bytes: &[u8],
        write: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        if self.0.end != r.start {
            self.flush(bytes, write)?;
            self.0.start = r.start;
        }
        self.0.end = r.end;
        Ok(())
    }

    /// Writes what is waiting.
    fn flush(&mut self, bytes: &[u8], write: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        if !self.0.is_empty() {
            write(&bytes[self.0.clone()])?;
        }
        self.0 = 0..0;
        Ok(())
    }
}

fn progress_bar(progress: Progress, source: &Source) -> Option<indicatif::ProgressBar> {
    if progress == Progress::Off || !std::io::stderr().is_terminal() {
        return None;
    }
    let len = std::fs::metadata(source.name).map(|m| m.len()).ok();
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::no_length(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(source.name.to_string());
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_batches_of_a_file_are_smaller() {
        const MB: usize = 1 << 20;
        // Far from the end: the target.
        assert_eq!(tail_batch(8 * MB, 2_000_000_000, 2), 8 * MB);
        assert_eq!(tail_batch(8 * MB, 32 * MB as u64, 2), 8 * MB);
        // Near it: a quarter of what is left with two workers, down to 256 KiB.
        assert_eq!(tail_batch(8 * MB, 20 * MB as u64, 2), 5 * MB);
        assert_eq!(tail_batch(8 * MB, 2 * MB as u64, 2), MB / 2);
        assert_eq!(tail_batch(8 * MB, 100, 2), 256 << 10);
        // A target below that is kept; no worker is taken as one.
        assert_eq!(tail_batch(4096, 100, 2), 4096);
        assert_eq!(tail_batch(8 * MB, 20 * MB as u64, 0), 8 * MB);
    }

    /// What the pipeline hands on for `path`: each item's place, DN, outcome and warnings.
    fn items(path: &std::path::Path, mmap: bool, batch_bytes: usize) -> Vec<String> {
        items_with(path, mmap, batch_bytes, true)
    }

    /// [`items`] with [`InputOptions::item_dn`] as given.
    fn items_with(
        path: &std::path::Path,
        mmap: bool,
        batch_bytes: usize,
        item_dn: bool,
    ) -> Vec<String> {
        let opts = InputOptions {
            mmap,
            batch_bytes,
            max_record_bytes: 2048,
            item_dn,
            ..InputOptions::default()
        };
        let sources = [Source::new(path.to_str().expect("path"))];
        let pool = pool(2).expect("pool");
        let mut seen = Vec::new();
        run(
            &sources,
            &opts,
            &pool,
            Progress::Off,
            |_| (),
            |item, ()| {
                let l = &item.location;
                seen.push(format!(
                    "{}:{} #{} {:?} {:?} {:?} {}",
                    l.line,
                    l.offset,
                    l.record,
                    l.dn,
                    item.result.as_ref().map(|_| ()),
                    item.skipped,
                    item.warnings.len()
                ));
                Ok(())
            },
        )
        .expect("run");
        seen
    }

    /// An [`items`] line with its DN (if any) written as none.
    fn without_dn(line: &str) -> String {
        match (line.find(" Some(\""), line.find("\") ")) {
            (Some(a), Some(b)) => format!("{} None {}", &line[..a], &line[b + 3..]),
            _ => line.to_string(),
        }
    }

    #[test]
    fn mapped_input_gives_what_read_input_gives() {
        let dir = tempfile::tempdir().expect("dir");
        let mut text = String::from("version: 1\n\n");
        for i in 0..400 {
            text.push_str(&format!(
                "dn: cn=user{i},dc=example,dc=com\r\ncn: user{i}\r\n"
            ));
            if i % 7 == 0 {
                // Folded, base64, and now and then bigger than the size cap.
                let size = if i % 49 == 0 { 3000 } else { 90 };
                text.push_str(&format!("description: {}\n more\n", "d".repeat(size)));
                text.push_str("sn:: TcO8bGxlcg==\n");
            }
            // Now and then a space-only line ends the record.
            text.push_str(if i % 11 == 0 { " \n" } else { "\n" });
        }
        for bom in [false, true] {
            let path = dir.path().join(format!("in-{bom}.ldf"));
            let mut bytes = if bom {
                b"\xef\xbb\xbf".to_vec()
            } else {
                Vec::new()
            };
            bytes.extend_from_slice(text.as_bytes());
            std::fs::write(&path, &bytes).expect("write");
            for batch in [1, 200, 4096, 1 << 20] {
                let read = items(&path, false, batch);
                // Without DNs, the same items; entries read in place lose theirs, records
                // read otherwise (too big, space-only separators) keep them for messages.
                let without = items_with(&path, true, batch, false);
                assert_eq!(without.len(), read.len());
                let mut lost = 0;
                for (w, r) in without.iter().zip(&read) {
                    if w != r {
                        lost += 1;
                        assert_eq!(*w, without_dn(r), "{w} / {r}");
                    }
                }
                assert!(lost > 300, "{lost} entries lost their DN");
                assert_eq!(read.len(), 401, "every record once");
                assert_eq!(
                    items(&path, true, batch),
                    read,
                    "batches of {batch} bytes, BOM {bom}"
                );
            }
        }
    }
}
