//! Property tests: writer then parser returns the same records; `apply(old, diff(old, new))`
//! gives `new`.

use proptest::prelude::*;

use ldifstamp::apply::apply;
use ldifstamp::diff::{diff, DiffOptions};
use ldifstamp::ldif::framer::Framer;
use ldifstamp::ldif::parse::{Found, ParseOptions, Parsed, Parser};
use ldifstamp::ldif::writer::{Dialect, WriteOptions, Writer};
use ldifstamp::model::{
    dn, Change, ChangeRecord, Entry, EntryBuilder, ModOp, Modification, Record,
};

/// Parses LDIF text back into records, the way the pipeline reads them (batches cut by the
/// framer, each read in one pass by the parser's fast path and the full parser).
pub fn parse_all(bytes: &[u8]) -> Vec<Record> {
    let mut framer = Framer::new(bytes, 1 << 30);
    let mut parser = Parser::new(ParseOptions::default());
    let mut out = Vec::new();
    while let Some(batch) = framer.next_batch(1 << 20).unwrap() {
        let data = &batch.data;
        parser.read_batch(data, 1 << 30, false, |parser, found| match found {
            Found::Entry(_, e) => out.push(Record::Entry(e)),
            Found::Raw(r) => {
                let mut w = Vec::new();
                match parser.parse(&data[r.start..r.end], r.line, &mut w) {
                    Ok(Parsed::Record(rec)) => out.push(rec),
                    Ok(Parsed::Skipped(_)) => {}
                    Err(e) => panic!("line {}: {}", e.line, e.message),
                }
            }
            Found::Settled(_) => unreachable!("no record is settled"),
        });
    }
    out
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120),
        "[ :<#a-zA-Z0-9\\-,=+\\\\]{0,40}".prop_map(String::into_bytes),
        "\\PC{0,200}".prop_map(String::into_bytes),
        Just(b"x\ndn: cn=admin,dc=x\nchangetype: delete".to_vec()),
        Just(b" leading and trailing ".to_vec()),
        Just(b"a\r\nb".to_vec()),
    ]
}

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("description".to_string()),
        Just("cn".to_string()),
        Just("proxyAddresses".to_string()),
        Just("objectGUID".to_string()),
        Just("msExchMailboxGuid".to_string()),
        Just("ou;lang-ja".to_string()),
        Just("userCertificate;binary".to_string()),
        // `dn` is no attribute: no reader makes an entry with one (a second `dn:` line is an
        // error), so the writer is never given one.
        "[a-z][a-zA-Z0-9-]{0,20}".prop_filter("`dn` is not an attribute", |n| {
            !n.eq_ignore_ascii_case("dn")
        }),
    ]
}

fn dn_text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec("\\PC{1,30}", 1..4).prop_map(|vals| {
        let mut out = Vec::new();
        for (i, v) in vals.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(if i == 0 { b"CN=" } else { b"OU=" });
            out.extend(dn::escape_value(v.as_bytes()));
        }
        out
    })
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        dn_text(),
        proptest::collection::vec(
            (attr_name(), proptest::collection::vec(value(), 1..4)),
            1..8,
        ),
    )
        .prop_map(|(dn, attrs)| {
            let mut b = EntryBuilder::new(&dn);
            for (name, vals) in attrs {
                for v in vals {
                    b.push(name.as_bytes(), &v);
                }
            }
            b.finish()
        })
}

fn modification() -> impl Strategy<Value = Modification> {
    (
        prop_oneof![Just(ModOp::Add), Just(ModOp::Delete), Just(ModOp::Replace)],
        attr_name(),
        proptest::collection::vec(value(), 0..3),
    )
        .prop_map(|(op, a, v)| {
            let v = if op == ModOp::Add && v.is_empty() {
                vec![b"x".to_vec()]
            } else {
                v
            };
            Modification::new(op, a, v)
        })
}

pub fn change_record() -> impl Strategy<Value = ChangeRecord> {
    prop_oneof![
        entry().prop_map(|e| ChangeRecord {
            dn: e.dn().to_vec(),
            controls: vec![],
            change: Change::Add(e)
        }),
        dn_text().prop_map(ChangeRecord::delete),
        (dn_text(), proptest::collection::vec(modification(), 1..4))
            .prop_map(|(d, m)| ChangeRecord::modify(d, m)),
        (
            dn_text(),
            dn_text(),
            any::<bool>(),
            proptest::option::of(dn_text())
        )
            .prop_map(|(d, new, del, sup)| ChangeRecord {
                dn: d,
                controls: vec![],
                change: Change::ModDn {
                    new_rdn: dn::rdn_part(&new).to_vec(),
                    delete_old_rdn: del,
                    new_superior: sup,
                }
            }),
    ]
}

fn writer_options() -> impl Strategy<Value = WriteOptions> {
    (
        prop_oneof![Just(Dialect::Ldifde), Just(Dialect::Ldapmodify)],
        prop_oneof![Just(0usize), Just(20), Just(76), Just(200)],
    )
        .prop_map(|(d, wrap)| WriteOptions {
            wrap,
            ..WriteOptions::for_dialect(d)
        })
}

/// Add records come back as entries (an ldifde export record is an entry).
fn normalise(r: ChangeRecord) -> Record {
    match r.change {
        Change::Add(e) if r.controls.is_empty() => Record::Entry(e),
        _ => Record::Change(Box::new(r)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn written_records_parse_back_identically(recs in proptest::collection::vec(change_record(), 1..6), opts in writer_options()) {
        let mut w = Writer::new(opts);
        let mut out = Vec::new();
        for r in &recs {
            w.record(&mut out, r);
        }
        prop_assert!(out.is_ascii(), "output must be 7-bit ASCII");
        for line in out.split(|c| *c == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            prop_assert!(line.last() != Some(&b' ') && line.last() != Some(&b'\t'), "trailing whitespace");
        }
        let back = parse_all(&out);
        let want: Vec<Record> = recs.into_iter().map(normalise).collect();
        prop_assert_eq!(back, want);
    }
}

/// Entries with the shape a directory allows: unique values per attribute (case-insensitive),
/// single-valued attributes with one value.
fn dir_entry(dn_text: String) -> impl Strategy<Value = Entry> {
    let attrs = proptest::collection::btree_map(
        prop_oneof![
            Just("mail"),
            Just("proxyAddresses"),
            Just("description"),
            Just("title"),
            Just("member")
        ],
        proptest::collection::btree_set("[a-e]{1,3}(@x)?", 1..4),
        0..5,
    );
    attrs.prop_map(move |attrs| {
        let mut b = EntryBuilder::new(dn_text.as_bytes());
        b.push(b"objectClass", b"top");
        for (name, vals) in attrs {
            let mut seen: Vec<String> = Vec::new();
            for v in vals {
                if seen.iter().any(|s| s.eq_ignore_ascii_case(&v)) {
                    continue;
                }
                if ldifstamp::model::schema::attr_info(name.as_bytes()).single && !seen.is_empty() {
                    continue;
                }
                seen.push(v.clone());
                b.push(name.as_bytes(), v.as_bytes());
            }
        }
        b.finish()
    })
}

fn directory() -> impl Strategy<Value = Vec<Entry>> {
    proptest::sample::subsequence(
        vec![
            "cn=a,dc=x",
            "cn=b,dc=x",
            "cn=c,dc=x",
            "ou=o,dc=x",
            "cn=d,ou=o,dc=x",
            "cn=e,ou=o,dc=x",
        ],
        0..6,
    )
    .prop_flat_map(|dns| {
        dns.into_iter()
            .map(|d| dir_entry(d.to_string()))
            .collect::<Vec<_>>()
    })
}

fn sorted_debug(es: &[Entry]) -> Vec<String> {
    let mut v: Vec<String> = es
        .iter()
        .map(|e| {
            let mut attrs: Vec<String> = e
                .attributes()
                .map(|a| {
                    let mut vals: Vec<String> = a
                        .values()
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .collect();
                    vals.sort();
                    format!("{}={vals:?}", a.name_str().to_ascii_lowercase())
                })
                .collect();
            attrs.sort();
            format!(
                "{}:{attrs:?}",
                String::from_utf8_lossy(&dn::key_lossy(e.dn()))
            )
        })
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn applying_the_diff_of_old_and_new_to_old_gives_new(old in directory(), new in directory()) {
        let (recs, _) = diff(&old, &new, &DiffOptions::default()).unwrap();
        // Through the writer and parser too, as a user would apply it.
        let mut w = Writer::new(WriteOptions::default());
        let mut text = Vec::new();
        for r in &recs {
            w.record(&mut text, r);
        }
        let parsed: Vec<ChangeRecord> = parse_all(&text)
            .into_iter()
            .map(|r| match r {
                Record::Entry(e) => ChangeRecord::add(e),
                Record::Change(c) => *c,
            })
            .collect();
        let got = apply(old, &parsed).unwrap();
        prop_assert_eq!(sorted_debug(&got), sorted_debug(&new));
    }
}
