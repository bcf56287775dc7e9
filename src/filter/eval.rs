//! Evaluation of a [`Filter`] against an entry's values, with Active Directory semantics (see
//! the [module docs](super)).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{AttrName, Filter};
use crate::model::dn;
use crate::model::entry::attr_eq;
use crate::model::schema::{attr_info, case_ignore_eq, Equality};
use crate::model::Entry;

pub(super) const BIT_AND: &str = "1.2.840.113556.1.4.803";
pub(super) const BIT_OR: &str = "1.2.840.113556.1.4.804";
pub(super) const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// Something a filter can be evaluated against: attribute values by name, and a DN.
///
/// Values are lent to a callback rather than returned, so an implementation can hand out
/// borrowed bytes of any shape without allocating.
pub trait AttrSource {
    /// Calls `f` with each value of `attr` (compared case-insensitively, options as a set) until
    /// it returns true; returns whether it did. An absent attribute calls `f` never.
    fn any_value(&self, attr: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool;

    /// [`AttrSource::any_value`] for a description resolved once: a source with an index
    /// finds it by its key without hashing the name again.
    fn any_value_named(&self, attr: &AttrName, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.any_value(attr.as_str(), f)
    }

    /// The DN, used by extensible matches with `:dn`. `None` when unknown.
    fn dn(&self) -> Option<&[u8]> {
        None
    }
}

impl AttrSource for Entry {
    fn any_value(&self, attr: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        match self.get(attr) {
            Some(a) => a.values().any(f),
            None => false,
        }
    }

    fn any_value_named(&self, attr: &AttrName, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        match self.get(attr) {
            Some(a) => a.values().any(f),
            None => false,
        }
    }

    fn dn(&self) -> Option<&[u8]> {
        Some(Entry::dn(self))
    }
}

impl<T: AttrSource + ?Sized> AttrSource for &T {
    fn any_value(&self, attr: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        (**self).any_value(attr, f)
    }

    fn any_value_named(&self, attr: &AttrName, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        (**self).any_value_named(attr, f)
    }

    fn dn(&self) -> Option<&[u8]> {
        (**self).dn()
    }
}

/// An entry seen with some attributes replaced: the state after stamping, without copying the
/// entry.
///
/// An override replaces every value of its attribute (names compared like
/// [`attr_eq`]); an override with no values makes the attribute absent. The first override of
/// a name wins.
///
/// ```
/// use ldifstamp::filter::{parse, Overlay};
/// use ldifstamp::model::EntryBuilder;
/// let mut b = EntryBuilder::new(b"CN=a,DC=x");
/// b.push(b"mailNickname", b"a");
/// let entry = b.finish();
/// let stamped = [("mail", vec![b"a@x".to_vec()])];
/// let f = parse("(mail=*)").unwrap();
/// assert!(!f.matches(&entry));
/// assert!(f.matches(&Overlay::new(&entry, &stamped)));
/// ```
pub struct Overlay<'a, B: ?Sized = Entry, N = &'a str> {
    base: &'a B,
    overrides: &'a [(N, Vec<Vec<u8>>)],
}

impl<'a, B: ?Sized, N> Overlay<'a, B, N> {
    /// `base` with `overrides` (attribute name, replacement values) applied.
    pub fn new(base: &'a B, overrides: &'a [(N, Vec<Vec<u8>>)]) -> Self {
        Overlay { base, overrides }
    }
}

impl<B: AttrSource + ?Sized, N: AsRef<str>> AttrSource for Overlay<'_, B, N> {
    fn any_value(&self, attr: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        for (name, values) in self.overrides {
            if attr_eq(name.as_ref().as_bytes(), attr.as_bytes()) {
                return values.iter().any(|v| f(v));
            }
        }
        self.base.any_value(attr, f)
    }

    fn any_value_named(&self, attr: &AttrName, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        for (name, values) in self.overrides {
            if attr_eq(name.as_ref().as_bytes(), attr.as_str().as_bytes()) {
                return values.iter().any(|v| f(v));
            }
        }
        self.base.any_value_named(attr, f)
    }

    fn dn(&self) -> Option<&[u8]> {
        self.base.dn()
    }
}

impl Filter {
    /// Whether `source` (an [`Entry`], an [`Overlay`], …) matches the filter, with Active
    /// Directory semantics (see the [module docs](super)).
    ///
    /// This compiles the filter for one evaluation; compile it once with
    /// [`Matcher`](super::Matcher) to evaluate it on many objects.
    pub fn matches<S: AttrSource + ?Sized>(&self, source: &S) -> bool {
        super::matcher::matches_once(self, source)
    }
}

pub(super) fn is_object_category(attr: &str) -> bool {
    attr.eq_ignore_ascii_case("objectCategory")
}

/// The matching rule of `attr` in ordering and substring tests: `objectCategory` compares as
/// a DN, everything else by its schema.
pub(super) fn equality_of(attr: &str) -> Equality {
    if is_object_category(attr) {
        Equality::Dn
    } else {
        attr_info(attr.as_bytes()).equality
    }
}

/// The superclasses of the structural classes exports carry, for exports that list only the
/// most specific class (csvde writes `user`, not `top;person;organizationalPerson;user`).
#[cfg(test)]
const SUPERCLASSES: &[(&str, &[&str])] = &[
    ("user", &["organizationalPerson", "person", "top"]),
    (
        "inetOrgPerson",
        &["user", "organizationalPerson", "person", "top"],
    ),
    (
        "computer",
        &["user", "organizationalPerson", "person", "top"],
    ),
    ("contact", &["organizationalPerson", "person", "top"]),
    ("organizationalPerson", &["person", "top"]),
    ("person", &["top"]),
    ("group", &["top"]),
    ("organizationalUnit", &["top"]),
    ("container", &["top"]),
    ("publicFolder", &["top"]),
    ("msExchDynamicDistributionList", &["top"]),
    ("domainDNS", &["domain", "top"]),
];

/// [`SUPERCLASSES`] inverted: for each class that is some class's superclass, the classes
/// that imply it (a test checks that the two tables agree).
pub(super) const SUBCLASSES: &[(&str, &[&str])] = &[
    (
        "top",
        &[
            "user",
            "inetOrgPerson",
            "computer",
            "contact",
            "organizationalPerson",
            "person",
            "group",
            "organizationalUnit",
            "container",
            "publicFolder",
            "msExchDynamicDistributionList",
            "domainDNS",
        ],
    ),
    (
        "person",
        &[
            "user",
            "inetOrgPerson",
            "computer",
            "contact",
            "organizationalPerson",
        ],
    ),
    (
        "organizationalPerson",
        &["user", "inetOrgPerson", "computer", "contact"],
    ),
    ("user", &["inetOrgPerson", "computer"]),
    ("domain", &["domainDNS"]),
];

pub(super) fn parse_int(v: &[u8]) -> Option<i64> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

// ---------------------------------------------------------------------------------------------
// objectCategory

/// The classes whose default object category is Person.
pub(super) fn is_person_class(name: &[u8]) -> bool {
    [
        &b"person"[..],
        b"user",
        b"contact",
        b"inetOrgPerson",
        b"organizationalPerson",
    ]
    .iter()
    .any(|c| name.eq_ignore_ascii_case(c))
}

/// Compares two category names the way AD resolves a short name: the person classes mean
/// `person`; otherwise case-insensitively, ignoring hyphens (`publicFolder` ≈ `Public-Folder`).
pub(super) fn category_name_eq(a: &[u8], b: &[u8]) -> bool {
    let a: &[u8] = if is_person_class(a) { b"person" } else { a };
    let b: &[u8] = if is_person_class(b) { b"person" } else { b };
    if case_ignore_eq(a, b) {
        return true;
    }
    fn letters(x: &[u8]) -> impl Iterator<Item = u8> + '_ {
        x.iter().filter(|&&c| c != b'-').map(u8::to_ascii_lowercase)
    }
    a.is_ascii() && b.is_ascii() && letters(a).eq(letters(b))
}

/// The unescaped value of the first RDN of `dn` (`Person` of `CN=Person,CN=Schema,…`), without
/// allocating for plain values; the whole input when it is not a DN.
pub(super) fn first_rdn_value(dn_bytes: &[u8]) -> Cow<'_, [u8]> {
    let skip = |s: &[u8], mut i: usize| {
        while s.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    let mut i = skip(dn_bytes, 0);
    while dn_bytes
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.'))
    {
        i += 1;
    }
    i = skip(dn_bytes, i);
    if dn_bytes.get(i) == Some(&b'=') {
        let start = skip(dn_bytes, i + 1);
        let mut end = start;
        let mut significant = start;
        while let Some(&c) = dn_bytes.get(end) {
            match c {
                b',' | b'+' => break,
                b'\\' | b'"' | b'#' => return slow_first_value(dn_bytes),
                b' ' => {}
                _ => significant = end + 1,
            }
            end += 1;
        }
        return Cow::Borrowed(&dn_bytes[start..significant]);
    }
    slow_first_value(dn_bytes)
}

fn slow_first_value(dn_bytes: &[u8]) -> Cow<'_, [u8]> {
    match dn::first_value(dn_bytes) {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(dn_bytes),
    }
}

// ---------------------------------------------------------------------------------------------
// DN equality

/// Whether two DNs are equal by their normalised form ([`dn::normalize`]); DNs that do not
/// parse compare case-insensitively as text.
pub(super) fn dn_eq(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    if let Some(eq) = simple_dn_eq(a, b) {
        return eq;
    }
    match (dn::normalize(a), dn::normalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => case_ignore_eq(a, b),
    }
}

/// [`dn_eq`] without allocating, for the DNs AD writes: ASCII, single-valued RDNs, no quoted or
/// `#` values. `None` when either DN needs the full parser.
fn simple_dn_eq(a: &[u8], b: &[u8]) -> Option<bool> {
    if !a.is_ascii() || !b.is_ascii() {
        return None;
    }
    let (mut ca, mut cb) = (SimpleDn { s: a, i: 0 }, SimpleDn { s: b, i: 0 });
    // Once a difference is found, both DNs are still read to the end: the answer stands only
    // if both are simple and valid.
    let mut equal = true;
    loop {
        match (ca.next_ava()?, cb.next_ava()?) {
            (None, None) => return Some(equal),
            (Some((ta, va)), Some((tb, vb))) => {
                if equal && !(ta.eq_ignore_ascii_case(tb) && simple_value_eq(va, vb)?) {
                    equal = false;
                }
            }
            (Some(_), None) => {
                while ca.next_ava()?.is_some() {}
                return Some(false);
            }
            (None, Some(_)) => {
                while cb.next_ava()?.is_some() {}
                return Some(false);
            }
        }
    }
}

/// Compares two escaped ASCII DN values case-insensitively after unescaping; `None` when an
/// escape gives a non-ASCII byte.
fn simple_value_eq(a: &[u8], b: &[u8]) -> Option<bool> {
    let (mut ua, mut ub) = (Unescape { s: a, i: 0 }, Unescape { s: b, i: 0 });
    loop {
        match (ua.next(), ub.next()) {
            (None, None) => return Some(true),
            (Some(x), Some(y)) => {
                if !x?.eq_ignore_ascii_case(&y?) {
                    return Some(false);
                }
            }
            _ => return Some(false),
        }
    }
}

/// A cursor over the AVAs of a simple DN.
struct SimpleDn<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> SimpleDn<'a> {
    fn skip_spaces(&mut self) {
        while self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    /// The next (type, raw value) pair: `Some(None)` at the end, `None` when the DN is not
    /// simple (or not valid).
    fn next_ava(&mut self) -> Option<Option<(&'a [u8], &'a [u8])>> {
        self.skip_spaces();
        if self.i >= self.s.len() {
            return Some(None);
        }
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.'))
        {
            self.i += 1;
        }
        let ty = &self.s[start..self.i];
        self.skip_spaces();
        if ty.is_empty() || self.s.get(self.i) != Some(&b'=') {
            return None;
        }
        self.i += 1;
        self.skip_spaces();
        let start = self.i;
        let mut significant = start;
        if matches!(self.s.get(self.i), Some(b'#' | b'"')) {
            return None;
        }
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b',' => break,
                b'+' | b'"' | b';' | b'<' | b'>' => return None,
                b'\\' => {
                    if self.i + 1 >= self.s.len() {
                        return None;
                    }
                    self.i += if is_hex_pair(self.s, self.i + 1) {
                        3
                    } else {
                        2
                    };
                    significant = self.i.min(self.s.len());
                    continue;
                }
                b' ' => {}
                _ => significant = self.i + 1,
            }
            self.i += 1;
        }
        let value = &self.s[start..significant];
        if self.s.get(self.i) == Some(&b',') {
            self.i += 1;
            // A trailing `,` with nothing after it is not a valid DN.
            self.skip_spaces();
            if self.i >= self.s.len() {
                return None;
            }
        }
        Some(Some((ty, value)))
    }
}

fn is_hex_pair(s: &[u8], i: usize) -> bool {
    i + 1 < s.len() && s[i].is_ascii_hexdigit() && s[i + 1].is_ascii_hexdigit()
}

/// The bytes of an escaped DN value; `Some(None)` for a byte that needs the full comparison
/// (a non-ASCII escaped byte).
struct Unescape<'a> {
    s: &'a [u8],
    i: usize,
}

impl Iterator for Unescape<'_> {
    type Item = Option<u8>;

    fn next(&mut self) -> Option<Option<u8>> {
        let c = *self.s.get(self.i)?;
        if c != b'\\' {
            self.i += 1;
            return Some(Some(c));
        }
        if is_hex_pair(self.s, self.i + 1) {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            let b = hex(self.s[self.i + 1]) << 4 | hex(self.s[self.i + 2]);
            self.i += 3;
            return Some(b.is_ascii().then_some(b));
        }
        let b = self.s.get(self.i + 1).copied();
        self.i += 2;
        Some(b)
    }
}

// ---------------------------------------------------------------------------------------------
// Substrings and ordering

/// Whether `v` starts with `initial`, ends with `final_` and holds the `any` parts in order
/// between them without overlapping, comparing byte slices with `eq`.
pub(super) fn substring_match(
    v: &[u8],
    initial: Option<&[u8]>,
    any: &[Vec<u8>],
    final_: Option<&[u8]>,
    eq: impl Fn(&[u8], &[u8]) -> bool,
) -> bool {
    let mut lo = 0;
    let mut hi = v.len();
    if let Some(p) = initial {
        if p.len() > hi || !eq(&v[..p.len()], p) {
            return false;
        }
        lo = p.len();
    }
    if let Some(p) = final_ {
        if p.len() > hi - lo || !eq(&v[hi - p.len()..], p) {
            return false;
        }
        hi -= p.len();
    }
    for p in any {
        if p.is_empty() {
            continue;
        }
        let window = &v[lo..hi];
        match window.windows(p.len()).position(|w| eq(w, p)) {
            Some(at) => lo += at + p.len(),
            None => return false,
        }
    }
    true
}

/// Case-insensitive lexicographic order of UTF-8 text (bytes when not UTF-8).
pub(super) fn case_ignore_cmp(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(b.iter().map(u8::to_ascii_lowercase));
    }
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(x), Ok(y)) => x
            .chars()
            .flat_map(char::to_lowercase)
            .cmp(y.chars().flat_map(char::to_lowercase)),
        _ => a.cmp(b),
    }
}

// ---------------------------------------------------------------------------------------------
// Extensible matches

/// The bit patterns of two integers: 32-bit when both fit in 32 bits (signed or unsigned), so
/// `-2147483646` and `2147483650` are the same `groupType`; 64-bit otherwise.
pub(super) fn bit_patterns(a: i64, b: i64) -> (u64, u64) {
    let fits = |x: i64| (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&x);
    if fits(a) && fits(b) {
        (u64::from(a as u32), u64::from(b as u32))
    } else {
        (a as u64, b as u64)
    }
}

/// Whether an AVA of the entry's DN has type `attr` and a value equal to `want`.
pub(super) fn dn_has_ava<S: AttrSource + ?Sized>(s: &S, attr: &str, want: &[u8]) -> bool {
    let Some(Ok(rdns)) = s.dn().map(dn::parse) else {
        return false;
    };
    rdns.iter().flatten().any(|ava| {
        attr_eq(ava.ty.as_bytes(), attr.as_bytes())
            && crate::model::schema::values_equal(attr.as_bytes(), &ava.value, want)
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use crate::model::EntryBuilder;
    use proptest::prelude::*;

    #[test]
    fn subclasses_invert_superclasses() {
        use std::collections::BTreeSet;
        let mut from_supers: BTreeSet<(&str, &str)> = BTreeSet::new();
        for (class, supers) in SUPERCLASSES {
            for s in *supers {
                from_supers.insert((s, class));
            }
        }
        let from_subs: BTreeSet<(&str, &str)> = SUBCLASSES
            .iter()
            .flat_map(|(s, subs)| subs.iter().map(move |c| (*s, *c)))
            .collect();
        assert_eq!(from_supers, from_subs);
    }

    /// The Exchange 2003 default address lists, exactly as stored (reference §9.2).
    const DEFAULT_LISTS: [(&str, &str); 5] = [
        ("Default Global Address List", "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=user)(!(homeMDB=*))(!(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=user)(|(homeMDB=*)(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=contact))(objectCategory=group)(objectCategory=publicFolder)(objectCategory=msExchDynamicDistributionList) ))"),
        ("All Users", "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=user)(!(homeMDB=*))(!(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=user)(|(homeMDB=*)(msExchHomeServerName=*))) ))"),
        ("All Contacts", "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=contact)) ))"),
        ("All Groups", "(& (mailnickname=*) (| (objectCategory=group) ))"),
        ("Public Folders", "(& (mailnickname=*) (| (objectCategory=publicFolder) ))"),
    ];

    const SCHEMA: &str = "CN=Schema,CN=Configuration,DC=x";

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> Entry {
        let mut b = EntryBuilder::new(dn.as_bytes());
        for (name, value) in attrs {
            b.push(name.as_bytes(), value.as_bytes());
        }
        b.finish()
    }

    fn category(cn: &str) -> String {
        format!("CN={cn},{SCHEMA}")
    }

    /// The recipients of reference §0.1, with AD's default categories.
    fn recipients() -> Vec<(&'static str, Entry)> {
        let person = category("Person");
        fn user_attrs<'a>(
            person: &'a str,
            extra: &[(&'a str, &'a str)],
        ) -> Vec<(&'a str, &'a str)> {
            let mut attrs = vec![
                ("objectClass", "top"),
                ("objectClass", "person"),
                ("objectClass", "organizationalPerson"),
                ("objectClass", "user"),
                ("objectCategory", person),
            ];
            attrs.extend_from_slice(extra);
            attrs
        }
        let user = |extra: &[(&'static str, &'static str)]| user_attrs(&person, extra);
        vec![
            (
                "mailbox",
                entry(
                    "CN=Mailbox,OU=Users,DC=x",
                    &user(&[
                        ("mailNickname", "mailbox"),
                        ("homeMDB", "CN=Mailbox Store (SRV1),CN=First Storage Group,CN=InformationStore,CN=SRV1,CN=Servers,CN=AG,CN=Administrative Groups,CN=Org,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=x"),
                    ]),
                ),
            ),
            (
                "mail user",
                entry(
                    "CN=Mail User,OU=Users,DC=x",
                    &user(&[
                        ("mailNickname", "meu"),
                        ("targetAddress", "SMTP:meu@example.org"),
                    ]),
                ),
            ),
            (
                "contact",
                entry(
                    "CN=Contact,OU=Contacts,DC=x",
                    &[
                        ("objectClass", "top"),
                        ("objectClass", "person"),
                        ("objectClass", "organizationalPerson"),
                        ("objectClass", "contact"),
                        ("objectCategory", person.as_str()),
                        ("mailNickname", "contact"),
                        ("targetAddress", "SMTP:contact@example.org"),
                    ],
                ),
            ),
            (
                "group",
                entry(
                    "CN=Group,OU=Groups,DC=x",
                    &[
                        ("objectClass", "top"),
                        ("objectClass", "group"),
                        ("objectCategory", category("Group").as_str()),
                        ("mailNickname", "group"),
                        ("groupType", "-2147483646"),
                    ],
                ),
            ),
            (
                "public folder",
                entry(
                    "CN=PF,CN=Microsoft Exchange System Objects,DC=x",
                    &[
                        ("objectClass", "top"),
                        ("objectClass", "publicFolder"),
                        ("objectCategory", category("Public-Folder").as_str()),
                        ("mailNickname", "pf"),
                    ],
                ),
            ),
            (
                "dynamic DL",
                entry(
                    "CN=DDL,OU=Groups,DC=x",
                    &[
                        ("objectClass", "top"),
                        ("objectClass", "msExchDynamicDistributionList"),
                        (
                            "objectCategory",
                            category("ms-Exch-Dynamic-Distribution-List").as_str(),
                        ),
                        ("mailNickname", "ddl"),
                    ],
                ),
            ),
            (
                "non-recipient",
                entry("CN=Plain,OU=Users,DC=x", &user(&[("sn", "Plain")])),
            ),
        ]
    }

    fn lists_of<S: AttrSource + ?Sized>(source: &S) -> Vec<&'static str> {
        DEFAULT_LISTS
            .iter()
            .filter(|(_, text)| parse(text).unwrap().matches(source))
            .map(|(name, _)| *name)
            .collect()
    }

    const GAL: &str = "Default Global Address List";

    fn expected(kind: &str) -> Vec<&'static str> {
        match kind {
            "mailbox" | "mail user" => vec![GAL, "All Users"],
            "contact" => vec![GAL, "All Contacts"],
            "group" => vec![GAL, "All Groups"],
            "public folder" => vec![GAL, "Public Folders"],
            "dynamic DL" => vec![GAL],
            _ => vec![],
        }
    }

    #[test]
    fn a_single_structural_class_matches_its_superclasses() {
        let e = crate::apply::entry_of("cn=u,dc=x", &[("objectClass", "user")]);
        assert!(parse("(objectClass=person)").unwrap().matches(&e));
        assert!(parse("(objectClass=organizationalPerson)")
            .unwrap()
            .matches(&e));
        assert!(!parse("(objectClass=contact)").unwrap().matches(&e));
    }

    #[test]
    fn default_address_lists_select_exactly_their_recipients() {
        for (kind, e) in recipients() {
            assert_eq!(lists_of(&e), expected(kind), "{kind}");
        }
    }

    #[test]
    fn default_address_lists_work_on_exports_without_object_category() {
        for (kind, e) in recipients() {
            let bare = e.with_values(b"objectCategory", std::iter::empty());
            assert!(!bare.has("objectCategory"));
            assert_eq!(lists_of(&bare), expected(kind), "{kind}");
        }
    }

    #[test]
    fn overlay_replaces_and_removes_attributes() {
        let all = recipients();
        let plain = &all.iter().find(|(k, _)| *k == "non-recipient").unwrap().1;
        let stamped = [("MAILNICKNAME", vec![b"plain".to_vec()])];
        let with_alias = Overlay::new(plain, &stamped[..]);
        assert_eq!(lists_of(&with_alias), vec![GAL, "All Users"]);
        assert!(lists_of(plain).is_empty());

        let mailbox = &all.iter().find(|(k, _)| *k == "mailbox").unwrap().1;
        let removed = [("mailNickname".to_string(), Vec::new())];
        assert!(lists_of(&Overlay::new(mailbox, &removed[..])).is_empty());

        let f = parse("(mailNickname=mailbox)").unwrap();
        let renamed = [("mailnickname", vec![b"other".to_vec(), b"x".to_vec()])];
        assert!(f.matches(mailbox));
        assert!(!f.matches(&Overlay::new(mailbox, &renamed[..])));
        assert!(parse("(mailNickname=x)")
            .unwrap()
            .matches(&Overlay::new(mailbox, &renamed[..])));
        // Overlays stack, and keep the base's DN.
        let inner = Overlay::new(mailbox, &renamed[..]);
        let outer = Overlay::new(&inner, &stamped[..]);
        assert!(parse("(mailNickname=plain)").unwrap().matches(&outer));
        assert_eq!(outer.dn(), Some(mailbox.dn()));
    }

    fn one(attrs: &[(&str, &str)]) -> Entry {
        entry("CN=Test User,OU=Users,DC=x", attrs)
    }

    fn m(filter: &str, e: &Entry) -> bool {
        parse(filter).unwrap().matches(e)
    }

    #[test]
    fn bare_object_category_matches_the_category_cn() {
        let e = one(&[("objectCategory", &category("Person"))]);
        assert!(m("(objectCategory=person)", &e));
        assert!(m("(objectCategory=PERSON)", &e));
        assert!(!m("(objectCategory=group)", &e));
        assert!(!m("(objectCategory=pers*)", &e));
    }

    #[test]
    fn object_category_short_names_ignore_hyphens() {
        let pf = one(&[("objectCategory", &category("Public-Folder"))]);
        assert!(m("(objectCategory=publicFolder)", &pf));
        let ddl = one(&[(
            "objectCategory",
            &category("ms-Exch-Dynamic-Distribution-List"),
        )]);
        assert!(m("(objectCategory=msExchDynamicDistributionList)", &ddl));
        assert!(!m("(objectCategory=publicFolder)", &ddl));
    }

    #[test]
    fn person_class_names_mean_the_person_category() {
        let e = one(&[("objectCategory", &category("Person"))]);
        assert!(m("(objectCategory=user)", &e));
        assert!(m("(objectCategory=contact)", &e));
        assert!(m("(objectCategory=inetOrgPerson)", &e));
        assert!(!m("(objectCategory=computer)", &e));
    }

    #[test]
    fn object_category_as_dn_compares_dns() {
        let e = one(&[("objectCategory", &category("Person"))]);
        assert!(m(
            "(objectCategory=cn=person, cn=schema,cn=configuration,dc=X)",
            &e
        ));
        assert!(!m(
            "(objectCategory=CN=Person,CN=Schema,CN=Configuration,DC=y)",
            &e
        ));
        let bare = one(&[("objectCategory", "Person")]);
        assert!(m("(objectCategory=person)", &bare));
        assert!(m(
            &format!("(objectCategory={})", category("Person")),
            &bare
        ));
    }

    #[test]
    fn missing_object_category_is_derived_from_the_most_specific_class() {
        let computer = one(&[
            ("objectClass", "top"),
            ("objectClass", "person"),
            ("objectClass", "organizationalPerson"),
            ("objectClass", "user"),
            ("objectClass", "computer"),
        ]);
        assert!(m("(objectCategory=computer)", &computer));
        assert!(!m("(objectCategory=person)", &computer));
        assert!(m("(objectCategory=*)", &computer));
        let other = one(&[
            ("objectClass", "top"),
            ("objectClass", "container"),
            ("objectClass", "msExchContainer"),
        ]);
        assert!(m("(objectCategory=msExchContainer)", &other));
        assert!(!m("(objectCategory=container)", &other));
        assert!(m(
            &format!("(objectCategory={})", category("ms-Exch-Container")),
            &other
        ));
        let nothing = one(&[("cn", "x")]);
        assert!(!m("(objectCategory=*)", &nothing));
        assert!(!m("(objectCategory=person)", &nothing));
    }

    #[test]
    fn object_class_matches_any_value_of_the_chain() {
        let e = recipients().remove(0).1;
        for c in ["top", "person", "organizationalPerson", "USER"] {
            assert!(m(&format!("(objectClass={c})"), &e), "{c}");
        }
        assert!(!m("(objectClass=contact)", &e));
    }

    #[test]
    fn bitwise_and_tests_every_bit_of_the_mask() {
        let disabled = one(&[("userAccountControl", "514")]);
        let enabled = one(&[("userAccountControl", "512")]);
        let f = "(userAccountControl:1.2.840.113556.1.4.803:=2)";
        assert!(m(f, &disabled));
        assert!(!m(f, &enabled));
        assert!(m(
            "(userAccountControl:1.2.840.113556.1.4.803:=514)",
            &disabled
        ));
        assert!(!m(
            "(userAccountControl:1.2.840.113556.1.4.803:=515)",
            &disabled
        ));
        assert!(m(
            "(!(userAccountControl:1.2.840.113556.1.4.803:=2))",
            &enabled
        ));
    }

    #[test]
    fn bitwise_rules_treat_negative_group_types_as_32_bit_patterns() {
        let security = one(&[("groupType", "-2147483646")]);
        let distribution = one(&[("groupType", "2")]);
        let or = "(groupType:1.2.840.113556.1.4.804:=2147483648)";
        assert!(m(or, &security));
        assert!(!m(or, &distribution));
        assert!(m(
            "(groupType:1.2.840.113556.1.4.804:=-2147483648)",
            &security
        ));
        assert!(m(
            "(groupType:1.2.840.113556.1.4.803:=2147483650)",
            &security
        ));
        assert!(m(
            "(groupType:1.2.840.113556.1.4.803:=-2147483646)",
            &security
        ));
        assert!(!m(
            "(groupType:1.2.840.113556.1.4.803:=2147483650)",
            &distribution
        ));
        assert!(!m("(groupType:1.2.840.113556.1.4.804:=x)", &security));
        assert!(!m("(groupType:1.2.840.113556.1.4.804:=4)", &security));
    }

    #[test]
    fn in_chain_rule_is_direct_dn_equality_offline() {
        let e = one(&[("memberOf", "CN=Staff,OU=Groups,DC=x")]);
        assert!(m(
            "(memberOf:1.2.840.113556.1.4.1941:=cn=staff,ou=groups,dc=x)",
            &e
        ));
        assert!(!m(
            "(memberOf:1.2.840.113556.1.4.1941:=CN=All,OU=Groups,DC=x)",
            &e
        ));
    }

    #[test]
    fn unknown_matching_rules_are_false_and_their_negation_true() {
        let e = one(&[("cn", "x")]);
        assert!(!m("(cn:2.5.13.5:=x)", &e));
        assert!(m("(!(cn:2.5.13.5:=x))", &e));
        assert!(!m("(:1.2.840.113556.1.4.803:=2)", &e));
    }

    #[test]
    fn extensible_without_rule_is_equality_and_dn_attrs_count_with_dn_flag() {
        let e = one(&[("cn", "Test User")]);
        assert!(m("(cn:=test user)", &e));
        assert!(!m("(ou:=users)", &e));
        assert!(m("(ou:dn:=users)", &e));
        assert!(!m("(ou:dn:=groups)", &e));
    }

    #[test]
    fn substring_folds_non_ascii_case() {
        let e = one(&[("sn", "Müller")]);
        assert!(m("(sn=mü*)", &e));
        assert!(m("(sn=MÜ*)", &e));
        assert!(m("(sn=*LLER)", &e));
        assert!(m("(sn=*ÜL*)", &e));
        assert!(m("(sn=m*l*r)", &e));
        assert!(!m("(sn=mu*)", &e));
        assert!(!m("(sn=*mü)", &e));
        let ascii = one(&[("cn", "John Smith")]);
        assert!(m("(cn=*SMI*)", &ascii));
        assert!(m("(cn=j*n*s*h)", &ascii));
        assert!(!m("(cn=j*smith*n)", &ascii));
        // Parts may not overlap.
        assert!(!m("(cn=John*ohn*)", &one(&[("cn", "John")])));
        assert!(!m("(cn=ab*ba)", &one(&[("cn", "aba")])));
    }

    #[test]
    fn substring_is_exact_on_octet_attributes_and_false_on_dns() {
        let e = one(&[
            ("userPassword", "Secret"),
            ("manager", "CN=Boss,OU=Users,DC=x"),
        ]);
        assert!(m("(userPassword=Sec*)", &e));
        assert!(!m("(userPassword=sec*)", &e));
        assert!(!m("(manager=CN=Boss*)", &e));
        assert!(m("(manager=*)", &e));
    }

    #[test]
    fn dn_equality_ignores_spacing_case_and_escape_form() {
        let e = one(&[
            ("manager", r"CN=Smith\, John,OU=Users,DC=x"),
            ("memberOf", "CN=Müller Team,OU=Groups,DC=x"),
            ("memberOf", "CN=Staff,OU=Groups,DC=x"),
        ]);
        assert!(m(r"(manager=cn=smith\5c2c john , ou=users,dc=X)", &e));
        assert!(m(r"(manager=CN = SMITH\5c, JOHN,OU=Users,DC=x)", &e));
        assert!(!m(r"(manager=CN=Smith,OU=Users,DC=x)", &e));
        assert!(m("(memberOf=cn=MÜLLER TEAM,ou=groups,dc=x)", &e));
        assert!(m("(memberOf=cn=staff,ou=groups,dc=x)", &e));
        assert!(!m("(memberOf=cn=staff,dc=x)", &e));
    }

    #[test]
    fn equality_follows_the_attribute_rule() {
        let e = one(&[
            ("displayName", "Jürgen Test"),
            ("userAccountControl", "512"),
            ("userPassword", "Secret"),
        ]);
        assert!(m("(DISPLAYNAME=JÜRGEN TEST)", &e));
        assert!(m("(userAccountControl=0512)", &e));
        assert!(m("(userAccountControl= 512 )", &e));
        assert!(!m("(userAccountControl=513)", &e));
        assert!(!m("(userPassword=secret)", &e));
        assert!(m("(userPassword=Secret)", &e));
        assert!(m("(userPassword~=secret)", &e));
        assert!(m("(displayName~=jürgen test)", &e));
        assert!(!m("(missing=x)", &e));
        assert!(!m("(missing=*)", &e));
    }

    #[test]
    fn ordering_is_numeric_for_integers_and_case_insensitive_otherwise() {
        let e = one(&[("userAccountControl", "512"), ("sn", "Müller")]);
        assert!(m("(userAccountControl>=66)", &e));
        assert!(!m("(userAccountControl>=600)", &e));
        assert!(m("(userAccountControl<=512)", &e));
        assert!(!m("(userAccountControl<=x)", &e));
        assert!(m("(sn>=M)", &e));
        assert!(m("(sn>=MÜLLER)", &e));
        assert!(m("(sn<=müller)", &e));
        assert!(!m("(sn<=m)", &e));
        assert!(!m("(sn>=n)", &e));
    }

    #[test]
    fn empty_and_is_true_and_empty_or_is_false() {
        let e = one(&[]);
        assert!(m("(&)", &e));
        assert!(!m("(|)", &e));
        assert!(m("(!(|))", &e));
    }

    #[test]
    fn simple_dn_fast_path_agrees_with_the_normaliser_on_known_cases() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"CN=a,DC=x", b"cn=A, dc=X"),
            (br"cn=a\,b,dc=x", br"cn=a\2cb,dc=x"),
            (br"cn=a\ ,dc=x", b"cn=a,dc=x"),
            (b"cn=a  ,dc=x", b"cn=a,dc=x"),
            (b"cn=a,dc=x", b"cn=a,dc=y"),
            (b"cn=a,dc=x", b"ou=a,dc=x"),
            (b"cn=a,dc=x", b"cn=a"),
            (b"", b""),
            (b"cn=a=b", b"CN=A=B"),
        ];
        for (a, b) in cases {
            let slow = dn::normalize(a).unwrap() == dn::normalize(b).unwrap();
            assert_eq!(simple_dn_eq(a, b), Some(slow), "{a:?} {b:?}");
        }
        assert_eq!(simple_dn_eq(b"cn=a+sn=b", b"sn=b+cn=a"), None);
        assert_eq!(simple_dn_eq(br"cn=\c3\bc", b"cn=x"), None);
        assert_eq!(simple_dn_eq(b"cn=a,", b"cn=a"), None);
        assert!(dn_eq(b"cn=a+sn=b,dc=x", b"SN=B + CN=A, DC=X"));
    }

    proptest! {
        #[test]
        fn simple_dn_fast_path_never_disagrees_with_the_normaliser(
            a in "[ aAbB=,+\\\\0-9#\";.-]{0,14}",
            b in "[ aAbB=,+\\\\0-9#\";.-]{0,14}",
        ) {
            if let Some(fast) = simple_dn_eq(a.as_bytes(), b.as_bytes()) {
                let (x, y) = (dn::normalize(a.as_bytes()), dn::normalize(b.as_bytes()));
                prop_assert!(x.is_ok() && y.is_ok(), "{:?} {:?}", a, b);
                prop_assert_eq!(fast, x == y, "{:?} {:?}", a, b);
            }
        }

        #[test]
        fn simple_dn_fast_path_matches_itself_case_insensitively(
            a in "(cn|ou|dc) ?= ?[a-zA-Z0-9 ]{1,6}(,(cn|ou|dc)=[a-zA-Z0-9]{1,6}){0,3}",
        ) {
            let upper = a.to_ascii_uppercase();
            prop_assert_eq!(simple_dn_eq(a.as_bytes(), upper.as_bytes()), Some(true));
        }
    }
}
