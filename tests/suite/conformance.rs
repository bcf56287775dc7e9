//! The RFC 2849 examples and OpenLDAP's parser probes, with the outcome `ldapmodify` had.

use std::collections::BTreeMap;

use ldifstamp::input::InputOptions;
use ldifstamp::ldif::parse::ParseOptions;
use ldifstamp::model::{Change, Record};

use crate::harness::{read_items, shared};

/// `results.txt`: file name -> whether ldapmodify accepted it (rc=0).
fn expected_outcomes() -> BTreeMap<String, bool> {
    let text = std::fs::read_to_string(shared().join("conformance/openldap-probe/results.txt"))
        .expect("shared/conformance/openldap-probe/results.txt");
    let mut out = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            current = Some(name.trim().to_string());
        } else if let Some(rc) = line.trim().strip_prefix("rc=") {
            if let Some(name) = current.take() {
                out.insert(name, rc == "0");
            }
        }
    }
    out
}

#[test]
fn every_openldap_probe_is_accepted_or_rejected_as_ldapmodify_did() {
    let expected = expected_outcomes();
    let dir = shared().join("conformance/openldap-probe");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("ldif") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let want = *expected
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no outcome in results.txt"));
        let items = read_items(&path, &InputOptions::default());
        let errors: Vec<String> = items
            .iter()
            .filter(|i| i.skipped.is_none())
            .filter_map(|i| {
                i.result
                    .as_ref()
                    .err()
                    .map(|e| format!("{}: {e}", i.location))
            })
            .collect();
        let accepted = errors.is_empty();
        assert_eq!(
            accepted, want,
            "{name}: ldapmodify accepted={want}, we accepted={accepted}: {errors:?}"
        );
        checked += 1;
    }
    assert!(checked >= 27, "only {checked} probes found");
}

#[test]
fn probes_parse_to_the_values_ldapmodify_saw() {
    let dir = shared().join("conformance/openldap-probe");
    let value = |file: &str, attr: &str| -> Vec<u8> {
        let items = read_items(&dir.join(file), &InputOptions::default());
        for i in items {
            if let Ok(Record::Change(c)) = i.result {
                if let Change::Modify(m) = c.change {
                    return m
                        .iter()
                        .find(|m| m.attr.eq_ignore_ascii_case(attr.as_bytes()))
                        .unwrap()
                        .values[0]
                        .clone();
                }
            }
        }
        panic!("no modify in {file}")
    };
    assert_eq!(value("utf8split.ldif", "description").len(), 7);
    assert_eq!(value("b64split.ldif", "description"), "Jürgen".as_bytes());
    assert_eq!(value("spaces.ldif", "description"), b"lead and trail   ");
    assert_eq!(value("case.ldif", "mail"), b"a@x");
}

#[test]
fn rfc2849_examples_parse() {
    let dir = shared().join("conformance/rfc2849");
    let photo = tempfile::NamedTempFile::new().unwrap();
    for n in 1..=7 {
        let path = dir.join(format!("ex{n}.ldif"));
        let items = read_items(&path, &InputOptions::default());
        let errors: Vec<String> = items
            .iter()
            .filter(|i| i.skipped.is_none())
            .filter_map(|i| {
                i.result
                    .as_ref()
                    .err()
                    .map(|e| format!("{}: {e}", i.location))
            })
            .collect();
        match n {
            // `:<` file URLs are refused by default.
            5 => assert_eq!(errors.len(), 1, "ex5: {errors:?}"),
            // ex6: the URL, and the record its stray empty line splits off (ldapmodify drops
            // that one silently; we refuse to lose it).
            6 => {
                assert_eq!(errors.len(), 2, "ex6: {errors:?}");
                assert!(errors[0].contains("--allow-file-urls"));
                assert!(errors[1].contains("no `dn:`"));
            }
            _ => assert!(errors.is_empty(), "ex{n}: {errors:?}"),
        }
    }
    // With file URLs allowed, ex5 reads the photo from a local file.
    let text = std::fs::read_to_string(dir.join("ex5.ldif")).unwrap();
    let url = text
        .lines()
        .find_map(|l| l.split_once(":< ").map(|(_, u)| u.trim().to_string()))
        .unwrap();
    std::fs::write(photo.path(), b"\xff\xd8jpeg").unwrap();
    let rewritten = text.replace(&url, &format!("file://{}", photo.path().display()));
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), rewritten).unwrap();
    let opts = InputOptions {
        parse: ParseOptions {
            allow_file_urls: true,
            ..ParseOptions::default()
        },
        ..InputOptions::default()
    };
    let items = read_items(tmp.path(), &opts);
    let entry = items
        .iter()
        .find_map(|i| match &i.result {
            Ok(Record::Entry(e)) if e.has("jpegphoto") => Some(e.clone()),
            _ => None,
        })
        .expect("ex5 entry with jpegphoto");
    assert_eq!(entry.first("jpegPhoto").unwrap(), b"\xff\xd8jpeg");
}

#[test]
fn rfc2849_example3_value_keeps_its_carriage_return() {
    let items = read_items(
        &shared().join("conformance/rfc2849/ex3.ldif"),
        &InputOptions::default(),
    );
    let e = items
        .into_iter()
        .find_map(|i| match i.result {
            Ok(Record::Entry(e)) => Some(e),
            _ => None,
        })
        .unwrap();
    assert!(e.first("description").unwrap().contains(&b'\r'));
}

#[test]
fn rfc2849_example4_keeps_language_options() {
    let items = read_items(
        &shared().join("conformance/rfc2849/ex4.ldif"),
        &InputOptions::default(),
    );
    let e = items
        .into_iter()
        .find_map(|i| match i.result {
            Ok(Record::Entry(e)) => Some(e),
            _ => None,
        })
        .unwrap();
    assert!(e.get("ou;lang-ja").is_some());
    assert!(e.get("OU;Phonetic;Lang-JA").is_some());
    assert!(std::str::from_utf8(e.dn()).unwrap().contains('営'));
}
