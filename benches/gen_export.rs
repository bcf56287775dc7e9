//! `gen-export`: write a seeded synthetic ldifde export for benchmarks.
//!
//! ```text
//! cargo run --release --example gen-export -- --count 100000 --seed 1 [-o FILE]
//! ```
//!
//! The export goes to stdout unless `-o FILE` is given; the object count, bytes, time and
//! throughput go to stderr. The same `--seed` and `--count` always give the same bytes.

#[path = "generator.rs"]
mod generator;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use generator::{generate, GenOptions};

const USAGE: &str = "usage: gen-export [--count N] [--seed S] [-o FILE]\n\
    \n\
    Writes a synthetic ldifde-style export of N objects (default 1000) generated from\n\
    seed S (default 1) to FILE, or to stdout.\n";

struct Args {
    opts: GenOptions,
    output: Option<String>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut opts = GenOptions::default();
    let mut output = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "-n" | "--count" => {
                let v = value("--count")?;
                opts.count = parse_count(&v).ok_or_else(|| format!("bad count `{v}`"))?;
            }
            "-s" | "--seed" => {
                let v = value("--seed")?;
                opts.seed = v.parse().map_err(|_| format!("bad seed `{v}`"))?;
            }
            "-o" | "--output" => output = Some(value("--output")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(Args { opts, output }))
}

/// `100000`, `100_000`, `100k` and `1m` are all accepted.
fn parse_count(v: &str) -> Option<usize> {
    let v = v.replace('_', "").to_ascii_lowercase();
    let (digits, mult) = match v.strip_suffix('k') {
        Some(d) => (d.to_owned(), 1_000),
        None => match v.strip_suffix('m') {
            Some(d) => (d.to_owned(), 1_000_000),
            None => (v.clone(), 1),
        },
    };
    digits.parse::<usize>().ok()?.checked_mul(mult)
}

fn run(args: &Args) -> io::Result<()> {
    let start = Instant::now();
    let stats = match &args.output {
        Some(path) => {
            let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
            let stats = generate(&mut w, &args.opts)?;
            w.flush()?;
            stats
        }
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            let stats = generate(&mut w, &args.opts)?;
            w.flush()?;
            stats
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let per_obj = if stats.objects > 0 {
        stats.bytes as f64 / stats.objects as f64
    } else {
        0.0
    };
    eprintln!(
        "gen-export: {} objects, {} bytes ({:.0} bytes/object) in {:.2} s ({:.0} objects/s, {:.1} MB/s), seed {}",
        stats.objects,
        stats.bytes,
        per_obj,
        secs,
        stats.objects as f64 / secs.max(1e-9),
        stats.bytes as f64 / 1e6 / secs.max(1e-9),
        args.opts.seed
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let target = args.output.as_deref().unwrap_or("stdout");
            eprintln!("error: writing `{target}`: {e}");
            ExitCode::FAILURE
        }
    }
}
