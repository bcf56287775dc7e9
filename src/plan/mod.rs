//! Current vs desired: the minimal modify record for one entry, in a canonical order.
//!
//! Single-valued attributes change with `replace:` (an empty `replace:` clears, which succeeds
//! whether or not the attribute is there). Multi-valued attributes the RUS maintains change
//! value by value: `delete:` of the old spelling, then `add:` of the new one, in the same
//! record — never a `replace:` of the whole set, so values added to the directory after the
//! export survive the import. `member` is only ever added to.

use crate::model::schema::{attr_info, values_equal};
use crate::model::{ChangeRecord, Entry, ModOp, Modification};

/// The order attributes appear in within a record.
pub const ORDER: &[&str] = &[
    "mailNickname",
    "displayName",
    "legacyExchangeDN",
    "homeMDB",
    "homeMTA",
    "msExchHomeServerName",
    "mDBUseDefaults",
    "msExchMailboxGuid",
    "msExchUserAccountControl",
    "msExchMasterAccountSid",
    "targetAddress",
    "mAPIRecipient",
    "reportToOriginator",
    "proxyAddresses",
    "mail",
    "textEncodedORAddress",
    "msExchPoliciesIncluded",
    "showInAddressBook",
    "msExchRecipientTypeDetails",
    "msExchRecipientDisplayType",
    "msExchVersion",
    "member",
];

/// Attributes changed value by value.
const BY_VALUE: &[&str] = &[
    "proxyAddresses",
    "showInAddressBook",
    "msExchPoliciesIncluded",
    "member",
];

/// One attribute and all the values it should have.
type Desired<'a> = (&'a str, Vec<Vec<u8>>);

/// The mod-specs that give `entry` the `desired` values (attribute → all its values).
pub fn modifications(entry: &Entry, desired: &[(&str, Vec<Vec<u8>>)]) -> Vec<Modification> {
    // By position in ORDER, then by name case-insensitively (a stable sort).
    let mut ordered: Vec<(usize, &Desired)> = desired
        .iter()
        .map(|d| {
            let at = ORDER
                .iter()
                .position(|o| o.eq_ignore_ascii_case(d.0))
                .unwrap_or(ORDER.len());
            (at, d)
        })
        .collect();
    ordered.sort_by(|(a, x), (b, y)| {
        a.cmp(b).then_with(|| {
            let lower = |s: &str| {
                s.bytes()
                    .map(|c| c.to_ascii_lowercase())
                    .collect::<Vec<_>>()
            };
            if x.0.eq_ignore_ascii_case(y.0) {
                std::cmp::Ordering::Equal
            } else {
                lower(x.0).cmp(&lower(y.0))
            }
        })
    });
    let mut mods = Vec::new();
    for (_, (name, want)) in ordered {
        let attr = name.as_bytes();
        let current: Vec<&[u8]> = entry.values(name).collect();
        let written = entry
            .get(name)
            .map_or_else(|| attr.to_vec(), |a| a.name().to_vec());
        if BY_VALUE.iter().any(|b| b.eq_ignore_ascii_case(name)) {
            let removed: Vec<Vec<u8>> = current
                .iter()
                .filter(|c| !want.iter().any(|w| w.as_slice() == **c))
                .map(|c| c.to_vec())
                .collect();
            let added: Vec<Vec<u8>> = want
                .iter()
                .filter(|w| !current.contains(&w.as_slice()))
                .cloned()
                .collect();
            let member = name.eq_ignore_ascii_case("member");
            if !removed.is_empty() && !member {
                mods.push(Modification::new(ModOp::Delete, written.clone(), removed));
            }
            if !added.is_empty() {
                mods.push(Modification::new(ModOp::Add, written, added));
            }
            continue;
        }
        let same = current.len() == want.len()
            && current.iter().zip(want).all(|(c, w)| {
                if attr_info(attr).is_binary() {
                    *c == w.as_slice()
                } else {
                    values_equal(attr, c, w)
                }
            });
        if same {
            continue;
        }
        if want.is_empty() && current.is_empty() {
            continue;
        }
        mods.push(Modification::new(ModOp::Replace, written, want.clone()));
    }
    mods
}

/// A modify record for `entry`, or `None` when nothing changes.
pub fn record(entry: &Entry, desired: &[(&str, Vec<Vec<u8>>)]) -> Option<ChangeRecord> {
    let mods = modifications(entry, desired);
    (!mods.is_empty()).then(|| ChangeRecord::modify(entry.dn().to_vec(), mods))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{entry_of, modify};

    #[test]
    fn a_primary_flip_is_delete_then_add_in_one_record() {
        let e = entry_of(
            "cn=a,dc=x",
            &[
                ("proxyAddresses", "SMTP:old@x"),
                ("proxyAddresses", "X400:c=US;"),
            ],
        );
        let want = vec![
            b"smtp:old@x".to_vec(),
            b"X400:c=US;".to_vec(),
            b"SMTP:new@x".to_vec(),
        ];
        let mods = modifications(&e, &[("proxyAddresses", want.clone())]);
        assert_eq!(mods.len(), 2);
        assert_eq!(mods[0].op, ModOp::Delete);
        assert_eq!(mods[0].values, vec![b"SMTP:old@x".to_vec()]);
        assert_eq!(mods[1].op, ModOp::Add);
        let after = modify(&e, &mods).unwrap();
        let got: Vec<&[u8]> = after.values("proxyAddresses").collect();
        assert_eq!(got.len(), 3);
        assert!(got.contains(&&b"smtp:old@x"[..]) && got.contains(&&b"SMTP:new@x"[..]));
    }

    #[test]
    fn single_valued_attributes_use_replace_and_clear_with_empty_replace() {
        let e = entry_of(
            "cn=a,dc=x",
            &[("mail", "a@x"), ("targetAddress", "SMTP:a@y")],
        );
        let mods = modifications(
            &e,
            &[("mail", vec![b"b@x".to_vec()]), ("targetAddress", vec![])],
        );
        assert_eq!(mods[0].attr, b"targetAddress");
        assert_eq!(mods[0].op, ModOp::Replace);
        assert!(mods[0].values.is_empty());
        assert_eq!(mods[1].attr, b"mail");
        assert!(modifications(&e, &[("mail", vec![b"A@X".to_vec()])]).is_empty());
        assert!(modifications(&e, &[("homeMDB", vec![])]).is_empty());
    }

    #[test]
    fn members_are_only_added() {
        let e = entry_of("cn=g,dc=x", &[("member", "cn=a,dc=x")]);
        let mods = modifications(&e, &[("member", vec![b"cn=b,dc=x".to_vec()])]);
        assert_eq!(mods.len(), 1);
        assert_eq!(mods[0].op, ModOp::Add);
    }
}
