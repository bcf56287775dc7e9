//! `ldifstamp apply`: applies change records to an export offline and writes the result as
//! LDIF add records — what the directory would hold after the import.
//!
//! Semantics are the directory's ([`crate::apply`]): adding a value that exists or deleting
//! one that is absent fails the record, as it would on a server. A failed change record is
//! rejected with the reason and the run continues.

use crate::apply::Directory;
use crate::cli::{ApplyArgs, Common};
use crate::commands::convert::sources_of;
use crate::commands::diff::read_entries;
use crate::commands::{Diagnostics, Outcome};
use crate::error::{Error, Result};
use crate::model::{ChangeRecord, Record};
use crate::pipeline;

/// Runs `apply`.
pub fn run(args: &ApplyArgs) -> Result<Outcome> {
    let common = Common::resolve(&args.input, &args.output, &args.run)?;
    let mut all = args.exports.clone();
    all.push(args.changes.clone());
    sources_of(&all)?;
    let pool = pipeline::pool(common.jobs)?;
    let mut diag = Diagnostics::new(common.quiet, common.rejects.as_deref(), &common.write)?;
    let entries = read_entries(
        &sources_of(&args.exports)?,
        &common.input,
        &pool,
        common.progress,
        &mut diag,
    )?;
    let count = entries.len();
    let mut dir = Directory::new(entries)
        .map_err(|e| Error::Input(format!("the export is inconsistent: {e}")))?;
    let mut applied = 0u64;
    pipeline::run(
        &sources_of(std::slice::from_ref(&args.changes))?,
        &common.input,
        &pool,
        common.progress,
        |_| (),
        |item, ()| {
            diag.warnings_of(&item);
            if diag.handle_non_record(&item)? {
                return Ok(());
            }
            let rec = match &item.result {
                Ok(Record::Entry(e)) => ChangeRecord::add(e.clone()),
                Ok(Record::Change(c)) => (**c).clone(),
                Err(_) => return Ok(()),
            };
            match dir.apply(&rec) {
                Ok(()) => {
                    applied += 1;
                    Ok(())
                }
                Err(e) => diag.reject(&item.location, &format!("{}: {}", e.code, e.message), None),
            }
        },
    )?;
    crate::commands::write_ldif(
        common.output.as_deref(),
        &common.write,
        dir.entries(),
        |w, buf, e| w.add_record(buf, e),
    )?;
    if !common.quiet {
        crate::note!(
            "ldifstamp apply: {count} entries; applied {applied} change record(s), rejected {}",
            diag.rejected
        );
    }
    diag.finish()
}
