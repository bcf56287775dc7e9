//! Golden tests: byte-exact command output for the fixtures in `tests/fixtures/<case>/`.
//!
//! Each case holds `cmd` (the arguments, one per line, paths relative to the repository root),
//! `expected.out` (standard output), and `expected.code` (the exit code). Set
//! `UPDATE_GOLDEN=1` to rewrite the expected files, then review the diff.

use crate::harness::{assert_ldapmodify_accepts, root, run};

#[test]
fn every_fixture_produces_its_expected_output() {
    let dir = root().join("tests/fixtures");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut cases = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for case in entries {
        let cmd = case.join("cmd");
        if !cmd.exists() {
            continue;
        }
        let args_text = std::fs::read_to_string(&cmd).unwrap();
        let args: Vec<&str> = args_text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let stdin = case.join("stdin");
        let stdin = stdin.exists().then(|| std::fs::read(&stdin).unwrap());
        let out = run(&args, stdin.as_deref());
        let code = out.status.code().unwrap_or(-1);
        let exp_out = case.join("expected.out");
        let exp_code = case.join("expected.code");
        if update {
            std::fs::write(&exp_out, &out.stdout).unwrap();
            std::fs::write(&exp_code, format!("{code}\n")).unwrap();
        }
        let want = std::fs::read(&exp_out).unwrap_or_else(|_| {
            panic!(
                "{}: no expected.out (run with UPDATE_GOLDEN=1)",
                case.display()
            )
        });
        let want_code: i32 = std::fs::read_to_string(&exp_code)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(
            code,
            want_code,
            "{}: exit code; stderr: {}",
            case.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout == want,
            "{}: output differs from expected.out (UPDATE_GOLDEN=1 to rewrite)\n--- got ---\n{}",
            case.display(),
            String::from_utf8_lossy(&out.stdout)
        );
        let is_ldif = args.first() != Some(&"convert") || !args.contains(&"csv");
        if is_ldif && !out.stdout.is_empty() {
            assert_ldapmodify_accepts(&out.stdout, &case.display().to_string());
        }
        cases += 1;
    }
    assert!(cases >= 4, "only {cases} golden cases");
}
