//! `legacyExchangeDN` values (reference §1): the E2003 form
//! `<admin group legacyExchangeDN>/cn=Recipients/cn=<alias>`, Exchange's legacy-CN character
//! rule, and deterministic collision candidates.

/// Maximum length of a legacy CN (`MaximumCommonNameLength`).
pub const MAX_CN: usize = 64;
/// Maximum length of a whole `legacyExchangeDN`.
pub const MAX_LEGACY_DN: usize = 128;
/// The container appended to the administrative group's legacyExchangeDN.
pub const RECIPIENTS: &str = "/cn=Recipients";

/// True for a character Exchange accepts in a legacy CN (§1.2, `LegacyDN.IsValidLegacyCommonName`):
/// printable ASCII 0x20-0x7E except `` # $ / ; = \ ^ ` ~ ``.
pub fn is_legacy_cn_char(c: char) -> bool {
    (' '..='~').contains(&c) && !matches!(c, '#' | '$' | '/' | ';' | '=' | '\\' | '^' | '`' | '~')
}

/// True when `cn` is a valid legacy CN: 1-64 characters, all [`is_legacy_cn_char`].
pub fn is_valid_legacy_cn(cn: &str) -> bool {
    let n = cn.chars().count();
    (1..=MAX_CN).contains(&n) && cn.chars().all(is_legacy_cn_char)
}

/// What [`legacy_cn_from_alias`] does with characters that are invalid in a legacy CN
/// (E2003 behaviour is \[UNV\]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Invalid {
    /// Remove them (the default).
    #[default]
    Remove,
    /// Replace each with this character. A replacement that is itself invalid removes instead.
    Replace(char),
}

/// The E2003 legacy CN for a recipient: its alias (`mailNickname`) with invalid characters
/// handled per `invalid`, truncated to 64 characters. An empty result means the alias gives no
/// usable CN; the caller can then use [`collision_candidate`] with a base such as the
/// objectClass (the E2007+ `<objectClass><8 hex>` rule of §1.3).
pub fn legacy_cn_from_alias(alias: &str, invalid: Invalid) -> String {
    let replacement = match invalid {
        Invalid::Replace(r) if is_legacy_cn_char(r) => Some(r),
        _ => None,
    };
    let mut out = String::with_capacity(alias.len().min(MAX_CN));
    out.extend(
        alias
            .chars()
            .filter_map(|c| {
                if is_legacy_cn_char(c) {
                    Some(c)
                } else {
                    replacement
                }
            })
            .take(MAX_CN),
    );
    out
}

/// `<admin_group_legacy_dn>/cn=Recipients/cn=<cn>`, with the CN part truncated so that the
/// whole value is at most 128 characters (and the CN at most 64). A trailing `/` on the admin
/// group DN is ignored. When the admin group DN leaves no room for a CN the result has an
/// empty CN; callers should reject admin group DNs longer than 128 − 19 characters.
pub fn recipient_legacy_dn(admin_group_legacy_dn: &str, cn: &str) -> String {
    recipient_legacy_dn_parts(admin_group_legacy_dn, cn).concat()
}

/// [`recipient_legacy_dn`] as the four pieces it is made of, lent from the arguments: the
/// admin group DN, `/cn=Recipients`, `/cn=` and the CN as it fits. A key can be hashed from
/// them without joining them.
pub fn recipient_legacy_dn_parts<'a>(admin_group_legacy_dn: &'a str, cn: &'a str) -> [&'a str; 4] {
    let parent = admin_group_legacy_dn.trim().trim_end_matches('/');
    // Counted in characters; ASCII text (the usual case) has as many as bytes.
    let count = |s: &str| {
        if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        }
    };
    let head = count(parent) + RECIPIENTS.len() + "/cn=".len();
    let room = MAX_LEGACY_DN.saturating_sub(head).min(MAX_CN);
    let cn = if cn.is_ascii() {
        &cn[..cn.len().min(room)]
    } else {
        match cn.char_indices().nth(room) {
            Some((end, _)) => &cn[..end],
            None => cn,
        }
    };
    [parent, RECIPIENTS, "/cn=", cn]
}

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// The 8-hex-digit suffix of [`collision_candidate`].
///
/// FNV-1a 64 over: the tag byte `G` and the 16 objectGUID bytes as stored (when there is a
/// GUID), or the tag byte `D` and the UTF-8 bytes of the DN lower-cased with
/// `str::to_lowercase` (when there is none); then the attempt number as 4 little-endian bytes.
/// The 64-bit hash is folded to 32 bits (high half XOR low half) and written as 8 lowercase hex
/// digits. It depends only on these bytes, so it is the same on every platform and run.
pub fn collision_suffix(object_guid: Option<&[u8; 16]>, dn: &str, attempt: u32) -> String {
    let hash = match object_guid {
        Some(guid) => fnv1a(fnv1a(FNV_OFFSET, b"G"), guid),
        None => fnv1a(fnv1a(FNV_OFFSET, b"D"), dn.to_lowercase().as_bytes()),
    };
    let hash = fnv1a(hash, &attempt.to_le_bytes());
    let folded = (hash >> 32) ^ (hash & 0xffff_ffff);
    format!("{folded:08x}")
}

/// A deterministic replacement CN for attempt `attempt` when `<base_cn>` is already used
/// (§1.1 \[UNV\], recommended rule of §1.3): `base_cn` with invalid characters removed and
/// truncated to 56 characters, followed by [`collision_suffix`]. The result is always a valid
/// legacy CN of at most 64 characters.
pub fn collision_candidate(
    base_cn: &str,
    object_guid: Option<&[u8; 16]>,
    dn: &str,
    attempt: u32,
) -> String {
    let suffix = collision_suffix(object_guid, dn, attempt);
    let mut out: String = base_cn
        .chars()
        .filter(|&c| is_legacy_cn_char(c))
        .take(MAX_CN - suffix.len())
        .collect();
    out.push_str(&suffix);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The ASCII shortcut gives what counting characters gives.
        #[test]
        fn recipient_legacy_dns_count_characters(
            ag in "/o=[a-zé]{0,90}(/ou=[A-Z ]{0,40})?/?",
            cn in "[a-zA-Z0-9éß.-]{0,80}",
        ) {
            let parent = ag.trim().trim_end_matches('/');
            let mut want = format!("{parent}{RECIPIENTS}/cn=");
            let room = MAX_LEGACY_DN.saturating_sub(want.chars().count()).min(MAX_CN);
            want.extend(cn.chars().take(room));
            proptest::prop_assert_eq!(recipient_legacy_dn(&ag, &cn), want);
        }
    }

    #[test]
    fn legacy_cn_chars_are_printable_ascii_but_nine() {
        for c in (0u32..0x300).filter_map(char::from_u32) {
            let want = (' '..='~').contains(&c) && !"#$/;=\\^`~".contains(c);
            assert_eq!(is_legacy_cn_char(c), want, "{c:?}");
        }
    }
    use proptest::prelude::*;

    #[test]
    fn legacy_cn_character_rule() {
        assert!(is_valid_legacy_cn("jsmith"));
        assert!(is_valid_legacy_cn(
            "John Smith (Sales) <x>@[y]!%&'*+,-.:?_{|}\""
        ));
        for bad in [
            "a#b", "a$b", "a/b", "a;b", "a=b", "a\\b", "a^b", "a`b", "a~b",
        ] {
            assert!(!is_valid_legacy_cn(bad), "{bad}");
        }
        assert!(!is_valid_legacy_cn("Jürgen"));
        assert!(!is_valid_legacy_cn("a\tb"));
        assert!(!is_valid_legacy_cn("a\u{7f}"));
        assert!(!is_valid_legacy_cn(""));
        assert!(is_valid_legacy_cn(&"a".repeat(64)));
        assert!(!is_valid_legacy_cn(&"a".repeat(65)));
    }

    #[test]
    fn recipients_container_example() {
        assert_eq!(
            recipient_legacy_dn("/o=Contoso/ou=First Administrative Group", "jsmith"),
            "/o=Contoso/ou=First Administrative Group/cn=Recipients/cn=jsmith"
        );
        assert_eq!(
            recipient_legacy_dn("/o=RIAN/ou=First Administrative Group/", "chergik"),
            "/o=RIAN/ou=First Administrative Group/cn=Recipients/cn=chergik"
        );
    }

    #[test]
    fn whole_value_is_kept_within_128() {
        let ag = format!("/o=Contoso/ou={}", "G".repeat(80));
        let dn = recipient_legacy_dn(&ag, &"c".repeat(64));
        assert_eq!(dn.chars().count(), 128);
        assert!(dn.starts_with(&ag));
        let short = recipient_legacy_dn("/o=X", &"c".repeat(100));
        assert!(short.ends_with(&format!("cn={}", "c".repeat(64))));
    }

    #[test]
    fn alias_with_invalid_characters_is_cleaned() {
        assert_eq!(legacy_cn_from_alias("j.smith", Invalid::Remove), "j.smith");
        assert_eq!(legacy_cn_from_alias("jür#gen", Invalid::Remove), "jrgen");
        assert_eq!(
            legacy_cn_from_alias("jür#gen", Invalid::Replace('_')),
            "j_r_gen"
        );
        assert_eq!(legacy_cn_from_alias("a#b", Invalid::Replace('#')), "ab");
        assert_eq!(
            legacy_cn_from_alias(&"x".repeat(70), Invalid::Remove).len(),
            64
        );
        assert_eq!(legacy_cn_from_alias("Иван", Invalid::default()), "");
    }

    #[test]
    fn collision_suffix_is_stable_and_depends_on_inputs() {
        let guid = [
            0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
            0x77, 0x88,
        ];
        let a = collision_candidate("jsmith", Some(&guid), "CN=John Smith,DC=x", 1);
        // Pinned value: FNV-1a must not change between releases.
        assert_eq!(a, format!("jsmith{}", collision_suffix(Some(&guid), "", 1)));
        assert_eq!(a.len(), 14);
        assert!(a[6..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(a, collision_candidate("jsmith", Some(&guid), "ignored", 1));
        assert_ne!(a, collision_candidate("jsmith", Some(&guid), "", 2));
        let d1 = collision_candidate("jsmith", None, "CN=John Smith,DC=x", 1);
        assert_eq!(
            d1,
            collision_candidate("jsmith", None, "cn=john smith,dc=X", 1)
        );
        assert_ne!(
            d1,
            collision_candidate("jsmith", None, "CN=Jane Smith,DC=x", 1)
        );
    }

    #[test]
    fn collision_suffix_known_answer() {
        // FNV-1a 64 of "D" (0x44) then attempt 0 as four zero bytes, folded.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in [0x44u8, 0, 0, 0, 0] {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        let expected = format!("{:08x}", (h >> 32) ^ (h & 0xffff_ffff));
        assert_eq!(collision_suffix(None, "", 0), expected);
        assert_eq!(collision_suffix(None, "", 0), "5e71554d");
    }

    proptest! {
        #[test]
        fn collision_candidates_are_valid_cns(base in any::<String>(), dn in any::<String>(), attempt in any::<u32>()) {
            let cn = collision_candidate(&base, None, &dn, attempt);
            prop_assert!(is_valid_legacy_cn(&cn));
            prop_assert!(cn.chars().count() <= MAX_CN);
        }
    }
}
