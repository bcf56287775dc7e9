//! The filter parser: nom over the filter's bytes, with the column of the first problem.
//!
//! The grammar is LL(1), so every parser commits: errors are `nom::Err::Failure` carrying the
//! position and what was expected, and nothing backtracks.

use nom::bytes::complete::{tag, take_while, take_while1, take_while_m_n};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::{Filter, FilterError};

type In<'a> = &'a [u8];

/// How deep `&`, `|` and `!` may nest before the filter is rejected (keeps the recursion
/// bounded on hostile input).
const MAX_DEPTH: usize = 256;

/// A parse error: where (the unparsed rest of the input) and what was expected.
#[derive(Debug)]
struct PErr<'a> {
    at: In<'a>,
    message: &'static str,
}

impl<'a> ParseError<In<'a>> for PErr<'a> {
    fn from_error_kind(at: In<'a>, _kind: ErrorKind) -> Self {
        PErr {
            at,
            message: "invalid filter",
        }
    }

    fn append(_input: In<'a>, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<In<'a>, T, PErr<'a>>;

fn fail<'a, T>(at: In<'a>, message: &'static str) -> Res<'a, T> {
    Err(nom::Err::Failure(PErr { at, message }))
}

/// Runs `p`; a recoverable error becomes a failure at the current position with `message`.
fn expect<'a, O>(
    message: &'static str,
    mut p: impl Parser<In<'a>, Output = O, Error = PErr<'a>>,
) -> impl FnMut(In<'a>) -> Res<'a, O> {
    move |i| match p.parse(i) {
        Err(nom::Err::Error(_)) => fail(i, message),
        r => r,
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn ws(i: In<'_>) -> Res<'_, In<'_>> {
    take_while(is_ws)(i)
}

fn is_attr_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_')
}

fn is_option_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')
}

/// Parses an LDAP search filter (RFC 4515, with the Active Directory and Exchange 2003
/// liberties described in the [module docs](super)).
///
/// ```
/// use ldifstamp::filter::{parse, Filter};
/// let f = parse("(& (mailnickname=*) (| (objectCategory=group) ))").unwrap();
/// assert_eq!(f.to_string(), "(&(mailnickname=*)(|(objectCategory=group)))");
/// assert_eq!(parse("(cn=a").unwrap_err().column, 6);
/// ```
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|&c| !is_ws(c)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&c| !is_ws(c))
        .map_or(start, |p| p + 1);
    let body = &bytes[start..end];
    let error = |at: In<'_>, message: &str| {
        let offset = start + (body.len() - at.len());
        FilterError {
            column: text.get(..offset).map_or(offset, |s| s.chars().count()) + 1,
            message: message.to_string(),
        }
    };
    if body.is_empty() {
        return Err(error(body, "expected a filter"));
    }
    let result = if body[0] == b'(' {
        filter(body, 0)
    } else {
        filtercomp(body, 0)
    };
    let result = result.map(|(rest, f)| {
        let skip = rest.iter().take_while(|&&c| is_ws(c)).count();
        (&rest[skip..], f)
    });
    match result {
        Ok(([], f)) => Ok(f),
        Ok((rest, _)) if rest[0] == b')' => Err(error(rest, "unbalanced `)`")),
        Ok((rest, _)) => Err(error(rest, "expected the end of the filter")),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(error(e.at, e.message)),
        Err(nom::Err::Incomplete(_)) => Err(error(&[], "unexpected end of the filter")),
    }
}

/// `"(" ws filtercomp ")"`.
fn filter(i: In<'_>, depth: usize) -> Res<'_, Filter> {
    let (i, _) = expect("expected `(`", tag(&b"("[..])).parse(i)?;
    let (i, _) = ws(i)?;
    let (i, f) = filtercomp(i, depth)?;
    let (i, _) = expect("expected `)`", tag(&b")"[..])).parse(i)?;
    Ok((i, f))
}

/// `and / or / not / item`; the composites also take the whitespace before their `)`.
fn filtercomp(i: In<'_>, depth: usize) -> Res<'_, Filter> {
    if depth > MAX_DEPTH {
        return fail(i, "filter nested too deeply");
    }
    match i.first() {
        Some(b'&') => {
            let (i, list) = filterlist(&i[1..], depth)?;
            Ok((i, Filter::And(list)))
        }
        Some(b'|') => {
            let (i, list) = filterlist(&i[1..], depth)?;
            Ok((i, Filter::Or(list)))
        }
        Some(b'!') => {
            let (i, _) = ws(&i[1..])?;
            if i.first() != Some(&b'(') {
                return fail(i, "expected `(` after `!`");
            }
            let (i, f) = filter(i, depth + 1)?;
            let (i, _) = ws(i)?;
            Ok((i, Filter::Not(Box::new(f))))
        }
        _ => item(i),
    }
}

/// `*(ws filter) ws`, stopping before `)` or the end.
fn filterlist(mut i: In<'_>, depth: usize) -> Res<'_, Vec<Filter>> {
    let mut list = Vec::new();
    loop {
        let (rest, _) = ws(i)?;
        i = rest;
        match i.first() {
            Some(b'(') => {
                let (rest, f) = filter(i, depth + 1)?;
                list.push(f);
                i = rest;
            }
            Some(b')') | None => return Ok((i, list)),
            Some(_) => return fail(i, "expected `(` or `)`"),
        }
    }
}

/// `attributedescription = attributetype *(";" option)`, leniently: letters, digits, `-`, `.`
/// and `_`, starting with a letter or digit.
fn attr_desc(i: In<'_>) -> Res<'_, String> {
    let start = i;
    if !i.first().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return fail(i, "expected an attribute description");
    }
    let (mut i, _) = take_while1(is_attr_char)(i)?;
    while i.first() == Some(&b';') {
        let (rest, _) = expect(
            "expected an attribute option after `;`",
            take_while1(is_option_char),
        )(&i[1..])?;
        i = rest;
    }
    let desc = &start[..start.len() - i.len()];
    Ok((i, String::from_utf8_lossy(desc).into_owned()))
}

/// `attr ("=" / "~=" / ">=" / "<=") value`, or an extensible match.
fn item(i: In<'_>) -> Res<'_, Filter> {
    if i.first() == Some(&b':') {
        return extensible(i, None);
    }
    let (i, attr) = attr_desc(i)?;
    match i.first() {
        Some(b'=') => {
            let (rest, parts) = value(&i[1..], true)?;
            Ok((rest, equality_or_substring(attr, parts)))
        }
        Some(b'~' | b'>' | b'<') => {
            let op = i[0];
            let (i, _) = expect("expected `=` after the operator", tag(&b"="[..]))(&i[1..])?;
            let (i, mut parts) = value(i, false)?;
            let value = parts.pop().unwrap_or_default();
            let f = match op {
                b'~' => Filter::Approx { attr, value },
                b'>' => Filter::GreaterOrEqual { attr, value },
                _ => Filter::LessOrEqual { attr, value },
            };
            Ok((i, f))
        }
        Some(b':') => extensible(i, Some(attr)),
        _ => fail(
            i,
            "expected `=`, `~=`, `>=`, `<=` or `:` after the attribute description",
        ),
    }
}

fn equality_or_substring(attr: String, mut parts: Vec<Vec<u8>>) -> Filter {
    if parts.len() == 1 {
        let value = parts.pop().unwrap_or_default();
        return Filter::Equality { attr, value };
    }
    let non_empty = |p: Vec<u8>| (!p.is_empty()).then_some(p);
    let final_ = parts.pop().and_then(non_empty);
    let mut rest = parts.into_iter();
    let initial = rest.next().and_then(non_empty);
    let any: Vec<Vec<u8>> = rest.filter(|p| !p.is_empty()).collect();
    if initial.is_none() && any.is_empty() && final_.is_none() {
        Filter::Present { attr }
    } else {
        Filter::Substring {
            attr,
            initial,
            any,
            final_,
        }
    }
}

/// `[attr] [":dn"] [":" rule] ":=" value`, at the `:` after the attribute (or at the start).
fn extensible(i: In<'_>, attr: Option<String>) -> Res<'_, Filter> {
    let at = i;
    let mut i = i;
    let mut dn_attrs = false;
    if i.len() >= 4 && i[1..3].eq_ignore_ascii_case(b"dn") && i[3] == b':' {
        dn_attrs = true;
        i = &i[3..];
    }
    let mut rule = None;
    if !i.starts_with(b":=") {
        let (rest, name) = expect(
            "expected a matching rule or `=` after `:`",
            take_while1(is_attr_char),
        )(&i[1..])?;
        let (rest, _) = expect("expected `:=` after the matching rule", tag(&b":="[..]))(rest)?;
        rule = Some(String::from_utf8_lossy(name).into_owned());
        i = rest;
    } else {
        i = &i[2..];
    }
    if attr.is_none() && rule.is_none() {
        return fail(
            at,
            "an extensible match without an attribute needs a matching rule",
        );
    }
    let (i, mut parts) = value(i, false)?;
    let value = parts.pop().unwrap_or_default();
    Ok((
        i,
        Filter::Extensible {
            attr,
            rule,
            dn_attrs,
            value,
        },
    ))
}

/// An assertion value up to `)` or the end, unescaped, split at unescaped `*` when `stars`
/// (so it has one part more than it has `*`s).
fn value(mut i: In<'_>, stars: bool) -> Res<'_, Vec<Vec<u8>>> {
    let mut parts = Vec::new();
    let mut current = Vec::new();
    loop {
        match i.first() {
            None | Some(b')') => break,
            Some(b'(') => return fail(i, "unescaped `(` in a value (write `\\28`)"),
            Some(b'*') if stars => {
                parts.push(std::mem::take(&mut current));
                i = &i[1..];
            }
            Some(b'*') => {
                return fail(
                    i,
                    "unescaped `*` in a value (write `\\2a`; `*` is a wildcard only after `=`)",
                )
            }
            Some(0) => return fail(i, "a NUL byte in a value must be written `\\00`"),
            Some(b'\\') => {
                let (rest, hex) = expect(
                    "expected two hex digits after `\\`",
                    take_while_m_n(2, 2, |c: u8| c.is_ascii_hexdigit()),
                )(&i[1..])
                .map_err(|e| e.map(|e| PErr { at: i, ..e }))?;
                current.push(hex_val(hex[0]) << 4 | hex_val(hex[1]));
                i = rest;
            }
            Some(_) => {
                let (rest, run) =
                    take_while1(|c: u8| !matches!(c, b'(' | b')' | b'*' | b'\\' | 0))(i)?;
                current.extend_from_slice(run);
                i = rest;
            }
        }
    }
    parts.push(current);
    Ok((i, parts))
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(attr: &str, value: &[u8]) -> Filter {
        Filter::Equality {
            attr: attr.into(),
            value: value.to_vec(),
        }
    }

    fn present(attr: &str) -> Filter {
        Filter::Present { attr: attr.into() }
    }

    fn err(text: &str) -> (usize, String) {
        let e = parse(text).unwrap_err();
        (e.column, e.message)
    }

    #[test]
    fn every_simple_item_form_parses() {
        assert_eq!(parse("(cn=Smith)").unwrap(), eq("cn", b"Smith"));
        assert_eq!(parse("(cn=)").unwrap(), eq("cn", b""));
        assert_eq!(parse("(cn=*)").unwrap(), present("cn"));
        assert_eq!(
            parse("(sn>=M)").unwrap(),
            Filter::GreaterOrEqual {
                attr: "sn".into(),
                value: b"M".to_vec()
            }
        );
        assert_eq!(
            parse("(sn<=M)").unwrap(),
            Filter::LessOrEqual {
                attr: "sn".into(),
                value: b"M".to_vec()
            }
        );
        assert_eq!(
            parse("(sn~=Smyth)").unwrap(),
            Filter::Approx {
                attr: "sn".into(),
                value: b"Smyth".to_vec()
            }
        );
        assert_eq!(
            parse("(ou;lang-ja;phonetic=x)").unwrap(),
            eq("ou;lang-ja;phonetic", b"x")
        );
        assert_eq!(parse("(2.5.4.3=x)").unwrap(), eq("2.5.4.3", b"x"));
    }

    #[test]
    fn substring_parts_are_split_at_unescaped_stars() {
        let sub =
            |initial: Option<&[u8]>, any: &[&[u8]], final_: Option<&[u8]>| Filter::Substring {
                attr: "cn".into(),
                initial: initial.map(<[u8]>::to_vec),
                any: any.iter().map(|p| p.to_vec()).collect(),
                final_: final_.map(<[u8]>::to_vec),
            };
        assert_eq!(parse("(cn=a*)").unwrap(), sub(Some(b"a"), &[], None));
        assert_eq!(parse("(cn=*a)").unwrap(), sub(None, &[], Some(b"a")));
        assert_eq!(parse("(cn=*a*)").unwrap(), sub(None, &[b"a"], None));
        assert_eq!(
            parse("(cn=a*b*c*d)").unwrap(),
            sub(Some(b"a"), &[b"b", b"c"], Some(b"d"))
        );
        assert_eq!(
            parse(r"(cn=a\2a*b)").unwrap(),
            sub(Some(b"a*"), &[], Some(b"b"))
        );
        assert_eq!(
            parse("(cn=a**b)").unwrap(),
            sub(Some(b"a"), &[], Some(b"b"))
        );
        assert_eq!(parse("(cn=**)").unwrap(), present("cn"));
    }

    #[test]
    fn extensible_forms_parse() {
        let ext = |attr: Option<&str>, rule: Option<&str>, dn_attrs: bool, value: &[u8]| {
            Filter::Extensible {
                attr: attr.map(str::to_string),
                rule: rule.map(str::to_string),
                dn_attrs,
                value: value.to_vec(),
            }
        };
        assert_eq!(
            parse("(userAccountControl:1.2.840.113556.1.4.803:=2)").unwrap(),
            ext(
                Some("userAccountControl"),
                Some("1.2.840.113556.1.4.803"),
                false,
                b"2"
            )
        );
        assert_eq!(
            parse("(cn:dn:=Users)").unwrap(),
            ext(Some("cn"), None, true, b"Users")
        );
        assert_eq!(
            parse("(cn:DN:2.5.13.5:=x)").unwrap(),
            ext(Some("cn"), Some("2.5.13.5"), true, b"x")
        );
        assert_eq!(
            parse("(:dn:2.5.13.5:=x)").unwrap(),
            ext(None, Some("2.5.13.5"), true, b"x")
        );
        assert_eq!(
            parse("(:caseExactMatch:=x)").unwrap(),
            ext(None, Some("caseExactMatch"), false, b"x")
        );
        assert_eq!(
            parse("(cn:=x)").unwrap(),
            ext(Some("cn"), None, false, b"x")
        );
        assert_eq!(
            parse("(cn:dnx:=x)").unwrap(),
            ext(Some("cn"), Some("dnx"), false, b"x")
        );
    }

    #[test]
    fn and_or_not_nest() {
        let f = parse("(&(a=1)(|(b=2)(!(c=3))))").unwrap();
        assert_eq!(
            f,
            Filter::And(vec![
                eq("a", b"1"),
                Filter::Or(vec![eq("b", b"2"), Filter::Not(Box::new(eq("c", b"3")))])
            ])
        );
    }

    #[test]
    fn empty_and_or_are_absolute_true_and_false() {
        assert_eq!(parse("(&)").unwrap(), Filter::And(vec![]));
        assert_eq!(parse("(|)").unwrap(), Filter::Or(vec![]));
        assert_eq!(parse("( & )").unwrap(), Filter::And(vec![]));
    }

    #[test]
    fn hex_escapes_and_utf8_values_are_unescaped_to_bytes() {
        assert_eq!(
            parse(r"(cn=\28a\29\5c\00\2A)").unwrap(),
            eq("cn", b"(a)\\\0*")
        );
        assert_eq!(
            parse(r"(cn=J\c3\bcrgen)").unwrap(),
            eq("cn", "Jürgen".as_bytes())
        );
        assert_eq!(parse("(cn=Jürgen)").unwrap(), eq("cn", "Jürgen".as_bytes()));
        assert_eq!(
            parse(r"(objectGUID=\ff\00)").unwrap(),
            eq("objectGUID", b"\xff\0")
        );
    }

    #[test]
    fn exchange_2003_spacing_parses() {
        let text = "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=user)(!(homeMDB=*))(!(msExchHomeServerName=*)))(objectCategory=group) ))";
        let f = parse(text).unwrap();
        assert_eq!(
            f.to_string(),
            "(&(mailnickname=*)(|(&(objectCategory=person)(objectClass=user)(!(homeMDB=*))(!(msExchHomeServerName=*)))(objectCategory=group)))"
        );
        assert_eq!(
            parse("  \t(! (a=1) )\r\n").unwrap(),
            Filter::Not(Box::new(eq("a", b"1")))
        );
        assert_eq!(parse("( a=1)").unwrap(), eq("a", b"1"));
    }

    #[test]
    fn whitespace_inside_a_value_is_kept() {
        assert_eq!(parse("(cn= a b )").unwrap(), eq("cn", b" a b "));
    }

    #[test]
    fn filter_without_outer_parentheses_parses() {
        assert_eq!(parse("mailnickname=*").unwrap(), present("mailnickname"));
        assert_eq!(parse(" cn=a b ").unwrap(), eq("cn", b"a b"));
        assert_eq!(
            parse("&(a=1)(b=2)").unwrap(),
            Filter::And(vec![eq("a", b"1"), eq("b", b"2")])
        );
    }

    #[test]
    fn a_missing_close_paren_is_reported_at_the_end() {
        assert_eq!(err("(cn=a"), (6, "expected `)`".into()));
        assert_eq!(err("(&(a=1)"), (8, "expected `)`".into()));
        assert_eq!(err("(!(a=1)"), (8, "expected `)`".into()));
    }

    #[test]
    fn trailing_garbage_and_extra_close_paren_are_rejected() {
        assert_eq!(err("(a=1)x"), (6, "expected the end of the filter".into()));
        assert_eq!(err("(a=1))"), (6, "unbalanced `)`".into()));
        assert_eq!(
            err("(a=1) (b=2)"),
            (7, "expected the end of the filter".into())
        );
        assert_eq!(err("(&(a=1)x)"), (8, "expected `(` or `)`".into()));
    }

    #[test]
    fn bad_escapes_are_rejected_at_the_backslash() {
        assert_eq!(
            err(r"(cn=a\4)"),
            (6, "expected two hex digits after `\\`".into())
        );
        assert_eq!(
            err(r"(cn=a\)"),
            (6, "expected two hex digits after `\\`".into())
        );
        assert_eq!(
            err(r"(cn=a\zz)"),
            (6, "expected two hex digits after `\\`".into())
        );
        assert_eq!(
            err(r"cn=\"),
            (4, "expected two hex digits after `\\`".into())
        );
    }

    #[test]
    fn unescaped_specials_in_values_are_rejected() {
        let (col, msg) = err("(cn=a(b)");
        assert_eq!(col, 6);
        assert!(msg.contains("unescaped `(`"), "{msg}");
        let (col, msg) = err("(sn>=a*)");
        assert_eq!(col, 7);
        assert!(msg.contains("unescaped `*`"), "{msg}");
        assert_eq!(err("(sn~=*)").0, 6);
        assert_eq!(err("(x:1.2:=*)").0, 9);
        assert_eq!(err("(cn=a\0)").0, 6);
    }

    #[test]
    fn empty_or_malformed_attribute_descriptions_are_rejected() {
        assert_eq!(err("(=x)"), (2, "expected an attribute description".into()));
        assert_eq!(err("()"), (2, "expected an attribute description".into()));
        assert_eq!(
            err("(& (-a=1))"),
            (5, "expected an attribute description".into())
        );
        assert_eq!(
            err("(cn;=x)"),
            (5, "expected an attribute option after `;`".into())
        );
        assert_eq!(
            err("(cn x)"),
            (
                4,
                "expected `=`, `~=`, `>=`, `<=` or `:` after the attribute description".into()
            )
        );
        assert_eq!(err("(cn>x)"), (5, "expected `=` after the operator".into()));
    }

    #[test]
    fn malformed_extensible_matches_are_rejected() {
        assert_eq!(
            err("(:=x)"),
            (
                2,
                "an extensible match without an attribute needs a matching rule".into()
            )
        );
        assert_eq!(
            err("(:dn:=x)").1,
            "an extensible match without an attribute needs a matching rule"
        );
        assert_eq!(
            err("(cn:1.2=x)"),
            (8, "expected `:=` after the matching rule".into())
        );
        assert_eq!(
            err("(cn::=x)"),
            (5, "expected a matching rule or `=` after `:`".into())
        );
    }

    #[test]
    fn empty_input_and_bad_not_are_rejected() {
        assert_eq!(err(""), (1, "expected a filter".into()));
        assert_eq!(err("   "), (4, "expected a filter".into()));
        assert_eq!(err("(!a=1)"), (3, "expected `(` after `!`".into()));
        assert_eq!(err("(!)"), (3, "expected `(` after `!`".into()));
    }

    #[test]
    fn error_columns_count_characters_not_bytes() {
        assert_eq!(err("(cn=üü(").0, 7);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}(a=1){}", "(!".repeat(10_000), ")".repeat(10_000));
        assert_eq!(err(&text).1, "filter nested too deeply");
        let ok = format!("{}(a=1){}", "(!".repeat(100), ")".repeat(100));
        assert!(parse(&ok).is_ok());
    }
}
