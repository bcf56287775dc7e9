//! Output files written atomically, standard output, and the rejects file.
//!
//! A file output goes to a temporary file in the same directory and is renamed over the target
//! only when the run succeeds, so a failed run leaves no partial file. Standard output is
//! buffered; a closed pipe (`| head`) ends the run quietly.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where output goes.
pub enum Output {
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
    /// An existing device or FIFO, written in place.
    Device {
        /// The open file.
        file: BufWriter<std::fs::File>,
        /// Its path (for messages).
        target: PathBuf,
    },
    /// A temporary file renamed to `target` on [`Output::commit`].
    File {
        /// The temporary file.
        tmp: BufWriter<tempfile::NamedTempFile>,
        /// The final path.
        target: PathBuf,
    },
}

impl Output {
    /// Opens `path` (`None` or `-` for standard output).
    pub fn open(path: Option<&Path>) -> Result<Output> {
        match path {
            None => Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout(),
            ))),
            Some(p) if p.as_os_str() == "-" => Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout(),
            ))),
            Some(p) if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) => {
                // A device or FIFO (`-o /dev/null`): write to it directly, never replace it.
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .map_err(|e| Error::io(p.display().to_string(), e))?;
                Ok(Output::Device {
                    file: BufWriter::with_capacity(1 << 16, f),
                    target: p.to_path_buf(),
                })
            }
            Some(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let tmp = tempfile::Builder::new()
                    .prefix(".ldifstamp-")
                    .suffix(".tmp")
                    .tempfile_in(&dir)
                    .map_err(|e| Error::io(p.display().to_string(), e))?;
                Ok(Output::File {
                    tmp: BufWriter::with_capacity(1 << 16, tmp),
                    target: p.to_path_buf(),
                })
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Output::Stdout(_) => "<stdout>".into(),
            Output::File { target, .. } | Output::Device { target, .. } => {
                target.display().to_string()
            }
        }
    }

    /// Writes bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let r = match self {
            Output::Stdout(w) => w.write_all(bytes),
            Output::File { tmp, .. } => tmp.write_all(bytes),
            Output::Device { file, .. } => file.write_all(bytes),
        };
        r.map_err(|e| Error::io(self.name(), e))
    }

    /// Flushes and, for a file, renames the temporary file over the target.
    pub fn commit(self) -> Result<()> {
        let name = self.name();
        match self {
            Output::Stdout(mut w) => w.flush().map_err(|e| Error::io(name, e)),
            Output::Device { mut file, .. } => file.flush().map_err(|e| Error::io(name, e)),
            Output::File { tmp, target } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| Error::io(name.clone(), e.into_error()))?;
                tmp.as_file()
                    .sync_all()
                    .map_err(|e| Error::io(name.clone(), e))?;
                set_mode(&tmp, &target);
                tmp.persist(&target).map_err(|e| Error::io(name, e.error))?;
                Ok(())
            }
        }
    }
}

/// Gives the new file the target's permissions, or 0644 for a new file (a temporary file is
/// created 0600).
#[cfg(unix)]
fn set_mode(tmp: &tempfile::NamedTempFile, target: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(_tmp: &tempfile::NamedTempFile, _target: &Path) {}

/// Whether an error is a closed pipe on standard output (treated as a normal end).
pub fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
}
