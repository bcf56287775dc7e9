//! Data checks for `ldifstamp check`: problems in an export that the RUS would trip over or
//! that an import would carry into production.

use crate::exchange::recipient::{classify, family, Kind};
use crate::model::schema::case_ignore_eq;
use crate::model::{binary, dn, Entry};
use crate::policy::{Policy, Target};

/// Findings about one entry (each a sentence naming the attribute).
pub fn lint(entry: &Entry, policy: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    let kind = classify(family(entry), entry);
    if kind == Kind::Broken {
        out.push("broken recipient: `mailNickname` without `homeMDB`/`msExchHomeServerName`/`homeMTA` and without `targetAddress`".into());
    }
    if kind == Kind::Mailbox && entry.has("targetAddress") {
        out.push(
            "mailbox user with `targetAddress`: mail for it is routed away from the mailbox".into(),
        );
    }
    if kind == Kind::Mailbox {
        if let (Some(mdb), Some(hsn)) = (
            entry.first("homeMDB"),
            entry.first_str("msExchHomeServerName"),
        ) {
            let server_key = dn::parse(mdb)
                .ok()
                .filter(|p| p.len() > 3)
                .map(|p| dn::key_of(&p[3..]));
            if let Some(k) = server_key {
                match policy.servers.iter().find(|s| s.dn_key == k) {
                    Some(s) if !s.legacy_dn.eq_ignore_ascii_case(hsn) => out.push(format!(
                        "home attributes disagree: `homeMDB` is on {} but `msExchHomeServerName` is `{hsn}`",
                        s.name
                    )),
                    None => out.push(format!(
                        "`homeMDB` names a server that is not in the policy: `{}`",
                        String::from_utf8_lossy(mdb)
                    )),
                    _ => {}
                }
            }
        }
        if let (Some(mta), Some(mdb)) = (entry.first("homeMTA"), entry.first("homeMDB")) {
            let mta_server = dn::parent(mta).map(dn::key_lossy);
            let mdb_server = dn::parse(mdb)
                .ok()
                .filter(|p| p.len() > 3)
                .map(|p| dn::key_of(&p[3..]));
            if mta_server.is_some() && mdb_server.is_some() && mta_server != mdb_server {
                out.push(
                    "home attributes disagree: `homeMTA` and `homeMDB` are on different servers"
                        .into(),
                );
            }
        }
    }
    if let Some(g) = entry.first("msExchMailboxGuid") {
        if g.len() != 16 {
            out.push(format!("`msExchMailboxGuid` is {} bytes, not 16", g.len()));
        }
    }
    if let Some(s) = entry.first("msExchMasterAccountSid") {
        if binary::sid_bytes_to_text(s).is_none() {
            out.push("`msExchMasterAccountSid` is not a binary SID".into());
        }
    }
    let hidden = entry
        .first("msExchHideFromAddressLists")
        .is_some_and(|v| case_ignore_eq(v, b"TRUE"));
    if hidden && entry.has("showInAddressBook") {
        out.push("hidden from address lists but `showInAddressBook` is set: it still shows in those lists".into());
    }
    for t in [b"SMTP".as_slice(), b"X400"] {
        let primaries = entry
            .values("proxyAddresses")
            .filter(|p| crate::exchange::stamp::proxy_type(p) == t)
            .count();
        if primaries > 1 {
            out.push(format!(
                "{primaries} primary `{}` addresses in `proxyAddresses` (one per type)",
                String::from_utf8_lossy(t)
            ));
        }
    }
    if policy.org.target == Target::Exchange2007 && kind.is_recipient() {
        if let Some(a) = entry.first_str("mailNickname") {
            if !crate::exchange::alias::is_valid_alias(a) {
                out.push(format!(
                    "`mailNickname` `{a}` is not a valid Exchange 2007 alias"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::entry_of;

    fn policy() -> Policy {
        Policy::from_str_at(
            "[organization]\nname='C'\nadmin_group_legacy_dn='/o=C/ou=A'\norg_dn='CN=C,DC=x'\n",
            "p",
            None,
        )
        .unwrap()
    }

    #[test]
    fn findings_name_the_problem() {
        let p = policy();
        let broken = entry_of(
            "cn=a,dc=x",
            &[("objectClass", "user"), ("mailNickname", "a")],
        );
        assert!(lint(&broken, &p)[0].starts_with("broken recipient"));
        let mbx = entry_of(
            "cn=b,dc=x",
            &[
                ("objectClass", "user"),
                ("mailNickname", "b"),
                ("msExchHomeServerName", "/o=C"),
                ("targetAddress", "SMTP:b@y"),
                ("msExchMailboxGuid", "short"),
                ("proxyAddresses", "SMTP:b@x"),
                ("proxyAddresses", "SMTP:c@x"),
            ],
        );
        let f = lint(&mbx, &p);
        assert_eq!(f.len(), 3, "{f:?}");
        let ok = entry_of("cn=c,dc=x", &[("objectClass", "user")]);
        assert!(lint(&ok, &p).is_empty());
    }
}
