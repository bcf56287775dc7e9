//! Command-line arguments (clap derive) and their resolution into settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::input::{Charset, Format, InputOptions};
use crate::ldif::parse::ParseOptions;
use crate::ldif::writer::{Dialect, WriteOptions};
use crate::pipeline::Progress;

/// Offline Exchange Recipient Update Service: reads AD exports (LDIF, csvde CSV) and writes
/// LDIF change records for `ldifde -i` and `ldapmodify`.
#[derive(Debug, Parser)]
#[command(name = "ldifstamp", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Exports in, normalised LDIF add records (or csvde CSV) out.
    Convert(ConvertArgs),
    /// The change records that turn the OLD export into the NEW one.
    Diff(DiffArgs),
    /// Stamp what the Exchange 2003 Recipient Update Service would stamp (the main job).
    Plan(PlanArgs),
    /// Apply change records to an export offline; write the resulting entries.
    Apply(ApplyArgs),
    /// Validate a policy file and, given exports, lint the data.
    Check(CheckArgs),
}

/// `ldifstamp check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file.
    #[arg(long, value_name = "POLICY.toml")]
    pub policy: PathBuf,
    /// Exports to lint (optional).
    #[arg(value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// Input settings.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output settings.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Run settings.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `ldifstamp apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The export the changes apply to.
    #[arg(required = true, value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// The change records (LDIF).
    #[arg(long, value_name = "CHANGES")]
    pub changes: String,
    /// Input settings.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output settings.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Run settings.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `--mode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Exchange 2003: generate an address type only for objects that have none of it.
    NewOnly,
    /// "Apply this policy now": regenerate by policy, keep old addresses, demote old primaries.
    ApplyPolicy,
}

/// `ldifstamp plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exports to stamp (`-` for standard input).
    #[arg(required = true, value_name = "EXPORT")]
    pub exports: Vec<String>,
    /// The policy file (TOML; see docs/policy.md).
    #[arg(long, value_name = "POLICY.toml")]
    pub policy: PathBuf,
    /// When addresses are generated.
    #[arg(long, value_enum, default_value = "new-only")]
    pub mode: ModeArg,
    /// Seed for msExchMailboxGuid values (random when absent; printed in the summary).
    #[arg(long, value_name = "N")]
    pub guid_seed: Option<u64>,
    /// Exports of other domains or forests, read only to reserve their addresses,
    /// legacyExchangeDNs and SIP URIs (repeatable).
    #[arg(long, value_name = "FILE")]
    pub index: Vec<String>,
    /// Stamp only objects under this DN; the whole input still counts for uniqueness.
    #[arg(long, value_name = "DN")]
    pub scope_base: Option<String>,
    /// Write the summary as JSON here.
    #[arg(long, value_name = "FILE.json")]
    pub summary: Option<PathBuf>,
    /// Print how long each phase took (pass 1, the allocation, pass 2) to standard error,
    /// even with `-q`.
    #[arg(long)]
    pub timings: bool,
    /// Input settings.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output settings.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Run settings.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `--from` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FromArg {
    /// LDIF.
    Ldif,
    /// csvde CSV.
    Csv,
}

/// `--to` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ToArg {
    /// LDIF add records.
    Ldif,
    /// csvde-style CSV.
    Csv,
}

/// `--dialect` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// Microsoft ldifde: CRLF line endings.
    Ldifde,
    /// OpenLDAP ldapmodify: LF line endings.
    Ldapmodify,
}

/// How inputs are read.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Input format; detected from the content when absent.
    #[arg(long, value_enum)]
    pub from: Option<FromArg>,
    /// Input encoding (`auto`, `utf-8`, `utf-16le`, `utf-16be`, `windows-1252`, ...).
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Largest record accepted, in bytes (a bigger one is rejected).
    #[arg(long, default_value_t = 64 << 20)]
    pub max_record_bytes: usize,
    /// Read `attr:< file://...` values from local files.
    #[arg(long)]
    pub allow_file_urls: bool,
    /// Accept several `control:` lines in one record.
    #[arg(long)]
    pub allow_multiple_controls: bool,
    /// Treat this csvde column as a `;`-joined multi-valued attribute (repeatable).
    #[arg(long, value_name = "ATTR")]
    pub csv_multi_valued: Vec<String>,
    /// Read input files with read(2) instead of mapping them into memory a window at a time
    /// (a mapped file truncated by another process while it is read stops the run with SIGBUS).
    #[arg(long)]
    pub no_mmap: bool,
}

/// How output is written.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output file (written atomically); standard output when absent or `-`.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Target importer.
    #[arg(long, value_enum, default_value = "ldifde")]
    pub dialect: DialectArg,
    /// Fold lines at this many columns; 0 disables folding.
    #[arg(long, default_value_t = 76)]
    pub wrap: usize,
    /// Start the output with `version: 1`.
    #[arg(long)]
    pub version_line: bool,
    /// Write rejected records here, each after a `# error:` comment.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
}

/// How the run behaves.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Worker threads (0 = all cores).
    #[arg(short = 'j', long = "jobs", default_value_t = 0)]
    pub jobs: usize,
    /// Print nothing on stderr but errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `ldifstamp convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Exports to read (`-` for standard input).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "ldif")]
    pub to: ToArg,
    /// Input settings.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output settings.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Run settings.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `ldifstamp diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The export before.
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The export after.
    #[arg(value_name = "NEW")]
    pub new: String,
    /// More exports on the OLD side (repeatable).
    #[arg(long = "old", value_name = "FILE")]
    pub more_old: Vec<String>,
    /// More exports on the NEW side (repeatable).
    #[arg(long = "new", value_name = "FILE")]
    pub more_new: Vec<String>,
    /// Ignore this attribute as well (repeatable).
    #[arg(long, value_name = "ATTR")]
    pub ignore_attr: Vec<String>,
    /// Compare system attributes too (objectGUID, whenChanged, uSNChanged, ...).
    #[arg(long)]
    pub all_attrs: bool,
    /// Input settings.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output settings.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Run settings.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Settings shared by every command, resolved once.
#[derive(Debug, Clone)]
pub struct Common {
    /// Reading.
    pub input: InputOptions,
    /// Writing.
    pub write: WriteOptions,
    /// Output path (`None` = stdout).
    pub output: Option<PathBuf>,
    /// Rejects path.
    pub rejects: Option<PathBuf>,
    /// Threads (0 = all).
    pub jobs: usize,
    /// Quiet.
    pub quiet: bool,
    /// Progress.
    pub progress: Progress,
}

impl Common {
    /// Resolves the argument groups, checking values.
    pub fn resolve(input: &InputArgs, output: &OutputArgs, run: &RunArgs) -> Result<Common> {
        let InputArgs {
            from,
            encoding,
            max_record_bytes,
            allow_file_urls,
            allow_multiple_controls,
            csv_multi_valued,
            no_mmap,
        } = input;
        let OutputArgs {
            output,
            dialect,
            wrap,
            version_line,
            rejects,
        } = output;
        let RunArgs {
            jobs,
            quiet,
            no_progress,
        } = run;
        let charset = Charset::from_label(encoding).ok_or_else(|| {
            Error::Usage(format!(
                "unknown --encoding `{encoding}` (try utf-8, utf-16le, utf-16be, windows-1252)"
            ))
        })?;
        if *wrap != 0 && *wrap < 20 {
            return Err(Error::Usage(format!(
                "--wrap must be 0 (no folding) or at least 20, not {wrap}"
            )));
        }
        if *max_record_bytes < 1024 {
            return Err(Error::Usage(
                "--max-record-bytes must be at least 1024".into(),
            ));
        }
        let dialect = match dialect {
            DialectArg::Ldifde => Dialect::Ldifde,
            DialectArg::Ldapmodify => Dialect::Ldapmodify,
        };
        Ok(Common {
            input: InputOptions {
                format: from.map(|f| match f {
                    FromArg::Ldif => Format::Ldif,
                    FromArg::Csv => Format::Csv,
                }),
                charset,
                max_record_bytes: *max_record_bytes,
                parse: ParseOptions {
                    allow_file_urls: *allow_file_urls,
                    multiple_controls: *allow_multiple_controls,
                    keep: None,
                },
                csv_multi_valued: csv_multi_valued.clone(),
                mmap: !*no_mmap,
                ..InputOptions::default()
            },
            write: WriteOptions {
                wrap: *wrap,
                version_line: *version_line,
                ..WriteOptions::for_dialect(dialect)
            },
            output: output.clone(),
            rejects: rejects.clone(),
            jobs: *jobs,
            quiet: *quiet,
            progress: if *no_progress || *quiet {
                Progress::Off
            } else {
                Progress::Auto
            },
        })
    }
}
