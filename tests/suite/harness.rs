//! Shared helpers: running the binary, reading fixtures, checking LDIF with `ldapmodify -n`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ldifstamp::input::{InputOptions, Item, Source};
use ldifstamp::model::Record;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository.
pub fn shared() -> PathBuf {
    root().join("..").join("shared")
}

/// Runs the binary with `args` in the repository root, feeding `stdin`.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ldifstamp"));
    cmd.args(args)
        .current_dir(root())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ldifstamp");
    if let Some(data) = stdin {
        use std::io::Write;
        let mut si = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        });
    }
    child.wait_with_output().expect("wait ldifstamp")
}

/// Reads every item of a file through the library's pipeline.
pub fn read_items(path: &Path, opts: &InputOptions) -> Vec<Item> {
    let pool = ldifstamp::pipeline::pool(1).unwrap();
    let mut items = Vec::new();
    ldifstamp::pipeline::run(
        &[Source::new(path.to_str().unwrap())],
        opts,
        &pool,
        ldifstamp::pipeline::Progress::Off,
        |_| (),
        |item, ()| {
            items.push(item);
            Ok(())
        },
    )
    .unwrap();
    items
}

/// The records of a file (panics on rejected records).
#[allow(dead_code)]
pub fn records(path: &Path) -> Vec<Record> {
    read_items(path, &InputOptions::default())
        .into_iter()
        .filter(|i| i.skipped.is_none())
        .map(|i| i.result.unwrap_or_else(|e| panic!("{}: {e}", i.location)))
        .collect()
}

/// Runs `ldapmodify -n -c -f file` (OpenLDAP's parser, no server) and returns (rc, stderr).
/// Fails the test with a clear message when ldapmodify is not installed.
pub fn ldapmodify_n(file: &Path) -> (i32, String) {
    let out = Command::new("ldapmodify")
        .args(["-n", "-c", "-f"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("ldapmodify is required by the tests (apt-get install ldap-utils): {e}")
        });
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `bytes` pass `ldapmodify -n -c` and that no record was skipped or rejected.
pub fn assert_ldapmodify_accepts(bytes: &[u8], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("out.ldif");
    std::fs::write(&f, bytes).unwrap();
    let (rc, err) = ldapmodify_n(&f);
    assert_eq!(rc, 0, "ldapmodify -n rejected {what}: {err}");
    assert!(
        !err.contains("invalid") && !err.contains("possible missing newline"),
        "ldapmodify -n complained about {what}: {err}"
    );
}
