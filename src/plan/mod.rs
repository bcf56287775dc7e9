//! Current vs desired: the minimal modify record for one entry, in a canonical order.
//!
//! Single-valued attributes change with `replace:` (an empty `replace:` clears, which succeeds
//! whether or not the attribute is there). Multi-valued attributes the RUS maintains change
//! value by value: `delete:` of the old spelling, then `add:` of the new one, in the same
//! record — never a `replace:` of the whole set, so values added to the directory after the
//! export survive the import. `member` is only ever added to.

use std::ops::Range;

use crate::model::entry::{desc_eq, well_known, WELL_KNOWN};
use crate::model::schema::{attr_info_keyed, equal_by, well_known_info};
use crate::model::{ChangeRecord, Desc, Entry, ModOp, ModRef, Modification, Name};
use crate::name;

/// The order attributes appear in within a record.
pub const ORDER: &[Name] = &[
    name!("mailNickname"),
    name!("displayName"),
    name!("legacyExchangeDN"),
    name!("homeMDB"),
    name!("homeMTA"),
    name!("msExchHomeServerName"),
    name!("mDBUseDefaults"),
    name!("msExchMailboxGuid"),
    name!("msExchUserAccountControl"),
    name!("msExchMasterAccountSid"),
    name!("targetAddress"),
    name!("mAPIRecipient"),
    name!("reportToOriginator"),
    name!("proxyAddresses"),
    name!("mail"),
    name!("textEncodedORAddress"),
    name!("msExchPoliciesIncluded"),
    name!("showInAddressBook"),
    name!("msExchRecipientTypeDetails"),
    name!("msExchRecipientDisplayType"),
    name!("msExchVersion"),
    name!("member"),
];

/// The place in [`ORDER`] of each [`WELL_KNOWN`] type, by its place + 1 (`ORDER.len()` for a
/// type outside it): a lookup instead of a search through `ORDER`.
const ORDER_OF_KNOWN: [u8; WELL_KNOWN.len() + 1] = {
    let mut table = [ORDER.len() as u8; WELL_KNOWN.len() + 1];
    let mut i = 0;
    while i < ORDER.len() {
        let known = well_known(ORDER[i].as_str().as_bytes());
        // Every type of ORDER is well known: the build fails here otherwise.
        assert!(known != 0);
        table[known as usize] = i as u8;
        i += 1;
    }
    table
};

/// Attributes changed value by value.
const BY_VALUE: &[Name] = &[
    name!("proxyAddresses"),
    name!("showInAddressBook"),
    name!("msExchPoliciesIncluded"),
    name!("member"),
];

/// A mod-spec being made: its values are a range of the values gathered so far.
type Spec<'a, N> = (ModOp, &'a [u8], bool, Range<usize>, &'a N);

/// One attribute and all the values it should have.
type Desired<N> = (N, Vec<Vec<u8>>);

/// The mod-specs that give `entry` the `desired` values (attribute → all its values).
pub fn modifications<N: Desc>(entry: &Entry, desired: &[Desired<N>]) -> Vec<Modification> {
    let mut values = Vec::new();
    mod_refs(entry, desired_refs(desired), &mut values)
        .iter()
        .map(|(m, _)| m.to_owned())
        .collect()
}

/// `desired` as [`mod_refs`] reads it: each name with an iterator over its values.
fn desired_refs<N: Desc>(
    desired: &[Desired<N>],
) -> impl Iterator<Item = (&N, impl ExactSizeIterator<Item = &[u8]> + Clone)> {
    desired
        .iter()
        .map(|(n, v)| (n, v.iter().map(Vec::as_slice)))
}

/// [`modifications`], borrowing the entry's and the desired values; each with the desired
/// name it comes from. `desired` gives each attribute with all the values it should have.
/// The mod-specs' values are gathered in `values` (cleared first), so that a record costs
/// no allocation per mod-spec.
pub fn mod_refs<'a, N, W>(
    entry: &'a Entry,
    desired: impl IntoIterator<Item = (&'a N, W)>,
    values: &'a mut Vec<&'a [u8]>,
) -> Vec<(ModRef<'a>, &'a N)>
where
    N: Desc + 'a,
    W: ExactSizeIterator<Item = &'a [u8]> + Clone,
{
    // By position in ORDER, then by name case-insensitively (a stable sort). Each name's key
    // serves its place in ORDER (whose keys are computed at build time), the entry's lookup
    // and the schema's.
    let mut ordered: Vec<(usize, u64, &'a N, W)> = desired
        .into_iter()
        .map(|(n, w)| {
            let key = n.key();
            let at = match n.well_known() {
                0 => ORDER
                    .iter()
                    .position(|o| desc_eq(*o, *n))
                    .unwrap_or(ORDER.len()),
                known => ORDER_OF_KNOWN
                    .get(usize::from(known))
                    .map_or(ORDER.len(), |&at| usize::from(at)),
            };
            (at, key, n, w)
        })
        .collect();
    ordered.sort_by(|(a, _, x, _), (b, _, y, _)| {
        a.cmp(b).then_with(|| {
            let lower = |s: &'a [u8]| s.iter().map(|c| c.to_ascii_lowercase());
            lower(x.bytes()).cmp(lower(y.bytes()))
        })
    });
    // At most two mod-specs per attribute (a by-value `delete:` and `add:`). Their values go
    // one after another into `values`; each spec keeps its range there until all are known.
    let mut specs: Vec<Spec<'a, N>> = Vec::with_capacity(ordered.len() + ordered.len() / 2);
    values.clear();
    // Room for every desired value and a few removed ones: no regrowing as the specs fill.
    values.reserve(ordered.iter().map(|(_, _, _, w)| w.len()).sum::<usize>() + 8);
    // A delete or add of the values from `from` on, if there are any.
    let by_value = |specs: &mut Vec<Spec<'a, N>>, values: &[&'a [u8]], from: usize, spec| {
        let (op, attr, binary, name) = spec;
        if values.len() > from {
            specs.push((op, attr, binary, from..values.len(), name));
        }
    };
    for (at, key, name, want) in ordered {
        let attr = name.bytes();
        let found = entry.get(*name);
        // The entry's values, read where they are (collecting them cost an allocation per
        // attribute of every changed object).
        let current = || found.into_iter().flat_map(|a| a.values());
        let written: &'a [u8] = found.map_or(attr, |a| a.name());
        let info = well_known_info(name.well_known()).unwrap_or_else(|| attr_info_keyed(attr, key));
        let binary = info.is_binary();
        if ORDER.get(at).is_some_and(|o| BY_VALUE.contains(o)) {
            let member = attr.eq_ignore_ascii_case(b"member");
            if !member {
                let from = values.len();
                values.extend(current().filter(|c| !want.clone().any(|w| w == *c)));
                by_value(
                    &mut specs,
                    values,
                    from,
                    (ModOp::Delete, written, binary, name),
                );
            }
            let from = values.len();
            values.extend(want.clone().filter(|w| !current().any(|c| c == *w)));
            by_value(
                &mut specs,
                values,
                from,
                (ModOp::Add, written, binary, name),
            );
            continue;
        }
        let count = found.map_or(0, |a| a.len());
        let wanted = want.len();
        let same = count == wanted
            && current().zip(want.clone()).all(|(c, w)| {
                if binary {
                    c == w
                } else {
                    equal_by(info.equality, c, w)
                }
            });
        if same || (wanted == 0 && count == 0) {
            continue;
        }
        // A replace with no values clears the attribute: its spec is pushed even when empty.
        let from = values.len();
        values.extend(want);
        specs.push((ModOp::Replace, written, binary, from..values.len(), name));
    }
    let values: &'a [&'a [u8]] = values;
    specs
        .into_iter()
        .map(|(op, attr, binary, r, name)| {
            (
                ModRef {
                    op,
                    attr,
                    binary,
                    values: &values[r],
                },
                name,
            )
        })
        .collect()
}

/// A modify record for `entry`, or `None` when nothing changes.
pub fn record<N: Desc>(entry: &Entry, desired: &[Desired<N>]) -> Option<ChangeRecord> {
    let mods = modifications(entry, desired);
    (!mods.is_empty()).then(|| ChangeRecord::modify(entry.dn().to_vec(), mods))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{entry_of, modify};

    #[test]
    fn well_known_types_have_their_place_in_the_order() {
        for name in WELL_KNOWN {
            let n = Name::new(name);
            let searched = ORDER
                .iter()
                .position(|o| desc_eq(*o, n))
                .unwrap_or(ORDER.len());
            assert_eq!(
                usize::from(ORDER_OF_KNOWN[usize::from(well_known(name.as_bytes()))]),
                searched,
                "{name}"
            );
        }
    }

    #[test]
    fn attributes_changed_by_value_have_a_place_in_the_order() {
        // `mod_refs` finds them through their place in ORDER.
        for b in BY_VALUE {
            assert!(ORDER.contains(b), "{}", b.as_str());
        }
    }

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

    proptest::proptest! {
        /// Writing the borrowed mod-specs gives the bytes of the owned record, whatever the
        /// values (folded, base64, binary, empty) and the attributes' spellings and order.
        #[test]
        fn borrowed_mod_specs_write_the_owned_record(
            current in proptest::collection::vec((0usize..6, 0usize..5), 0..10),
            desired in proptest::collection::vec(
                (0usize..6, proptest::collection::vec(0usize..5, 0..4)),
                0..6,
            ),
            wrap in proptest::sample::select(vec![0usize, 20, 76]),
        ) {
            use crate::ldif::writer::{WriteOptions, Writer};
            const NAMES: [&str; 6] =
                ["proxyAddresses", "mail", "member", "msExchMailboxGuid", "zzCustom", "aaCustom"];
            let values: [&[u8]; 5] = [
                b"SMTP:a@x",
                b"smtp:A@X",
                b"",
                "caf\u{e9} \u{20ac}".as_bytes(),
                b"a long value that is folded when the line is wider than the wrap column",
            ];
            let mut b = crate::model::EntryBuilder::new(b"CN=A,DC=x");
            for (a, v) in &current {
                let name = if *a == 1 { "MAIL" } else { NAMES[*a] };
                b.push(name.as_bytes(), values[*v]);
            }
            let e = b.finish();
            let mut seen = Vec::new();
            let want: Vec<(&str, Vec<Vec<u8>>)> = desired
                .iter()
                .filter(|(a, _)| {
                    let new = !seen.contains(a);
                    seen.push(*a);
                    new
                })
                .map(|(a, vs)| (NAMES[*a], vs.iter().map(|v| values[*v].to_vec()).collect()))
                .collect();
            let opts = WriteOptions { wrap, ..WriteOptions::default() };
            let mut owned = Vec::new();
            if let Some(rec) = record(&e, &want) {
                Writer::new(opts.clone()).record(&mut owned, &rec);
            }
            let mut values = Vec::new();
            let refs: Vec<ModRef<'_>> = mod_refs(&e, desired_refs(&want), &mut values).into_iter().map(|(m, _)| m).collect();
            let mut borrowed = Vec::new();
            if !refs.is_empty() {
                Writer::new(opts).modify(&mut borrowed, e.dn(), &refs);
            }
            proptest::prop_assert_eq!(borrowed, owned);
        }
    }
}
