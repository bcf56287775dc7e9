//! The minimal change records that turn one export into another.
//!
//! Entries are matched by normalised DN; an entry that disappears under one DN and appears
//! under another with the same `objectGUID` is a rename (`modrdn`, with `newsuperior` when it
//! moved). Output order: renames (parents first), adds (parents first), modifies (in the new
//! export's order), deletes (children first). Within a modify record, single-valued attributes
//! use `replace:`, multi-valued ones change value by value (`delete:` then `add:`), and an
//! attribute that disappeared is cleared with an empty `replace:`. System attributes a client
//! cannot write are ignored unless `all_attrs` is set.

use std::collections::{HashMap, HashSet};

use crate::apply::{ApplyError, Directory};
use crate::model::dn;
use crate::model::schema::{attr_info, is_system_attr};
use crate::model::{attr_eq, Change, ChangeRecord, Entry, EntryBuilder, ModOp, Modification};

/// What to compare.
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Extra attributes to ignore.
    pub ignore: Vec<String>,
    /// Compare system attributes too.
    pub all_attrs: bool,
}

impl DiffOptions {
    /// Whether attribute `name` takes part in the comparison.
    pub fn compares(&self, name: &[u8]) -> bool {
        if self.ignore.iter().any(|i| attr_eq(i.as_bytes(), name)) {
            return false;
        }
        self.all_attrs || !is_system_attr(name)
    }
}

/// Counts of generated records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffStats {
    /// Entries added.
    pub adds: usize,
    /// Entries deleted.
    pub deletes: usize,
    /// Entries modified.
    pub modifies: usize,
    /// Entries renamed or moved.
    pub renames: usize,
    /// Entries with no change.
    pub unchanged: usize,
}

/// The change records that turn `old` into `new`, and counts.
///
/// Returns an error only when `old` itself is inconsistent (two entries with one DN).
pub fn diff(
    old: &[Entry],
    new: &[Entry],
    opts: &DiffOptions,
) -> Result<(Vec<ChangeRecord>, DiffStats), ApplyError> {
    let mut stats = DiffStats::default();
    let old_keys: Vec<Vec<u8>> = old.iter().map(|e| dn::key_lossy(e.dn())).collect();
    let new_keys: Vec<Vec<u8>> = new.iter().map(|e| dn::key_lossy(e.dn())).collect();
    let old_set: HashSet<&[u8]> = old_keys.iter().map(Vec::as_slice).collect();
    let mut new_set: HashMap<&[u8], usize> = HashMap::with_capacity(new.len());
    for (i, k) in new_keys.iter().enumerate() {
        if new_set.insert(k.as_slice(), i).is_some() {
            return Err(ApplyError {
                dn: new[i].dn_lossy().into_owned(),
                code: "entryAlreadyExists",
                message: "the NEW export holds this DN twice".into(),
            });
        }
    }

    // Renames: old-only and new-only entries sharing an objectGUID.
    let mut new_only_by_guid: HashMap<&[u8], usize> = HashMap::new();
    for (i, e) in new.iter().enumerate() {
        if !old_set.contains(new_keys[i].as_slice()) {
            if let Some(g) = e.first("objectGUID") {
                new_only_by_guid.insert(g, i);
            }
        }
    }
    let mut renames: Vec<(usize, usize)> = Vec::new(); // (old index, new index)
    let mut renamed_new: HashSet<usize> = HashSet::new();
    for (i, e) in old.iter().enumerate() {
        if new_set.contains_key(old_keys[i].as_slice()) {
            continue;
        }
        if let Some(j) = e.first("objectGUID").and_then(|g| new_only_by_guid.get(g)) {
            renames.push((i, *j));
            renamed_new.insert(*j);
        }
    }
    // Renames and adds together, by depth of the new DN: a parent (new or renamed) always
    // comes before what goes under it.
    let adds: Vec<usize> = (0..new.len())
        .filter(|j| !old_set.contains(new_keys[*j].as_slice()) && !renamed_new.contains(j))
        .collect();
    let mut steps: Vec<(usize, usize, Option<usize>)> = Vec::new(); // (depth, new index, old index)
    for (i, j) in &renames {
        steps.push((dn::depth(new[*j].dn()), *j, Some(*i)));
    }
    for j in adds {
        steps.push((dn::depth(new[j].dn()), j, None));
    }
    steps.sort_by_key(|(d, j, _)| (*d, *j));

    // Simulate on a copy of OLD so every record applies to the state before it.
    let mut sim = Directory::new(old.iter().cloned())?;
    let mut out = Vec::new();
    for (_, j, old_index) in steps {
        let Some(i) = old_index else {
            let rec = ChangeRecord::add(strip(&new[j], opts));
            sim.apply(&rec)?;
            out.push(rec);
            stats.adds += 1;
            continue;
        };
        // The entry's current DN (its parent may have been renamed already).
        let guid = old[i].first("objectGUID").unwrap_or_default();
        let current = sim
            .entries()
            .find(|e| e.first("objectGUID") == Some(guid))
            .map(|e| e.dn().to_vec())
            .unwrap_or_else(|| old[i].dn().to_vec());
        let target = new[j].dn();
        let new_rdn = dn::rdn_part(target).to_vec();
        let cur_parent = dn::parent(&current).map(dn::key_lossy);
        let tgt_parent = dn::parent(target).map(dn::key_lossy);
        let new_superior = if cur_parent == tgt_parent {
            None
        } else {
            Some(dn::parent(target).unwrap_or_default().to_vec())
        };
        let rec = ChangeRecord {
            dn: current,
            controls: Vec::new(),
            change: Change::ModDn {
                new_rdn,
                delete_old_rdn: true,
                new_superior,
            },
        };
        sim.apply(&rec)?;
        out.push(rec);
        stats.renames += 1;
    }

    // Modifies, in NEW order.
    for (j, e) in new.iter().enumerate() {
        let Some(current) = sim.get(e.dn()) else {
            continue;
        };
        if !old_set.contains(new_keys[j].as_slice()) && !renamed_new.contains(&j) {
            continue; // just added
        }
        let mods = modifications(current, e, opts);
        if mods.is_empty() {
            if !renamed_new.contains(&j) {
                stats.unchanged += 1;
            }
            continue;
        }
        let rec = ChangeRecord::modify(e.dn().to_vec(), mods);
        sim.apply(&rec)?;
        out.push(rec);
        stats.modifies += 1;
    }

    // Deletes, children first.
    let renamed_old: HashSet<usize> = renames.iter().map(|(i, _)| *i).collect();
    let mut deletes: Vec<usize> = (0..old.len())
        .filter(|i| !new_set.contains_key(old_keys[*i].as_slice()) && !renamed_old.contains(i))
        .collect();
    deletes.sort_by_key(|i| (std::cmp::Reverse(dn::depth(old[*i].dn())), *i));
    for i in deletes {
        let rec = ChangeRecord::delete(old[i].dn().to_vec());
        sim.apply(&rec)?;
        out.push(rec);
        stats.deletes += 1;
    }
    Ok((out, stats))
}

/// `e` without the attributes the comparison ignores.
fn strip(e: &Entry, opts: &DiffOptions) -> Entry {
    let mut b = EntryBuilder::new(e.dn());
    for a in e.attributes() {
        if opts.compares(a.name()) {
            for v in a.values() {
                b.push(a.name(), v);
            }
        }
    }
    b.finish()
}

/// The mod-specs that turn `old` into `new` (same entry).
pub fn modifications(old: &Entry, new: &Entry, opts: &DiffOptions) -> Vec<Modification> {
    let mut mods = Vec::new();
    for a in new.attributes() {
        if !opts.compares(a.name()) {
            continue;
        }
        let new_vals: Vec<&[u8]> = a.values().collect();
        match old.get_bytes(a.name()) {
            None => {
                let op = if attr_info(a.name()).single {
                    ModOp::Replace
                } else {
                    ModOp::Add
                };
                mods.push(Modification::new(
                    op,
                    a.name(),
                    new_vals.iter().map(|v| v.to_vec()).collect(),
                ));
            }
            Some(o) => {
                let old_vals: Vec<&[u8]> = o.values().collect();
                if attr_info(a.name()).single {
                    if old_vals != new_vals {
                        mods.push(Modification::new(
                            ModOp::Replace,
                            a.name(),
                            new_vals.iter().map(|v| v.to_vec()).collect(),
                        ));
                    }
                    continue;
                }
                let removed: Vec<Vec<u8>> = old_vals
                    .iter()
                    .filter(|v| !new_vals.contains(v))
                    .map(|v| v.to_vec())
                    .collect();
                let added: Vec<Vec<u8>> = new_vals
                    .iter()
                    .filter(|v| !old_vals.contains(v))
                    .map(|v| v.to_vec())
                    .collect();
                if !removed.is_empty() {
                    mods.push(Modification::new(ModOp::Delete, o.name(), removed));
                }
                if !added.is_empty() {
                    mods.push(Modification::new(ModOp::Add, a.name(), added));
                }
            }
        }
    }
    for o in old.attributes() {
        if opts.compares(o.name()) && new.get_bytes(o.name()).is_none() {
            mods.push(Modification::new(ModOp::Replace, o.name(), Vec::new()));
        }
    }
    mods
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{apply, entry_of};

    fn stripped(es: &[Entry]) -> Vec<Entry> {
        es.iter()
            .map(|e| strip(e, &DiffOptions::default()))
            .collect()
    }

    #[test]
    fn diff_then_apply_gives_new() {
        let old = vec![
            entry_of("ou=a,dc=x", &[("ou", "a")]),
            entry_of(
                "cn=u,ou=a,dc=x",
                &[
                    ("cn", "u"),
                    ("mail", "u@x"),
                    ("proxyAddresses", "smtp:u@x"),
                    ("title", "t"),
                ],
            ),
            entry_of("cn=gone,ou=a,dc=x", &[("cn", "gone")]),
        ];
        let new = vec![
            entry_of("ou=a,dc=x", &[("ou", "a")]),
            entry_of(
                "cn=u,ou=a,dc=x",
                &[
                    ("cn", "u"),
                    ("mail", "v@x"),
                    ("proxyAddresses", "SMTP:u@x"),
                    ("proxyAddresses", "smtp:w@x"),
                ],
            ),
            entry_of("cn=n,ou=a,dc=x", &[("cn", "n")]),
        ];
        let (recs, stats) = diff(&old, &new, &DiffOptions::default()).unwrap();
        assert_eq!(
            (stats.adds, stats.deletes, stats.modifies, stats.unchanged),
            (1, 1, 1, 1)
        );
        let got = apply(old, &recs).unwrap();
        let mut got_sorted: Vec<String> = got.iter().map(|e| format!("{e:?}")).collect();
        let mut want: Vec<String> = new.iter().map(|e| format!("{e:?}")).collect();
        got_sorted.sort();
        want.sort();
        assert_eq!(got_sorted, want);
    }

    #[test]
    fn renames_are_detected_by_object_guid() {
        let old = vec![
            entry_of("ou=a,dc=x", &[("ou", "a")]),
            entry_of("ou=b,dc=x", &[("ou", "b")]),
            entry_of(
                "cn=u,ou=a,dc=x",
                &[("cn", "u"), ("objectGUID", "0123456789abcdef")],
            ),
        ];
        let new = vec![
            entry_of("ou=a,dc=x", &[("ou", "a")]),
            entry_of("ou=b,dc=x", &[("ou", "b")]),
            entry_of(
                "cn=v,ou=b,dc=x",
                &[("cn", "v"), ("objectGUID", "0123456789abcdef")],
            ),
        ];
        let (recs, stats) = diff(&old, &new, &DiffOptions::default()).unwrap();
        assert_eq!(stats.renames, 1);
        assert_eq!(recs.len(), 1);
        let Change::ModDn { new_superior, .. } = &recs[0].change else {
            panic!()
        };
        assert_eq!(new_superior.as_deref(), Some(&b"ou=b,dc=x"[..]));
        let got = apply(old, &recs).unwrap();
        assert_eq!(stripped(&got), stripped(&new));
    }

    #[test]
    fn system_attributes_are_ignored_unless_asked() {
        let old = vec![entry_of("cn=u,dc=x", &[("cn", "u"), ("whenChanged", "1")])];
        let new = vec![entry_of("cn=u,dc=x", &[("cn", "u"), ("whenChanged", "2")])];
        assert!(diff(&old, &new, &DiffOptions::default())
            .unwrap()
            .0
            .is_empty());
        let all = DiffOptions {
            all_attrs: true,
            ..DiffOptions::default()
        };
        assert_eq!(diff(&old, &new, &all).unwrap().0.len(), 1);
        let ign = DiffOptions {
            ignore: vec!["CN".into()],
            ..DiffOptions::default()
        };
        let new2 = vec![entry_of("cn=u,dc=x", &[("cn", "U")])];
        assert!(diff(&old, &new2, &ign).unwrap().0.is_empty());
    }
}
