//! `plan`: idempotence, determinism, the reference's worked examples, and the properties
//! "nothing is lost" and "no new duplicates".

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;

use ldifstamp::apply::apply;
use ldifstamp::input::InputOptions;
use ldifstamp::model::{ChangeRecord, Entry, Record};

use crate::harness::{assert_ldapmodify_accepts, read_items, root, run};

fn entries_of(path: &Path) -> Vec<Entry> {
    read_items(path, &InputOptions::default())
        .into_iter()
        .filter_map(|i| match i.result {
            Ok(Record::Entry(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn changes_of(bytes: &[u8]) -> Vec<ChangeRecord> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.ldif");
    std::fs::write(&f, bytes).unwrap();
    read_items(&f, &InputOptions::default())
        .into_iter()
        .map(|i| match i.result {
            Ok(Record::Change(c)) => *c,
            Ok(Record::Entry(e)) => ChangeRecord::add(e),
            Err(e) => panic!("{}: {e}", i.location),
        })
        .collect()
}

fn plan(export: &str, policy: &str, extra: &[&str]) -> (Vec<u8>, String, i32) {
    let mut args = vec!["plan", export, "--policy", policy, "--guid-seed", "7", "-q"];
    args.extend_from_slice(extra);
    let out = run(&args, None);
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// Plans `export`, applies the output in memory, writes the result, plans again.
pub fn replan_is_empty(export: &Path, policy: &str) -> (Vec<Entry>, Vec<Entry>) {
    let (out, err, code) = plan(export.to_str().unwrap(), policy, &[]);
    assert!(code == 0 || code == 1, "plan failed: {err}");
    assert_ldapmodify_accepts(&out, "plan output");
    let before = entries_of(export);
    let after = apply(before.clone(), &changes_of(&out)).expect("the plan applies cleanly");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("after.ldf");
    let mut w = ldifstamp::ldif::writer::Writer::default();
    let mut buf = Vec::new();
    for e in &after {
        w.add_record(&mut buf, e);
    }
    std::fs::write(&f, &buf).unwrap();
    let (again, err2, _) = plan(f.to_str().unwrap(), policy, &[]);
    assert!(
        again.is_empty(),
        "second plan is not empty:\n{}\n{err2}",
        String::from_utf8_lossy(&again)
    );
    (before, after)
}

#[test]
fn planning_the_sample_after_applying_its_plan_gives_nothing() {
    replan_is_empty(&root().join("samples/corp.ldf"), "samples/policy.toml");
    replan_is_empty(&root().join("samples/corp.csv"), "samples/policy.toml");
}

#[test]
fn address_list_values_in_another_spelling_are_kept_as_they_are() {
    // The sample after its plan, with every showInAddressBook value re-spelled (lower case,
    // a space after each comma): the same lists, so planning again changes nothing.
    let (_, after) = replan_is_empty(&root().join("samples/corp.ldf"), "samples/policy.toml");
    let mut respelled = 0;
    let mut buf = Vec::new();
    let mut w = ldifstamp::ldif::writer::Writer::default();
    for e in &after {
        let mut b = ldifstamp::model::EntryBuilder::new(e.dn());
        for a in e.attributes() {
            for v in a.values() {
                if a.name().eq_ignore_ascii_case(b"showInAddressBook") {
                    let other = String::from_utf8_lossy(v).to_lowercase().replace(',', ", ");
                    b.push(a.name(), other.as_bytes());
                    respelled += 1;
                } else {
                    b.push(a.name(), v);
                }
            }
        }
        w.add_record(&mut buf, &b.finish());
    }
    assert!(respelled > 10, "{respelled} values re-spelled");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("respelled.ldf");
    std::fs::write(&f, &buf).unwrap();
    let (again, err, _) = plan(f.to_str().unwrap(), "samples/policy.toml", &[]);
    assert!(
        again.is_empty(),
        "re-spelled lists were changed:\n{}\n{err}",
        String::from_utf8_lossy(&again)
    );
}

#[test]
fn the_rule_fixture_is_idempotent_too() {
    replan_is_empty(
        &root().join("tests/fixtures/plan-rules/export.ldf"),
        "tests/fixtures/plan-rules/policy.toml",
    );
}

#[test]
fn plan_output_is_identical_for_any_thread_count_and_from_stdin() {
    let base = plan("samples/corp.ldf", "samples/policy.toml", &["-j", "1"]).0;
    assert!(!base.is_empty());
    for j in ["2", "8"] {
        assert_eq!(
            plan("samples/corp.ldf", "samples/policy.toml", &["-j", j]).0,
            base,
            "-j{j}"
        );
    }
    // The file mapped (the default) or read.
    assert_eq!(
        plan("samples/corp.ldf", "samples/policy.toml", &["--no-mmap"]).0,
        base,
        "--no-mmap"
    );
    let data = std::fs::read(root().join("samples/corp.ldf")).unwrap();
    let out = run(
        &[
            "plan",
            "-",
            "--policy",
            "samples/policy.toml",
            "--guid-seed",
            "7",
            "-q",
            "-j",
            "2",
        ],
        Some(&data),
    );
    assert_eq!(out.stdout, base, "stdin");
}

#[test]
fn both_dialects_pass_ldapmodify() {
    for d in ["ldifde", "ldapmodify"] {
        let (out, _, _) = plan("samples/corp.ldf", "samples/policy.toml", &["--dialect", d]);
        assert_ldapmodify_accepts(&out, d);
    }
}

fn entry_after(out: &[u8], export: &Path, dn_contains: &str) -> Entry {
    let after = apply(entries_of(export), &changes_of(out)).unwrap();
    after
        .into_iter()
        .find(|e| e.dn_lossy().contains(dn_contains))
        .unwrap_or_else(|| panic!("no entry {dn_contains}"))
}

fn values(e: &Entry, a: &str) -> Vec<String> {
    e.values(a)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn worked_example_2_8_is_reproduced() {
    let export = root().join("tests/fixtures/plan-rules/export.ldf");
    let (out, _, _) = plan(
        export.to_str().unwrap(),
        "tests/fixtures/plan-rules/policy.toml",
        &[],
    );
    let e = entry_after(&out, &export, "Müller");
    let p = values(&e, "proxyAddresses");
    assert!(
        p.contains(&"SMTP:jmueller@contoso.com".to_string()),
        "{p:?}"
    );
    assert!(
        p.contains(&"smtp:jmueller@contoso.net".to_string()),
        "{p:?}"
    );
    assert!(
        p.contains(
            &"X400:c=US;a= ;p=Contoso;o=Exchange;s=Mueller Luedenscheidt;g=Jose;i=K;".to_string()
        ),
        "{p:?}"
    );
    assert_eq!(p.len(), 3);
    assert_eq!(values(&e, "mail"), vec!["jmueller@contoso.com"]);
    assert_eq!(
        values(&e, "textEncodedORAddress"),
        vec!["c=US;a= ;p=Contoso;o=Exchange;s=Mueller Luedenscheidt;g=Jose;i=K;"]
    );
    assert_eq!(
        values(&e, "msExchPoliciesIncluded"),
        vec!["{11111111-2222-3333-4444-555555555555},{26491CFC-9E50-4857-861B-0CB8DF22B5D7}"]
    );
    assert_eq!(
        values(&e, "legacyExchangeDN"),
        vec!["/o=Contoso/ou=First Administrative Group/cn=Recipients/cn=jmueller"]
    );
    assert_eq!(e.first("msExchMailboxGuid").unwrap().len(), 16);
}

#[test]
fn kb315900_new_user_gets_user3_at_b_com() {
    let export = root().join("tests/fixtures/plan-rules/export.ldf");
    let (out, _, _) = plan(
        export.to_str().unwrap(),
        "tests/fixtures/plan-rules/policy.toml",
        &[],
    );
    let x = entry_after(&out, &export, "CN=X,");
    let mut p = values(&x, "proxyAddresses");
    p.sort();
    // The KB policy has no X.400 template: the Default Policy's supplies the X.400 address
    // every Exchange 2003 recipient needs (reference section 2.2).
    assert_eq!(
        p,
        vec![
            "SMTP:user@a.com",
            "X400:c=US;a= ;p=Contoso;o=Exchange;s=user;",
            "smtp:user3@b.com"
        ]
    );
}

#[test]
fn system_policy_rules_on_the_fixture() {
    let export = root().join("tests/fixtures/plan-rules/export.ldf");
    let (out, _, _) = plan(
        export.to_str().unwrap(),
        "tests/fixtures/plan-rules/policy.toml",
        &[],
    );
    // A disabled account mailbox-enabled by a rule gets SELF as master account SID.
    let room = entry_after(&out, &export, "Disabled Room");
    assert_eq!(
        room.first("msExchMasterAccountSid").unwrap(),
        &ldifstamp::model::binary::SID_SELF
    );
    assert_eq!(values(&room, "msExchUserAccountControl"), vec!["2"]);
    assert_eq!(values(&room, "mDBUseDefaults"), vec!["TRUE"]);
    assert!(values(&room, "homeMTA")[0].starts_with("CN=Microsoft MTA,CN=SRV01,"));
    // A hidden contact has no address-book membership; its external address is primary.
    let hidden = entry_after(&out, &export, "Hidden Contact");
    assert!(values(&hidden, "showInAddressBook").is_empty());
    assert!(values(&hidden, "proxyAddresses").contains(&"SMTP:hidden@partner.example".to_string()));
    assert_eq!(values(&hidden, "mail"), vec!["hidden@partner.example"]);
    // Opted out of e-mail address policies: no addresses; targetAddress removed from a mailbox.
    let opted = entry_after(&out, &export, "Opted Out");
    assert!(values(&opted, "proxyAddresses").is_empty());
    assert!(values(&opted, "targetAddress").is_empty());
    // Existing values are never regenerated.
    let other = entry_after(&out, &export, "Other Jose");
    assert_eq!(
        values(&other, "legacyExchangeDN"),
        vec!["/o=Contoso/ou=First Administrative Group/cn=Recipients/cn=ojose"]
    );
    assert_eq!(
        other.first("msExchMailboxGuid").unwrap(),
        &[
            0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
            0x77, 0x88
        ]
    );
    // Exchange Enterprise Servers gains every domain's Exchange Domain Servers group, the
    // other forest's one from --index included.
    let (out2, _, _) = plan(
        export.to_str().unwrap(),
        "tests/fixtures/plan-rules/policy.toml",
        &["--index", "tests/fixtures/plan-rules/other-forest.ldf"],
    );
    let ees = entry_after(&out2, &export, "Exchange Enterprise Servers");
    assert_eq!(values(&ees, "member").len(), 2);
    // The --index file reserves `optout@contoso.com`; Opted Out is excluded anyway, so the
    // reservation shows on nobody here, but the index is read without errors.
}

// ---- properties ---------------------------------------------------------------------------

const GIVEN: &[&str] = &["John", "Jane", "José", "Zoë", "王", "Ann"];
const SUR: &[&str] = &["Smith", "Müller", "O'Brien", "Lee", "小明", "Ng"];

#[derive(Debug, Clone)]
struct Person {
    given: usize,
    sur: usize,
    kind: u8,
    existing_proxy: Option<usize>,
    when: u8,
}

fn person() -> impl Strategy<Value = Person> {
    (
        0..GIVEN.len(),
        0..SUR.len(),
        0u8..4,
        proptest::option::of(0usize..6),
        0u8..5,
    )
        .prop_map(|(given, sur, kind, existing_proxy, when)| Person {
            given,
            sur,
            kind,
            existing_proxy,
            when,
        })
}

const POLICY: &str = r#"
[organization]
name = "Corp"
admin_group_legacy_dn = "/o=Corp/ou=AG"
org_dn = "CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=x"
default_address_lists = true
[[server]]
name = "S1"
dn = "CN=S1,CN=Servers,CN=AG,CN=Administrative Groups,CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=x"
legacy_dn = "/o=Corp/ou=AG/cn=Configuration/cn=Servers/cn=S1"
stores = ["CN=DB,CN=SG,CN=InformationStore,CN=S1,CN=Servers,CN=AG,CN=Administrative Groups,CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=x"]
[[mailbox]]
filter = "(&(objectClass=user)(company=Corp))"
server = "S1"
[[contact]]
filter = "(objectClass=contact)"
[[recipient_policy]]
name = "Default Policy"
priority = 100
filter = "(mailnickname=*)"
addresses = ["SMTP:%g.%s@x.com", "smtp:%1g%s@x.net", "X400:c=US;a= ;p=Corp;o=Exchange;"]
guid = "{E491A201-A02A-4EA2-BC41-1B45A6CD3A4F}"
"#;

fn export_of(people: &[Person]) -> String {
    let mut s = String::new();
    for (i, p) in people.iter().enumerate() {
        let g = GIVEN[p.given];
        let n = SUR[p.sur];
        s.push_str(&format!("dn: CN=P{i},OU=Staff,DC=x\n"));
        let b64 = |v: &str| ldifstamp::ldif::writer::text_needs_base64(v.as_bytes());
        let line = |s: &mut String, a: &str, v: &str| {
            if b64(v) {
                let mut out = Vec::new();
                ldifstamp::ldif::writer::b64_into(v.as_bytes(), &mut out);
                s.push_str(&format!("{a}:: {}\n", String::from_utf8(out).unwrap()));
            } else {
                s.push_str(&format!("{a}: {v}\n"));
            }
        };
        if p.kind == 3 {
            s.push_str("objectClass: contact\n");
            line(&mut s, "mail", &format!("p{i}@partner.example"));
        } else {
            s.push_str("objectClass: user\nsAMAccountName: ");
            s.push_str(&format!("u{i}\ncompany: Corp\n"));
        }
        line(&mut s, "givenName", g);
        line(&mut s, "sn", n);
        s.push_str(&format!("whenCreated: 2024010{}000000.0Z\n", p.when));
        s.push_str(&format!("objectGUID:: {}\n", {
            let mut b = Vec::new();
            ldifstamp::ldif::writer::b64_into(&[i as u8; 16], &mut b);
            String::from_utf8(b).unwrap()
        }));
        if p.kind == 1 {
            // already a mailbox, with a legacyExchangeDN and a GUID
            s.push_str(&format!("mailNickname: old{i}\nhomeMDB: CN=DB,CN=SG,CN=InformationStore,CN=S1,CN=Servers,CN=AG,CN=Administrative Groups,CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=x\n"));
            s.push_str(&format!(
                "legacyExchangeDN: /o=Corp/ou=AG/cn=Recipients/cn=old{i}\n"
            ));
            s.push_str("msExchMailboxGuid:: AAECAwQFBgcICQoLDA0ODw==\n");
        }
        if let Some(k) = p.existing_proxy {
            if p.kind == 1 {
                line(
                    &mut s,
                    "proxyAddresses",
                    &format!("SMTP:{}.{}@x.com", "John", SUR[k % SUR.len()]),
                );
            }
        }
        s.push('\n');
    }
    s
}

fn folded(v: &[u8]) -> Vec<u8> {
    ldifstamp::model::schema::case_fold(v)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn nothing_is_lost_and_no_new_duplicates_appear(people in proptest::collection::vec(person(), 1..14)) {
        let dir = tempfile::tempdir().unwrap();
        let export = dir.path().join("e.ldf");
        std::fs::write(&export, export_of(&people)).unwrap();
        let policy = dir.path().join("p.toml");
        std::fs::write(&policy, POLICY).unwrap();
        let (before, after) = replan_is_empty(&export, policy.to_str().unwrap());
        let by_dn: HashMap<Vec<u8>, &Entry> = after.iter().map(|e| (e.dn().to_vec(), e)).collect();
        // Input duplicates (case-insensitive) are allowed to stay; nothing new may collide.
        let mut input_count: HashMap<Vec<u8>, usize> = HashMap::new();
        for e in &before {
            for v in e.values("proxyAddresses") {
                *input_count.entry(folded(v)).or_default() += 1;
            }
        }
        for b in &before {
            let a = by_dn[b.dn()];
            for v in b.values("proxyAddresses") {
                prop_assert!(a.values("proxyAddresses").any(|w| folded(w) == folded(v)), "lost {:?}", String::from_utf8_lossy(v));
            }
            for attr in ["msExchMailboxGuid", "legacyExchangeDN"] {
                if let Some(v) = b.first(attr) {
                    prop_assert_eq!(a.first(attr), Some(v), "{} changed", attr);
                }
            }
        }
        let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
        for a in &after {
            for v in a.values("proxyAddresses") {
                *seen.entry(folded(v)).or_default() += 1;
            }
            if let Some(l) = a.first("legacyExchangeDN") {
                let mut k = b"x500:".to_vec();
                k.extend(folded(l));
                *seen.entry(k).or_default() += 1;
            }
        }
        for (k, n) in seen {
            let allowed = input_count.get(&k).copied().unwrap_or(1).max(1);
            prop_assert!(n <= allowed, "{} held {} times", String::from_utf8_lossy(&k), n);
        }
    }
}

#[test]
fn check_reports_every_policy_problem_with_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(root().join("samples/policy.toml"))
        .unwrap()
        .replace("server = \"SRV01\"", "server = \"SRV9\"")
        .replace(
            "\"SMTP:%g.%s@corp.example.com\"",
            "\"SMTP:%q@corp.example.com\"",
        );
    std::fs::write(&bad, text).unwrap();
    let out = run(&["check", "--policy", bad.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`mailbox[1].server`: unknown server `SRV9`"),
        "{err}"
    );
    assert!(
        err.contains("`recipient_policy[1].addresses[0]`: invalid address template"),
        "{err}"
    );
    assert!(err.contains("2 problem(s)"), "{err}");
    let line = err.lines().find(|l| l.contains("SRV9")).unwrap();
    assert!(line.contains("bad.toml:35:10:"), "{line}");
}

#[test]
fn check_lints_the_sample_export() {
    let out = run(
        &[
            "check",
            "--policy",
            "samples/policy.toml",
            "samples/corp.ldf",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("broken recipient"), "{err}");
    assert!(err.contains("mailbox user with `targetAddress`"), "{err}");
    assert!(err.contains("hidden from address lists"), "{err}");
    let ok = run(&["check", "--policy", "samples/policy.toml"], None);
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn scope_base_stamps_one_wave_but_counts_the_whole_input() {
    let (out, _, code) = plan(
        "samples/corp.ldf",
        "samples/policy.toml",
        &[
            "--scope-base",
            "OU=Wave2,DC=corp,DC=example,DC=com",
            "--dialect",
            "ldapmodify",
            "--wrap",
            "0",
        ],
    );
    assert_eq!(code, 0);
    let text = String::from_utf8(out.clone()).unwrap();
    let dns: Vec<&str> = text.lines().filter(|l| l.starts_with("dn:")).collect();
    assert!(!dns.is_empty());
    for d in &dns {
        // every stamped object is in the wave (dn:: lines are base64 of a Wave2 DN)
        let plain = if let Some(b) = d.strip_prefix("dn:: ") {
            let mut v = Vec::new();
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode_vec(b, &mut v)
                .unwrap();
            String::from_utf8(v).unwrap()
        } else {
            d.to_string()
        };
        assert!(plain.contains("OU=Wave2"), "{plain}");
    }
    // John Smith in the wave still cannot take the address the Staff John Smith holds.
    assert!(!text.contains("SMTP:John.Smith@corp.example.com"));
}

#[test]
fn timings_go_to_stderr_and_leave_the_plan_as_it_was() {
    let (plain, plain_err, code) = plan("samples/corp.ldf", "samples/policy.toml", &[]);
    assert_eq!(code, 0);
    assert_eq!(plain_err, "", "-q prints nothing");
    let (timed, err, code) = plan("samples/corp.ldf", "samples/policy.toml", &["--timings"]);
    assert_eq!(code, 0);
    assert_eq!(timed, plain, "--timings changes nothing on standard output");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line, even with -q: {err}");
    let line = lines[0];
    let bytes = std::fs::metadata(root().join("samples/corp.ldf"))
        .unwrap()
        .len();
    let records = std::fs::read_to_string(root().join("samples/corp.ldf"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("dn:"))
        .count();
    assert!(
        line.starts_with("ldifstamp plan: timings: pass 1 "),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            " ({records} records, {:.1} MB), allocation ",
            bytes as f64 / 1e6
        )),
        "{line}"
    );
    for part in [
        " claims, all served ",
        " s into pass 2), pass 2 ",
        " s, total ",
        " s",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
}

#[test]
fn summary_json_accounts_for_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let sum = dir.path().join("s.json");
    let (out, _, code) = plan(
        "samples/corp.ldf",
        "samples/policy.toml",
        &["--summary", sum.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&sum).unwrap()).unwrap();
    // Each attribute is counted once per change record that changes it.
    let mut counted: std::collections::BTreeMap<String, u64> = Default::default();
    for c in changes_of(&out) {
        let ldifstamp::model::Change::Modify(mods) = &c.change else {
            panic!("a plan writes modify records");
        };
        let mut names: Vec<String> = mods
            .iter()
            .map(|m| String::from_utf8_lossy(&m.attr).to_ascii_lowercase())
            .collect();
        names.dedup();
        for name in names {
            *counted.entry(name).or_default() += 1;
        }
    }
    let summarised: std::collections::BTreeMap<String, u64> = v["changes_by_attribute"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.to_ascii_lowercase(), n.as_u64().unwrap()))
        .collect();
    assert!(!counted.is_empty());
    assert_eq!(summarised, counted);
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n("records"),
        n("changed") + n("unchanged") + n("rejected") + n("skipped")
    );
    assert_eq!(n("guid_seed"), 7);
    assert!(
        v["changes_by_attribute"]["proxyAddresses"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(v["kinds"]["mailbox users"].as_u64().unwrap() > 0);
}

#[test]
fn exchange2007_target_writes_recipient_type_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    let text = std::fs::read_to_string(root().join("tests/fixtures/plan-rules/policy.toml"))
        .unwrap()
        .replace(
            "default_address_lists = true",
            "default_address_lists = true\ntarget = \"exchange2007\"",
        );
    std::fs::write(&policy, text).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/plan-rules/linked.csv"),
        dir.path().join("linked.csv"),
    )
    .unwrap();
    let export = root().join("tests/fixtures/plan-rules/export.ldf");
    let (out, err, _) = plan(export.to_str().unwrap(), policy.to_str().unwrap(), &[]);
    assert_ldapmodify_accepts(&out, "e2007 plan");
    let linked = entry_after(&out, &export, "Linked User");
    assert_eq!(values(&linked, "msExchRecipientTypeDetails"), vec!["2"]);
    let room = entry_after(&out, &export, "Disabled Room");
    assert_eq!(
        values(&room, "msExchRecipientTypeDetails"),
        vec!["4"],
        "{err}"
    );
    assert_eq!(values(&room, "msExchVersion"), vec!["4535486012416"]);
    let jose = entry_after(&out, &export, "Müller");
    assert_eq!(values(&jose, "msExchRecipientTypeDetails"), vec!["1"]);
    let inc = values(&jose, "msExchPoliciesIncluded");
    assert_eq!(inc.len(), 2, "{inc:?}");
    let contact = entry_after(&out, &export, "Hidden Contact");
    assert_eq!(values(&contact, "msExchRecipientTypeDetails"), vec!["64"]);
    assert_eq!(values(&contact, "msExchRecipientDisplayType"), vec!["6"]);
}

#[test]
fn apply_policy_mode_regenerates_and_demotes_the_old_primary() {
    let export = root().join("tests/fixtures/plan-rules/export.ldf");
    let (out, _, _) = plan(
        export.to_str().unwrap(),
        "tests/fixtures/plan-rules/policy.toml",
        &["--mode", "apply-policy"],
    );
    // Y's primary was SMTP:y@a.com; the KB policy's primary template is SMTP:@a.com = y@a.com,
    // so it stays; its b.com secondary is added next to the existing user@b.com.
    let y = entry_after(&out, &export, "CN=Y,");
    let p = values(&y, "proxyAddresses");
    assert!(p.contains(&"SMTP:y@a.com".to_string()), "{p:?}");
    assert!(p.contains(&"smtp:user@b.com".to_string()), "{p:?}");
    assert!(p.contains(&"smtp:y@b.com".to_string()), "{p:?}");
    // Other Jose had SMTP:ojose@contoso.com from elsewhere; the Default Policy's primary is
    // @contoso.com with the alias: the same address, still primary, nothing demoted.
    let o = entry_after(&out, &export, "Other Jose");
    let p = values(&o, "proxyAddresses");
    assert!(p.contains(&"SMTP:ojose@contoso.com".to_string()), "{p:?}");
    assert!(
        p.contains(&"smtp:Jose.MuellerLuedenscheidt@contoso.com".to_string()),
        "{p:?}"
    );
    assert_eq!(
        p.iter().filter(|a| a.starts_with("SMTP:")).count(),
        1,
        "{p:?}"
    );

    // A renamed alias: the new address becomes primary, the old one is kept as secondary.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.ldf");
    std::fs::write(
        &f,
        "dn: CN=Renamed,OU=Staff,DC=contoso,DC=com\nobjectClass: user\nmailNickname: newalias\nhomeMDB: CN=Mailbox Store (SRV01),CN=First Storage Group,CN=InformationStore,CN=SRV01,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com\nproxyAddresses: SMTP:oldalias@contoso.com\nproxyAddresses: X500:/o=Old/cn=oldalias\nmail: oldalias@contoso.com\n",
    )
    .unwrap();
    for (mode, want_primary) in [
        ("new-only", "SMTP:oldalias@contoso.com"),
        ("apply-policy", "SMTP:newalias@contoso.com"),
    ] {
        let (out, _, _) = plan(
            f.to_str().unwrap(),
            "tests/fixtures/plan-rules/policy.toml",
            &["--mode", mode],
        );
        let r = entry_after(&out, &f, "Renamed");
        let p = values(&r, "proxyAddresses");
        assert!(p.contains(&want_primary.to_string()), "{mode}: {p:?}");
        assert!(
            p.contains(&"X500:/o=Old/cn=oldalias".to_string()),
            "{mode}: {p:?}"
        );
        assert_eq!(
            p.iter().filter(|a| a.starts_with("SMTP:")).count(),
            1,
            "{mode}: {p:?}"
        );
        if mode == "apply-policy" {
            assert!(
                p.contains(&"smtp:oldalias@contoso.com".to_string()),
                "{p:?}"
            );
            assert_eq!(values(&r, "mail"), vec!["newalias@contoso.com"]);
        }
    }
}

#[test]
fn check_reports_pre_existing_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.ldf");
    std::fs::write(
        &f,
        "dn: cn=a,dc=x\nobjectClass: user\nproxyAddresses: SMTP:same@x\n\ndn: cn=b,dc=x\nobjectClass: contact\nproxyAddresses: smtp:SAME@x\n",
    )
    .unwrap();
    let out = run(
        &[
            "check",
            "--policy",
            "samples/policy.toml",
            f.to_str().unwrap(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("is held by two objects"), "{err}");
}

#[test]
fn public_folders_dynamic_lists_and_linked_mailboxes() {
    let export = root().join("tests/fixtures/plan-rules/export.ldf");
    let (out, err, _) = plan(
        export.to_str().unwrap(),
        "tests/fixtures/plan-rules/policy.toml",
        &[],
    );
    // A public folder keeps the legacyExchangeDN its store gave it, gets addresses by policy
    // and is listed in the Public Folders list, not All Users; it never gets targetAddress.
    let pf = entry_after(&out, &export, "Help Desk Folder");
    assert_eq!(
        values(&pf, "legacyExchangeDN"),
        vec!["/o=Contoso/ou=First Administrative Group/cn=Recipients/cn=HelpDesk"]
    );
    assert!(
        values(&pf, "proxyAddresses").contains(&"SMTP:HelpDesk@contoso.com".to_string())
            || values(&pf, "proxyAddresses")
                .iter()
                .any(|p| p.starts_with("SMTP:")),
        "{err}"
    );
    assert!(values(&pf, "targetAddress").is_empty());
    let lists = values(&pf, "showInAddressBook").join("|");
    assert!(lists.contains("CN=Public Folders,"), "{lists}");
    assert!(!lists.contains("CN=All Users,"), "{lists}");
    // A query-based DL gets addresses and list membership (GAL only).
    let ddl = entry_after(&out, &export, "All Engineers");
    assert!(values(&ddl, "proxyAddresses")
        .iter()
        .any(|p| p.starts_with("SMTP:")));
    let lists = values(&ddl, "showInAddressBook").join("|");
    assert!(lists.contains("CN=Default Global Address List,"), "{lists}");
    assert!(!lists.contains("CN=All Groups,"), "{lists}");
    // A linked mailbox gets the external account's SID from linked_sids, not SELF.
    let linked = entry_after(&out, &export, "Linked User");
    let sid = linked.first("msExchMasterAccountSid").unwrap();
    assert_eq!(
        ldifstamp::model::binary::sid_bytes_to_text(sid).unwrap(),
        "S-1-5-21-1004336348-1177238915-682003330-1103"
    );
}

#[test]
fn plan_names_the_holders_of_pre_existing_duplicates_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let (f1, f2) = (dir.path().join("a.ldf"), dir.path().join("b.ldf"));
    std::fs::write(
        &f1,
        "dn: cn=a,dc=x\nobjectClass: user\nproxyAddresses: SMTP:same@x\n\ndn: cn=c,dc=x\nobjectClass: user\n",
    )
    .unwrap();
    std::fs::write(
        &f2,
        "dn: cn=d,dc=x\nobjectClass: user\n\ndn: cn=b,dc=x\nobjectClass: contact\nproxyAddresses: smtp:SAME@x\n",
    )
    .unwrap();
    let summary = dir.path().join("summary.json");
    let out = run(
        &[
            "plan",
            "--policy",
            "samples/policy.toml",
            "--guid-seed",
            "1",
            "-o",
            dir.path().join("out.ldf").to_str().unwrap(),
            "--summary",
            summary.to_str().unwrap(),
            f1.to_str().unwrap(),
            f2.to_str().unwrap(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`smtp:SAME@x` is held by both `cn=a,dc=x` and `cn=b,dc=x`"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["duplicates"][0]["first"], "cn=a,dc=x");
    assert_eq!(json["duplicates"][0]["second"], "cn=b,dc=x");
}

#[test]
fn settled_objects_continued_by_follow_up_records_are_still_read() {
    // Once the plan is applied, pass 1 finds every object settled and pass 2 reads none of
    // them, except an object an ldifde follow-up record continues: that one must still be
    // read and merged, or the follow-up would stand alone and be rejected.
    let (_, after) = replan_is_empty(&root().join("samples/corp.ldf"), "samples/policy.toml");
    let mut w = ldifstamp::ldif::writer::Writer::default();
    let mut buf = Vec::new();
    let mut continued = 0;
    for e in &after {
        w.add_record(&mut buf, e);
        let group = e
            .values("objectClass")
            .any(|c| c.eq_ignore_ascii_case(b"group"));
        if group && e.has("mailNickname") {
            buf.extend_from_slice(b"dn: ");
            buf.extend_from_slice(e.dn());
            buf.extend_from_slice(
                b"\nchangetype: modify\nadd: member\nmember: CN=Extra,OU=Staff,DC=corp,DC=example,DC=com\n-\n\n",
            );
            continued += 1;
        }
    }
    assert!(continued > 0, "the sample has no mail-enabled group");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("continued.ldf");
    std::fs::write(&f, &buf).unwrap();
    let sum = dir.path().join("s.json");
    let (out, err, code) = plan(
        f.to_str().unwrap(),
        "samples/policy.toml",
        &["--summary", sum.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&sum).unwrap()).unwrap();
    assert_eq!(v["rejected"].as_u64(), Some(0), "{err}");
    assert_eq!(v["unchanged"].as_u64(), Some(after.len() as u64));
}

#[test]
fn an_unusable_spool_directory_is_a_clear_fatal_error_without_output() {
    // `plan` spools pass 1's preparation to the temporary directory: when it cannot, the run
    // stops before writing anything, and says which file it could not make.
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("plan.ldf");
    let plan_with_tmpdir = |tmp: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ldifstamp"))
            .args([
                "plan",
                "samples/corp.ldf",
                "--policy",
                "samples/policy.toml",
            ])
            .args(["--guid-seed", "7", "-q", "-o"])
            .arg(&out_path)
            .env("TMPDIR", tmp)
            .current_dir(crate::harness::root())
            .output()
            .unwrap()
    };
    let out = plan_with_tmpdir(&dir.path().join("missing"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("temporary spool file in"), "{err}");
    assert!(err.contains("missing"), "{err}");
    assert!(!out_path.exists());
    // The same run with a usable directory writes the plan.
    let ok = plan_with_tmpdir(dir.path());
    assert_eq!(ok.status.code(), Some(0));
    assert!(std::fs::metadata(&out_path).unwrap().len() > 1000);
}

#[test]
fn an_export_that_changes_between_the_passes_stops_the_run_without_output() {
    // Pass 2 finds records by their pass-1 offsets: a file written to while `plan` reads it
    // must stop the run (exit 2, no output file), not give a plan of a mixture.
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("growing.ldf");
    let mut text = String::new();
    for i in 0..200_000 {
        text.push_str(&format!(
            "dn: CN=c{i},OU=Contacts,DC=corp,DC=example,DC=com\nobjectClass: contact\ncn: c{i}\nmail: c{i}@example.com\n\n"
        ));
    }
    std::fs::write(&export, text).unwrap();
    let out_path = dir.path().join("plan.ldf");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ldifstamp"))
        .args([
            "plan",
            "--policy",
            "samples/policy.toml",
            "--guid-seed",
            "7",
            "-q",
            "-o",
        ])
        .arg(&out_path)
        .arg(&export)
        .current_dir(crate::harness::root())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Empty lines are appended for as long as the run lasts: some after it looked at the file.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&export)
            .unwrap();
        std::io::Write::write_all(&mut f, b"\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("growing.ldf: the file changed while plan was reading it"),
        "{err}"
    );
    assert!(!out_path.exists());
}

#[test]
fn quiet_and_printed_runs_count_the_same_warnings() {
    // Ninety John Smiths: every claim after the first retries its addresses and its
    // legacyExchangeDN, far more warnings than are printed.
    let people: Vec<Person> = (0..90)
        .map(|i| Person {
            given: 0,
            sur: 0,
            kind: 0,
            existing_proxy: None,
            when: (i % 5) as u8,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("smiths.ldf");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&export, export_of(&people)).unwrap();
    std::fs::write(&policy, POLICY).unwrap();
    let (export, policy) = (export.to_str().unwrap(), policy.to_str().unwrap());
    let summary_of = |quiet: bool, jobs: &str| {
        let sum = dir.path().join(format!("s-{quiet}-{jobs}.json"));
        let mut args = vec![
            "plan",
            export,
            "--policy",
            policy,
            "--guid-seed",
            "7",
            "-j",
            jobs,
        ];
        if quiet {
            args.push("-q");
        }
        args.extend(["--summary", sum.to_str().unwrap()]);
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&sum).unwrap()).unwrap();
        (
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
            v["warnings"].as_u64().unwrap(),
        )
    };
    let (quiet_out, quiet_err, quiet_count) = summary_of(true, "2");
    assert_eq!(quiet_err, "");
    assert!(quiet_count > 150, "{quiet_count}");
    for jobs in ["1", "2"] {
        let (out, err, count) = summary_of(false, jobs);
        assert_eq!(out, quiet_out, "-j {jobs}");
        assert_eq!(count, quiet_count, "-j {jobs}");
        let printed: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
        // The first fifty, then the note that the rest are counted.
        assert_eq!(printed.len(), 51, "-j {jobs}: {err}");
        assert!(
            printed[50].contains("counted, not printed"),
            "{}",
            printed[50]
        );
        assert!(printed[1].contains("is taken; using"), "{}", printed[1]);
    }
}
