//! `ldifstamp check`: validates a policy file (every problem at once, with
//! `file:line:column` and the key path) and, given exports, lints the data.

use crate::cli::{CheckArgs, Common};
use crate::commands::convert::sources_of;
use crate::commands::{Diagnostics, Outcome};
use crate::error::Result;
use crate::exchange::lint::lint;
use crate::exchange::stamp::Engine;
use crate::exchange::uniqueness::{Held, Index};
use crate::input::Item;
use crate::model::Record;
use crate::pipeline;
use crate::policy::Policy;

/// Runs `check`.
pub fn run(args: &CheckArgs) -> Result<Outcome> {
    let common = Common::resolve(&args.input, &args.output, &args.run)?;
    let text = std::fs::read_to_string(&args.policy)
        .map_err(|e| crate::Error::io(args.policy.display().to_string(), e))?;
    let name = args.policy.display().to_string();
    let policy = match Policy::from_str_at(&text, &name, args.policy.parent()) {
        Ok(p) => p,
        Err(errors) => {
            for p in &errors.problems {
                let key = if p.key.is_empty() {
                    String::new()
                } else {
                    format!("`{}`: ", p.key)
                };
                crate::note!("error: {name}:{}:{}: {key}{}", p.line, p.column, p.message);
            }
            crate::note!(
                "ldifstamp check: {} problem(s) in `{name}`",
                errors.problems.len()
            );
            return Ok(Outcome::Rejected);
        }
    };
    for w in &policy.warnings {
        crate::note!("warning: {name}: {w}");
    }
    if !common.quiet {
        crate::note!(
            "ldifstamp check: `{name}` is valid: {} server(s), {} mailbox rule(s), {} recipient polic(ies), {} address list(s)",
            policy.servers.len(),
            policy.mailbox.len(),
            policy.recipient_policies.len(),
            policy.address_lists.len()
        );
    }
    if args.exports.is_empty() {
        return Ok(Outcome::Clean);
    }
    let sources = sources_of(&args.exports)?;
    let pool = pipeline::pool(common.jobs)?;
    let mut diag = Diagnostics::new(common.quiet, common.rejects.as_deref(), &common.write)?;
    let mut index = Index::default();
    let mut findings = 0u64;
    let mut places: Vec<String> = Vec::new();
    pipeline::run_results(
        &sources,
        &common.input,
        &pool,
        common.progress,
        |item: &Item, _: &mut Vec<u8>| match &item.result {
            Ok(Record::Entry(e)) => {
                let mut held = Held::default();
                Engine::held_into(e, &mut held);
                Some((lint(e, &policy), held))
            }
            _ => None,
        },
        |item, out, _| {
            diag.warnings_of(item);
            places.push(format!("{}", item.location));
            if diag.handle_non_record(item)? {
                return Ok(());
            }
            if let Some((found, held)) = out {
                for f in found {
                    findings += 1;
                    crate::note!("finding: {}: {f}", item.location);
                }
                index.hold_all(held, places.len() as u32);
            }
            Ok(())
        },
    )?;
    for d in &index.duplicates {
        findings += 1;
        let at = |s: u32| places.get(s as usize - 1).cloned().unwrap_or_default();
        crate::note!(
            "finding: `{}` is held by two objects: {} and {}",
            d.value,
            at(d.first),
            at(d.second)
        );
    }
    crate::note!(
        "ldifstamp check: {} finding(s), {} record(s) rejected, {} warning(s)",
        findings,
        diag.rejected,
        diag.warnings
    );
    let outcome = diag.finish()?;
    Ok(if findings > 0 {
        Outcome::Rejected
    } else {
        outcome
    })
}
