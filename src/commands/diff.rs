//! `ldifstamp diff`: the change records that turn the OLD export into the NEW one.

use crate::cli::{Common, DiffArgs};
use crate::commands::convert::sources_of;
use crate::commands::{Diagnostics, Outcome};
use crate::diff::{diff, DiffOptions};
use crate::error::{Error, Result};
use crate::input::{InputOptions, Source};
use crate::model::{Entry, Record};
use crate::pipeline::{self, Progress};

/// Runs `diff`.
pub fn run(args: &DiffArgs) -> Result<Outcome> {
    let common = Common::resolve(&args.input, &args.output, &args.run)?;
    let mut old_args = vec![args.old.clone()];
    old_args.extend(args.more_old.iter().cloned());
    let mut new_args = vec![args.new.clone()];
    new_args.extend(args.more_new.iter().cloned());
    let mut all = old_args.clone();
    all.extend(new_args.iter().cloned());
    sources_of(&all)?; // `-` at most once overall
    let pool = pipeline::pool(common.jobs)?;
    let mut diag = Diagnostics::new(common.quiet, common.rejects.as_deref(), &common.write)?;
    let old = read_entries(
        &sources_of(&old_args)?,
        &common.input,
        &pool,
        common.progress,
        &mut diag,
    )?;
    let new = read_entries(
        &sources_of(&new_args)?,
        &common.input,
        &pool,
        common.progress,
        &mut diag,
    )?;
    if diag.rejected > 0 {
        return Err(Error::Input(format!(
            "{} record(s) of the exports could not be read (see above); no diff is written, because a missing entry would become a delete",
            diag.rejected
        )));
    }
    let opts = DiffOptions {
        ignore: args.ignore_attr.clone(),
        all_attrs: args.all_attrs,
    };
    let (records, stats) =
        diff(&old, &new, &opts).map_err(|e| Error::Input(format!("cannot diff: {e}")))?;
    crate::commands::write_ldif(
        common.output.as_deref(),
        &common.write,
        &records,
        |w, buf, r| w.record(buf, r),
    )?;
    if !common.quiet {
        crate::note!(
            "ldifstamp diff: {} old and {} new entries: {} added, {} deleted, {} modified, {} renamed, {} unchanged; rejected {}, {} warning(s)",
            old.len(),
            new.len(),
            stats.adds,
            stats.deletes,
            stats.modifies,
            stats.renames,
            stats.unchanged,
            diag.rejected,
            diag.warnings
        );
    }
    diag.finish()
}

/// Reads every entry of `sources` into memory; change records are rejected.
pub fn read_entries(
    sources: &[Source],
    input: &InputOptions,
    pool: &rayon::ThreadPool,
    progress: Progress,
    diag: &mut Diagnostics,
) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    pipeline::run(
        sources,
        input,
        pool,
        progress,
        |_| (),
        |item, ()| {
            diag.warnings_of(&item);
            if diag.handle_non_record(&item)? {
                return Ok(());
            }
            match item.result {
                Ok(Record::Entry(e)) => entries.push(e),
                Ok(Record::Change(_)) => diag.reject(
                    &item.location,
                    "an export must hold entries; this is a change record (apply it first)",
                    None,
                )?,
                Err(_) => {}
            }
            Ok(())
        },
    )?;
    Ok(entries)
}
