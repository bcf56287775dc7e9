//! Applies change records to entries in memory with directory semantics.
//!
//! This is how the tests check that a change file does what it claims without a server, and
//! how `diff` verifies itself. Attribute names compare case-insensitively; values compare with
//! the attribute's equality rule ([`values_equal`]), so `SMTP:a@x` and `smtp:a@x` are the same
//! `proxyAddresses` value, as on AD. Like a server, it refuses to add an entry that exists,
//! to add a value that exists, to delete a value or attribute that is absent, and to leave two
//! values in a single-valued attribute; a modify record is atomic.

use std::collections::HashMap;
use std::fmt;

use crate::model::dn;
use crate::model::schema::{attr_info, values_equal};
use crate::model::{attr_eq, Change, ChangeRecord, Entry, EntryBuilder, ModOp, Modification};

/// Why a change record could not be applied (with the LDAP result a server would give).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError {
    /// The record's DN.
    pub dn: String,
    /// The LDAP result name (`noSuchAttribute`, `attributeOrValueExists`, ...).
    pub code: &'static str,
    /// Details.
    pub message: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}: {}", self.dn, self.code, self.message)
    }
}

impl std::error::Error for ApplyError {}

/// Entries indexed by normalised DN, in insertion order.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    entries: Vec<Option<Entry>>,
    index: HashMap<Vec<u8>, usize>,
}

impl Directory {
    /// A directory holding `entries`; a duplicate DN is an error.
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Result<Directory, ApplyError> {
        let mut d = Directory::default();
        for e in entries {
            d.insert(e)?;
        }
        Ok(d)
    }

    fn insert(&mut self, e: Entry) -> Result<(), ApplyError> {
        let key = dn::key_lossy(e.dn());
        if self.index.contains_key(&key) {
            return Err(err(e.dn(), "entryAlreadyExists", "the entry exists"));
        }
        self.index.insert(key, self.entries.len());
        self.entries.push(Some(e));
        Ok(())
    }

    /// The entry with this DN.
    pub fn get(&self, dn_bytes: &[u8]) -> Option<&Entry> {
        let i = *self.index.get(&dn::key_lossy(dn_bytes))?;
        self.entries[i].as_ref()
    }

    /// The entries, in insertion order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().flatten()
    }

    /// Consumes the directory, returning the entries in insertion order.
    pub fn into_entries(self) -> Vec<Entry> {
        self.entries.into_iter().flatten().collect()
    }

    /// Applies one change record.
    pub fn apply(&mut self, rec: &ChangeRecord) -> Result<(), ApplyError> {
        let key = dn::key_lossy(&rec.dn);
        match &rec.change {
            Change::Add(entry) => {
                let e = if entry.dn() == rec.dn.as_slice() {
                    entry.clone()
                } else {
                    entry.with_dn(&rec.dn)
                };
                check_single_valued(&e)?;
                self.insert(e)
            }
            Change::Delete => {
                let i = self.find(&key, &rec.dn)?;
                self.entries[i] = None;
                self.index.remove(&key);
                Ok(())
            }
            Change::Modify(mods) => {
                let i = self.find(&key, &rec.dn)?;
                let current = self.entries[i]
                    .as_ref()
                    .ok_or_else(|| err(&rec.dn, "noSuchObject", "the entry does not exist"))?;
                let updated = modify(current, mods)?;
                self.entries[i] = Some(updated);
                Ok(())
            }
            Change::ModDn {
                new_rdn,
                delete_old_rdn,
                new_superior,
            } => self.moddn(
                &rec.dn,
                &key,
                new_rdn,
                *delete_old_rdn,
                new_superior.as_deref(),
            ),
        }
    }

    fn find(&self, key: &[u8], dn_bytes: &[u8]) -> Result<usize, ApplyError> {
        self.index
            .get(key)
            .copied()
            .filter(|i| self.entries[*i].is_some())
            .ok_or_else(|| err(dn_bytes, "noSuchObject", "the entry does not exist"))
    }

    fn moddn(
        &mut self,
        old_dn: &[u8],
        old_key: &[u8],
        new_rdn: &[u8],
        delete_old: bool,
        new_superior: Option<&[u8]>,
    ) -> Result<(), ApplyError> {
        let i = self.find(old_key, old_dn)?;
        let parent = match new_superior {
            Some(s) => Some(s.to_vec()),
            None => dn::parent(old_dn).map(<[u8]>::to_vec),
        };
        let mut new_dn = new_rdn.to_vec();
        if let Some(p) = &parent {
            if !p.is_empty() {
                new_dn.push(b',');
                new_dn.extend_from_slice(p);
            }
        }
        let new_key = dn::key_lossy(&new_dn);
        if new_key != old_key && self.index.contains_key(&new_key) {
            return Err(err(old_dn, "entryAlreadyExists", "the new DN is taken"));
        }
        let Some(entry) = self.entries[i].take() else {
            return Err(err(old_dn, "noSuchObject", "the entry does not exist"));
        };
        // RDN attribute values: add the new ones, drop the old ones when asked.
        let old_rdn = dn::parse(old_dn)
            .ok()
            .and_then(|r| r.into_iter().next())
            .unwrap_or_default();
        let new_rdn_avas = dn::parse(new_rdn)
            .ok()
            .and_then(|r| r.into_iter().next())
            .unwrap_or_default();
        let mut e = entry.with_dn(&new_dn);
        if delete_old {
            for ava in &old_rdn {
                let keep: Vec<Vec<u8>> = e
                    .values(ava.ty.as_str())
                    .filter(|v| !values_equal(ava.ty.as_bytes(), v, &ava.value))
                    .map(<[u8]>::to_vec)
                    .collect();
                e = e.with_values(ava.ty.as_bytes(), keep.iter().map(Vec::as_slice));
            }
        }
        for ava in &new_rdn_avas {
            if !e
                .values(ava.ty.as_str())
                .any(|v| values_equal(ava.ty.as_bytes(), v, &ava.value))
            {
                let mut vals: Vec<Vec<u8>> =
                    e.values(ava.ty.as_str()).map(<[u8]>::to_vec).collect();
                vals.push(ava.value.clone());
                let name = e
                    .get(ava.ty.as_str())
                    .map_or_else(|| ava.ty.as_bytes().to_vec(), |a| a.name().to_vec());
                e = e.with_values(&name, vals.iter().map(Vec::as_slice));
            }
        }
        self.index.remove(old_key);
        self.index.insert(new_key.clone(), i);
        self.entries[i] = Some(e);
        // Move the subtree.
        let suffix = old_key.to_vec();
        let children: Vec<(Vec<u8>, usize)> = self
            .index
            .iter()
            .filter(|(k, _)| k.as_slice() != new_key.as_slice() && dn::key_is_under(k, &suffix))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (k, idx) in children {
            let Some(child) = self.entries[idx].take() else {
                continue;
            };
            let depth = dn::depth(child.dn()) - dn::depth(old_dn);
            let mut rdns = split_rdns_raw(child.dn());
            rdns.truncate(depth);
            let mut moved = rdns.join(&b","[..]);
            moved.push(b',');
            moved.extend_from_slice(&new_dn);
            self.index.remove(&k);
            self.index.insert(dn::key_lossy(&moved), idx);
            self.entries[idx] = Some(child.with_dn(&moved));
        }
        Ok(())
    }
}

/// The RDNs of a DN as written, leftmost first.
fn split_rdns_raw(dn_bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = dn_bytes;
    loop {
        out.push(dn::rdn_part(rest).to_vec());
        match dn::parent(rest) {
            Some(p) => rest = p,
            None => break,
        }
    }
    out
}

fn err(dn_bytes: &[u8], code: &'static str, message: impl Into<String>) -> ApplyError {
    ApplyError {
        dn: String::from_utf8_lossy(dn_bytes).into_owned(),
        code,
        message: message.into(),
    }
}

fn check_single_valued(e: &Entry) -> Result<(), ApplyError> {
    for a in e.attributes() {
        if a.len() > 1 && attr_info(a.name()).single {
            return Err(err(
                e.dn(),
                "constraintViolation",
                format!(
                    "single-valued `{}` would have {} values",
                    a.name_str(),
                    a.len()
                ),
            ));
        }
        let vals: Vec<&[u8]> = a.values().collect();
        for (i, v) in vals.iter().enumerate() {
            if vals[..i].iter().any(|w| values_equal(a.name(), v, w)) {
                return Err(err(
                    e.dn(),
                    "attributeOrValueExists",
                    format!("`{}` holds the same value twice", a.name_str()),
                ));
            }
        }
    }
    Ok(())
}

/// Applies the mod-specs of one modify record to `entry` (all or nothing).
pub fn modify(entry: &Entry, mods: &[Modification]) -> Result<Entry, ApplyError> {
    let mut e = entry.clone();
    for m in mods {
        let attr = m.attr.as_slice();
        let current: Vec<Vec<u8>> = e
            .get_bytes(attr)
            .map(|a| a.values().map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        let name = e
            .get_bytes(attr)
            .map_or_else(|| attr.to_vec(), |a| a.name().to_vec());
        let label = String::from_utf8_lossy(attr).into_owned();
        let next: Vec<Vec<u8>> = match m.op {
            ModOp::Add => {
                if m.values.is_empty() {
                    return Err(err(
                        e.dn(),
                        "protocolError",
                        format!("`add: {label}` without values"),
                    ));
                }
                let mut next = current.clone();
                for v in &m.values {
                    if next.iter().any(|c| values_equal(attr, c, v)) {
                        return Err(err(
                            e.dn(),
                            "attributeOrValueExists",
                            format!(
                                "`{label}` already has the value `{}`",
                                String::from_utf8_lossy(v)
                            ),
                        ));
                    }
                    next.push(v.clone());
                }
                next
            }
            ModOp::Delete if m.values.is_empty() => {
                if current.is_empty() {
                    return Err(err(
                        e.dn(),
                        "noSuchAttribute",
                        format!("`delete: {label}` of an attribute that is absent"),
                    ));
                }
                Vec::new()
            }
            ModOp::Delete => {
                let mut next = current.clone();
                for v in &m.values {
                    match next.iter().position(|c| values_equal(attr, c, v)) {
                        Some(i) => {
                            next.remove(i);
                        }
                        None => {
                            return Err(err(
                                e.dn(),
                                "noSuchAttribute",
                                format!(
                                    "`{label}` has no value `{}` to delete",
                                    String::from_utf8_lossy(v)
                                ),
                            ))
                        }
                    }
                }
                next
            }
            ModOp::Replace => {
                let mut next: Vec<Vec<u8>> = Vec::new();
                for v in &m.values {
                    if next.iter().any(|c| values_equal(attr, c, v)) {
                        return Err(err(
                            e.dn(),
                            "attributeOrValueExists",
                            format!("`replace: {label}` lists a value twice"),
                        ));
                    }
                    next.push(v.clone());
                }
                next
            }
            ModOp::Increment => {
                let by: i128 = parse_int(m.values.first().map_or(&b""[..], Vec::as_slice))
                    .ok_or_else(|| {
                        err(
                            e.dn(),
                            "invalidAttributeSyntax",
                            "`increment:` needs an integer",
                        )
                    })?;
                let [cur] = current.as_slice() else {
                    return Err(err(
                        e.dn(),
                        "constraintViolation",
                        format!("`increment: {label}` needs exactly one current value"),
                    ));
                };
                let now = parse_int(cur).ok_or_else(|| {
                    err(
                        e.dn(),
                        "constraintViolation",
                        format!("`{label}` is not an integer"),
                    )
                })?;
                vec![(now + by).to_string().into_bytes()]
            }
        };
        e = e.with_values(&name, next.iter().map(Vec::as_slice));
    }
    for a in e.attributes() {
        if a.len() > 1
            && attr_info(a.name()).single
            && mods.iter().any(|m| attr_eq(&m.attr, a.name()))
        {
            return Err(err(
                e.dn(),
                "constraintViolation",
                format!(
                    "single-valued `{}` would have {} values",
                    a.name_str(),
                    a.len()
                ),
            ));
        }
    }
    Ok(e)
}

fn parse_int(v: &[u8]) -> Option<i128> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

/// Applies `changes` in order to `entries` and returns the result in insertion order.
pub fn apply(entries: Vec<Entry>, changes: &[ChangeRecord]) -> Result<Vec<Entry>, ApplyError> {
    let mut d = Directory::new(entries)?;
    for c in changes {
        d.apply(c)?;
    }
    Ok(d.into_entries())
}

/// Builds an entry from (attribute, value) pairs; a helper for tests and docs.
pub fn entry_of(dn_text: &str, attrs: &[(&str, &str)]) -> Entry {
    let mut b = EntryBuilder::new(dn_text.as_bytes());
    for (a, v) in attrs {
        b.push(a.as_bytes(), v.as_bytes());
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: ModOp, a: &str, vals: &[&str]) -> Modification {
        Modification::new(op, a, vals.iter().map(|v| v.as_bytes().to_vec()).collect())
    }

    #[test]
    fn case_insensitive_values_clash_like_ad() {
        let e = entry_of("cn=a,dc=x", &[("proxyAddresses", "smtp:a@x")]);
        let r = modify(&e, &[m(ModOp::Add, "proxyAddresses", &["SMTP:a@x"])]);
        assert_eq!(r.unwrap_err().code, "attributeOrValueExists");
        let ok = modify(
            &e,
            &[
                m(ModOp::Delete, "proxyAddresses", &["smtp:a@x"]),
                m(ModOp::Add, "proxyAddresses", &["SMTP:a@x"]),
            ],
        )
        .unwrap();
        assert_eq!(ok.first("proxyAddresses").unwrap(), b"SMTP:a@x");
    }

    #[test]
    fn deleting_what_is_absent_fails_but_empty_replace_succeeds() {
        let e = entry_of("cn=a,dc=x", &[("cn", "a")]);
        assert_eq!(
            modify(&e, &[m(ModOp::Delete, "mail", &[])])
                .unwrap_err()
                .code,
            "noSuchAttribute"
        );
        assert_eq!(
            modify(&e, &[m(ModOp::Delete, "cn", &["b"])])
                .unwrap_err()
                .code,
            "noSuchAttribute"
        );
        assert!(modify(&e, &[m(ModOp::Replace, "mail", &[])]).is_ok());
    }

    #[test]
    fn single_valued_attributes_refuse_two_values() {
        let e = entry_of("cn=a,dc=x", &[("mail", "a@x")]);
        assert_eq!(
            modify(&e, &[m(ModOp::Add, "mail", &["b@x"])])
                .unwrap_err()
                .code,
            "constraintViolation"
        );
    }

    #[test]
    fn modrdn_moves_the_subtree() {
        let mut d = Directory::new(vec![
            entry_of("ou=a,dc=x", &[("ou", "a")]),
            entry_of("cn=k,ou=a,dc=x", &[("cn", "k")]),
        ])
        .unwrap();
        d.apply(&ChangeRecord {
            dn: b"ou=a,dc=x".to_vec(),
            controls: vec![],
            change: Change::ModDn {
                new_rdn: b"ou=b".to_vec(),
                delete_old_rdn: true,
                new_superior: None,
            },
        })
        .unwrap();
        assert!(d.get(b"cn=k,ou=b,dc=x").is_some());
        assert_eq!(d.get(b"ou=b,dc=x").unwrap().first("ou").unwrap(), b"b");
        assert!(d.get(b"ou=a,dc=x").is_none());
    }

    #[test]
    fn add_and_delete_entries() {
        let mut d = Directory::new(vec![entry_of("cn=a,dc=x", &[("cn", "a")])]).unwrap();
        assert_eq!(
            d.apply(&ChangeRecord::add(entry_of("CN=A,DC=X", &[("cn", "a")])))
                .unwrap_err()
                .code,
            "entryAlreadyExists"
        );
        d.apply(&ChangeRecord::delete(b"cn=a,dc=x".to_vec()))
            .unwrap();
        assert_eq!(
            d.apply(&ChangeRecord::delete(b"cn=a,dc=x".to_vec()))
                .unwrap_err()
                .code,
            "noSuchObject"
        );
    }
}
