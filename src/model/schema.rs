//! What ldifstamp knows of the AD and Exchange schema: which attributes are binary, which are
//! single-valued, how values compare, and which a client cannot write.
//!
//! The table covers the attributes exports carry and ldifstamp writes. An attribute it does not
//! know is treated as a multi-valued, case-insensitive string unless its values are not UTF-8.

use super::entry::attr_type;

/// How values of an attribute compare for equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Equality {
    /// Unicode strings compared case-insensitively (AD's 2.5.5.12 and most string syntaxes).
    CaseIgnore,
    /// Distinguished names, compared by their normalised form.
    Dn,
    /// Bytes compared exactly (octet strings, GUIDs, SIDs, passwords).
    Exact,
    /// Integers and large integers, compared as numbers when both parse.
    Integer,
}

/// How a binary value may be written as text by tools such as `ldbsearch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryText {
    /// Not a binary attribute.
    None,
    /// Plain octet string with no text form.
    Octets,
    /// A 16-byte GUID (text form `xxxxxxxx-xxxx-...`).
    Guid,
    /// A SID (text form `S-1-5-...`).
    Sid,
}

/// Schema facts about one attribute type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttrInfo {
    /// Whether the attribute is single-valued.
    pub single: bool,
    /// Equality rule.
    pub equality: Equality,
    /// Binary syntax and its text form.
    pub binary: BinaryText,
    /// Whether a client cannot write it (system-owned, operational or back-link).
    pub system: bool,
}

impl AttrInfo {
    const fn new(single: bool, equality: Equality, binary: BinaryText, system: bool) -> Self {
        AttrInfo {
            single,
            equality,
            binary,
            system,
        }
    }

    /// Whether values are always written base64.
    pub fn is_binary(&self) -> bool {
        self.binary != BinaryText::None
    }
}

const MULTI: AttrInfo = AttrInfo::new(false, Equality::CaseIgnore, BinaryText::None, false);
const SINGLE: AttrInfo = AttrInfo::new(true, Equality::CaseIgnore, BinaryText::None, false);
const SINGLE_DN: AttrInfo = AttrInfo::new(true, Equality::Dn, BinaryText::None, false);
const MULTI_DN: AttrInfo = AttrInfo::new(false, Equality::Dn, BinaryText::None, false);
const SINGLE_INT: AttrInfo = AttrInfo::new(true, Equality::Integer, BinaryText::None, false);
const SINGLE_BOOL: AttrInfo = SINGLE;
const GUID: AttrInfo = AttrInfo::new(true, Equality::Exact, BinaryText::Guid, false);
const SID: AttrInfo = AttrInfo::new(true, Equality::Exact, BinaryText::Sid, false);
const OCTETS: AttrInfo = AttrInfo::new(true, Equality::Exact, BinaryText::Octets, false);
const MULTI_OCTETS: AttrInfo = AttrInfo::new(false, Equality::Exact, BinaryText::Octets, false);
const SYS: AttrInfo = AttrInfo::new(true, Equality::CaseIgnore, BinaryText::None, true);
const SYS_MULTI: AttrInfo = AttrInfo::new(false, Equality::CaseIgnore, BinaryText::None, true);
const SYS_INT: AttrInfo = AttrInfo::new(true, Equality::Integer, BinaryText::None, true);
const SYS_DN: AttrInfo = AttrInfo::new(true, Equality::Dn, BinaryText::None, true);
const SYS_MULTI_DN: AttrInfo = AttrInfo::new(false, Equality::Dn, BinaryText::None, true);
const SYS_GUID: AttrInfo = AttrInfo::new(true, Equality::Exact, BinaryText::Guid, true);
const SYS_SID: AttrInfo = AttrInfo::new(true, Equality::Exact, BinaryText::Sid, true);
const SYS_OCTETS: AttrInfo = AttrInfo::new(true, Equality::Exact, BinaryText::Octets, true);

/// Facts about the attribute of a description (options ignored; `;binary` makes it binary).
///
/// Descriptions without options are looked up in a per-thread cache keyed by
/// [`attr_key`](super::entry::attr_key): the writer asks once per attribute of every entry.
pub fn attr_info(desc: &[u8]) -> AttrInfo {
    attr_info_keyed(desc, super::entry::attr_key(desc))
}

/// [`attr_info`] when the description's [`attr_key`](super::entry::attr_key) is known (an
/// [`AttrRef::key`](super::entry::AttrRef::key)).
pub fn attr_info_keyed(desc: &[u8], key: u64) -> AttrInfo {
    debug_assert_eq!(key, super::entry::attr_key(desc));
    if key & 1 != 0 || desc.len() > 64 {
        return attr_info_uncached(desc);
    }
    INFO_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.is_empty() {
            cache.resize_with(INFO_CACHE_SLOTS, || (1, Box::default(), MULTI));
        }
        let slot = &mut cache[(key >> 32) as usize % INFO_CACHE_SLOTS];
        // Spelled as cached (the usual case: one export spells a name one way).
        if slot.0 == key && *slot.1 == *desc {
            return slot.2;
        }
        let info = attr_info_uncached(desc);
        *slot = (key, desc.into(), info);
        info
    })
}

/// [`attr_info`] of the [`WELL_KNOWN`](super::entry::WELL_KNOWN) type of place + 1 `known` (a
/// [`Desc::well_known`](super::entry::Desc::well_known)): a table lookup instead of
/// [`attr_info_keyed`]'s hashing and comparing. `None` for 0.
pub fn well_known_info(known: u8) -> Option<AttrInfo> {
    static INFO: std::sync::LazyLock<[AttrInfo; super::entry::WELL_KNOWN.len()]> =
        std::sync::LazyLock::new(|| {
            super::entry::WELL_KNOWN.map(|name| attr_info(name.as_bytes()))
        });
    usize::from(known)
        .checked_sub(1)
        .and_then(|i| INFO.get(i))
        .copied()
}

/// Slots of the per-thread cache of [`attr_info_keyed`] (direct-mapped by key).
const INFO_CACHE_SLOTS: usize = 4096;

/// One cached description: (key, description as written, facts); key 1 (never the key of a
/// description without options) marks a free slot.
type InfoSlot = (u64, Box<[u8]>, AttrInfo);

thread_local! {
    static INFO_CACHE: std::cell::RefCell<Vec<InfoSlot>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn attr_info_uncached(desc: &[u8]) -> AttrInfo {
    let ty = attr_type(desc);
    let mut lower = [0u8; 64];
    if ty.len() > lower.len() {
        return MULTI;
    }
    for (d, s) in lower.iter_mut().zip(ty) {
        *d = s.to_ascii_lowercase();
    }
    let name = std::str::from_utf8(&lower[..ty.len()]).unwrap_or("");
    let info = lookup(name);
    if info.binary == BinaryText::None && has_binary_option(desc) {
        return AttrInfo {
            binary: BinaryText::Octets,
            equality: Equality::Exact,
            ..info
        };
    }
    info
}

fn has_binary_option(desc: &[u8]) -> bool {
    super::entry::attr_options(desc).any(|o| o.eq_ignore_ascii_case(b"binary"))
}

fn lookup(name: &str) -> AttrInfo {
    match name {
        // Identity and system-owned attributes (ignored by `diff` unless --all-attrs).
        "objectguid" => SYS_GUID,
        "objectsid" => SYS_SID,
        "sidhistory" => AttrInfo::new(false, Equality::Exact, BinaryText::Sid, true),
        "whencreated" | "whenchanged" | "createtimestamp" | "modifytimestamp" => SYS,
        "usncreated"
        | "usnchanged"
        | "instancetype"
        | "samaccounttype"
        | "badpwdcount"
        | "badpasswordtime"
        | "lastlogon"
        | "lastlogoff"
        | "lastlogontimestamp"
        | "logoncount"
        | "pwdlastset"
        | "lockouttime"
        | "msds-keyversionnumber"
        | "iscriticalsystemobject" => SYS_INT,
        "distinguishedname" | "entrydn" | "creatorsname" | "modifiersname"
        | "subschemasubentry" => SYS_DN,
        "name" | "entryuuid" | "entrycsn" | "structuralobjectclass" | "hassubordinates" => SYS,
        "dscorepropagationdata" | "memberof" => {
            if name == "memberof" {
                SYS_MULTI_DN
            } else {
                SYS_MULTI
            }
        }
        "replpropertymetadata" | "ntsecuritydescriptor" => SYS_OCTETS,
        "showinadvancedviewonly" => SYS,
        "objectcategory" => SINGLE_DN,
        "objectclass" => MULTI,

        // Binary attributes written base64 in every export.
        "msexchmailboxguid"
        | "msexcharchiveguid"
        | "schemaidguid"
        | "attributesecurityguid"
        | "msrtcsip-userroutinggroupid"
        | "ms-ds-consistencyguid"
        | "msexchdisabledarchiveguid" => GUID,
        "msexchmasteraccountsid" | "securityidentifier" => SID,
        "msexchmailboxsecuritydescriptor"
        | "thumbnailphoto"
        | "jpegphoto"
        | "logonhours"
        | "unicodepwd"
        | "msexchsafesendershash"
        | "msexchblockedsendershash"
        | "msexchsafetrecipientshash"
        | "msexchsaferecipientshash" => OCTETS,
        "usercertificate" | "usersmimecertificate" | "mssmimecertificate" | "cacertificate" => {
            MULTI_OCTETS
        }
        "userpassword" => AttrInfo::new(false, Equality::Exact, BinaryText::None, false),

        // Exchange recipient attributes.
        "mail"
        | "displayname"
        | "legacyexchangedn"
        | "mailnickname"
        | "targetaddress"
        | "textencodedoraddress"
        | "msexchhomeservername"
        | "msexchexpansionservername"
        | "msrtcsip-primaryuseraddress"
        | "msrtcsip-line"
        | "msrtcsip-lineserver"
        | "msrtcsip-deploymentlocator"
        | "msexchresourcemetadata"
        | "adminDisplayName"
        | "admindisplayname"
        | "remoteroutingaddress" => SINGLE,
        "homemdb"
        | "homemta"
        | "msrtcsip-primaryhomeserver"
        | "altrecipient"
        | "manager"
        | "managedby" => SINGLE_DN,
        "mdbusedefaults"
        | "msexchhidefromaddresslists"
        | "maprecipient"
        | "reporttooriginator"
        | "reporttoowner"
        | "oofreplytooriginator"
        | "hidedlmembership"
        | "msrtcsip-userenabled"
        | "msrtcsip-federationenabled"
        | "msrtcsip-internetaccessenabled" => SINGLE_BOOL,
        "msexchuseraccountcontrol"
        | "msexchrecipienttypedetails"
        | "msexchrecipientdisplaytype"
        | "msexchversion"
        | "msexchremoterecipienttype"
        | "internetencoding"
        | "msrtcsip-optionflags"
        | "msrtcsip-archivingenabled"
        | "msexchalobjectversion"
        | "useraccountcontrol"
        | "grouptype"
        | "primarygroupid"
        | "accountexpires"
        | "countrycode"
        | "codepage"
        | "mdbstoragequota"
        | "mdboverquotalimit"
        | "mdboverhardquotalimit" => SINGLE_INT,
        "proxyaddresses"
        | "msexchpoliciesincluded"
        | "msexchpoliciesexcluded"
        | "othertelephone"
        | "othermobile"
        | "url"
        | "postaladdress"
        | "description" => MULTI,
        "showinaddressbook" | "member" | "publicdelegates" | "directreports" | "seealso"
        | "msexchpolicylist" => MULTI_DN,

        // Common user attributes that AD keeps single-valued.
        "cn"
        | "sn"
        | "givenname"
        | "initials"
        | "samaccountname"
        | "userprincipalname"
        | "company"
        | "department"
        | "title"
        | "telephonenumber"
        | "mobile"
        | "physicaldeliveryofficename"
        | "streetaddress"
        | "l"
        | "st"
        | "postalcode"
        | "c"
        | "co"
        | "employeeid"
        | "employeenumber"
        | "employeetype"
        | "info"
        | "homephone"
        | "pager"
        | "facsimiletelephonenumber"
        | "wwwhomepage"
        | "scriptpath"
        | "homedirectory"
        | "homedrive"
        | "profilepath"
        | "comment"
        | "division"
        | "extensionattribute1"
        | "extensionattribute2"
        | "extensionattribute3"
        | "extensionattribute4"
        | "extensionattribute5"
        | "extensionattribute6"
        | "extensionattribute7"
        | "extensionattribute8"
        | "extensionattribute9"
        | "extensionattribute10"
        | "extensionattribute11"
        | "extensionattribute12"
        | "extensionattribute13"
        | "extensionattribute14"
        | "extensionattribute15" => SINGLE,
        _ => MULTI,
    }
}

/// The attributes `diff` ignores by default: values a client cannot write.
pub fn is_system_attr(desc: &[u8]) -> bool {
    attr_info(desc).system
}

/// The names of the system attributes, for documentation and `--help`.
pub const SYSTEM_ATTRS: &[&str] = &[
    "objectGUID",
    "objectSid",
    "sIDHistory",
    "whenCreated",
    "whenChanged",
    "createTimestamp",
    "modifyTimestamp",
    "uSNCreated",
    "uSNChanged",
    "instanceType",
    "sAMAccountType",
    "badPwdCount",
    "badPasswordTime",
    "lastLogon",
    "lastLogoff",
    "lastLogonTimestamp",
    "logonCount",
    "pwdLastSet",
    "lockoutTime",
    "msDS-KeyVersionNumber",
    "isCriticalSystemObject",
    "distinguishedName",
    "entryDN",
    "creatorsName",
    "modifiersName",
    "subschemaSubentry",
    "name",
    "entryUUID",
    "entryCSN",
    "structuralObjectClass",
    "hasSubordinates",
    "dSCorePropagationData",
    "memberOf",
    "replPropertyMetaData",
    "nTSecurityDescriptor",
    "showInAdvancedViewOnly",
];

/// Compares two values of `desc` the way AD does.
pub fn values_equal(desc: &[u8], a: &[u8], b: &[u8]) -> bool {
    equal_by(attr_info(desc).equality, a, b)
}

/// [`values_equal`] when the attribute's equality rule is known.
pub fn equal_by(equality: Equality, a: &[u8], b: &[u8]) -> bool {
    match equality {
        Equality::Exact => a == b,
        Equality::CaseIgnore => case_ignore_eq(a, b),
        Equality::Dn => {
            a == b
                || match (super::dn::normalize(a), super::dn::normalize(b)) {
                    (Ok(x), Ok(y)) => x == y,
                    _ => case_ignore_eq(a, b),
                }
        }
        Equality::Integer => {
            a == b
                || match (parse_int(a), parse_int(b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => false,
                }
        }
    }
}

fn parse_int(v: &[u8]) -> Option<i128> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

/// Case-insensitive comparison of UTF-8 text (falls back to exact bytes for non-UTF-8).
pub fn case_ignore_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() == b.len() && (a == b || a.eq_ignore_ascii_case(b)) {
        return true;
    }
    // Two ASCII first characters that differ whatever their case: Unicode lowercasing maps an
    // ASCII character to itself lowercased, so the values differ (the common case in filters).
    if let (Some(x), Some(y)) = (a.first(), b.first()) {
        if x.is_ascii() && y.is_ascii() && !x.eq_ignore_ascii_case(y) {
            return false;
        }
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(x), Ok(y)) => x
            .chars()
            .flat_map(char::to_lowercase)
            .eq(y.chars().flat_map(char::to_lowercase)),
        _ => a == b,
    }
}

/// The case-folded form used as a key for case-insensitive values.
pub fn case_fold(v: &[u8]) -> Vec<u8> {
    if v.is_ascii() {
        return v.to_ascii_lowercase();
    }
    match std::str::from_utf8(v) {
        Ok(s) => s.to_lowercase().into_bytes(),
        Err(_) => v.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The fast paths agree with lowercasing both strings character by character.
        #[test]
        fn case_ignore_eq_is_unicode_lowercase_equality(
            a in "[a-zA-Z0-9 KkİiÉé\u{212A}ß]{0,6}",
            b in "[a-zA-Z0-9 KkİiÉé\u{212A}ß]{0,6}",
        ) {
            let lower = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
            proptest::prop_assert_eq!(
                case_ignore_eq(a.as_bytes(), b.as_bytes()),
                lower(&a) == lower(&b)
            );
            let upper = a.to_uppercase();
            proptest::prop_assert_eq!(
                case_ignore_eq(a.as_bytes(), upper.as_bytes()),
                lower(&a) == lower(&upper)
            );
        }
    }

    #[test]
    fn well_known_types_have_the_schemas_facts() {
        use crate::model::entry::{well_known, WELL_KNOWN};
        let mut binary = 0;
        for name in WELL_KNOWN {
            let want = attr_info(name.as_bytes());
            assert_eq!(
                well_known_info(well_known(name.as_bytes())),
                Some(want),
                "{name}"
            );
            binary += usize::from(want.is_binary());
        }
        // objectGUID, msExchMailboxGuid, msExchMasterAccountSid, objectSid at least.
        assert!(binary >= 4, "{binary}");
        assert_eq!(well_known_info(0), None);
    }

    #[test]
    fn binary_attributes_are_known() {
        assert!(attr_info(b"msExchMailboxGuid").is_binary());
        assert!(attr_info(b"objectSid").is_binary());
        assert!(attr_info(b"userCertificate;binary").is_binary());
        assert!(attr_info(b"description;binary").is_binary());
        assert!(!attr_info(b"proxyAddresses").is_binary());
        assert_eq!(attr_info(b"OBJECTGUID").binary, BinaryText::Guid);
    }

    #[test]
    fn proxy_addresses_compare_case_insensitively() {
        assert!(values_equal(b"proxyAddresses", b"SMTP:a@x", b"smtp:A@X"));
        assert!(!values_equal(b"objectGUID", b"ab", b"AB"));
        assert!(values_equal(
            b"displayName",
            "Jürgen".as_bytes(),
            "JÜRGEN".as_bytes()
        ));
        assert!(values_equal(b"member", b"CN=A, DC=x", b"cn=a,dc=X"));
        assert!(values_equal(b"userAccountControl", b"0512", b"512"));
    }

    #[test]
    fn system_attributes_are_flagged() {
        for a in SYSTEM_ATTRS {
            assert!(is_system_attr(a.as_bytes()), "{a}");
        }
        assert!(!is_system_attr(b"mail"));
    }
}
