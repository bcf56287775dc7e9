//! The one place with threads: read → parse (parallel) → merge (ordered) → transform
//! (parallel) → consume (ordered).
//!
//! Inputs are framed sequentially into batches of raw records. Each batch is parsed on the
//! pipeline's rayon pool, ldifde follow-up records are merged in input order, the caller's
//! transform runs on the pool, and the results are consumed in input order. Output therefore
//! does not depend on the number of threads.

use std::io::IsTerminal;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::input::{parse_raw, Format, InputOptions, Item, Merger, Source};
use crate::ldif::framer::Framer;
use crate::ldif::parse::Parser;

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
    let mut stats = ReadStats::default();
    for source in sources {
        let opened = source.open(opts)?;
        let bar = progress_bar(progress, source);
        let name = opened.name.clone();
        let fallback = opened.fallback_1252;
        let mut finish = |items: Vec<Item>, stats: &mut ReadStats| -> Result<()> {
            stats.records += items.len() as u64;
            let outs: Vec<T> = pool.install(|| items.par_iter().map(&transform).collect());
            for (item, out) in items.into_iter().zip(outs) {
                consume(item, out)?;
            }
            Ok(())
        };
        match opened.format {
            Format::Ldif => {
                let mut framer = Framer::new(opened.reader, opts.max_record_bytes);
                let mut merger = Merger::default();
                loop {
                    let batch = framer
                        .next_batch(opts.batch_bytes)
                        .map_err(|e| Error::io(name.to_string(), e))?;
                    let Some(batch) = batch else { break };
                    stats.bytes += batch.data.len() as u64;
                    if let Some(b) = &bar {
                        b.inc(batch.data.len() as u64);
                    }
                    let parsed: Vec<Item> = pool.install(|| {
                        batch
                            .records
                            .par_iter()
                            .map_init(
                                || Parser::new(opts.parse.clone()),
                                |p, r| {
                                    parse_raw(p, &name, &batch, r, fallback, opts.max_record_bytes)
                                },
                            )
                            .collect()
                    });
                    let ready = merger.push(parsed);
                    finish(ready, &mut stats)?;
                }
                if let Some(last) = merger.finish() {
                    finish(vec![last], &mut stats)?;
                }
            }
            Format::Csv => {
                let mut reader = crate::tabular::CsvReader::new(
                    name.clone(),
                    opened.reader,
                    &opts.csv_multi_valued,
                    fallback,
                )
                .map_err(Error::Input)?;
                loop {
                    let items = reader.next_batch(4096);
                    if items.is_empty() {
                        break;
                    }
                    finish(items, &mut stats)?;
                }
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    }
    Ok(stats)
}

fn progress_bar(progress: Progress, source: &Source) -> Option<indicatif::ProgressBar> {
    if progress == Progress::Off || !std::io::stderr().is_terminal() {
        return None;
    }
    let len = std::fs::metadata(source.name.as_ref())
        .map(|m| m.len())
        .ok();
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
