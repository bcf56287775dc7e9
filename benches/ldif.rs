//! Criterion benchmarks of ldifstamp's reading and writing stages.
//!
//! Every group runs on one seeded export made in memory by the generator in `generator.rs`
//! (100 000 objects of the `corp.example.com` directory, seed 1, about 196 MB in ldifde's
//! style; `LDIFSTAMP_BENCH_COUNT=N` changes the object count). Everything runs on the calling
//! thread: these are single-core figures. `scripts/bench` measures the whole binary.
//!
//! | group | what one iteration does | throughput |
//! |---|---|---|
//! | `read/floor_memchr` | split records on empty lines, unfold continuations (memchr) | input bytes |
//! | `read/frame` | [`Framer::next_batch`]: cut the export into batches (the sequential part) | input bytes |
//! | `read/split` | frame + [`Records`]: find every record without parsing it | input bytes |
//! | `read/parse_only` | frame + [`Parser::read_batch`]: parse every record in one pass over each batch, as the pipeline does (the 1 GB/s target) | input bytes |
//! | `read/parse_items` | frame + [`input::read_batch`], the pipeline's read into items | input bytes |
//! | `read/read_write` | frame + parse + [`Writer`] every record (what `convert` does) | input bytes |
//! | `stage/parse` | [`Parser::parse`] on records split beforehand | record bytes |
//! | `stage/write` | [`Writer::add_record`] / [`Writer::record`] on parsed records | output bytes |
//! | `filter/<list>` | one default address-list filter against every parsed record | entries |
//! | `template/expand/<template>` | [`Template::expand_local`] for every user and contact | recipients |
//! | `template/parse` | [`Template::parse`] of the sample policy's templates | templates |
//!
//! ```text
//! cargo bench --bench ldif -- --warm-up-time 1 --measurement-time 3
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "generator.rs"]
mod generator;

use std::hint::black_box;

/// The allocator the `ldifstamp` binary uses (src/main.rs), so the stages are measured as
/// they run there.
#[global_allocator]
static GLOBAL: ldifstamp::alloc::MiMalloc = ldifstamp::alloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput};

use ldifstamp::exchange::template::{ExpandSettings, RecipientFields, Template};
use ldifstamp::exchange::translit::Profile;
use ldifstamp::filter::{Matcher, Subject};
use ldifstamp::input::{read_batch, InputOptions};
use ldifstamp::ldif::framer::{Batch, Framer, Records, DEFAULT_MAX_RECORD};
use ldifstamp::ldif::parse::{Found, ParseOptions, Parsed, Parser};
use ldifstamp::ldif::writer::{WriteOptions, Writer};
use ldifstamp::model::{Entry, Record};
use ldifstamp::policy::DEFAULT_LISTS;

/// The pipeline's batch size (`InputOptions::default().batch_bytes`).
const BATCH_BYTES: usize = 4 << 20;

/// The address templates of `samples/policy.toml`, plus two common Exchange 2003 forms.
const TEMPLATES: [&str; 5] = [
    "SMTP:%g.%s@corp.example.com",
    "SMTP:%g.%s@partners.corp.example.com",
    "smtp:@corp.example.net",
    "SMTP:%1g%s@corp.example.com",
    "smtp:%r..%r _%d@corp.example.com",
];

struct Fixture {
    /// The export.
    data: Vec<u8>,
    /// The export framed into the pipeline's batches.
    batches: Vec<Batch>,
    /// Every parsed record, in input order.
    records: Vec<Record>,
}

impl Fixture {
    fn new() -> Fixture {
        let count = std::env::var("LDIFSTAMP_BENCH_COUNT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let mut data = Vec::with_capacity(count * 2100);
        let stats = generator::generate(&mut data, &generator::GenOptions { seed: 1, count })
            .expect("generating into memory cannot fail");
        let batches = frame_all(&data);
        let mut parser = Parser::new(ParseOptions::default());
        let mut warnings = Vec::new();
        let mut records = Vec::new();
        for b in &batches {
            for r in Records::new(&b.data, DEFAULT_MAX_RECORD) {
                match parser.parse(&b.data[r.start..r.end], r.line, &mut warnings) {
                    Ok(Parsed::Record(rec)) => records.push(rec),
                    Ok(Parsed::Skipped(why)) => panic!("record {} skipped: {why}", r.number),
                    Err(e) => panic!("record {} does not parse: {e:?}", r.number),
                }
            }
        }
        assert!(warnings.is_empty(), "{warnings:?}");
        eprintln!(
            "bench fixture: {} objects, {} records, {} bytes (seed 1)",
            stats.objects,
            records.len(),
            data.len()
        );
        Fixture {
            data,
            batches,
            records,
        }
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.records.iter().filter_map(|r| match r {
            Record::Entry(e) => Some(e),
            Record::Change(_) => None,
        })
    }

    fn record_bytes(&self) -> u64 {
        self.batches
            .iter()
            .flat_map(|b| {
                Records::new(&b.data, DEFAULT_MAX_RECORD).map(|r| (r.end - r.start) as u64)
            })
            .sum()
    }
}

fn frame_all(data: &[u8]) -> Vec<Batch> {
    let mut framer = Framer::new(data, DEFAULT_MAX_RECORD);
    let mut out = Vec::new();
    while let Some(b) = framer.next_batch(BATCH_BYTES).unwrap() {
        out.push(b);
    }
    out
}

/// The floor: records split on empty lines and continuation lines unfolded, with nothing
/// decoded (the in-memory twin of `scripts/floor`). Returns (records, logical lines, bytes).
fn floor_memchr(data: &[u8]) -> (u64, u64, u64) {
    let (mut records, mut lines, mut bytes) = (0u64, 0u64, 0u64);
    let mut in_record = false;
    let mut scratch: Vec<u8> = Vec::with_capacity(4096);
    // The open logical line: a range of `data` until it is folded, then `scratch`.
    let mut head: Option<(usize, usize)> = None;
    let mut folded = false;
    let mut close = |head: &mut Option<(usize, usize)>, folded: &mut bool, s: &mut Vec<u8>| {
        if *folded {
            lines += 1;
            bytes += s.len() as u64;
            s.clear();
            *folded = false;
        } else if let Some((a, b)) = *head {
            lines += 1;
            bytes += (b - a) as u64;
        }
        *head = None;
    };
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
        if start > data.len() {
            break;
        }
        let mut end = nl;
        if end > start && data[end - 1] == b'\r' {
            end -= 1;
        }
        match data.get(start) {
            _ if end == start => {
                close(&mut head, &mut folded, &mut scratch);
                if in_record {
                    records += 1;
                    in_record = false;
                }
            }
            Some(b' ') => {
                if !folded {
                    if let Some((a, b)) = head {
                        scratch.extend_from_slice(&data[a..b]);
                    }
                    folded = true;
                }
                scratch.extend_from_slice(&data[start + 1..end]);
            }
            _ => {
                close(&mut head, &mut folded, &mut scratch);
                head = Some((start, end));
                in_record = true;
            }
        }
        start = nl + 1;
    }
    close(&mut head, &mut folded, &mut scratch);
    if in_record {
        records += 1;
    }
    (records, lines, bytes)
}

/// Frame and parse every record the way the pipeline does (one pass over each batch's lines;
/// records the fast path leaves go to the full parser). Returns the records parsed.
fn parse_only(
    data: &[u8],
    parser: &mut Parser,
    warnings: &mut Vec<ldifstamp::ldif::parse::Warning>,
) -> u64 {
    let mut framer = Framer::new(data, DEFAULT_MAX_RECORD);
    let mut n = 0u64;
    while let Some(b) = framer.next_batch(BATCH_BYTES).unwrap() {
        let data = &b.data;
        parser.read_batch(data, DEFAULT_MAX_RECORD, false, |p, found| match found {
            Found::Entry(_, e) => {
                black_box(&e);
                n += 1;
            }
            Found::Raw(r) => {
                if let Ok(Parsed::Record(rec)) = p.parse(&data[r.start..r.end], r.line, warnings) {
                    black_box(&rec);
                    n += 1;
                }
            }
            Found::Settled(_) => {}
        });
        framer.recycle(b.data);
    }
    n
}

fn write_record(w: &mut Writer, out: &mut Vec<u8>, rec: &Record) {
    match rec {
        Record::Entry(e) => w.add_record(out, e),
        Record::Change(c) => w.record(out, c),
    }
}

fn read_group(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(fx.data.len() as u64));
    let expected = fx.records.len() as u64;

    g.bench_function("floor_memchr", |b| {
        b.iter(|| {
            let (records, _, _) = floor_memchr(black_box(&fx.data));
            assert_eq!(records, expected);
        })
    });
    g.bench_function("frame", |b| {
        b.iter(|| {
            let mut framer = Framer::new(black_box(&fx.data[..]), DEFAULT_MAX_RECORD);
            let mut n = 0u64;
            while let Some(batch) = framer.next_batch(BATCH_BYTES).unwrap() {
                n += batch.span;
                framer.recycle(batch.data);
            }
            assert_eq!(n, fx.data.len() as u64);
        })
    });
    g.bench_function("split", |b| {
        b.iter(|| {
            let mut framer = Framer::new(black_box(&fx.data[..]), DEFAULT_MAX_RECORD);
            let mut n = 0u64;
            while let Some(batch) = framer.next_batch(BATCH_BYTES).unwrap() {
                n += Records::new(&batch.data, DEFAULT_MAX_RECORD).count() as u64;
                framer.recycle(batch.data);
            }
            assert_eq!(n, expected);
        })
    });
    g.bench_function("parse_only", |b| {
        let mut parser = Parser::new(ParseOptions::default());
        let mut warnings = Vec::new();
        b.iter(|| {
            let n = parse_only(black_box(&fx.data), &mut parser, &mut warnings);
            assert_eq!(n, expected);
        })
    });
    g.bench_function("parse_items", |b| {
        let mut parser = Parser::new(ParseOptions::default());
        let name: &'static str = ldifstamp::model::intern("bench.ldf");
        // The size cap is DEFAULT_MAX_RECORD, and items carry their DN.
        let opts = InputOptions::default();
        b.iter(|| {
            let mut framer = Framer::new(black_box(&fx.data[..]), DEFAULT_MAX_RECORD);
            let mut n = 0u64;
            while let Some(batch) = framer.next_batch(BATCH_BYTES).unwrap() {
                read_batch(&mut parser, name, &batch, &[], true, &opts, |item| {
                    n += u64::from(item.result.is_ok());
                    black_box(item);
                });
                framer.recycle(batch.data);
            }
            assert_eq!(n, expected);
        })
    });
    g.bench_function("read_write", |b| {
        let mut parser = Parser::new(ParseOptions::default());
        let mut writer = Writer::new(WriteOptions::default());
        let mut warnings = Vec::new();
        let mut out = Vec::with_capacity(BATCH_BYTES * 2);
        b.iter(|| {
            let mut framer = Framer::new(black_box(&fx.data[..]), DEFAULT_MAX_RECORD);
            let mut written = 0u64;
            while let Some(batch) = framer.next_batch(BATCH_BYTES).unwrap() {
                out.clear();
                let data = &batch.data;
                parser.read_batch(data, DEFAULT_MAX_RECORD, false, |p, found| match found {
                    Found::Entry(_, e) => writer.add_record(&mut out, &e),
                    Found::Raw(r) => {
                        if let Ok(Parsed::Record(rec)) =
                            p.parse(&data[r.start..r.end], r.line, &mut warnings)
                        {
                            write_record(&mut writer, &mut out, &rec);
                        }
                    }
                    Found::Settled(_) => {}
                });
                written += out.len() as u64;
                black_box(&out);
                framer.recycle(batch.data);
            }
            assert!(written > 0);
        })
    });
    g.finish();
}

fn stage_group(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("stage");
    g.sample_size(10);

    g.throughput(Throughput::Bytes(fx.record_bytes()));
    g.bench_function("parse", |b| {
        let mut parser = Parser::new(ParseOptions::default());
        let mut warnings = Vec::new();
        b.iter(|| {
            for batch in &fx.batches {
                for r in Records::new(&batch.data, DEFAULT_MAX_RECORD) {
                    let rec = parser.parse(&batch.data[r.start..r.end], r.line, &mut warnings);
                    black_box(rec.is_ok());
                }
            }
        })
    });

    let mut writer = Writer::new(WriteOptions::default());
    let mut out = Vec::new();
    let mut written = 0u64;
    for rec in &fx.records {
        out.clear();
        write_record(&mut writer, &mut out, rec);
        written += out.len() as u64;
    }
    g.throughput(Throughput::Bytes(written));
    g.bench_function("write", |b| {
        let mut out = Vec::with_capacity(1 << 16);
        b.iter(|| {
            for rec in &fx.records {
                out.clear();
                write_record(&mut writer, &mut out, rec);
                black_box(&out);
            }
        })
    });
    g.finish();
}

fn filter_group(c: &mut Criterion, fx: &Fixture) {
    let entries: Vec<&Entry> = fx.entries().collect();
    let filters: Vec<(&str, Matcher)> = DEFAULT_LISTS
        .iter()
        .map(|(name, _, text)| (*name, Matcher::new(ldifstamp::filter::parse(text).unwrap())))
        .collect();
    let mut g = c.benchmark_group("filter");
    g.sample_size(10);
    g.throughput(Throughput::Elements(entries.len() as u64));
    for (name, f) in &filters {
        let hits = entries.iter().filter(|e| f.matches(**e)).count();
        eprintln!("filter `{name}`: {hits} of {} entries match", entries.len());
        g.bench_with_input(BenchmarkId::from_parameter(name), f, |b, f| {
            b.iter(|| entries.iter().filter(|e| f.matches(**e)).count())
        });
    }
    g.throughput(Throughput::Elements((entries.len() * filters.len()) as u64));
    g.bench_function("all_five", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for e in &entries {
                // One subject per entry: its classes and categories are read once.
                let subject = Subject::new(*e);
                for (_, f) in &filters {
                    hits += usize::from(f.matches_in(&subject));
                }
            }
            hits
        })
    });
    g.finish();
}

fn template_group(c: &mut Criterion, fx: &Fixture) {
    let text = |e: &Entry, a: &str| e.first_str(a).unwrap_or("").to_string();
    // (given, surname, initials, display, alias) of every recipient with a mailNickname.
    let people: Vec<[String; 5]> = fx
        .entries()
        .filter(|e| e.has("mailNickname"))
        .map(|e| {
            [
                text(e, "givenName"),
                text(e, "sn"),
                text(e, "initials"),
                text(e, "displayName"),
                text(e, "mailNickname"),
            ]
        })
        .collect();
    let fields: Vec<RecipientFields<'_>> = people
        .iter()
        .map(|p| RecipientFields {
            given: &p[0],
            surname: &p[1],
            initials: &p[2],
            display: &p[3],
            alias: &p[4],
        })
        .collect();
    let settings = ExpandSettings::default();

    let mut g = c.benchmark_group("template");
    g.throughput(Throughput::Elements(TEMPLATES.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for t in TEMPLATES {
                black_box(Template::parse(black_box(t)).unwrap());
            }
        })
    });
    g.throughput(Throughput::Elements(fields.len() as u64));
    for t in TEMPLATES {
        let template = Template::parse(t).unwrap();
        g.bench_with_input(BenchmarkId::new("expand", t), &template, |b, template| {
            b.iter(|| {
                let mut valid = 0usize;
                for f in &fields {
                    let x = template.expand_local(f, Profile::default(), &settings);
                    valid += usize::from(x.valid);
                }
                valid
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let fx = Fixture::new();
    read_group(c, &fx);
    stage_group(c, &fx);
    filter_group(c, &fx);
    template_group(c, &fx);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
