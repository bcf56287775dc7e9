//! The filter interpreter [`Matcher`](super::Matcher) replaced, kept for tests: it evaluates
//! a [`Filter`] test by test, looking every attribute up by name, and the property tests
//! check that compiled filters give the same answers.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::eval::{
    bit_patterns, case_ignore_cmp, category_name_eq, dn_eq, dn_has_ava, equality_of,
    first_rdn_value, is_object_category, is_person_class, parse_int, substring_match, AttrSource,
    BIT_AND, BIT_OR, IN_CHAIN, SUBCLASSES,
};
use super::Filter;
use crate::model::schema::{attr_info, case_fold, case_ignore_eq, Equality};

/// Whether `source` matches `filter`, evaluated test by test as written.
pub(super) fn matches<S: AttrSource + ?Sized>(filter: &Filter, source: &S) -> bool {
    {
        match filter {
            Filter::And(list) => list.iter().all(|f| matches(f, source)),
            Filter::Or(list) => list.iter().any(|f| matches(f, source)),
            Filter::Not(f) => !matches(f, source),
            Filter::Present { attr } => present(source, attr),
            Filter::Equality { attr, value } => equality(source, attr, value, false),
            Filter::Approx { attr, value } => equality(source, attr, value, true),
            Filter::Substring {
                attr,
                initial,
                any,
                final_,
            } => substring(source, attr, initial.as_deref(), any, final_.as_deref()),
            Filter::GreaterOrEqual { attr, value } => {
                ordering(source, attr, value, |o| o != Ordering::Less)
            }
            Filter::LessOrEqual { attr, value } => {
                ordering(source, attr, value, |o| o != Ordering::Greater)
            }
            Filter::Extensible {
                attr,
                rule,
                dn_attrs,
                value,
            } => extensible(source, attr.as_deref(), rule.as_deref(), *dn_attrs, value),
        }
    }
}

fn present<S: AttrSource + ?Sized>(s: &S, attr: &str) -> bool {
    s.any_value(attr, &mut |_| true)
        || (is_object_category(attr) && s.any_value("objectClass", &mut |_| true))
}

/// `objectClass=x`: any value, or a class of which `x` is a superclass.
fn class_matches<S: AttrSource + ?Sized>(s: &S, want: &[u8]) -> bool {
    if s.any_value("objectClass", &mut |v| case_ignore_eq(v, want)) {
        return true;
    }
    let implied_by = SUBCLASSES
        .iter()
        .find(|(c, _)| case_ignore_eq(c.as_bytes(), want))
        .map_or(&[][..], |(_, subs)| *subs);
    !implied_by.is_empty()
        && s.any_value("objectClass", &mut |v| {
            implied_by.iter().any(|c| case_ignore_eq(v, c.as_bytes()))
        })
}

fn equality<S: AttrSource + ?Sized>(s: &S, attr: &str, want: &[u8], approx: bool) -> bool {
    if is_object_category(attr) {
        return category_matches(s, want);
    }
    if attr.eq_ignore_ascii_case("objectClass") {
        return class_matches(s, want);
    }
    match attr_info(attr.as_bytes()).equality {
        Equality::CaseIgnore => s.any_value(attr, &mut |v| case_ignore_eq(v, want)),
        Equality::Exact if approx => s.any_value(attr, &mut |v| case_ignore_eq(v, want)),
        Equality::Exact => s.any_value(attr, &mut |v| v == want),
        Equality::Dn => s.any_value(attr, &mut |v| dn_eq(v, want)),
        Equality::Integer => match parse_int(want) {
            Some(n) => s.any_value(attr, &mut |v| parse_int(v) == Some(n)),
            None => s.any_value(attr, &mut |v| v == want),
        },
    }
}

/// Whether the entry's category (or the one derived from its classes) is `want`, a bare name
/// or a DN.
fn category_matches<S: AttrSource + ?Sized>(s: &S, want: &[u8]) -> bool {
    let want_is_dn = want.contains(&b'=');
    let want_cn = if want_is_dn {
        first_rdn_value(want)
    } else {
        Cow::Borrowed(want)
    };
    let mut seen = false;
    let hit = s.any_value("objectCategory", &mut |v| {
        seen = true;
        match (want_is_dn, v.contains(&b'=')) {
            (true, true) => dn_eq(v, want),
            (_, false) => category_name_eq(&want_cn, v),
            (false, true) => category_name_eq(want, &first_rdn_value(v)),
        }
    });
    if seen {
        return hit;
    }
    match derived_category(s) {
        Derived::Name(name) => category_name_eq(&want_cn, name),
        Derived::LastClass(count) => {
            let mut index = 0;
            s.any_value("objectClass", &mut |v| {
                index += 1;
                index == count && category_name_eq(&want_cn, v)
            })
        }
        Derived::None => false,
    }
}

/// The category of an entry without `objectCategory`.
enum Derived {
    Name(&'static [u8]),
    /// The last of this many `objectClass` values.
    LastClass(usize),
    None,
}

fn derived_category<S: AttrSource + ?Sized>(s: &S) -> Derived {
    const RANKED: [&[u8]; 5] = [
        b"computer",
        b"group",
        b"publicFolder",
        b"msExchDynamicDistributionList",
        b"person",
    ];
    let mut best = RANKED.len();
    let mut count = 0;
    s.any_value("objectClass", &mut |v| {
        count += 1;
        let rank = if is_person_class(v) {
            4
        } else {
            RANKED[..4]
                .iter()
                .position(|r| v.eq_ignore_ascii_case(r))
                .unwrap_or(RANKED.len())
        };
        best = best.min(rank);
        false
    });
    match (RANKED.get(best), count) {
        (Some(name), _) => Derived::Name(name),
        (None, 0) => Derived::None,
        (None, n) => Derived::LastClass(n),
    }
}

fn substring<S: AttrSource + ?Sized>(
    s: &S,
    attr: &str,
    initial: Option<&[u8]>,
    any: &[Vec<u8>],
    final_: Option<&[u8]>,
) -> bool {
    let rule = equality_of(attr);
    match rule {
        // AD rejects wildcards on DN-syntax attributes: the test is never true.
        Equality::Dn => false,
        Equality::Exact => s.any_value(attr, &mut |v| {
            substring_match(v, initial, any, final_, |x, y| x == y)
        }),
        Equality::CaseIgnore | Equality::Integer => {
            let pattern_ascii = initial.is_none_or(<[u8]>::is_ascii)
                && final_.is_none_or(<[u8]>::is_ascii)
                && any.iter().all(|p| p.is_ascii());
            let mut folded: Option<FoldedPattern> = None;
            s.any_value(attr, &mut |v| {
                if pattern_ascii && v.is_ascii() {
                    return substring_match(v, initial, any, final_, <[u8]>::eq_ignore_ascii_case);
                }
                let (fi, fa, ff) = folded.get_or_insert_with(|| {
                    (
                        initial.map(case_fold),
                        any.iter().map(|p| case_fold(p)).collect(),
                        final_.map(case_fold),
                    )
                });
                substring_match(&case_fold(v), fi.as_deref(), fa, ff.as_deref(), |x, y| {
                    x == y
                })
            })
        }
    }
}

/// A substring pattern's parts, case-folded: initial, any, final.
type FoldedPattern = (Option<Vec<u8>>, Vec<Vec<u8>>, Option<Vec<u8>>);

fn ordering<S: AttrSource + ?Sized>(
    s: &S,
    attr: &str,
    want: &[u8],
    accept: impl Fn(Ordering) -> bool,
) -> bool {
    let rule = equality_of(attr);
    match rule {
        Equality::Integer => match parse_int(want) {
            Some(n) => s.any_value(attr, &mut |v| {
                parse_int(v).is_some_and(|x| accept(x.cmp(&n)))
            }),
            None => false,
        },
        Equality::Exact => s.any_value(attr, &mut |v| accept(v.cmp(want))),
        Equality::CaseIgnore | Equality::Dn => {
            s.any_value(attr, &mut |v| accept(case_ignore_cmp(v, want)))
        }
    }
}

fn extensible<S: AttrSource + ?Sized>(
    s: &S,
    attr: Option<&str>,
    rule: Option<&str>,
    dn_attrs: bool,
    want: &[u8],
) -> bool {
    let Some(attr) = attr else {
        // A rule applied to every attribute: AD does not support it.
        return false;
    };
    match rule {
        Some(BIT_AND) => bitwise(s, attr, want, |v, m| v & m == m),
        Some(BIT_OR) => bitwise(s, attr, want, |v, m| v & m != 0),
        // Transitive membership needs the directory; offline it is direct DN equality.
        Some(IN_CHAIN) => s.any_value(attr, &mut |v| dn_eq(v, want)),
        Some(_) => false,
        None => equality(s, attr, want, false) || (dn_attrs && dn_has_ava(s, attr, want)),
    }
}

fn bitwise<S: AttrSource + ?Sized>(
    s: &S,
    attr: &str,
    want: &[u8],
    test: impl Fn(u64, u64) -> bool,
) -> bool {
    let Some(mask) = parse_int(want) else {
        return false;
    };
    s.any_value(attr, &mut |v| match parse_int(v) {
        Some(v) => {
            let (v, m) = bit_patterns(v, mask);
            test(v, m)
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Matcher, MatcherSet, Overlay, Subject};
    use crate::model::{Entry, EntryBuilder};
    use proptest::prelude::*;

    const ATTRS: &[&str] = &[
        "objectClass",
        "OBJECTCLASS",
        "objectCategory",
        "objectcategory",
        "mailNickname",
        "homeMDB",
        "groupType",
        "cn",
        "member",
        "userPassword",
        "objectClass;x",
    ];

    const VALUES: &[&str] = &[
        "person",
        "Person",
        "user",
        "USER",
        "contact",
        "group",
        "publicFolder",
        "Public-Folder",
        "computer",
        "top",
        "organizationalPerson",
        "inetOrgPerson",
        "domain",
        "domainDNS",
        "builtinDomain",
        "msExchDynamicDistributionList",
        "CN=ms-Exch-Dynamic-Distribution-List,CN=Schema,CN=Configuration,DC=x",
        "CN=Person,CN=Schema,CN=Configuration,DC=x",
        "cn=person, cn=schema,cn=configuration,dc=X",
        "CN=Group,CN=Schema,CN=Configuration,DC=x",
        "CN=Gr\\c3\\b6up,DC=x",
        "Gr\u{f6}up",
        "GR\u{d6}UP",
        "\u{212a}elvin",
        "kelvin",
        "2",
        "8",
        "-2147483646",
        "0512",
        "x",
        "",
    ];

    fn text() -> impl Strategy<Value = String> {
        prop::sample::select(VALUES).prop_map(str::to_string)
    }

    fn attr() -> impl Strategy<Value = String> {
        prop::sample::select(ATTRS).prop_map(str::to_string)
    }

    fn part() -> impl Strategy<Value = Vec<u8>> {
        prop::sample::select(&["p", "P", "er", "-", "Sch", "\u{f6}", "2"][..])
            .prop_map(|s| s.as_bytes().to_vec())
    }

    fn leaf() -> impl Strategy<Value = Filter> {
        let v = || text().prop_map(String::into_bytes);
        prop_oneof![
            (attr(), v()).prop_map(|(attr, value)| Filter::Equality { attr, value }),
            (attr(), v()).prop_map(|(attr, value)| Filter::Approx { attr, value }),
            (attr(), v()).prop_map(|(attr, value)| Filter::GreaterOrEqual { attr, value }),
            (attr(), v()).prop_map(|(attr, value)| Filter::LessOrEqual { attr, value }),
            attr().prop_map(|attr| Filter::Present { attr }),
            (
                attr(),
                prop::option::of(part()),
                prop::collection::vec(part(), 0..2),
                prop::option::of(part())
            )
                .prop_map(|(attr, initial, any, final_)| Filter::Substring {
                    attr,
                    initial,
                    any,
                    final_,
                }),
            (
                prop::option::of(attr()),
                prop::option::of(prop::sample::select(vec![
                    BIT_AND.to_string(),
                    BIT_OR.to_string(),
                    IN_CHAIN.to_string(),
                    "caseExactMatch".to_string(),
                ])),
                any::<bool>(),
                v(),
            )
                .prop_map(|(attr, rule, dn_attrs, value)| Filter::Extensible {
                    attr,
                    rule,
                    dn_attrs,
                    value,
                }),
        ]
    }

    fn filter() -> impl Strategy<Value = Filter> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
                prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
    }

    fn entry() -> impl Strategy<Value = Entry> {
        (
            prop::sample::select(&["CN=A,DC=x", "CN=Group,OU=p,DC=x", "cn=a+sn=b,dc=x"][..]),
            prop::collection::vec((attr(), text()), 0..7),
        )
            .prop_map(|(dn, attrs)| {
                let mut b = EntryBuilder::new(dn.as_bytes());
                for (a, v) in attrs {
                    b.push(a.as_bytes(), v.as_bytes());
                }
                b.finish()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Compiled filters answer as the interpreter does, on entries and on overlays, and
        /// facts shared by one subject serve every filter evaluated on it.
        #[test]
        fn compiled_filters_agree_with_the_interpreter(
            f in filter(),
            g in filter(),
            e in entry(),
            stamped in prop::option::of((attr(), prop::collection::vec(text(), 0..2))),
        ) {
            let (mf, mg) = (Matcher::new(f.clone()), Matcher::new(g.clone()));
            let subject = Subject::new(&e);
            prop_assert_eq!(mf.matches_in(&subject), matches(&f, &e), "{} on {:?}", f, e);
            prop_assert_eq!(mg.matches_in(&subject), matches(&g, &e), "{} on {:?}", g, e);
            let overrides: Vec<(String, Vec<Vec<u8>>)> = stamped
                .into_iter()
                .map(|(a, vs)| (a, vs.into_iter().map(String::into_bytes).collect()))
                .collect();
            let o = Overlay::new(&e, &overrides);
            prop_assert_eq!(mf.matches(&o), matches(&f, &o), "{} on {:?} + {:?}", f, e, overrides);
        }

        /// A set of filters answers, by table or one by one, as each filter does on its own.
        #[test]
        fn filter_sets_answer_as_their_filters(
            filters in prop::collection::vec(filter(), 1..5),
            e in entry(),
        ) {
            let set = MatcherSet::new(filters.iter().cloned().map(Matcher::new).collect());
            let want = filters
                .iter()
                .enumerate()
                .filter(|(_, f)| matches(f, &e))
                .fold(0u64, |bits, (i, _)| bits | 1 << i);
            prop_assert_eq!(set.matching(&Subject::new(&e)), Some(want), "{:?} on {:?}", filters, e);
        }
    }
}
