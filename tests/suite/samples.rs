//! Every shipped sample runs, and generated exports plan idempotently.

#[allow(dead_code, clippy::all)]
#[path = "../../benches/generator.rs"]
mod generator;

use ldifstamp::input::{InputOptions, Item};
use ldifstamp::ldif::parse::Skip;
use ldifstamp::model::Record;

use crate::harness::{assert_ldapmodify_accepts, read_items, root, run};

#[test]
fn every_sample_converts_cleanly_and_passes_ldapmodify() {
    let mut n = 0;
    for e in std::fs::read_dir(root().join("samples")).unwrap() {
        let p = e.unwrap().path();
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        if !["ldf", "ldif", "csv"].contains(&ext) {
            continue;
        }
        let path = p.to_str().unwrap();
        let out = run(&["convert", "-q", path], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ldapmodify_accepts(&out.stdout, path);
        n += 1;
    }
    assert!(n >= 3, "only {n} samples");
}

#[test]
fn the_ldf_and_csv_samples_hold_the_same_directory() {
    let out_ldf = run(
        &[
            "convert",
            "-q",
            "--dialect",
            "ldapmodify",
            "samples/corp.ldf",
        ],
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ldif");
    std::fs::write(&a, &out_ldf.stdout).unwrap();
    // csvde lists only the most specific objectClass; everything else must match.
    let d = run(
        &[
            "diff",
            "-q",
            "--ignore-attr",
            "objectClass",
            a.to_str().unwrap(),
            "samples/corp.csv",
        ],
        None,
    );
    assert_eq!(
        d.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&d.stderr)
    );
    assert!(
        d.stdout.is_empty(),
        "the CSV sample differs from the LDIF sample:\n{}",
        String::from_utf8_lossy(&d.stdout)
    );
}

#[test]
fn ldifde_follow_up_records_merge_into_one_large_group() {
    let items = read_items(
        &root().join("samples/corp-large-group.ldf"),
        &InputOptions::default(),
    );
    let groups: Vec<_> = items
        .iter()
        .filter_map(|i| match &i.result {
            Ok(Record::Entry(e)) if e.values("member").count() > 1500 => Some(e.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].values("member").count(), 1510);
    assert!(items
        .iter()
        .all(|i| !matches!(i.result, Ok(Record::Change(_)))));
}

#[test]
fn a_generated_export_plans_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("gen.ldf");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&export).unwrap());
    generator::generate(
        &mut f,
        &generator::GenOptions {
            seed: 11,
            count: 3000,
        },
    )
    .unwrap();
    drop(f);
    let (before, after) = crate::plan::replan_is_empty(&export, "samples/policy.toml");
    assert_eq!(before.len(), after.len());
}

#[test]
fn output_to_a_device_writes_through_and_never_replaces_it() {
    let out = run(
        &["convert", "-q", "-o", "/dev/null", "samples/corp.ldf"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(!meta.is_file(), "/dev/null was replaced by a regular file");
}

/// A pool of `jobs` workers and input options with batches of `batch_bytes`.
fn pool_and_options(batch_bytes: usize, jobs: usize) -> (rayon::ThreadPool, InputOptions) {
    let pool = ldifstamp::pipeline::pool(jobs).unwrap();
    let opts = InputOptions {
        batch_bytes,
        ..InputOptions::default()
    };
    (pool, opts)
}

/// Runs the pipeline over `path` with `batch_bytes` batches and `jobs` workers.
fn run_pipeline<T: Send>(
    path: &std::path::Path,
    batch_bytes: usize,
    jobs: usize,
    transform: impl Fn(&Item) -> T + Sync,
    mut consume: impl FnMut(Item, T),
) {
    let (pool, opts) = pool_and_options(batch_bytes, jobs);
    ldifstamp::pipeline::run(
        &[ldifstamp::input::Source::new(path.to_str().unwrap())],
        &opts,
        &pool,
        ldifstamp::pipeline::Progress::Off,
        transform,
        |item, t| {
            consume(item, t);
            Ok(())
        },
    )
    .unwrap();
}

/// [`ldifstamp::pipeline::run_results_skipping`] over `path` with batches of `batch_bytes` on
/// `jobs` workers, the records `settled` not read.
fn run_results_pipeline<T: Send>(
    path: &std::path::Path,
    batch_bytes: usize,
    jobs: usize,
    settled: &[Skip],
    transform: impl Fn(&Item, &mut Vec<u8>) -> T + Sync,
    mut consume: impl FnMut(&Item, &mut T, &[u8]),
) {
    let (pool, opts) = pool_and_options(batch_bytes, jobs);
    ldifstamp::pipeline::run_results_skipping(
        &[ldifstamp::input::Source::new(path.to_str().unwrap())],
        &opts,
        &pool,
        ldifstamp::pipeline::Progress::Off,
        &[settled.to_vec()],
        transform,
        |item, t, bytes| {
            consume(item, t, bytes);
            Ok(())
        },
    )
    .unwrap();
}

/// The large-group sample, which ends with ldifde's follow-up record, with an entry added
/// after it (so that a batch can start with the follow-up and go on); the directory holds it.
fn large_group_and_more() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large-group-and-more.ldf");
    let mut text = std::fs::read(root().join("samples/corp-large-group.ldf")).unwrap();
    text.extend_from_slice(
        b"\ndn: CN=After,OU=Groups,DC=corp,DC=example,DC=com\nobjectClass: contact\ncn: After\n",
    );
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// The pipeline gives the same items and transform results whatever the batch size (so
/// ldifde follow-up records may start a batch of their own) and the number of workers, and
/// every result is the transform of the item it comes with, also for an entry that a
/// follow-up in the next batch completed.
#[test]
fn the_pipeline_is_the_same_for_every_batch_size_and_worker_count() {
    let (_dir, path) = large_group_and_more();
    let digest = |item: &Item| -> (String, usize) {
        match &item.result {
            Ok(Record::Entry(e)) => (e.dn_lossy().into_owned(), e.values("member").count()),
            Ok(Record::Change(c)) => (String::from_utf8_lossy(&c.dn).into_owned(), usize::MAX),
            Err(m) => (m.clone(), 0),
        }
    };
    let run = |batch_bytes: usize, jobs: usize| {
        let mut seen = Vec::new();
        run_pipeline(&path, batch_bytes, jobs, digest, |item, t| {
            assert_eq!(digest(&item), t, "a result does not belong to its item");
            seen.push(t);
        });
        seen
    };
    let reference = run(64 << 20, 1);
    assert!(reference.iter().any(|(_, n)| *n == 1510), "{reference:?}");
    assert!(reference.last().unwrap().0.starts_with("CN=After"));
    assert!(reference.iter().all(|(_, n)| *n != usize::MAX));
    for batch_bytes in [1, 700, 4096, 65536] {
        for jobs in [1, 2, 8] {
            assert_eq!(
                run(batch_bytes, jobs),
                reference,
                "batch_bytes {batch_bytes}, -j{jobs}"
            );
        }
    }
}

/// What the pipeline tests compare of an item: its DN and member count, or what it is.
fn item_digest(item: &Item) -> String {
    match &item.result {
        Ok(Record::Entry(e)) => format!("{} {}", e.dn_lossy(), e.values("member").count()),
        Ok(Record::Change(c)) => format!("change {}", String::from_utf8_lossy(&c.dn)),
        Err(m) => format!("error {m}"),
    }
}

#[test]
fn results_and_their_bytes_are_the_same_for_every_batch_size_and_worker_count() {
    // `run_results` empties entries on the workers and hands each item's bytes from a buffer
    // shared by its batch: the bytes must be those of the item's own transform, also for the
    // entry a follow-up in the next batch completed (transformed again), and the same as
    // `run` gives.
    let (_dir, path) = large_group_and_more();
    let digest = item_digest;
    let mut reference = Vec::new();
    run_pipeline(&path, 64 << 20, 1, digest, |_, t| reference.push(t));
    assert!(
        reference.iter().any(|d| d.ends_with(" 1510")),
        "{reference:?}"
    );
    for batch_bytes in [1, 700, 4096, 65536] {
        for jobs in [1, 2, 8] {
            let mut seen = Vec::new();
            run_results_pipeline(
                &path,
                batch_bytes,
                jobs,
                &[],
                |item: &Item, buf: &mut Vec<u8>| {
                    let d = digest(item);
                    buf.extend_from_slice(d.as_bytes());
                    d.len()
                },
                |_, len, bytes| {
                    assert_eq!(bytes.len(), *len, "the bytes are not the item's");
                    seen.push(String::from_utf8(bytes.to_vec()).unwrap());
                },
            );
            assert_eq!(seen, reference, "batch_bytes {batch_bytes}, -j{jobs}");
        }
    }
}

#[test]
fn written_runs_are_the_bytes_of_the_items_asked_for_in_order() {
    // `run_results_writing` joins the bytes of consecutive written items into one write: what
    // is written must be exactly the bytes of the items whose consume said so, in input
    // order, with every other item's bytes left out, whatever the batches and workers (the
    // entry a follow-up completed in the next batch included).
    let (_dir, large) = large_group_and_more();
    let digest = |item: &Item| item_digest(item) + ";";
    for path in [large, root().join("samples/corp.ldf")] {
        // Every third item is left out.
        let mut reference = String::new();
        let mut items = 0;
        run_pipeline(&path, 64 << 20, 1, digest, |_, t| {
            if items % 3 != 1 {
                reference.push_str(&t);
            }
            items += 1;
        });
        for batch_bytes in [1, 700, 4096, 65536] {
            for jobs in [1, 2, 8] {
                let (pool, opts) = pool_and_options(batch_bytes, jobs);
                let (mut written, mut writes, mut n) = (Vec::new(), 0, 0);
                ldifstamp::pipeline::run_results_writing(
                    &[ldifstamp::input::Source::new(path.to_str().unwrap())],
                    &opts,
                    &pool,
                    ldifstamp::pipeline::Progress::Off,
                    &[],
                    |item: &Item, buf: &mut Vec<u8>| buf.extend_from_slice(digest(item).as_bytes()),
                    |_, (), _| {
                        n += 1;
                        Ok((n - 1) % 3 != 1)
                    },
                    |bytes| {
                        written.extend_from_slice(bytes);
                        writes += 1;
                        Ok(())
                    },
                )
                .unwrap();
                let written = String::from_utf8(written).unwrap();
                let at = format!("{}, batch_bytes {batch_bytes}, -j{jobs}", path.display());
                assert_eq!(written, reference, "{at}");
                assert_eq!(n, items, "{at}");
                if batch_bytes == 65536 && items > 30 {
                    // Runs of consecutive items (two items in three are written), not one
                    // write per written item.
                    assert!(
                        writes < items / 2,
                        "{writes} writes for {items} items, {at}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_record_keeps_its_line_number_and_offset_whatever_the_batches() {
    // Workers number lines and records from the start of their batch; the pipeline settles
    // the numbers in input order. Errors, warnings, comments, folds, CRLF and space-only
    // separators all have to come out where they are in the file.
    let mut text = std::fs::read(root().join("samples/corp.ldf")).unwrap();
    text.extend_from_slice(
        b"\r\n# a comment\r\ndn: CN=Bad,DC=corp,DC=example,DC=com\r\nobjectClass: contact\r\ncn:: not base64!\r\n\r\n",
    );
    text.extend_from_slice(
        b"dn: CN=Spaces,DC=corp,DC=example,DC=com\nobjectClass: contact\ncn: Sp\n aces\n   \n",
    );
    text.extend_from_slice(
        b"dn: CN=Last,DC=corp,DC=example,DC=com\nobjectClass: contact\ncn: Last",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbered.ldf");
    std::fs::write(&path, &text).unwrap();
    let run = |batch_bytes: usize, jobs: usize| {
        let mut seen = Vec::new();
        run_pipeline(
            &path,
            batch_bytes,
            jobs,
            |_| (),
            |item, ()| {
                let warnings: Vec<u64> = item.warnings.iter().map(|w| w.line).collect();
                seen.push((
                    item.location.line,
                    item.location.record,
                    item.location.offset,
                    item.location.dn.clone(),
                    item.result.is_ok(),
                    warnings,
                ));
            },
        );
        seen
    };
    let reference = run(64 << 20, 1);
    // The numbers are the file's: the line of each DN, the offset of its first byte.
    let line_of = |needle: &[u8]| -> (u64, u64) {
        let at = text
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        (
            text[..at].iter().filter(|c| **c == b'\n').count() as u64 + 1,
            at as u64,
        )
    };
    // A record that does not parse is reported at the offending line.
    let bad = reference.iter().find(|r| !r.4).unwrap();
    assert_eq!(bad.0, line_of(b"cn:: not base64!").0);
    assert_eq!(bad.2, line_of(b"# a comment").1);
    let spaces = reference
        .iter()
        .find(|r| r.3.as_deref() == Some("CN=Spaces,DC=corp,DC=example,DC=com"))
        .unwrap();
    assert_eq!((spaces.0, spaces.2), line_of(b"dn: CN=Spaces"));
    assert_eq!(spaces.5, vec![spaces.0]);
    let last = reference.last().unwrap();
    assert_eq!((last.0, last.2), line_of(b"dn: CN=Last"));
    assert_eq!(last.1, reference.len() as u64, "one item per record");
    for (i, r) in reference.iter().enumerate().skip(1) {
        assert!(
            r.1 > reference[i - 1].1 && r.0 > reference[i - 1].0,
            "{r:?}"
        );
    }
    for batch_bytes in [1, 100, 700, 4096] {
        for jobs in [1, 2] {
            assert_eq!(
                run(batch_bytes, jobs),
                reference,
                "batch_bytes {batch_bytes}, -j{jobs}"
            );
        }
    }
}

#[test]
fn settled_records_keep_their_place_number_and_line() {
    // Every other entry of the sample is settled: those come as empty entries without a DN,
    // every item at the place, record number and line reading it gives, for every batch size,
    // whether the skips say where the next record starts (reading jumps there when it is in
    // the batch) or not (the record is scanned for its end).
    let path = root().join("samples/corp.ldf");
    let place = |item: &Item| {
        (
            item.location.offset,
            item.location.record,
            item.location.line,
        )
    };
    let mut reference = Vec::new();
    run_pipeline(&path, 64 << 20, 1, place, |_, p| reference.push(p));
    let known: Vec<Skip> = (0..reference.len())
        .step_by(2)
        .map(|i| {
            let (offset, _, line) = reference[i];
            match reference.get(i + 1) {
                Some(&(next, _, next_line)) => Skip {
                    offset,
                    next,
                    lines: next_line - line,
                },
                None => Skip {
                    offset,
                    ..Skip::default()
                },
            }
        })
        .collect();
    assert!(known.len() > 10);
    let unknown: Vec<Skip> = known
        .iter()
        .map(|s| Skip {
            offset: s.offset,
            ..Skip::default()
        })
        .collect();
    for (settled, batch_bytes) in [&known, &unknown]
        .into_iter()
        .flat_map(|s| [1, 700, 65536].map(|b| (s, b)))
    {
        for jobs in [1, 2] {
            let mut seen = Vec::new();
            run_results_pipeline(
                &path,
                batch_bytes,
                jobs,
                settled,
                |item: &Item, _: &mut Vec<u8>| {
                    let empty = matches!(&item.result, Ok(Record::Entry(e)) if e.attr_count() == 0);
                    (empty, item.location.dn.is_none())
                },
                |item, t, _| seen.push((place(item), *t)),
            );
            assert_eq!(seen.len(), reference.len(), "batch_bytes {batch_bytes}");
            for (i, ((p, t), want)) in seen.iter().zip(&reference).enumerate() {
                assert_eq!(p, want, "item {i}, batch_bytes {batch_bytes}, -j{jobs}");
                assert_eq!(
                    *t,
                    (i % 2 == 0, i % 2 == 0),
                    "item {i}, batch_bytes {batch_bytes}"
                );
            }
        }
    }
}

#[test]
fn the_convert_summary_counts_every_byte_of_ldif_and_csv_inputs() {
    for sample in ["samples/corp.ldf", "samples/corp.csv"] {
        let out = run(&["convert", "-o", "-", sample], None);
        assert_eq!(out.status.code(), Some(0), "{sample}");
        let size = std::fs::metadata(root().join(sample)).unwrap().len();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("({size} bytes)")),
            "{sample} is {size} bytes; the summary says: {stderr}"
        );
    }
}
