//! `ldifstamp convert`: exports in, normalised LDIF add records (or csvde CSV) out.

use crate::cli::{Common, ConvertArgs, ToArg};
use crate::commands::{Diagnostics, Outcome};
use crate::error::{Error, Result};
use crate::input::{Item, Source};
use crate::ldif::writer::Writer;
use crate::model::{attr_eq, Record};
use crate::pipeline;
use crate::sink::Output;
use crate::tabular::CsvWriter;

/// Runs `convert`.
pub fn run(args: &ConvertArgs) -> Result<Outcome> {
    let common = Common::resolve(&args.input, &args.output, &args.run)?;
    let mut sources = sources_of(&args.inputs)?;
    let pool = pipeline::pool(common.jobs)?;
    let mut diag = Diagnostics::new(common.quiet, common.rejects.as_deref(), &common.write)?;
    let mut out = Output::open(common.output.as_deref())?;
    let mut written = 0u64;
    let stats = match args.to {
        ToArg::Ldif => {
            let mut head = Vec::new();
            Writer::new(common.write.clone()).header(&mut head);
            out.write_all(&head)?;
            let opts = common.write.clone();
            pipeline::run_results_writing(
                &sources,
                &common.input,
                &pool,
                common.progress,
                &[],
                |item: &Item, buf: &mut Vec<u8>| {
                    let mut w = Writer::new(opts.clone());
                    match &item.result {
                        Ok(Record::Entry(e)) => w.add_record(buf, e),
                        Ok(Record::Change(c)) => w.record(buf, c),
                        Err(_) => {}
                    }
                },
                |item, (), _| {
                    diag.warnings_of(item);
                    if diag.handle_non_record(item)? {
                        return Ok(false);
                    }
                    written += 1;
                    Ok(true)
                },
                |bytes| out.write_all(bytes),
            )?
        }
        ToArg::Csv => {
            for s in &mut sources {
                s.spool()?;
            }
            // Pass 1: the union of attribute columns in first-appearance order.
            let mut columns: Vec<Vec<u8>> = Vec::new();
            let mut ambiguous: Vec<Vec<u8>> = Vec::new();
            pipeline::run(
                &sources,
                &common.input,
                &pool,
                pipeline::Progress::Off,
                |_item: &Item| (),
                |item, ()| {
                    if let Ok(Record::Entry(e)) = &item.result {
                        for a in e.attributes() {
                            if !columns.iter().any(|c| attr_eq(c, a.name())) {
                                columns.push(a.name().to_vec());
                            }
                            let known = crate::tabular::MULTI_VALUED
                                .iter()
                                .any(|m| attr_eq(m.as_bytes(), a.name()));
                            if a.len() > 1
                                && !known
                                && !ambiguous.iter().any(|c| attr_eq(c, a.name()))
                            {
                                ambiguous.push(a.name().to_vec());
                            }
                        }
                    }
                    Ok(())
                },
            )?;
            for a in &ambiguous {
                diag.warning(
                    &crate::error::Location {
                        file: sources[0].name,
                        ..Default::default()
                    },
                    0,
                    &format!(
                        "`{}` has several values in some entries; csvde joins them with `;` — read this CSV back with `--csv-multi-valued {}`",
                        String::from_utf8_lossy(a),
                        String::from_utf8_lossy(a)
                    ),
                );
            }
            let writer = CsvWriter::new(columns);
            let mut head = Vec::new();
            writer.header(&mut head);
            out.write_all(&head)?;
            pipeline::run_results_writing(
                &sources,
                &common.input,
                &pool,
                common.progress,
                &[],
                |item: &Item, buf: &mut Vec<u8>| {
                    if let Ok(Record::Entry(e)) = &item.result {
                        writer.row(e, buf);
                    }
                },
                |item, (), _| {
                    diag.warnings_of(item);
                    if diag.handle_non_record(item)? {
                        return Ok(false);
                    }
                    if let Ok(Record::Change(_)) = &item.result {
                        diag.reject(
                            &item.location,
                            "a change record cannot be written as csvde CSV (csvde only adds); convert to LDIF instead",
                            None,
                        )?;
                        return Ok(false);
                    }
                    written += 1;
                    Ok(true)
                },
                |bytes| out.write_all(bytes),
            )?
        }
    };
    out.commit()?;
    if !common.quiet {
        crate::note!(
            "ldifstamp convert: read {} records ({} bytes) from {} input(s); wrote {written}, rejected {}, skipped {}, {} warning(s)",
            stats.records,
            stats.bytes,
            sources.len(),
            diag.rejected,
            diag.skipped,
            diag.warnings
        );
    }
    diag.finish()
}

/// Sources for the command-line inputs; standard input may appear once.
pub fn sources_of(args: &[String]) -> Result<Vec<Source>> {
    if args.iter().filter(|a| a.as_str() == "-").count() > 1 {
        return Err(Error::Usage(
            "standard input (`-`) can be read only once".into(),
        ));
    }
    Ok(args.iter().map(|a| Source::new(a)).collect())
}
