//! RFC 4515 LDAP search filters with Active Directory evaluation semantics.
//!
//! The Recipient Update Service evaluates `purportedSearch` filters in-process against each
//! object (reference §2.3, §9.3); this module does the same offline: [`parse`] reads a filter,
//! [`Filter`]'s `Display` writes its canonical form, and [`Filter::matches`] evaluates it
//! against anything that implements [`AttrSource`]: an [`Entry`](crate::model::Entry), or an
//! [`Overlay`] of an entry with the values the run is about to stamp (the RUS evaluates the
//! post-stamp state).
//!
//! # Syntax
//!
//! RFC 4515, plus what Active Directory and Exchange 2003 accept:
//!
//! * whitespace (space, tab, CR, LF) around the whole filter, after `(`, after `&`, `|` and
//!   `!`, between the components of `&` and `|` and before their `)`, as Exchange 2003 stored
//!   its address-list filters: `(& (mailnickname=*) (| (objectCategory=group) ))`. Whitespace
//!   inside a value is part of the value;
//! * a filter without outer parentheses (`mailnickname=*`, `&(a=1)(b=2)`);
//! * the empty `(&)` (absolute true) and `(|)` (absolute false) of RFC 4526.
//!
//! Values are unescaped to bytes: `\XX` is one byte; a `\` not followed by two hex digits is an
//! error, and so are an unescaped `(`, NUL, and a `*` anywhere but in an `=` value. Attribute
//! descriptions are kept as written. In an `=` value, empty substring parts are dropped
//! (`(cn=a**b)` is `initial = a, final = b`) and a value made only of `*` is a presence test.
//! Errors carry the 1-based column (in characters) and what was expected.
//!
//! # Evaluation
//!
//! Attribute names compare case-insensitively (options as a set). Values compare with the
//! attribute's equality rule from [`schema::attr_info`](crate::model::schema::attr_info):
//!
//! | filter | CaseIgnore | Dn | Integer | Exact |
//! |---|---|---|---|---|
//! | `(a=v)` | Unicode case-insensitive | normalised DNs | numeric | bytes |
//! | `(a~=v)` | as `=` | as `=` | as `=` | case-insensitive |
//! | `(a=x*y)` | case-insensitive (Unicode) | false: AD has no wildcards on DNs | as text | bytes |
//! | `(a>=v)` `(a<=v)` | case-insensitive lexicographic | case-insensitive lexicographic | numeric | bytes |
//!
//! A test on a multi-valued attribute is true when any value passes (`objectClass=user`
//! matches the whole class chain). `(a=*)` is true when the attribute has a value.
//!
//! `objectCategory` follows AD's short-name expansion. A value without `=` is a class or
//! category name: it matches when it equals, case-insensitively and ignoring hyphens, the
//! first RDN value of the entry's category DN (`person` ≈ `CN=Person,…`, `publicFolder` ≈
//! `CN=Public-Folder,…`, `msExchDynamicDistributionList` ≈ `CN=ms-Exch-Dynamic-Distribution-List,…`).
//! The class names whose default category is Person (`user`, `contact`, `inetOrgPerson`,
//! `organizationalPerson`) mean `person`, as in AD. An entry whose category is itself a bare
//! name is compared the same way, and a filter value that is a DN is compared as a DN. An entry
//! with no `objectCategory` (exports that omit it) gets one derived from its classes:
//! `computer`, then `group`, `publicFolder`, `msExchDynamicDistributionList`, then `person` for
//! the person classes, otherwise its last `objectClass` value; `(objectCategory=*)` is then
//! true when it has an `objectClass`.
//!
//! Extensible matches:
//!
//! * `1.2.840.113556.1.4.803` (bitwise AND): true when `(value & v) == v`;
//!   `1.2.840.113556.1.4.804` (bitwise OR): true when `(value & v) != 0`. Values are decimal,
//!   possibly negative (`groupType` -2147483646); when both fit in 32 bits they are compared as
//!   32-bit patterns, so `2147483648` and `-2147483648` name the same bit;
//! * `1.2.840.113556.1.4.1941` (LDAP_MATCHING_RULE_IN_CHAIN) needs the directory to walk the
//!   chain; offline it is plain DN equality (direct membership only);
//! * no rule: equality with the attribute's rule; with `:dn`, the AVAs of the entry's DN also
//!   count;
//! * any other rule, or a rule without an attribute, is Undefined in AD and evaluates to false.
//!
//! Evaluation is two-valued: an Undefined test is false, so its negation is true (AD would
//! make both Undefined). Evaluation does not allocate for ASCII values, simple DNs, integers
//! and bare category names; it allocates only to case-fold non-ASCII text and to normalise
//! DNs with escapes of non-ASCII bytes, multi-valued RDNs or quoted values.

mod display;
mod eval;
mod matcher;
mod parse;
#[cfg(test)]
mod reference;

use std::fmt;

pub use display::escape_value;
pub use eval::{AttrSource, Overlay};
pub use matcher::{AttrName, Facts, Matcher, MatcherSet, Subject, TABLE_LEAVES};
pub use parse::parse;

/// A parsed LDAP search filter (RFC 4515).
///
/// Attribute descriptions are kept as written; values are unescaped bytes. [`parse`] never
/// produces a [`Filter::Substring`] with an empty part (or with no part at all) and never a
/// [`Filter::Extensible`] without both an attribute and a rule; such values still evaluate, but
/// their `Display` form does not parse back to the same value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    /// `(&f1 f2 …)`: true when every component is; `(&)` is true.
    And(Vec<Filter>),
    /// `(|f1 f2 …)`: true when any component is; `(|)` is false.
    Or(Vec<Filter>),
    /// `(!f)`: true when `f` is false.
    Not(Box<Filter>),
    /// `(attr=value)`.
    Equality {
        /// Attribute description as written.
        attr: String,
        /// Assertion value, unescaped.
        value: Vec<u8>,
    },
    /// `(attr=initial*any1*any2*final)`.
    Substring {
        /// Attribute description as written.
        attr: String,
        /// The part before the first `*`, if not empty.
        initial: Option<Vec<u8>>,
        /// The parts between `*`s, in order.
        any: Vec<Vec<u8>>,
        /// The part after the last `*`, if not empty.
        final_: Option<Vec<u8>>,
    },
    /// `(attr>=value)`.
    GreaterOrEqual {
        /// Attribute description as written.
        attr: String,
        /// Assertion value, unescaped.
        value: Vec<u8>,
    },
    /// `(attr<=value)`.
    LessOrEqual {
        /// Attribute description as written.
        attr: String,
        /// Assertion value, unescaped.
        value: Vec<u8>,
    },
    /// `(attr=*)`.
    Present {
        /// Attribute description as written.
        attr: String,
    },
    /// `(attr~=value)`.
    Approx {
        /// Attribute description as written.
        attr: String,
        /// Assertion value, unescaped.
        value: Vec<u8>,
    },
    /// `(attr:dn:rule:=value)`, each of `attr`, `:dn` and `:rule` optional (but not both
    /// `attr` and `rule` absent).
    Extensible {
        /// Attribute description as written.
        attr: Option<String>,
        /// Matching rule OID or name as written (`1.2.840.113556.1.4.803`).
        rule: Option<String>,
        /// Whether `:dn` was given (the entry's DN attributes also count).
        dn_attrs: bool,
        /// Assertion value, unescaped.
        value: Vec<u8>,
    },
}

impl Filter {
    /// The attribute types the filter uses: lower-cased, without options, deduplicated and
    /// sorted. Callers use it to warn about filters on attributes the RUS itself maintains
    /// (`showInAddressBook`, `proxyAddresses`, `mail`, `memberOf`).
    pub fn attributes(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_attributes(&mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Whether every test of the filter names its attribute, so that [`Filter::attributes`]
    /// lists everything it can read besides the DN: `false` when an extensible match has no
    /// attribute (it matches a value of any attribute).
    pub fn names_every_attribute(&self) -> bool {
        match self {
            Filter::And(list) | Filter::Or(list) => list.iter().all(Filter::names_every_attribute),
            Filter::Not(f) => f.names_every_attribute(),
            Filter::Extensible { attr: None, .. } => false,
            _ => true,
        }
    }

    fn collect_attributes(&self, out: &mut Vec<String>) {
        match self {
            Filter::And(list) | Filter::Or(list) => {
                for f in list {
                    f.collect_attributes(out);
                }
            }
            Filter::Not(f) => f.collect_attributes(out),
            Filter::Equality { attr, .. }
            | Filter::Substring { attr, .. }
            | Filter::GreaterOrEqual { attr, .. }
            | Filter::LessOrEqual { attr, .. }
            | Filter::Present { attr }
            | Filter::Approx { attr, .. }
            | Filter::Extensible {
                attr: Some(attr), ..
            } => {
                let ty = attr.split(';').next().unwrap_or(attr);
                out.push(ty.to_ascii_lowercase());
            }
            Filter::Extensible { attr: None, .. } => {}
        }
    }
}

/// Why a filter could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    /// What was expected there (`expected `)``).
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid LDAP filter at column {}: {}",
            self.column, self.message
        )
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_lower_cased_deduplicated_and_sorted() {
        let f = parse(
            "(&(mailNickname=*)(|(Mail=a*)(proxyAddresses;x=smtp:a@b))(!(mail>=a))\
             (userAccountControl:1.2.840.113556.1.4.803:=2)(:dn:2.5.13.5:=x))",
        )
        .unwrap();
        assert_eq!(
            f.attributes(),
            vec![
                "mail",
                "mailnickname",
                "proxyaddresses",
                "useraccountcontrol"
            ]
        );
    }

    #[test]
    fn filter_error_displays_column_and_expectation() {
        let e = FilterError {
            column: 7,
            message: "expected `)`".into(),
        };
        assert_eq!(
            e.to_string(),
            "invalid LDAP filter at column 7: expected `)`"
        );
    }
}
