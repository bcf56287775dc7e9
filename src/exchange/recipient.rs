//! Recipient kinds (reference section 0.1) and small facts about an entry.

use crate::model::{dn, Entry};

/// What an object is to Exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// User with mailNickname and home attributes.
    Mailbox,
    /// User with mailNickname and targetAddress, no mailbox.
    MailUser,
    /// Mail-enabled contact.
    Contact,
    /// Mail-enabled group.
    Group,
    /// Query-based distribution list.
    DynamicDl,
    /// Mail-enabled public folder.
    PublicFolder,
    /// A user with mailNickname but neither mailbox attributes nor targetAddress.
    Broken,
    /// Not a recipient (indexed for uniqueness only).
    NonRecipient,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 8] = [
        Kind::Mailbox,
        Kind::MailUser,
        Kind::Contact,
        Kind::Group,
        Kind::DynamicDl,
        Kind::PublicFolder,
        Kind::Broken,
        Kind::NonRecipient,
    ];

    /// A short name for reports.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Mailbox => "mailbox users",
            Kind::MailUser => "mail users",
            Kind::Contact => "contacts",
            Kind::Group => "groups",
            Kind::DynamicDl => "dynamic DLs",
            Kind::PublicFolder => "public folders",
            Kind::Broken => "broken recipients",
            Kind::NonRecipient => "non-recipients",
        }
    }

    /// Whether the RUS stamps it.
    pub fn is_recipient(self) -> bool {
        !matches!(self, Kind::Broken | Kind::NonRecipient)
    }
}

/// The structural class family of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// user / inetOrgPerson (not computer).
    User,
    /// contact.
    Contact,
    /// group.
    Group,
    /// msExchDynamicDistributionList.
    DynamicDl,
    /// publicFolder.
    PublicFolder,
    /// Anything else (computer, OU, container ...).
    Other,
}

/// Whether `entry` has objectClass `class` (case-insensitive).
pub fn has_class(entry: &Entry, class: &str) -> bool {
    entry
        .values(crate::name!("objectClass"))
        .any(|v| v.eq_ignore_ascii_case(class.as_bytes()))
}

/// The class family of `entry`.
pub fn family(entry: &Entry) -> Family {
    // In order of precedence: the first class the object has decides.
    const RANKED: [(&[u8], Family); 7] = [
        (b"computer", Family::Other),
        (b"msExchDynamicDistributionList", Family::DynamicDl),
        (b"publicFolder", Family::PublicFolder),
        (b"group", Family::Group),
        (b"contact", Family::Contact),
        (b"user", Family::User),
        (b"inetOrgPerson", Family::User),
    ];
    // One pass over the classes, keeping the best rank seen.
    let best = entry
        .values(crate::name!("objectClass"))
        .filter_map(|v| {
            RANKED
                .iter()
                .position(|(class, _)| v.eq_ignore_ascii_case(class))
        })
        .min();
    best.map_or(Family::Other, |i| RANKED[i].1)
}

/// Attribute presence as the classification sees it (after any planned changes).
pub trait Has {
    /// Whether the attribute is present.
    fn has(&self, attr: impl crate::model::Desc) -> bool;
}

impl Has for Entry {
    fn has(&self, attr: impl crate::model::Desc) -> bool {
        Entry::has(self, attr)
    }
}

/// Classifies an object of `family` given which attributes it has.
pub fn classify(family: Family, state: &impl Has) -> Kind {
    if !state.has(crate::name!("mailNickname")) {
        return Kind::NonRecipient;
    }
    let home = state.has(crate::name!("homeMDB"))
        || state.has(crate::name!("msExchHomeServerName"))
        || state.has(crate::name!("homeMTA"));
    match family {
        Family::User if home => Kind::Mailbox,
        Family::User if state.has(crate::name!("targetAddress")) => Kind::MailUser,
        Family::User => Kind::Broken,
        Family::Contact => Kind::Contact,
        Family::Group => Kind::Group,
        Family::DynamicDl => Kind::DynamicDl,
        Family::PublicFolder => Kind::PublicFolder,
        Family::Other => Kind::NonRecipient,
    }
}

/// userAccountControl's ACCOUNTDISABLE bit.
pub fn is_disabled(entry: &Entry) -> bool {
    entry
        .first_str(crate::name!("userAccountControl"))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .is_some_and(|v| v & 2 != 0)
}

/// Whether `entry` is the group `cn` (e.g. `Exchange Domain Servers`) in `CN=Users` of a
/// domain; returns the domain's DN as written.
pub fn well_known_group<'a>(entry: &'a Entry, cn: &str) -> Option<&'a [u8]> {
    if !has_class(entry, "group") {
        return None;
    }
    let first = dn::first_value(entry.dn())?;
    if !first.eq_ignore_ascii_case(cn.as_bytes()) {
        return None;
    }
    let parent = dn::parent(entry.dn())?;
    let container = dn::first_value(parent)?;
    if !container.eq_ignore_ascii_case(b"Users") {
        return None;
    }
    dn::parent(parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::entry_of;

    #[test]
    fn kinds_follow_the_reference_table() {
        let u = |attrs: &[(&str, &str)]| {
            let mut a = vec![("objectClass", "top"), ("objectClass", "user")];
            a.extend_from_slice(attrs);
            let e = entry_of("cn=u,dc=x", &a);
            classify(family(&e), &e)
        };
        assert_eq!(u(&[]), Kind::NonRecipient);
        assert_eq!(
            u(&[("mailNickname", "u"), ("homeMDB", "cn=s")]),
            Kind::Mailbox
        );
        assert_eq!(
            u(&[("mailNickname", "u"), ("msExchHomeServerName", "/o=x")]),
            Kind::Mailbox
        );
        assert_eq!(
            u(&[("mailNickname", "u"), ("targetAddress", "SMTP:a@b")]),
            Kind::MailUser
        );
        assert_eq!(u(&[("mailNickname", "u")]), Kind::Broken);
        let c = entry_of(
            "cn=c,dc=x",
            &[("objectClass", "contact"), ("mailNickname", "c")],
        );
        assert_eq!(classify(family(&c), &c), Kind::Contact);
        let comp = entry_of(
            "cn=s,dc=x",
            &[
                ("objectClass", "user"),
                ("objectClass", "computer"),
                ("mailNickname", "s"),
            ],
        );
        assert_eq!(classify(family(&comp), &comp), Kind::NonRecipient);
    }

    #[test]
    fn exchange_server_groups_are_found_by_place() {
        let g = entry_of(
            "CN=Exchange Domain Servers,CN=Users,DC=corp,DC=example,DC=com",
            &[("objectClass", "group")],
        );
        assert_eq!(
            well_known_group(&g, "Exchange Domain Servers"),
            Some(&b"DC=corp,DC=example,DC=com"[..])
        );
        let elsewhere = entry_of(
            "CN=Exchange Domain Servers,OU=x,DC=corp",
            &[("objectClass", "group")],
        );
        assert_eq!(
            well_known_group(&elsewhere, "Exchange Domain Servers"),
            None
        );
    }
}
