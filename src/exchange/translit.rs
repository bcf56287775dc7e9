//! Character mapping for generated addresses (reference §2.5, §3.3 and Appendix C).
//!
//! Two targets:
//!
//! * **SMTP local parts** ([`smtp_local_char`], [`map_local`]): every character of a substituted
//!   field is kept, replaced by one or two ASCII characters, or deleted. Characters are never
//!   replaced by a placeholder. The table depends on a [`Profile`].
//! * **X.400 PrintableString** ([`map_x400`], [`map_x400_str`]): characters outside
//!   PrintableString are best-fitted when they are Latin letters and become `?` otherwise.
//!
//! Everything here is a pure function of its arguments.

use std::fmt;
use std::str::FromStr;

/// Which transliteration table maps non-ASCII characters in SMTP local parts
/// (`[addresses] transliteration = sdk|e2007|nordic`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Exchange 2007+ observed behaviour and Appendix C (the default): umlauts expand to two
    /// letters (Ä→Ae, ß→ss, Æ→AE, Œ→OE), other Latin-1 letters fold to the base letter.
    #[default]
    E2007,
    /// The Exchange SDK sample table (`proxygen.c`), as published (Ä→A, ß→B, Ø/ø→0, ×→X,
    /// ¤→P, soft hyphen→`-`), except its `\`/`^` off-by-one error, which is not copied:
    /// `^` is kept and `\` is deleted, as in the other profiles. Everything ≥ U+0100 is deleted.
    Sdk,
    /// Exchange 4.0/5.x on a Nordic server locale (KB 166572): Ä→A Ö→O ä→a ö→o Å→A å→a
    /// Ø→O ø→o; everything else as [`Profile::E2007`].
    Nordic,
}

impl Profile {
    /// The name used in configuration files: `e2007`, `sdk` or `nordic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::E2007 => "e2007",
            Profile::Sdk => "sdk",
            Profile::Nordic => "nordic",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Profile::from_str`]: the name that was not recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProfile(pub String);

impl fmt::Display for UnknownProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown transliteration profile `{}` (expected `e2007`, `sdk` or `nordic`)",
            self.0
        )
    }
}

impl std::error::Error for UnknownProfile {}

impl FromStr for Profile {
    type Err = UnknownProfile;

    /// Parses `e2007`, `sdk` or `nordic` (ASCII case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("e2007") {
            Ok(Profile::E2007)
        } else if t.eq_ignore_ascii_case("sdk") {
            Ok(Profile::Sdk)
        } else if t.eq_ignore_ascii_case("nordic") {
            Ok(Profile::Nordic)
        } else {
            Err(UnknownProfile(s.to_string()))
        }
    }
}

/// True for an RFC 5321 `atext` character: ASCII letters, digits and
/// `` ! # $ % & ' * + - / = ? ^ _ ` { | } ~ `` (not the dot).
pub fn is_atext(c: char) -> bool {
    ascii_class(c) & ATEXT != 0
}

/// True for a character that may appear in an SMTP local part as generated here:
/// [`is_atext`] or `.`. These characters are kept unchanged by every profile.
pub fn is_local_char(c: char) -> bool {
    ascii_class(c) & LOCAL != 0
}

/// True for an X.400 PrintableString character: `A-Z a-z 0-9` and `` ' ( ) + , - . / : = ? ``
/// and space.
pub fn is_printable_string_char(c: char) -> bool {
    ascii_class(c) & PRINTABLE != 0
}

/// [`ASCII_CLASSES`] bit of [`is_atext`] characters.
const ATEXT: u8 = 1;
/// [`ASCII_CLASSES`] bit of [`is_local_char`] characters.
const LOCAL: u8 = 2;
/// [`ASCII_CLASSES`] bit of [`is_printable_string_char`] characters.
const PRINTABLE: u8 = 4;

/// The classes of each ASCII character, one table lookup instead of a search of the
/// punctuation lists for every character of every name.
static ASCII_CLASSES: [u8; 128] = {
    /// Whether `list` holds `b` (a `const` loop: iterators are not `const`).
    const fn listed(list: &[u8], b: u8) -> bool {
        let mut i = 0;
        while i < list.len() {
            if list[i] == b {
                return true;
            }
            i += 1;
        }
        false
    }
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        let alnum = b.is_ascii_alphanumeric();
        let atext = alnum || listed(b"!#$%&'*+-/=?^_`{|}~", b);
        let printable = alnum || listed(b" '()+,-./:=?", b);
        t[c] = (atext as u8 * ATEXT)
            | ((atext || b == b'.') as u8 * LOCAL)
            | (printable as u8 * PRINTABLE);
        c += 1;
    }
    t
};

/// The [`ASCII_CLASSES`] bits of `c` (none for a character beyond ASCII).
fn ascii_class(c: char) -> u8 {
    ASCII_CLASSES.get(c as usize).copied().unwrap_or(0)
}

/// Whether every byte of `s` is an ASCII character with class bit `class` (such a string
/// maps to itself).
fn all_in_class(s: &str, class: u8) -> bool {
    s.bytes().all(|b| ascii_class(char::from(b)) & class != 0)
}

/// Appendix C (E2007+ default) mapping of a non-ASCII character; `""` means deleted.
fn e2007_map(c: char) -> &'static str {
    match c {
        '\u{A2}' => "C", // ¢
        '\u{A3}' => "L", // £
        '\u{A5}' => "Y", // ¥
        '\u{A7}' => "S", // §
        '\u{A9}' => "C", // ©
        '\u{AA}' => "A", // ª
        '\u{AE}' => "R", // ®
        '\u{B2}' => "2", // ²
        '\u{B3}' => "3", // ³
        '\u{B5}' => "M", // µ
        '\u{B9}' => "1", // ¹
        '\u{BA}' => "O", // º
        'À' | 'Á' | 'Â' | 'Ã' | 'Å' => "A",
        'Ä' => "Ae",
        'Æ' => "AE",
        'Ç' => "C",
        'È' | 'É' | 'Ê' | 'Ë' => "E",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'Ð' => "D",
        'Ñ' => "N",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' => "O",
        'Ö' => "Oe",
        'Ù' | 'Ú' | 'Û' => "U",
        'Ü' => "Ue",
        'Ý' | 'Ÿ' => "Y",
        'Þ' => "T",
        'ß' => "ss",
        'à' | 'á' | 'â' | 'ã' | 'å' => "a",
        'ä' => "ae",
        'æ' => "ae",
        'ç' => "c",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ð' => "d",
        'ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ø' => "o",
        'ö' => "oe",
        'ù' | 'ú' | 'û' => "u",
        'ü' => "ue",
        'ý' | 'ÿ' => "y",
        'þ' => "t",
        'Š' => "S",
        'š' => "s",
        'Œ' => "OE",
        'œ' => "oe",
        _ => "",
    }
}

/// Nordic-locale mapping: a/o folds for the Nordic letters, E2007 otherwise.
fn nordic_map(c: char) -> &'static str {
    match c {
        'Ä' | 'Å' => "A",
        'ä' | 'å' => "a",
        'Ö' | 'Ø' => "O",
        'ö' | 'ø' => "o",
        _ => e2007_map(c),
    }
}

/// The SDK sample table (`proxygen.c`, `sAnsitoSMTPMap`) for U+0080..U+00FF; `""` means deleted.
fn sdk_map(c: char) -> &'static str {
    match c {
        '\u{A2}' => "C",
        '\u{A3}' => "L",
        '\u{A4}' => "P",
        '\u{A5}' => "Y",
        '\u{A6}' => "I",
        '\u{A7}' => "S",
        '\u{A9}' => "C",
        '\u{AA}' => "A",
        '\u{AD}' => "-",
        '\u{AE}' => "R",
        '\u{B2}' => "2",
        '\u{B3}' => "3",
        '\u{B5}' => "M",
        '\u{B6}' => "P",
        '\u{B9}' => "1",
        '\u{BA}' => "O",
        '\u{C0}'..='\u{C6}' => "A",
        'Ç' => "C",
        'È' | 'É' | 'Ê' | 'Ë' => "E",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'Ð' => "D",
        'Ñ' => "N",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => "O",
        '×' => "X",
        'Ø' | 'ø' => "0",
        'Ù' | 'Ú' | 'Û' | 'Ü' => "U",
        'Ý' => "Y",
        'Þ' => "T",
        'ß' => "B",
        '\u{E0}'..='\u{E6}' => "a",
        'ç' => "c",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'ð' => "d",
        'ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => "o",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'ý' | 'ÿ' => "y",
        'þ' => "t",
        _ => "",
    }
}

/// Maps one character of a substituted field for an SMTP local part and appends the result
/// (zero, one or two characters) to `out`.
///
/// * [`is_local_char`] characters are kept in every profile.
/// * Every other ASCII character is deleted: space, `" ( ) , : ; < > @ [ \ ]`, controls, DEL.
/// * Non-ASCII characters go through the profile's table (Appendix C); what the table does not
///   list is deleted. This includes U+0080..U+009F, the Latin-1 symbols
///   `´ ¨ ¸ ¯ « » ¬ ° ± ¼ ½ ¾ ¿ ¡ ÷ ×` (E2007/Nordic) and everything ≥ U+0100 except
///   `Š š Œ œ Ÿ` (E2007/Nordic only).
///
/// The output only ever contains [`is_local_char`] characters.
pub fn smtp_local_char(profile: Profile, c: char, out: &mut String) {
    if is_local_char(c) {
        out.push(c);
        return;
    }
    if c.is_ascii() {
        return;
    }
    let mapped = match profile {
        Profile::E2007 => e2007_map(c),
        Profile::Nordic => nordic_map(c),
        Profile::Sdk => sdk_map(c),
    };
    out.push_str(mapped);
}

/// Maps a whole field with [`smtp_local_char`]; a field that maps to itself is lent back.
pub fn map_local(profile: Profile, s: &str) -> std::borrow::Cow<'_, str> {
    if all_in_class(s, LOCAL) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        smtp_local_char(profile, c, &mut out);
    }
    std::borrow::Cow::Owned(out)
}

/// Maps one character to X.400 PrintableString and appends the result to `out`.
///
/// * PrintableString characters are kept.
/// * A no-break space (U+00A0) becomes a space.
/// * Latin letters with a transliteration (Latin-1 letters, `Š š Œ œ Ÿ`, `ª º µ`) are
///   best-fitted with the E2007 expansions (é→e, ä→ae, ß→ss, Æ→AE), as §3.3 \[INF\] suggests.
/// * Anything else (`@ _ & ! # $ % * ; < > [ ] "`, controls, symbols, Cyrillic, …) becomes `?`.
///
/// Returns `false` when the character was replaced by `?`. The output never contains `;`.
pub fn map_x400(c: char, out: &mut String) -> bool {
    if is_printable_string_char(c) {
        out.push(c);
        return true;
    }
    if c == '\u{A0}' {
        out.push(' ');
        return true;
    }
    if c.is_alphabetic() {
        let mapped = e2007_map(c);
        if !mapped.is_empty() {
            out.push_str(mapped);
            return true;
        }
    }
    out.push('?');
    false
}

/// Maps a whole string with [`map_x400`]; most names map to themselves, and are lent back.
pub fn map_x400_str(s: &str) -> std::borrow::Cow<'_, str> {
    if all_in_class(s, PRINTABLE) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        map_x400(c, &mut out);
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn class_tables_match_the_character_lists() {
        for c in (0..0x3000u32).filter_map(char::from_u32) {
            let alnum = c.is_ascii_alphanumeric();
            let atext = alnum || "!#$%&'*+-/=?^_`{|}~".contains(c);
            assert_eq!(is_atext(c), atext, "{c:?}");
            assert_eq!(is_local_char(c), c == '.' || atext, "{c:?}");
            let printable = alnum || " '()+,-./:=?".contains(c);
            assert_eq!(is_printable_string_char(c), printable, "{c:?}");
        }
    }

    proptest! {
        #[test]
        fn whole_strings_map_as_their_characters_do(s in "[a-zA-Z0-9 .'!_@é\u{A0}ß-]{0,12}") {
            let by_char = |f: &dyn Fn(char, &mut String)| {
                let mut out = String::new();
                for c in s.chars() {
                    f(c, &mut out);
                }
                out
            };
            prop_assert_eq!(map_x400_str(&s), by_char(&|c, o| { map_x400(c, o); }));
            for p in [Profile::E2007, Profile::Nordic, Profile::Sdk] {
                prop_assert_eq!(map_local(p, &s), by_char(&|c, o| smtp_local_char(p, c, o)));
            }
        }
    }

    #[test]
    fn profile_names_round_trip() {
        for p in [Profile::E2007, Profile::Sdk, Profile::Nordic] {
            assert_eq!(p.as_str().parse::<Profile>(), Ok(p));
        }
        assert_eq!(" Nordic ".parse::<Profile>(), Ok(Profile::Nordic));
        assert!("german".parse::<Profile>().is_err());
        assert_eq!(Profile::default(), Profile::E2007);
    }

    #[test]
    fn each_profile_on_juergen_oster_strasse() {
        let name = "Jürgen Øster Straße";
        assert_eq!(map_local(Profile::E2007, name), "JuergenOsterStrasse");
        assert_eq!(map_local(Profile::Nordic, name), "JuergenOsterStrasse");
        assert_eq!(map_local(Profile::Sdk, name), "Jurgen0sterStraBe");
    }

    #[test]
    fn two_letter_expansions_follow_appendix_c() {
        assert_eq!(
            map_local(Profile::E2007, "ÄÖÜäöüßÆæŒœ"),
            "AeOeUeaeoeuessAEaeOEoe"
        );
        assert_eq!(map_local(Profile::Nordic, "ÄÖäöÅåØø"), "AOaoAaOo");
        assert_eq!(map_local(Profile::Nordic, "Üü"), "Ueue");
        assert_eq!(map_local(Profile::Sdk, "ÄÖÜäöüÆæ"), "AOUaouAa");
    }

    #[test]
    fn one_letter_folds_follow_appendix_c() {
        assert_eq!(
            map_local(Profile::E2007, "ÀÁÂÃÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕØÙÚÛÝŸÞ"),
            "AAAAACEEEEIIIIDNOOOOOUUUYYT"
        );
        assert_eq!(
            map_local(Profile::E2007, "àáâãåçèéêëìíîïðñòóôõøùúûýÿþ"),
            "aaaaaceeeeiiiidnooooouuuyyt"
        );
        assert_eq!(
            map_local(Profile::E2007, "Šš§µ©®¢£¥¹²³ªº"),
            "SsSMCRCLY123AO"
        );
    }

    #[test]
    fn sdk_profile_deletes_everything_above_latin1() {
        assert_eq!(map_local(Profile::Sdk, "ŠšŒœŸ"), "");
        assert_eq!(map_local(Profile::Sdk, "Ø×ß"), "0XB");
    }

    #[test]
    fn sdk_profile_keeps_caret_and_deletes_backslash() {
        assert_eq!(map_local(Profile::Sdk, "a^b\\c"), "a^bc");
        assert_eq!(map_local(Profile::E2007, "a^b\\c"), "a^bc");
    }

    #[test]
    fn specials_and_symbols_are_deleted() {
        for p in [Profile::E2007, Profile::Sdk, Profile::Nordic] {
            assert_eq!(
                map_local(p, "a b\"c(d)e,f:g;h<i>j@k[l\\m]n\u{7f}\t"),
                "abcdefghijklmn"
            );
        }
        assert_eq!(map_local(Profile::E2007, "´¨¸¯«»¬°±¼½¾¿¡÷×"), "");
        assert_eq!(map_local(Profile::E2007, "Иван 李 Ž"), "");
    }

    #[test]
    fn legal_ascii_is_kept_unchanged() {
        let keep = "AZaz09!#$%&'*+-/=?^_`{|}~.";
        for p in [Profile::E2007, Profile::Sdk, Profile::Nordic] {
            assert_eq!(map_local(p, keep), keep);
        }
    }

    #[test]
    fn x400_best_fits_latin_letters_and_replaces_the_rest() {
        assert_eq!(map_x400_str("José Müller"), "Jose Mueller");
        assert_eq!(map_x400_str("Straße"), "Strasse");
        assert_eq!(map_x400_str("O'Neil (Jr.)"), "O'Neil (Jr.)");
        assert_eq!(map_x400_str("a#b;c@d_e"), "a?b?c?d?e");
        assert_eq!(map_x400_str("Ч"), "?");
    }

    #[test]
    fn x400_reports_unrepresentable_characters() {
        let mut out = String::new();
        assert!(map_x400('é', &mut out));
        assert!(!map_x400('Ж', &mut out));
        assert!(!map_x400(';', &mut out));
        assert_eq!(out, "e??");
    }

    proptest! {
        #[test]
        fn local_mapping_only_emits_local_chars(s in any::<String>()) {
            for p in [Profile::E2007, Profile::Sdk, Profile::Nordic] {
                prop_assert!(map_local(p, &s).chars().all(is_local_char));
            }
        }

        #[test]
        fn x400_mapping_only_emits_printable_string(s in any::<String>()) {
            let m = map_x400_str(&s);
            prop_assert!(m.chars().all(is_printable_string_char));
            prop_assert!(!m.contains(';'));
        }
    }
}
