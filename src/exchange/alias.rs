//! `mailNickname` (alias) rules (reference §4.2): the Exchange 2007+ validation, making an
//! alias from `sAMAccountName` or `cn`, and the `--normalize-alias` repair.

/// Maximum alias length.
pub const MAX_ALIAS: usize = 64;

/// True for a character the E2007+ alias rule accepts between dots: ASCII letters and digits,
/// `` ! # $ % & ' * + - / = ? ^ _ ` { | } ~ ``, and U+00A1-U+00FF.
pub fn is_alias_char(c: char) -> bool {
    // The ASCII ones are RFC 5321 `atext`, looked up in a table.
    crate::exchange::translit::is_atext(c) || ('\u{A1}'..='\u{FF}').contains(&c)
}

/// True when `alias` passes the E2007+ alias constraint: 1-64 characters, all
/// [`is_alias_char`] or dots, dots only between other characters (no leading, trailing or
/// consecutive dots). This is the regex
/// ``^[!#%&'=`~$*+\-/?^{|}a-zA-Z0-9_\u00A1-\u00FF]+(\.[…]+)*$`` plus the length limit.
pub fn is_valid_alias(alias: &str) -> bool {
    let n = alias.chars().count();
    (1..=MAX_ALIAS).contains(&n)
        && alias
            .split('.')
            .all(|seg| !seg.is_empty() && seg.chars().all(is_alias_char))
}

/// Makes a valid alias from a `sAMAccountName`, `cn` or other name: drops spaces and every
/// other character the rule rejects, squashes runs of dots, strips dots at both ends, and
/// truncates to 64 characters (stripping a dot left at the end). `None` when nothing is left.
pub fn alias_from(source: &str) -> Option<String> {
    let mut out = String::with_capacity(source.len());
    let mut count = 0usize;
    for c in source.chars() {
        let keep = is_alias_char(c) || (c == '.' && !out.is_empty() && !out.ends_with('.'));
        if !keep {
            continue;
        }
        if count == MAX_ALIAS {
            break;
        }
        out.push(c);
        count += 1;
    }
    while out.ends_with('.') {
        out.pop();
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// The result of [`normalize_alias`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Normalized {
    /// The alias is already valid.
    Unchanged,
    /// The repaired alias.
    Changed(String),
    /// Nothing valid is left (e.g. an all-Cyrillic or all-blank alias); the caller must report it.
    Unusable,
}

/// `--normalize-alias` for the E2007+ target: an E2003 alias that fails [`is_valid_alias`]
/// (spaces, doubled dots, other rejected characters, more than 64 characters) is repaired with
/// [`alias_from`].
pub fn normalize_alias(alias: &str) -> Normalized {
    if is_valid_alias(alias) {
        return Normalized::Unchanged;
    }
    match alias_from(alias) {
        Some(a) => Normalized::Changed(a),
        None => Normalized::Unusable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alias_characters_are_the_listed_ones() {
        for c in (0..0x3000u32).filter_map(char::from_u32) {
            let listed = c.is_ascii_alphanumeric()
                || "!#$%&'*+-/=?^_`{|}~".contains(c)
                || ('\u{A1}'..='\u{FF}').contains(&c);
            assert_eq!(is_alias_char(c), listed, "{c:?}");
        }
    }

    #[test]
    fn alias_rule_accepts_allowed_characters() {
        assert!(is_valid_alias("jsmith"));
        assert!(is_valid_alias("john.smith"));
        assert!(is_valid_alias("a!#$%&'*+-/=?^_`{|}~z"));
        assert!(is_valid_alias("jürgen.müller"));
        assert!(is_valid_alias(&"a".repeat(64)));
    }

    #[test]
    fn alias_rule_rejects_spaces_dots_and_others() {
        for bad in [
            "",
            "john smith",
            ".js",
            "js.",
            "j..s",
            "a@b",
            "a(b)",
            "a\"b",
            "Иван",
            "a\u{A0}b",
        ] {
            assert!(!is_valid_alias(bad), "{bad:?}");
        }
        assert!(!is_valid_alias(&"a".repeat(65)));
    }

    #[test]
    fn alias_from_cn_drops_spaces_and_invalid_characters() {
        assert_eq!(alias_from("John Smith").as_deref(), Some("JohnSmith"));
        assert_eq!(
            alias_from(" .John..Q. Smith (IT). ").as_deref(),
            Some("John.Q.SmithIT")
        );
        assert_eq!(alias_from("jürgen@home").as_deref(), Some("jürgenhome"));
        assert_eq!(alias_from("Иван Петров"), None);
        assert_eq!(alias_from(" . "), None);
        let long = format!("{}.b", "a".repeat(63));
        assert_eq!(alias_from(&long).as_deref(), Some("a".repeat(63).as_str()));
    }

    #[test]
    fn normalize_alias_reports_what_it_did() {
        assert_eq!(normalize_alias("jsmith"), Normalized::Unchanged);
        assert_eq!(
            normalize_alias("John  Smith"),
            Normalized::Changed("JohnSmith".to_string())
        );
        assert_eq!(
            normalize_alias("j..smith"),
            Normalized::Changed("j.smith".to_string())
        );
        assert_eq!(normalize_alias("   "), Normalized::Unusable);
    }

    proptest! {
        #[test]
        fn alias_from_is_valid_or_none(s in any::<String>()) {
            match alias_from(&s) {
                Some(a) => prop_assert!(is_valid_alias(&a), "{a:?}"),
                None => prop_assert!(!s.chars().any(is_alias_char)),
            }
        }
    }
}
