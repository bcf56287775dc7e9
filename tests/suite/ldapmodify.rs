//! Every kind of LDIF the product writes passes OpenLDAP's parser (`ldapmodify -n -c`).

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use ldifstamp::ldif::writer::{Dialect, WriteOptions, Writer};
use ldifstamp::model::{ChangeRecord, EntryBuilder, ModOp, Modification};

use crate::harness::{assert_ldapmodify_accepts, run};

#[test]
fn a_value_holding_a_record_never_becomes_a_second_record() {
    let mut b = EntryBuilder::new(b"cn=victim,dc=x");
    b.push(b"objectClass", b"person");
    b.push(b"description", b"x\ndn: cn=admin,dc=x\nchangetype: delete");
    b.push(b"sn", b"v");
    let victim = b.finish();
    let rec = ChangeRecord::modify(
        b"cn=victim,dc=x".to_vec(),
        vec![Modification::new(
            ModOp::Replace,
            "description",
            vec![b"\ndn: cn=admin,dc=x\nchangetype: delete\n".to_vec()],
        )],
    );
    for dialect in [Dialect::Ldifde, Dialect::Ldapmodify] {
        let mut w = Writer::new(WriteOptions::for_dialect(dialect));
        let mut out = Vec::new();
        w.add_record(&mut out, &victim);
        w.record(&mut out, &rec);
        assert_ldapmodify_accepts(&out, "an injection attempt");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.ldif");
        std::fs::write(&f, &out).unwrap();
        let o = std::process::Command::new("ldapmodify")
            .args(["-n", "-v", "-c", "-f"])
            .arg(&f)
            .output()
            .unwrap();
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(
            !text.contains("cn=admin,dc=x\""),
            "a second record appeared: {text}"
        );
        assert_eq!(text.matches("!adding new entry").count(), 1, "{text}");
        assert_eq!(text.matches("!modifying entry").count(), 1, "{text}");
    }
}

#[test]
fn hundreds_of_random_records_pass_ldapmodify() {
    let mut runner = TestRunner::deterministic();
    for dialect in [Dialect::Ldifde, Dialect::Ldapmodify] {
        let mut w = Writer::new(WriteOptions::for_dialect(dialect));
        let mut out = Vec::new();
        for _ in 0..300 {
            let rec = crate::roundtrip::change_record()
                .new_tree(&mut runner)
                .unwrap()
                .current();
            w.record(&mut out, &rec);
        }
        assert_ldapmodify_accepts(&out, "300 generated records");
    }
}

#[test]
fn convert_output_of_every_conformance_input_passes_ldapmodify() {
    let shared = crate::harness::shared();
    let mut inputs: Vec<String> = Vec::new();
    for dir in ["conformance/openldap-probe", "conformance/rfc2849"] {
        for e in std::fs::read_dir(shared.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().and_then(|x| x.to_str()) == Some("ldif") {
                inputs.push(p.to_str().unwrap().to_string());
            }
        }
    }
    for dialect in ["ldifde", "ldapmodify"] {
        let mut args = vec!["convert", "-q", "--dialect", dialect];
        args.extend(inputs.iter().map(String::as_str));
        let out = run(&args, None);
        assert_eq!(
            out.status.code(),
            Some(1),
            "some probes are rejects by design"
        );
        assert!(!out.stdout.is_empty());
        assert_ldapmodify_accepts(&out.stdout, "convert of the conformance inputs");
    }
}
