//! The canonical text form of a filter: no whitespace, values escaped per RFC 4515.

use std::fmt::{self, Write};

use super::Filter;

/// Escapes an assertion value for a filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL
/// become `\2a`, `\28`, `\29`, `\5c`, `\00`; so do control characters and bytes that are not
/// UTF-8. Printable ASCII and valid non-ASCII UTF-8 stay as they are.
///
/// ```
/// assert_eq!(ldifstamp::filter::escape_value("a*(b)\\ü".as_bytes()), r"a\2a\28b\29\5cü");
/// ```
pub fn escape_value(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut out, value);
    out
}

fn write_escaped(out: &mut impl Write, value: &[u8]) -> fmt::Result {
    fn hex(out: &mut impl Write, bytes: &[u8]) -> fmt::Result {
        bytes.iter().try_for_each(|b| write!(out, "\\{b:02x}"))
    }
    for chunk in value.utf8_chunks() {
        let valid = chunk.valid();
        let mut plain = 0;
        for (at, c) in valid.char_indices() {
            if matches!(c, '*' | '(' | ')' | '\\') || c.is_control() {
                out.write_str(&valid[plain..at])?;
                let mut buf = [0u8; 4];
                hex(out, c.encode_utf8(&mut buf).as_bytes())?;
                plain = at + c.len_utf8();
            }
        }
        out.write_str(&valid[plain..])?;
        hex(out, chunk.invalid())?;
    }
    Ok(())
}

struct Escaped<'a>(&'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

impl fmt::Display for Filter {
    /// The canonical form: `(&(a=1)(|(b=*)(c=x*y)))`, values escaped with lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(list) | Filter::Or(list) => {
                f.write_str(if matches!(self, Filter::And(_)) {
                    "(&"
                } else {
                    "(|"
                })?;
                list.iter().try_for_each(|x| x.fmt(f))?;
                f.write_str(")")
            }
            Filter::Not(x) => write!(f, "(!{x})"),
            Filter::Equality { attr, value } => write!(f, "({attr}={})", Escaped(value)),
            Filter::Substring {
                attr,
                initial,
                any,
                final_,
            } => {
                write!(f, "({attr}=")?;
                if let Some(v) = initial {
                    write!(f, "{}", Escaped(v))?;
                }
                f.write_str("*")?;
                for v in any {
                    write!(f, "{}*", Escaped(v))?;
                }
                if let Some(v) = final_ {
                    write!(f, "{}", Escaped(v))?;
                }
                f.write_str(")")
            }
            Filter::GreaterOrEqual { attr, value } => write!(f, "({attr}>={})", Escaped(value)),
            Filter::LessOrEqual { attr, value } => write!(f, "({attr}<={})", Escaped(value)),
            Filter::Present { attr } => write!(f, "({attr}=*)"),
            Filter::Approx { attr, value } => write!(f, "({attr}~={})", Escaped(value)),
            Filter::Extensible {
                attr,
                rule,
                dn_attrs,
                value,
            } => {
                f.write_str("(")?;
                if let Some(a) = attr {
                    f.write_str(a)?;
                }
                if *dn_attrs {
                    f.write_str(":dn")?;
                }
                if let Some(r) = rule {
                    write!(f, ":{r}")?;
                }
                write!(f, ":={})", Escaped(value))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specials_controls_and_invalid_utf8_are_escaped_in_lower_case_hex() {
        assert_eq!(escape_value(b"*()\\\0"), r"\2a\28\29\5c\00");
        assert_eq!(escape_value(b"a\nb\x7f"), r"a\0ab\7f");
        assert_eq!(escape_value(b"\xff\xc3"), r"\ff\c3");
        assert_eq!(escape_value("Müller \u{85}".as_bytes()), r"Müller \c2\85");
        assert_eq!(escape_value(b" a b "), " a b ");
    }

    #[test]
    fn display_is_canonical_without_spaces() {
        let f = parse(
            "( | (cn=a\\2A*b) (! (sn~=x)) (& ) (uac:1.2.840.113556.1.4.803:=2) (:dn:2.5.13.5:=q) \
             (x>=1)(y<=2)(z=*) )",
        )
        .unwrap();
        assert_eq!(
            f.to_string(),
            r"(|(cn=a\2a*b)(!(sn~=x))(&)(uac:1.2.840.113556.1.4.803:=2)(:dn:2.5.13.5:=q)(x>=1)(y<=2)(z=*))"
        );
        let sub = parse("(cn=*a*b*)").unwrap();
        assert_eq!(sub.to_string(), "(cn=*a*b*)");
        assert_eq!(parse("(cn=x*)").unwrap().to_string(), "(cn=x*)");
        assert_eq!(parse("(cn=*x)").unwrap().to_string(), "(cn=*x)");
    }

    fn attr() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "cn",
                "mailNickname",
                "objectClass",
                "ou;lang-ja;phonetic",
                "2.5.4.3",
                "dn",
                "DN",
                "msRTCSIP-PrimaryUserAddress",
            ])
            .prop_map(str::to_string),
            "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,10}(;[a-zA-Z0-9_-]{1,6}){0,2}",
        ]
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        let weird = prop::sample::select(vec![
            b'*', b'(', b')', b'\\', 0, b' ', b'\t', b'\n', 0x7f, 0xff, 0xc3, 0xbc, 0x80, b'a',
            b'Z', b'=', b':', b'&',
        ]);
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..10),
            prop::collection::vec(weird, 0..10),
            any::<String>().prop_map(String::into_bytes),
        ]
    }

    fn non_empty_value() -> impl Strategy<Value = Vec<u8>> {
        value().prop_filter("a substring part is never empty", |v| !v.is_empty())
    }

    fn rule() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "1.2.840.113556.1.4.803",
                "1.2.840.113556.1.4.804",
                "1.2.840.113556.1.4.1941",
                "caseExactMatch",
            ])
            .prop_map(str::to_string),
            "[0-9]{1,3}(\\.[0-9]{1,3}){0,4}",
            "[a-zA-Z][a-zA-Z0-9-]{0,8}"
                .prop_filter("`dn` is the :dn flag", |r| !r.eq_ignore_ascii_case("dn")),
        ]
    }

    fn leaf() -> impl Strategy<Value = Filter> {
        prop_oneof![
            (attr(), value()).prop_map(|(attr, value)| Filter::Equality { attr, value }),
            (attr(), value()).prop_map(|(attr, value)| Filter::GreaterOrEqual { attr, value }),
            (attr(), value()).prop_map(|(attr, value)| Filter::LessOrEqual { attr, value }),
            (attr(), value()).prop_map(|(attr, value)| Filter::Approx { attr, value }),
            attr().prop_map(|attr| Filter::Present { attr }),
            (
                attr(),
                prop::option::of(non_empty_value()),
                prop::collection::vec(non_empty_value(), 0..3),
                prop::option::of(non_empty_value()),
            )
                .prop_filter("a substring has a part", |(_, i, a, f)| {
                    i.is_some() || !a.is_empty() || f.is_some()
                })
                .prop_map(|(attr, initial, any, final_)| Filter::Substring {
                    attr,
                    initial,
                    any,
                    final_,
                }),
            (
                prop::option::of(attr()),
                prop::option::of(rule()),
                any::<bool>(),
                value()
            )
                .prop_filter("an attribute or a rule", |(a, r, _, _)| {
                    a.is_some() || r.is_some()
                })
                .prop_map(|(attr, rule, dn_attrs, value)| Filter::Extensible {
                    attr,
                    rule,
                    dn_attrs,
                    value,
                }),
        ]
    }

    fn filter() -> impl Strategy<Value = Filter> {
        leaf().prop_recursive(5, 64, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Filter::And),
                prop::collection::vec(inner.clone(), 0..5).prop_map(Filter::Or),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn display_then_parse_gives_the_same_filter(f in filter()) {
            let text = f.to_string();
            prop_assert_eq!(parse(&text), Ok(f), "{}", text);
        }

        #[test]
        fn display_output_has_no_control_characters(f in filter()) {
            let text = f.to_string();
            prop_assert!(!text.chars().any(char::is_control), "{}", text);
        }

        #[test]
        fn parse_never_panics_on_arbitrary_text(text in "[()&|!=*~<>:;\\\\a-c0-9 ]{0,40}") {
            let _ = parse(&text);
        }
    }
}
