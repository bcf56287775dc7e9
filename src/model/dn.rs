//! Distinguished names per RFC 4514: parsing, escaping and the normalised comparison key.
//!
//! DNs stay bytes as read for output; [`normalize`] gives the key used to compare them (types
//! lower-cased, values unescaped and case-folded, insignificant spaces removed, multi-valued
//! RDNs sorted) so `CN=Müller\, Jan , OU=Users,DC=x` and `cn=MÜLLER\2C JAN,ou=users,dc=X` match.

use std::fmt;

/// One attribute-value assertion of an RDN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ava {
    /// The attribute type as written (`CN`, `ou`, `2.5.4.3`).
    pub ty: String,
    /// The value, unescaped (or `#hex` text kept as written, lower-cased).
    pub value: Vec<u8>,
}

/// A relative distinguished name: one or more AVAs joined by `+`.
pub type Rdn = Vec<Ava>;

/// Why a DN could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was expected.
    pub message: &'static str,
}

impl fmt::Display for DnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid DN at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DnError {}

fn is_space(c: u8) -> bool {
    c == b' '
}

/// Parses a DN into RDNs, first (leftmost) RDN first. The empty DN (rootDSE) gives no RDNs.
pub fn parse(dn: &[u8]) -> Result<Vec<Rdn>, DnError> {
    #[derive(Default)]
    struct Build {
        rdns: Vec<Rdn>,
        rdn: Rdn,
    }
    impl Sink for Build {
        fn ava(&mut self, ty: &[u8], value: &mut Vec<u8>) {
            self.rdn.push(Ava {
                ty: String::from_utf8_lossy(ty).into_owned(),
                value: std::mem::take(value),
            });
        }
        fn rdn_end(&mut self) {
            self.rdns.push(std::mem::take(&mut self.rdn));
        }
    }
    let mut b = Build::default();
    scan(dn, &mut b)?;
    Ok(b.rdns)
}

/// Checks that a DN parses, without building anything (the reader's check on every record).
pub fn validate(dn: &[u8]) -> Result<(), DnError> {
    if is_simple(dn) {
        return Ok(());
    }
    struct Check;
    impl Sink for Check {
        fn ava(&mut self, _: &[u8], _: &mut Vec<u8>) {}
        fn rdn_end(&mut self) {}
    }
    scan(dn, &mut Check)
}

/// Parents of DNs found to be in the simple form (printable ASCII, single-valued RDNs, nothing
/// escaped, quoted or trimmed), kept by [`validate_sibling`]: the last eight met, each at most
/// 256 bytes.
#[derive(Default)]
pub struct Parents {
    /// The parents, most recent first.
    known: Vec<Vec<u8>>,
}

impl Parents {
    /// Parents kept.
    const KEPT: usize = 8;
    /// Longest parent kept.
    const MAX_LEN: usize = 256;

    fn has(&self, parent: &[u8]) -> bool {
        self.known.iter().any(|p| p[..] == *parent)
    }

    fn add(&mut self, parent: &[u8]) {
        if parent.is_empty() || parent.len() > Self::MAX_LEN {
            return;
        }
        if self.known.len() < Self::KEPT {
            self.known.insert(0, parent.to_vec());
            return;
        }
        // The oldest one's buffer takes the new parent.
        if let Some(mut oldest) = self.known.pop() {
            oldest.clear();
            oldest.extend_from_slice(parent);
            self.known.insert(0, oldest);
        }
    }
}

/// [`validate`] for DNs read one after the other, most of which have the same parent as one
/// read shortly before: a DN whose parent (what follows its first RDN's `,`) is one of
/// `parents` has only its first RDN checked. Gives what [`validate`] gives.
pub fn validate_sibling(dn: &[u8], parents: &mut Parents) -> Result<(), DnError> {
    let comma = memchr::memchr(b',', dn);
    if let Some(c) = comma {
        if parents.has(&dn[c + 1..]) && is_simple(&dn[..c]) {
            return Ok(());
        }
    }
    if is_simple(dn) {
        if let Some(c) = comma {
            parents.add(&dn[c + 1..]);
        }
        return Ok(());
    }
    validate(dn)
}

/// What [`scan`] reports: each AVA (type as written, unescaped value) and the end of each RDN.
trait Sink {
    fn ava(&mut self, ty: &[u8], value: &mut Vec<u8>);
    fn rdn_end(&mut self);
}

fn scan(dn: &[u8], sink: &mut impl Sink) -> Result<(), DnError> {
    let mut i = 0;
    let n = dn.len();
    while i < n && is_space(dn[i]) {
        i += 1;
    }
    if i == n {
        return Ok(());
    }
    let mut value = Vec::with_capacity(64);
    loop {
        // attribute type
        while i < n && is_space(dn[i]) {
            i += 1;
        }
        let start = i;
        while i < n && (dn[i].is_ascii_alphanumeric() || dn[i] == b'-' || dn[i] == b'.') {
            i += 1;
        }
        if i == start {
            return Err(DnError {
                offset: i,
                message: "expected an attribute type",
            });
        }
        let ty = start..i;
        while i < n && is_space(dn[i]) {
            i += 1;
        }
        if i >= n || dn[i] != b'=' {
            return Err(DnError {
                offset: i,
                message: "expected `=` after the attribute type",
            });
        }
        i += 1;
        while i < n && is_space(dn[i]) {
            i += 1;
        }
        // value
        value.clear();
        if i < n && dn[i] == b'#' {
            let s = i;
            i += 1;
            while i < n && dn[i].is_ascii_hexdigit() {
                i += 1;
            }
            if (i - s - 1) % 2 != 0 || i - s == 1 {
                return Err(DnError {
                    offset: s,
                    message: "a `#` value must be an even number of hex digits",
                });
            }
            value.extend(dn[s..i].iter().map(u8::to_ascii_lowercase));
            while i < n && is_space(dn[i]) {
                i += 1;
            }
        } else if i < n && dn[i] == b'"' {
            // RFC 2253 quoted value (AD never writes it, old tools do).
            i += 1;
            loop {
                if i >= n {
                    return Err(DnError {
                        offset: i,
                        message: "unterminated quoted value",
                    });
                }
                match dn[i] {
                    b'"' => {
                        i += 1;
                        break;
                    }
                    b'\\' if i + 1 < n => {
                        value.push(dn[i + 1]);
                        i += 2;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            while i < n && is_space(dn[i]) {
                i += 1;
            }
        } else {
            // keep track of the length up to the last significant (non-space or escaped) byte
            let mut significant = 0;
            while i < n {
                let c = dn[i];
                match c {
                    b',' | b'+' => break,
                    b'\\' => {
                        if is_hex_pair(dn, i + 1) {
                            value.push(hex_val(dn[i + 1]) * 16 + hex_val(dn[i + 2]));
                            i += 3;
                        } else if i + 1 < n {
                            value.push(dn[i + 1]);
                            i += 2;
                        } else {
                            return Err(DnError {
                                offset: i,
                                message: "a DN cannot end with `\\`",
                            });
                        }
                        significant = value.len();
                    }
                    b'"' | b';' | b'<' | b'>' | b'=' => {
                        // Unescaped specials: AD and ldbsearch tolerate `=` inside values;
                        // reject the characters that would change the structure.
                        if c == b'=' {
                            value.push(c);
                            significant = value.len();
                            i += 1;
                        } else {
                            return Err(DnError {
                                offset: i,
                                message: "this character must be escaped with `\\` in a DN value",
                            });
                        }
                    }
                    _ => {
                        value.push(c);
                        if !is_space(c) {
                            significant = value.len();
                        }
                        i += 1;
                    }
                }
            }
            value.truncate(significant);
        }
        sink.ava(&dn[ty], &mut value);
        if i >= n {
            sink.rdn_end();
            return Ok(());
        }
        match dn[i] {
            b',' => {
                sink.rdn_end();
                i += 1;
            }
            b'+' => {
                i += 1;
            }
            _ => {
                return Err(DnError {
                    offset: i,
                    message: "expected `,` or `+` after a value",
                })
            }
        }
    }
}

fn is_hex_pair(dn: &[u8], i: usize) -> bool {
    i + 1 < dn.len() && dn[i].is_ascii_hexdigit() && dn[i + 1].is_ascii_hexdigit()
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Escapes an attribute value for use in a DN (RFC 4514 section 2.4): `, + " \ < > ;` always,
/// `#` and space at the start, space at the end, NUL as `\00`.
pub fn escape_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    let last = value.len().saturating_sub(1);
    for (i, &c) in value.iter().enumerate() {
        match c {
            b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';' | b'=' => {
                out.push(b'\\');
                out.push(c);
            }
            b'#' if i == 0 => out.extend_from_slice(b"\\#"),
            b' ' if i == 0 || i == last => out.extend_from_slice(b"\\ "),
            0 => out.extend_from_slice(b"\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// The normalised comparison key of a DN (see the module docs).
pub fn normalize(dn: &[u8]) -> Result<Vec<u8>, DnError> {
    if let Some(key) = simple_key(dn) {
        return Ok(key);
    }
    let rdns = parse(dn)?;
    Ok(key_of(&rdns))
}

/// [`first_value`] without building the RDNs, when the DN is valid and its first RDN is a
/// plain `type=value` (no escapes, quotes, `#`, `+` or spaces around it).
fn simple_first_value(dn: &[u8]) -> Option<&[u8]> {
    let end = dn.iter().position(|&c| c == b',').unwrap_or(dn.len());
    let first = &dn[..end];
    let eq = first.iter().position(|&c| c == b'=')?;
    let (ty, value) = (&first[..eq], &first[eq + 1..]);
    let plain_type = !ty.is_empty() && ty.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
    let plain_value = !value.is_empty()
        && value[0] != b'#'
        && value[0] != b' '
        && value[value.len() - 1] != b' '
        && !value
            .iter()
            .any(|c| matches!(c, b'\\' | b'"' | b'+' | b'=' | b';' | 0));
    (plain_type && plain_value && validate(dn).is_ok()).then_some(value)
}

/// [`normalize`] without parsing, for the DNs AD writes: ASCII, single-valued RDNs, no
/// spaces around separators, and no character that is escaped, quoted or trimmed. Their key
/// is the DN lower-cased. `None` when the DN needs the parser.
fn simple_key(dn: &[u8]) -> Option<Vec<u8>> {
    is_simple(dn).then(|| dn.to_ascii_lowercase())
}

/// Whether `dn` is one of the DNs [`simple_key`] reads without the parser: printable ASCII,
/// single-valued RDNs, no spaces around separators, and no character that is escaped,
/// quoted or trimmed. Such a DN is valid.
fn is_simple(dn: &[u8]) -> bool {
    // A type up to `=`, then a value up to `,` or the end, and again: two tight loops per
    // RDN rather than one loop that branches on where it is.
    let n = dn.len();
    let mut i = 0;
    loop {
        let t = i;
        while i < n && TYPE_BYTE[usize::from(dn[i])] {
            i += 1;
        }
        if i == t || i == n || dn[i] != b'=' {
            return false;
        }
        i += 1;
        let v = i;
        while i < n && SIMPLE_VALUE_BYTE[usize::from(dn[i])] {
            i += 1;
        }
        if i == v || dn[v] == b' ' || dn[i - 1] == b' ' {
            return false;
        }
        if i == n {
            return true;
        }
        if dn[i] != b',' {
            return false;
        }
        i += 1;
    }
}

/// The bytes of an attribute type in an [`is_simple`] DN: letters, digits, `-` and `.`.
static TYPE_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0u8;
    while c < 128 {
        t[c as usize] = c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
        c += 1;
    }
    t
};

/// The bytes a value of an [`is_simple`] DN may hold: printable ASCII except the ones that are
/// escaped, quoted or special in a DN (`,` has split the RDNs already).
static SIMPLE_VALUE_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b' ';
    while c <= b'~' {
        t[c as usize] = !matches!(
            c,
            b'+' | b'"' | b'\\' | b'<' | b'>' | b';' | b'=' | b'#' | b','
        );
        c += 1;
    }
    t
};

/// The normalised key of parsed RDNs.
pub fn key_of(rdns: &[Rdn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for (i, rdn) in rdns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut avas: Vec<(String, Vec<u8>)> = rdn
            .iter()
            .map(|a| {
                (
                    a.ty.to_ascii_lowercase(),
                    escape_value(&super::schema::case_fold(&a.value)),
                )
            })
            .collect();
        avas.sort();
        for (j, (ty, v)) in avas.iter().enumerate() {
            if j > 0 {
                out.push(b'+');
            }
            out.extend_from_slice(ty.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
    out
}

/// The normalised key, or the case-folded bytes when the DN does not parse (so a malformed DN
/// still compares equal to itself).
pub fn key_lossy(dn: &[u8]) -> Vec<u8> {
    normalize(dn).unwrap_or_else(|_| super::schema::case_fold(dn))
}

/// Byte offset of the first unescaped `,` (the end of the first RDN), if any.
fn first_separator(dn: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut quoted = false;
    while i < dn.len() {
        match dn[i] {
            b'\\' => i += 2,
            b'"' => {
                quoted = !quoted;
                i += 1
            }
            b',' if !quoted => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The first RDN of `dn` as written (`CN=Smith\, J` of `CN=Smith\, J,OU=x`).
pub fn rdn_part(dn: &[u8]) -> &[u8] {
    match first_separator(dn) {
        Some(i) => &dn[..i],
        None => dn,
    }
}

/// The parent DN as written, without leading spaces; `None` for a single-RDN or empty DN.
pub fn parent(dn: &[u8]) -> Option<&[u8]> {
    let i = first_separator(dn)?;
    let rest = &dn[i + 1..];
    let skip = rest.iter().take_while(|c| **c == b' ').count();
    Some(&rest[skip..])
}

/// Whether normalised key `key` is `base_key` or lies under it.
pub fn key_is_under(key: &[u8], base_key: &[u8]) -> bool {
    if base_key.is_empty() {
        return true;
    }
    key == base_key
        || (key.len() > base_key.len()
            && key.ends_with(base_key)
            && key[key.len() - base_key.len() - 1] == b','
            && !ends_escaped(&key[..key.len() - base_key.len() - 1]))
}

fn ends_escaped(s: &[u8]) -> bool {
    s.iter().rev().take_while(|c| **c == b'\\').count() % 2 == 1
}

/// Number of RDNs (0 for the empty DN).
pub fn depth(dn: &[u8]) -> usize {
    match parse(dn) {
        Ok(r) => r.len(),
        Err(_) => dn.iter().filter(|c| **c == b',').count() + 1,
    }
}

/// The unescaped value of the first RDN's first AVA (`Smith, J` for `CN=Smith\, J,OU=x`).
pub fn first_value(dn: &[u8]) -> Option<Vec<u8>> {
    if let Some(v) = simple_first_value(dn) {
        return Some(v.to_vec());
    }
    parse(dn)
        .ok()?
        .into_iter()
        .next()?
        .into_iter()
        .next()
        .map(|a| a.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DN of generated (type, separator, value) triples.
    fn joined(rdns: &[(String, String, String)]) -> String {
        rdns.iter()
            .map(|(t, sep, v)| format!("{t}{sep}{v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn simple_dns_are_the_plain_ones_ad_writes() {
        for dn in [
            "CN=John Smith,OU=Users,DC=corp,DC=example,DC=com",
            "CN=Mailbox Store (SRV01),CN=First Storage Group,CN=InformationStore,CN=SRV01",
            "cn=a",
            "1.2.3=x y",
            "CN=O'Brien & Co.,DC=x",
        ] {
            assert!(is_simple(dn.as_bytes()), "{dn}");
        }
        for dn in [
            "",
            "cn=",
            "=a",
            "cn =a",
            "cn= a",
            "cn=a ",
            "cn=a,",
            ",cn=a",
            "cn=a,,dc=x",
            "cn=a+sn=b",
            "cn=a\\,b",
            "cn=\"a\"",
            "cn=#04",
            "cn=a=b",
            "cn=a;dc=x",
            "cn=<a>",
            "cn=\u{e9}",
            "cn=a\tb",
            "c_n=a",
        ] {
            assert!(!is_simple(dn.as_bytes()), "{dn:?}");
        }
    }

    /// [`is_simple`] as its definition reads, RDN by RDN.
    fn is_simple_by_rdns(dn: &[u8]) -> bool {
        !dn.is_empty()
            && dn.split(|&c| c == b',').all(|rdn| {
                let Some(eq) = rdn.iter().position(|&c| c == b'=') else {
                    return false;
                };
                let (ty, value) = (&rdn[..eq], &rdn[eq + 1..]);
                !ty.is_empty()
                    && ty
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.'))
                    && value.first().is_some_and(|&c| c != b' ')
                    && value.last().is_some_and(|&c| c != b' ')
                    && value.iter().all(|&c| SIMPLE_VALUE_BYTE[usize::from(c)])
            })
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        #[test]
        fn is_simple_reads_rdn_by_rdn(dn in "[a-c0-9=, .;+\\-]{0,12}") {
            proptest::prop_assert_eq!(is_simple(dn.as_bytes()), is_simple_by_rdns(dn.as_bytes()), "{:?}", dn);
        }

        #[test]
        fn validate_sibling_agrees_with_validate(
            dns in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        "[a-c0-9=, .;+\\\\\"-]{0,8}",
                        proptest::sample::select(vec![
                            "cn=a", "CN=b c", "cn=a ", "cn= a", "cn=a\\,b", "sn=x+cn=y", "cn=\"q\"",
                        ])
                        .prop_map(String::from),
                    ],
                    proptest::sample::select(vec![
                        "", ",ou=x,dc=y", ",OU=x,dc=y", ",ou=x\\,y,dc=z", ",ou=x,,dc=y", ",", ",ou= x",
                    ]),
                ),
                1..30,
            )
        ) {
            // DNs that share parents, in some order, through one `Parents`.
            let mut parents = Parents::default();
            for (first, parent) in dns {
                let dn = format!("{first}{parent}");
                proptest::prop_assert_eq!(
                    validate_sibling(dn.as_bytes(), &mut parents).is_ok(),
                    validate(dn.as_bytes()).is_ok(),
                    "{:?}", dn
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The fast path of `normalize` gives what parsing gives, and only for DNs that parse.
        #[test]
        fn simple_keys_agree_with_the_parser(
            rdns in proptest::collection::vec(
                (
                    "cn|OU|Dc|1\\.2|c n",
                    "=|=|=| =|= ",
                    "[A-Za-z0-9 .-]{1,5}|[A-Za-z #,+=\\\\\"<>;é]{0,3}",
                ),
                1..4,
            ),
        ) {
            let dn = joined(&rdns);
            if let Some(fast) = simple_key(dn.as_bytes()) {
                let slow = parse(dn.as_bytes()).map(|r| key_of(&r));
                proptest::prop_assert_eq!(Ok(fast), slow, "{}", dn);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The fast path of `first_value` agrees with parsing.
        #[test]
        fn simple_first_values_agree_with_the_parser(
            rdns in proptest::collection::vec(
                (
                    "cn|OU|1\\.2|c n| cn",
                    "=|=|=| =|= ",
                    "[A-Za-z0-9 .-]{1,5}|[A-Za-z #,+=\\\\\"<>;é]{0,3}",
                ),
                1..4,
            ),
        ) {
            let dn = joined(&rdns);
            if let Some(fast) = simple_first_value(dn.as_bytes()) {
                let slow = parse(dn.as_bytes())
                    .ok()
                    .and_then(|r| r.into_iter().next())
                    .and_then(|r| r.into_iter().next())
                    .map(|a| a.value);
                proptest::prop_assert_eq!(Some(fast.to_vec()), slow, "{}", dn);
            }
        }
    }

    #[test]
    fn simple_keys_cover_the_usual_dns() {
        assert_eq!(
            simple_key(b"CN=John Smith,OU=Staff,DC=corp,DC=example,DC=com").as_deref(),
            Some(&b"cn=john smith,ou=staff,dc=corp,dc=example,dc=com"[..])
        );
        for slow in [
            &br"CN=Smith\, John,DC=x"[..],
            b"CN=a+SN=b,DC=x",
            b"CN=a, DC=x",
            b"CN=a ,DC=x",
            b"CN=,DC=x",
            b"CN=a,",
            b"",
            "CN=Jos\u{e9},DC=x".as_bytes(),
        ] {
            assert_eq!(simple_key(slow), None, "{}", String::from_utf8_lossy(slow));
        }
    }

    #[test]
    fn escaped_comma_stays_in_the_value() {
        let r = parse(br"CN=Smith\, John,OU=Users,DC=x").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0][0].value, b"Smith, John");
        assert_eq!(
            rdn_part(br"CN=Smith\, John,OU=Users,DC=x"),
            br"CN=Smith\, John"
        );
        assert_eq!(
            parent(br"CN=Smith\, John, OU=Users,DC=x").unwrap(),
            b"OU=Users,DC=x"
        );
    }

    #[test]
    fn normalised_keys_ignore_case_spaces_and_escape_form() {
        let a = normalize("CN=Müller\\, Jan , OU=Users,DC=x".as_bytes()).unwrap();
        let b = normalize("cn=MÜLLER\\2C JAN,ou=users,dc=X".as_bytes()).unwrap();
        assert_eq!(a, b);
        let c = normalize(b"cn=a+sn=b,dc=x").unwrap();
        let d = normalize(b"SN=B + CN=A, DC=X").unwrap();
        assert_eq!(c, d);
        assert_ne!(
            normalize(b"cn=a,dc=x").unwrap(),
            normalize(b"cn=a\\ ,dc=x").unwrap()
        );
    }

    #[test]
    fn hex_escapes_decode_utf8() {
        let r = parse(br"CN=J\C3\BCrgen,DC=x").unwrap();
        assert_eq!(r[0][0].value, "Jürgen".as_bytes());
    }

    #[test]
    fn escape_round_trips() {
        for v in [
            &b" lead"[..],
            b"trail ",
            b"#hash",
            b"a,b+c\"d\\e<f>g;h",
            b"x\0y",
        ] {
            let mut dn = b"cn=".to_vec();
            dn.extend(escape_value(v));
            let r = parse(&dn).unwrap();
            assert_eq!(r[0][0].value, v);
        }
    }

    #[test]
    fn malformed_dns_are_errors() {
        assert!(parse(b"cn").is_err());
        assert!(parse(b"=x").is_err());
        assert!(parse(b"cn=a\\").is_err());
        assert!(parse(b"cn=a;b").is_err());
        assert!(parse(b"cn=#abc").is_err());
        assert_eq!(parse(b"").unwrap().len(), 0);
    }

    #[test]
    fn subtree_test_uses_whole_rdns() {
        let base = normalize(b"OU=Users,DC=x").unwrap();
        assert!(key_is_under(
            &normalize(b"cn=a,ou=users,dc=x").unwrap(),
            &base
        ));
        assert!(!key_is_under(
            &normalize(b"cn=a,ou=xusers,dc=x").unwrap(),
            &base
        ));
    }
}
