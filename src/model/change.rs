//! LDIF change records: what ldifstamp writes and what `apply` executes.

use super::entry::Entry;

/// The operation of one mod-spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModOp {
    /// `add:` values.
    Add,
    /// `delete:` values, or the whole attribute when no value is given.
    Delete,
    /// `replace:` with the values given; no value clears the attribute.
    Replace,
    /// `increment:` (RFC 4525) by the single value given.
    Increment,
}

impl ModOp {
    /// The LDIF keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            ModOp::Add => "add",
            ModOp::Delete => "delete",
            ModOp::Replace => "replace",
            ModOp::Increment => "increment",
        }
    }

    /// The keyword followed by `: `, as a mod-spec's first line starts.
    pub fn keyword_colon(self) -> &'static str {
        match self {
            ModOp::Add => "add: ",
            ModOp::Delete => "delete: ",
            ModOp::Replace => "replace: ",
            ModOp::Increment => "increment: ",
        }
    }
}

/// A mod-spec that borrows its attribute description and values (from an entry and the
/// values planned for it), written without copying them first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModRef<'a> {
    /// What to do.
    pub op: ModOp,
    /// The attribute description, written verbatim on every value line.
    pub attr: &'a [u8],
    /// Whether the attribute's values are binary (`attr_info(attr).is_binary()`): they are
    /// then always written in base64.
    pub binary: bool,
    /// The values (may be empty).
    pub values: &'a [&'a [u8]],
}

impl ModRef<'_> {
    /// The owned [`Modification`].
    pub fn to_owned(&self) -> Modification {
        Modification::new(
            self.op,
            self.attr,
            self.values.iter().map(|v| v.to_vec()).collect(),
        )
    }
}

/// One mod-spec of a modify record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modification {
    /// What to do.
    pub op: ModOp,
    /// The attribute description, written verbatim on every value line.
    pub attr: Vec<u8>,
    /// The values (may be empty).
    pub values: Vec<Vec<u8>>,
}

impl Modification {
    /// A mod-spec.
    pub fn new(op: ModOp, attr: impl Into<Vec<u8>>, values: Vec<Vec<u8>>) -> Self {
        Modification {
            op,
            attr: attr.into(),
            values,
        }
    }
}

/// An LDAP control line (`control: OID [true|false] [value]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    /// The control's OID.
    pub oid: String,
    /// Criticality.
    pub critical: bool,
    /// The optional value.
    pub value: Option<Vec<u8>>,
}

/// What a change record does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Adds the entry (the record's DN is the entry's DN).
    Add(Entry),
    /// Deletes the entry.
    Delete,
    /// Modifies the entry.
    Modify(Vec<Modification>),
    /// Renames and/or moves the entry.
    ModDn {
        /// The new RDN.
        new_rdn: Vec<u8>,
        /// Whether the old RDN values are removed.
        delete_old_rdn: bool,
        /// The new parent, if moved.
        new_superior: Option<Vec<u8>>,
    },
}

/// A change record: a DN, controls, and a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRecord {
    /// The target DN as written.
    pub dn: Vec<u8>,
    /// Controls, in order.
    pub controls: Vec<Control>,
    /// The change.
    pub change: Change,
}

impl ChangeRecord {
    /// A modify record.
    pub fn modify(dn: impl Into<Vec<u8>>, mods: Vec<Modification>) -> Self {
        ChangeRecord {
            dn: dn.into(),
            controls: Vec::new(),
            change: Change::Modify(mods),
        }
    }

    /// An add record.
    pub fn add(entry: Entry) -> Self {
        ChangeRecord {
            dn: entry.dn().to_vec(),
            controls: Vec::new(),
            change: Change::Add(entry),
        }
    }

    /// A delete record.
    pub fn delete(dn: impl Into<Vec<u8>>) -> Self {
        ChangeRecord {
            dn: dn.into(),
            controls: Vec::new(),
            change: Change::Delete,
        }
    }

    /// The changetype keyword.
    pub fn changetype(&self) -> &'static str {
        match self.change {
            Change::Add(_) => "add",
            Change::Delete => "delete",
            Change::Modify(_) => "modify",
            Change::ModDn { .. } => "modrdn",
        }
    }
}

/// A record read from an export: either directory content or a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// An entry (a content record, or an ldifde `changetype: add` export record).
    Entry(Entry),
    /// Any other change record (boxed: exports hold few, and every item moved between the
    /// pipeline's threads is as large as its largest kind of record).
    Change(Box<ChangeRecord>),
}

#[cfg(test)]
mod tests {
    use super::ModOp;

    #[test]
    fn keyword_colon_is_the_keyword_and_a_colon() {
        for op in [ModOp::Add, ModOp::Delete, ModOp::Replace, ModOp::Increment] {
            assert_eq!(op.keyword_colon(), format!("{}: ", op.keyword()));
        }
    }
}
