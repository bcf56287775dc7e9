//! The policy file (TOML): what to mail-enable, where mailboxes live, the recipient policies,
//! the address lists and the settings for the rules the reference leaves open.
//!
//! [`Policy::load`] reads and checks a file and reports *every* problem at once, each with
//! `file:line:column` and the key path (`recipient_policy[1].filter`), then compiles filters and
//! templates once for the engine. The key names are documented in `docs/policy.md`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::exchange::legacy_dn::Invalid;
use crate::exchange::template::{DuplicateBase, ExpandSettings, Template};
use crate::exchange::translit::Profile;
use crate::exchange::x400::{SurnameFallback, X400Settings};
use crate::filter::{Matcher, MatcherSet};
use crate::model::dn;

/// The Exchange version whose attributes are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Exchange 2000/2003 (the default).
    Exchange2003,
    /// Exchange 2007: also msExchRecipientTypeDetails, msExchRecipientDisplayType, msExchVersion.
    Exchange2007,
}

/// What to do when a generated X.400 address is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X400Duplicates {
    /// Do not generate it; warn (the default).
    Skip,
    /// Append a digit to `s=`.
    Suffix,
}

/// The `[organization]` table.
#[derive(Clone, Debug)]
pub struct Org {
    /// Organisation name.
    pub name: String,
    /// The administrative group's own legacyExchangeDN.
    pub admin_group_legacy_dn: String,
    /// The organisation object's DN.
    pub org_dn: String,
    /// Target version.
    pub target: Target,
}

/// A `[[server]]`.
#[derive(Clone, Debug)]
pub struct Server {
    /// Name (`SRV01`).
    pub name: String,
    /// The server object's DN.
    pub dn: String,
    /// Its normalised DN key.
    pub dn_key: Vec<u8>,
    /// Its legacyExchangeDN (the value of msExchHomeServerName).
    pub legacy_dn: String,
    /// Mailbox store DNs; the first is the default.
    pub stores: Vec<String>,
    /// `CN=Microsoft MTA,<server DN>` (see [`Server::mta_dn`]).
    mta_dn: String,
}

impl Server {
    /// A server named `name` at `dn` (whose key is `dn_key`).
    fn new(
        name: String,
        dn: String,
        dn_key: Vec<u8>,
        legacy_dn: String,
        stores: Vec<String>,
    ) -> Server {
        Server {
            mta_dn: ["CN=Microsoft MTA,", &dn].concat(),
            name,
            dn,
            dn_key,
            legacy_dn,
            stores,
        }
    }

    /// `CN=Microsoft MTA,<server DN>`: homeMTA of every mailbox on it.
    pub fn mta_dn(&self) -> &str {
        &self.mta_dn
    }
}

/// A `[[mailbox]]` rule.
#[derive(Clone, Debug)]
pub struct MailboxRule {
    /// Which objects.
    pub filter: Matcher,
    /// Index into [`Policy::servers`].
    pub server: usize,
    /// The store DN new mailboxes get.
    pub store: String,
    /// Alias template (`%m` is the sAMAccountName); `None` = sAMAccountName made valid.
    pub alias: Option<Template>,
    /// sAMAccountName or DN key (lower case) → external SID for linked mailboxes.
    pub linked_sids: HashMap<String, Vec<u8>>,
}

/// A `[[mail_user]]` or `[[contact]]` rule.
#[derive(Clone, Debug)]
pub struct TargetRule {
    /// Which objects.
    pub filter: Matcher,
    /// targetAddress template; `None` = `SMTP:` + the object's `mail`.
    pub target_address: Option<Template>,
    /// Alias template (`%m` is the default alias source); `None` = the default rule.
    pub alias: Option<Template>,
}

/// A `[[group]]` rule.
#[derive(Clone, Debug)]
pub struct GroupRule {
    /// Which groups.
    pub filter: Matcher,
    /// Alias template (`%m` is the sAMAccountName); `None` = sAMAccountName made valid.
    pub alias: Option<Template>,
}

/// How a legacyExchangeDN that is taken gets a unique variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyCollision {
    /// Append 8 hex characters derived from objectGUID (the Exchange 2007+ rule; default).
    Hash,
    /// Append 2, 3, 4 ... to the CN.
    Number,
}

/// Case of the GUIDs in Exchange 2007 msExchPoliciesIncluded values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuidCase {
    /// `{26491cfc-...}` (default).
    Lower,
    /// `{26491CFC-...}`.
    Upper,
}

/// A `[[recipient_policy]]`.
#[derive(Clone, Debug)]
pub struct RecipientPolicy {
    /// Name.
    pub name: String,
    /// Priority (lower wins).
    pub priority: i64,
    /// Filter.
    pub filter: Matcher,
    /// Enabled templates, in file order.
    pub templates: Vec<Template>,
    /// Disabled templates (shown in the UI, never generated).
    pub disabled: Vec<Template>,
    /// The policy object's objectGUID as `{XXXXXXXX-...}` upper case, if given.
    pub guid: Option<String>,
}

/// An `[[address_list]]` (or a default list).
#[derive(Clone, Debug)]
pub struct AddressList {
    /// Name.
    pub name: String,
    /// DN written into showInAddressBook.
    pub dn: String,
    /// Normalised DN key.
    pub dn_key: Vec<u8>,
    /// Filter.
    pub filter: Matcher,
}

/// The `[addresses]` settings.
#[derive(Clone, Debug)]
pub struct AddressSettings {
    /// Transliteration profile for SMTP local parts.
    pub transliteration: Profile,
    /// Base of the numbered retries.
    pub duplicate_base: DuplicateBase,
    /// X.400 conflicts.
    pub x400_duplicates: X400Duplicates,
    /// Remove whole address types that the policy lists as disabled.
    pub remove_disabled_types: bool,
    /// Template expansion settings.
    pub expand: ExpandSettings,
    /// X.400 generation settings.
    pub x400: X400Settings,
    /// Invalid characters in a legacyExchangeDN CN.
    pub legacy_dn_invalid: Invalid,
    /// Retries before giving up on an address (after the template itself).
    pub max_retries: u32,
    /// Take the X.400 template from the last policy that has one when the matching policy has
    /// none (every Exchange 2003 recipient needs an X.400 address).
    pub x400_from_default_policy: bool,
    /// legacyExchangeDN collisions.
    pub legacy_dn_collision: LegacyCollision,
    /// GUID case in Exchange 2007 msExchPoliciesIncluded.
    pub policies_included_case: GuidCase,
}

/// A compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Organisation.
    pub org: Org,
    /// Servers.
    pub servers: Vec<Server>,
    /// Mailbox-enabling rules.
    pub mailbox: Vec<MailboxRule>,
    /// Mail-user rules.
    pub mail_user: Vec<TargetRule>,
    /// Contact rules.
    pub contact: Vec<TargetRule>,
    /// Group rules.
    pub group: Vec<GroupRule>,
    /// Recipient policies sorted by priority (stable for equal priorities).
    pub recipient_policies: Vec<RecipientPolicy>,
    /// Address lists (defaults first when enabled).
    pub address_lists: Vec<AddressList>,
    /// The address lists' filters, in the same order, answered together for each object.
    pub address_list_filters: MatcherSet,
    /// Address settings.
    pub addresses: AddressSettings,
    /// Warnings found while loading (filters on RUS-maintained attributes ...).
    pub warnings: Vec<String>,
    /// Every store DN of the policy as written, with what [`Policy::server_of_store`] finds
    /// for it (most homeMDB values are one of these, byte for byte).
    store_servers: Vec<(Vec<u8>, Option<usize>)>,
}

impl Policy {
    /// The server of the mailbox store `home_mdb`: the `[[server]]` whose DN is three RDNs up
    /// from the store (store, storage group, InformationStore), compared as normalised DNs.
    pub fn server_of_store(&self, home_mdb: &[u8]) -> Option<&Server> {
        let index = match self.store_servers.iter().find(|(s, _)| s == home_mdb) {
            Some((_, known)) => *known,
            None => server_index_of_store(&self.servers, home_mdb),
        };
        index.map(|i| &self.servers[i])
    }
}

/// [`Policy::server_of_store`] by parsing: the index of the server, if any.
fn server_index_of_store(servers: &[Server], home_mdb: &[u8]) -> Option<usize> {
    let up = dn::parent(dn::parent(dn::parent(home_mdb)?)?)?;
    let key = dn::normalize(up).ok()?;
    servers.iter().position(|s| s.dn_key == key)
}

/// The e-mail address policy type GUID (`{26491CFC-9E50-4857-861B-0CB8DF22B5D7}`).
pub const EAP_GUID: &str = "{26491CFC-9E50-4857-861B-0CB8DF22B5D7}";

/// The five Exchange 2003 default address lists: (name, container, purportedSearch as stored).
pub const DEFAULT_LISTS: [(&str, &str, &str); 5] = [
    (
        "Default Global Address List",
        "CN=All Global Address Lists",
        "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=user)(!(homeMDB=*))(!(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=user)(|(homeMDB=*)(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=contact))(objectCategory=group)(objectCategory=publicFolder)(objectCategory=msExchDynamicDistributionList) ))",
    ),
    (
        "All Users",
        "CN=All Address Lists",
        "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=user)(!(homeMDB=*))(!(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=user)(|(homeMDB=*)(msExchHomeServerName=*))) ))",
    ),
    (
        "All Contacts",
        "CN=All Address Lists",
        "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=contact)) ))",
    ),
    (
        "All Groups",
        "CN=All Address Lists",
        "(& (mailnickname=*) (| (objectCategory=group) ))",
    ),
    (
        "Public Folders",
        "CN=All Address Lists",
        "(& (mailnickname=*) (| (objectCategory=publicFolder) ))",
    ),
];

// ---------------------------------------------------------------------------------------------
// The file format (serde)

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    organization: Spanned<OrgFile>,
    #[serde(default)]
    server: Vec<ServerFile>,
    #[serde(default)]
    mailbox: Vec<MailboxFile>,
    #[serde(default)]
    mail_user: Vec<TargetFile>,
    #[serde(default)]
    contact: Vec<TargetFile>,
    #[serde(default)]
    group: Vec<GroupFile>,
    #[serde(default)]
    recipient_policy: Vec<PolicyFile>,
    #[serde(default)]
    address_list: Vec<ListFile>,
    #[serde(default)]
    addresses: Option<AddressesFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgFile {
    name: Spanned<String>,
    admin_group_legacy_dn: Spanned<String>,
    org_dn: Spanned<String>,
    #[serde(default)]
    target: Option<Spanned<String>>,
    #[serde(default)]
    default_address_lists: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    name: Spanned<String>,
    dn: Spanned<String>,
    legacy_dn: Spanned<String>,
    stores: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailboxFile {
    filter: Spanned<String>,
    #[serde(default)]
    server: Option<Spanned<String>>,
    #[serde(default)]
    store: Option<Spanned<String>>,
    #[serde(default)]
    alias: Option<Spanned<String>>,
    #[serde(default)]
    linked_sids: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    filter: Spanned<String>,
    #[serde(default)]
    target_address: Option<Spanned<String>>,
    #[serde(default)]
    alias: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    filter: Spanned<String>,
    #[serde(default)]
    alias: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: Spanned<String>,
    priority: Spanned<i64>,
    filter: Spanned<String>,
    addresses: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    disabled_addresses: Vec<Spanned<String>>,
    #[serde(default)]
    guid: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    name: Spanned<String>,
    dn: Spanned<String>,
    filter: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressesFile {
    #[serde(default)]
    transliteration: Option<Spanned<String>>,
    #[serde(default)]
    duplicate_base: Option<Spanned<String>>,
    #[serde(default)]
    x400_duplicates: Option<Spanned<String>>,
    #[serde(default)]
    remove_disabled_types: bool,
    #[serde(default)]
    count_after_mapping: Option<bool>,
    #[serde(default)]
    x400_surname_fallback: Option<Spanned<String>>,
    #[serde(default)]
    x400_unrepresentable_name_is_empty: Option<bool>,
    #[serde(default)]
    legacy_dn_invalid: Option<Spanned<String>>,
    #[serde(default)]
    max_retries: Option<Spanned<u32>>,
    #[serde(default)]
    x400_from_default_policy: Option<bool>,
    #[serde(default)]
    legacy_dn_collision: Option<Spanned<String>>,
    #[serde(default)]
    policies_included_case: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Key path (`recipient_policy[1].filter`), empty for syntax errors.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyErrors {
    /// The file.
    pub file: String,
    /// The problems, in file order.
    pub problems: Vec<PolicyProblem>,
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: ", self.file, p.line, p.column)?;
            if !p.key.is_empty() {
                write!(f, "`{}`: ", p.key)?;
            }
            write!(f, "{}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

struct Collector<'a> {
    text: &'a str,
    problems: Vec<PolicyProblem>,
}

impl Collector<'_> {
    fn at(&mut self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.problems.push(PolicyProblem {
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }

    /// A problem at character `offset` inside the string value at `span` (skips the quote).
    fn inside(&mut self, span: Range<usize>, offset_chars: usize, key: String, message: String) {
        let start = span.start + 1;
        let byte = self.text[start.min(self.text.len())..]
            .char_indices()
            .nth(offset_chars)
            .map_or(start, |(b, _)| start + b);
        self.at(byte..byte, key, message);
    }

    fn filter(&mut self, s: &Spanned<String>, key: String) -> Option<Matcher> {
        match crate::filter::parse(s.get_ref()) {
            Ok(f) => Some(Matcher::new(f)),
            Err(e) => {
                self.inside(
                    s.span(),
                    e.column.saturating_sub(1),
                    key,
                    format!("invalid LDAP filter: {}", e.message),
                );
                None
            }
        }
    }

    fn template(&mut self, s: &Spanned<String>, key: String) -> Option<Template> {
        match Template::parse(s.get_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                let col = e.column.saturating_sub(1);
                self.inside(
                    s.span(),
                    col,
                    key,
                    format!("invalid address template: {}", without_column(&e)),
                );
                None
            }
        }
    }

    /// An alias template: the address template language without type and domain.
    fn alias(&mut self, a: &Spanned<String>, key: String) -> Option<Template> {
        let wrapped = format!("SMTP:{}@alias.invalid", a.get_ref());
        match Template::parse(&wrapped) {
            Ok(t) => Some(t),
            Err(e) => {
                let col = e.column.saturating_sub(6);
                let msg = format!("invalid alias template: {}", without_column(&e));
                self.inside(a.span(), col, key, msg);
                None
            }
        }
    }

    fn dn(&mut self, s: &Spanned<String>, key: String) -> Option<Vec<u8>> {
        match dn::normalize(s.get_ref().as_bytes()) {
            Ok(k) if !s.get_ref().trim().is_empty() => Some(k),
            Ok(_) => {
                self.at(s.span(), key, "a DN is required here");
                None
            }
            Err(e) => {
                self.inside(
                    s.span(),
                    e.offset,
                    key,
                    format!("invalid DN: {}", e.message),
                );
                None
            }
        }
    }
}

/// A template error's text without its own `column N:` prefix (the policy message already
/// gives file:line:column).
fn without_column(e: &crate::exchange::template::TemplateError) -> String {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("column ") => rest.to_string(),
        _ => text,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

// ---------------------------------------------------------------------------------------------
// Loading

impl Policy {
    /// Reads and compiles the policy file at `path` (relative files such as `linked_sids` are
    /// resolved against its directory).
    pub fn load(path: &Path) -> Result<Policy, crate::Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::io(path.display().to_string(), e))?;
        Policy::from_str_at(&text, &path.display().to_string(), path.parent())
            .map_err(|e| crate::Error::Policy(e.to_string()))
    }

    /// Compiles policy text; `name` is used in messages, `base` resolves relative paths.
    pub fn from_str_at(
        text: &str,
        name: &str,
        base: Option<&Path>,
    ) -> Result<Policy, PolicyErrors> {
        let mut c = Collector {
            text,
            problems: Vec::new(),
        };
        let file: File = match toml::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                c.at(span, "", e.message().to_string());
                return Err(PolicyErrors {
                    file: name.to_string(),
                    problems: c.problems,
                });
            }
        };
        let policy = compile(file, &mut c, base);
        if c.problems.is_empty() {
            if let Some(p) = policy {
                return Ok(p);
            }
        }
        c.problems.sort_by_key(|p| (p.line, p.column));
        Err(PolicyErrors {
            file: name.to_string(),
            problems: c.problems,
        })
    }
}

fn compile(file: File, c: &mut Collector<'_>, base: Option<&Path>) -> Option<Policy> {
    let mut warnings = Vec::new();
    let org_file = file.organization.into_inner();
    let target_name = org_file
        .target
        .as_ref()
        .map(|t| t.get_ref().to_ascii_lowercase());
    let target = match target_name.as_deref() {
        None | Some("exchange2003") => Target::Exchange2003,
        Some("exchange2007") => Target::Exchange2007,
        Some(other) => {
            if let Some(t) = &org_file.target {
                c.at(
                    t.span(),
                    "organization.target",
                    format!("unknown target `{other}`: expected `exchange2003` or `exchange2007`"),
                );
            }
            Target::Exchange2003
        }
    };
    let ag = org_file
        .admin_group_legacy_dn
        .get_ref()
        .trim_end_matches('/');
    if !ag.starts_with("/o=") {
        c.at(
            org_file.admin_group_legacy_dn.span(),
            "organization.admin_group_legacy_dn",
            "expected the administrative group's legacyExchangeDN, e.g. `/o=Contoso/ou=First Administrative Group`",
        );
    }
    let org_key = c.dn(&org_file.org_dn, "organization.org_dn".into());
    let org = Org {
        name: org_file.name.get_ref().clone(),
        admin_group_legacy_dn: ag.to_string(),
        org_dn: org_file.org_dn.get_ref().clone(),
        target,
    };

    // Servers.
    let mut servers = Vec::new();
    for (i, s) in file.server.iter().enumerate() {
        let key = c.dn(&s.dn, format!("server[{i}].dn")).unwrap_or_default();
        let mut stores = Vec::new();
        if s.stores.get_ref().is_empty() {
            c.at(
                s.stores.span(),
                format!("server[{i}].stores"),
                "a server needs at least one mailbox store DN",
            );
        }
        for (j, st) in s.stores.get_ref().iter().enumerate() {
            if let Some(sk) = c.dn(st, format!("server[{i}].stores[{j}]")) {
                // store, storage group, InformationStore, then the server
                let parts = dn::parse(st.get_ref().as_bytes()).unwrap_or_default();
                if parts.len() > 3 && dn::key_of(&parts[3..]) != key && !key.is_empty() {
                    c.at(
                        st.span(),
                        format!("server[{i}].stores[{j}]"),
                        "this store is not under the server's DN (expected `CN=<store>,CN=<storage group>,CN=InformationStore,<server dn>`)",
                    );
                }
                let _ = sk;
            }
            stores.push(st.get_ref().clone());
        }
        if !s.legacy_dn.get_ref().starts_with("/o=") {
            c.at(s.legacy_dn.span(), format!("server[{i}].legacy_dn"), "expected a legacyExchangeDN such as `/o=Org/ou=AG/cn=Configuration/cn=Servers/cn=SRV01`");
        }
        if servers
            .iter()
            .any(|x: &Server| x.name.eq_ignore_ascii_case(s.name.get_ref()))
        {
            c.at(
                s.name.span(),
                format!("server[{i}].name"),
                format!("duplicate server name `{}`", s.name.get_ref()),
            );
        }
        servers.push(Server::new(
            s.name.get_ref().clone(),
            s.dn.get_ref().clone(),
            key,
            s.legacy_dn.get_ref().clone(),
            stores,
        ));
    }

    // Mailbox rules.
    let mut mailbox = Vec::new();
    for (i, m) in file.mailbox.iter().enumerate() {
        let filter = c.filter(&m.filter, format!("mailbox[{i}].filter"));
        let (server, store) = match (&m.server, &m.store) {
            (Some(s), None) => match servers
                .iter()
                .position(|x| x.name.eq_ignore_ascii_case(s.get_ref()))
            {
                Some(idx) => (Some(idx), servers[idx].stores.first().cloned()),
                None => {
                    c.at(
                        s.span(),
                        format!("mailbox[{i}].server"),
                        format!(
                            "unknown server `{}` (known: {})",
                            s.get_ref(),
                            servers
                                .iter()
                                .map(|x| x.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    (None, None)
                }
            },
            (None, Some(st)) => {
                let k = c.dn(st, format!("mailbox[{i}].store"));
                let found = servers.iter().position(|x| {
                    x.stores
                        .iter()
                        .any(|s2| Some(dn::key_lossy(s2.as_bytes())) == k)
                });
                if found.is_none() && k.is_some() {
                    c.at(
                        st.span(),
                        format!("mailbox[{i}].store"),
                        "this store is not listed under any [[server]]",
                    );
                }
                (found, Some(st.get_ref().clone()))
            }
            (Some(s), Some(_)) => {
                c.at(
                    s.span(),
                    format!("mailbox[{i}]"),
                    "give either `server` or `store`, not both",
                );
                (None, None)
            }
            (None, None) => {
                c.at(
                    m.filter.span(),
                    format!("mailbox[{i}]"),
                    "a mailbox rule needs `server` or `store`",
                );
                (None, None)
            }
        };
        let alias = m
            .alias
            .as_ref()
            .and_then(|a| c.alias(a, format!("mailbox[{i}].alias")));
        let linked = match &m.linked_sids {
            None => HashMap::new(),
            Some(p) => match load_linked_sids(p.get_ref(), base) {
                Ok(map) => map,
                Err(msg) => {
                    c.at(p.span(), format!("mailbox[{i}].linked_sids"), msg);
                    HashMap::new()
                }
            },
        };
        if let (Some(filter), Some(server), Some(store)) = (filter, server, store) {
            mailbox.push(MailboxRule {
                filter,
                server,
                store,
                alias,
                linked_sids: linked,
            });
        }
    }

    let target_rules = |rules: &[TargetFile], section: &str, c: &mut Collector<'_>| {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let filter = c.filter(&r.filter, format!("{section}[{i}].filter"));
            let t = match &r.target_address {
                None => Some(None),
                Some(ta) => {
                    let tp = c.template(ta, format!("{section}[{i}].target_address"));
                    if tp.as_ref().is_some_and(Template::is_x400) {
                        c.at(ta.span(), format!("{section}[{i}].target_address"), "an X.400 targetAddress template is not supported; use an SMTP template");
                    }
                    tp.map(Some)
                }
            };
            let alias = r
                .alias
                .as_ref()
                .map(|a| c.alias(a, format!("{section}[{i}].alias")));
            if let (Some(filter), Some(target_address), Some(alias)) =
                (filter, t, alias.map_or(Some(None), |a| a.map(Some)))
            {
                out.push(TargetRule {
                    filter,
                    target_address,
                    alias,
                });
            }
        }
        out
    };
    let mail_user = target_rules(&file.mail_user, "mail_user", c);
    let contact = target_rules(&file.contact, "contact", c);
    let group: Vec<GroupRule> = file
        .group
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let filter = c.filter(&g.filter, format!("group[{i}].filter"));
            let alias = match &g.alias {
                None => Some(None),
                Some(a) => c.alias(a, format!("group[{i}].alias")).map(Some),
            };
            Some(GroupRule {
                filter: filter?,
                alias: alias?,
            })
        })
        .collect();

    // Recipient policies.
    let mut policies = Vec::new();
    for (i, p) in file.recipient_policy.iter().enumerate() {
        let filter = c.filter(&p.filter, format!("recipient_policy[{i}].filter"));
        if let Some(f) = &filter {
            let used = f.filter().attributes();
            for a in [
                "showinaddressbook",
                "proxyaddresses",
                "mail",
                "memberof",
                "textencodedoraddress",
            ] {
                if used.iter().any(|u| u == a) {
                    warnings.push(format!(
                        "recipient policy `{}` filters on `{a}`, which the RUS maintains itself: results can differ between runs (KB 304516)",
                        p.name.get_ref()
                    ));
                }
            }
        }
        let mut templates = Vec::new();
        let mut primaries: Vec<String> = Vec::new();
        for (j, t) in p.addresses.get_ref().iter().enumerate() {
            if let Some(tp) = c.template(t, format!("recipient_policy[{i}].addresses[{j}]")) {
                for note in &tp.notes {
                    warnings.push(format!(
                        "recipient policy `{}`, template `{}`: {note}",
                        p.name.get_ref(),
                        t.get_ref()
                    ));
                }
                if tp.primary {
                    let k = tp.kind.to_ascii_lowercase();
                    if primaries.contains(&k) {
                        c.at(
                            t.span(),
                            format!("recipient_policy[{i}].addresses[{j}]"),
                            format!(
                                "a second primary `{}` template: one primary per address type",
                                tp.kind
                            ),
                        );
                    }
                    primaries.push(k);
                }
                templates.push(tp);
            }
        }
        if p.addresses.get_ref().is_empty() {
            c.at(
                p.addresses.span(),
                format!("recipient_policy[{i}].addresses"),
                "a recipient policy needs at least one address template",
            );
        }
        let mut disabled = Vec::new();
        for (j, t) in p.disabled_addresses.iter().enumerate() {
            if let Some(tp) =
                c.template(t, format!("recipient_policy[{i}].disabled_addresses[{j}]"))
            {
                disabled.push(tp);
            }
        }
        let guid = p.guid.as_ref().and_then(|g| {
            match crate::model::binary::guid_text_to_bytes(g.get_ref()) {
                Some(b) => crate::model::binary::guid_bytes_to_text(&b)
                    .map(|t| format!("{{{}}}", t.to_ascii_uppercase())),
                None => {
                    c.at(
                        g.span(),
                        format!("recipient_policy[{i}].guid"),
                        "expected a GUID such as `{5A4B3C2D-1E0F-4A5B-8C7D-6E5F4A3B2C1D}`",
                    );
                    None
                }
            }
        });
        if guid.is_none() && p.guid.is_none() {
            warnings.push(format!(
                "recipient policy `{}` has no `guid`: msExchPoliciesIncluded is not written for it",
                p.name.get_ref()
            ));
        }
        if let Some(filter) = filter {
            policies.push(RecipientPolicy {
                name: p.name.get_ref().clone(),
                priority: *p.priority.get_ref(),
                filter,
                templates,
                disabled,
                guid,
            });
        }
    }
    policies.sort_by_key(|p| p.priority);
    for w in policies.windows(2) {
        if w[0].priority == w[1].priority {
            warnings.push(format!(
                "recipient policies `{}` and `{}` share priority {}: file order decides",
                w[0].name, w[1].name, w[0].priority
            ));
        }
    }

    // Address lists.
    let mut address_lists = Vec::new();
    if org_file.default_address_lists {
        if let Some(_k) = &org_key {
            for (name, container, filter) in DEFAULT_LISTS {
                let dn_text = format!(
                    "CN={name},{container},CN=Address Lists Container,{}",
                    org.org_dn
                );
                if let Ok(f) = crate::filter::parse(filter) {
                    address_lists.push(AddressList {
                        name: name.to_string(),
                        dn_key: dn::key_lossy(dn_text.as_bytes()),
                        dn: dn_text,
                        filter: Matcher::new(f),
                    });
                }
            }
        }
    }
    for (i, l) in file.address_list.iter().enumerate() {
        let filter = c.filter(&l.filter, format!("address_list[{i}].filter"));
        let key = c.dn(&l.dn, format!("address_list[{i}].dn"));
        if let (Some(filter), Some(dn_key)) = (filter, key) {
            if address_lists
                .iter()
                .any(|a: &AddressList| a.dn_key == dn_key)
            {
                c.at(l.dn.span(), format!("address_list[{i}].dn"), "this address list is already defined (default_address_lists adds the five defaults)");
                continue;
            }
            address_lists.push(AddressList {
                name: l.name.get_ref().clone(),
                dn: l.dn.get_ref().clone(),
                dn_key,
                filter,
            });
        }
    }

    // [addresses]
    let a = file.addresses.unwrap_or(AddressesFile {
        transliteration: None,
        duplicate_base: None,
        x400_duplicates: None,
        remove_disabled_types: false,
        count_after_mapping: None,
        x400_surname_fallback: None,
        x400_unrepresentable_name_is_empty: None,
        legacy_dn_invalid: None,
        max_retries: None,
        x400_from_default_policy: None,
        legacy_dn_collision: None,
        policies_included_case: None,
    });
    let mut choose = |v: &Option<Spanned<String>>, key: &str, options: &[&str]| -> usize {
        match v {
            None => 0,
            Some(s) => match options
                .iter()
                .position(|o| o.eq_ignore_ascii_case(s.get_ref()))
            {
                Some(i) => i,
                None => {
                    c.at(
                        s.span(),
                        format!("addresses.{key}"),
                        format!(
                            "unknown value `{}`: expected one of {}",
                            s.get_ref(),
                            options.join(", ")
                        ),
                    );
                    0
                }
            },
        }
    };
    let transliteration = [Profile::E2007, Profile::Sdk, Profile::Nordic][choose(
        &a.transliteration,
        "transliteration",
        &["e2007", "sdk", "nordic"],
    )];
    let duplicate_base = [DuplicateBase::Alias, DuplicateBase::Template]
        [choose(&a.duplicate_base, "duplicate_base", &["alias", "template"])];
    let x400_duplicates = [X400Duplicates::Skip, X400Duplicates::Suffix]
        [choose(&a.x400_duplicates, "x400_duplicates", &["skip", "suffix"])];
    let surname_fallback = [SurnameFallback::Alias, SurnameFallback::DisplayThenAlias][choose(
        &a.x400_surname_fallback,
        "x400_surname_fallback",
        &["alias", "display-then-alias"],
    )];
    let legacy_dn_invalid = match choose(
        &a.legacy_dn_invalid,
        "legacy_dn_invalid",
        &["remove", "underscore"],
    ) {
        1 => Invalid::Replace('_'),
        _ => Invalid::Remove,
    };
    let legacy_dn_collision = [LegacyCollision::Hash, LegacyCollision::Number][choose(
        &a.legacy_dn_collision,
        "legacy_dn_collision",
        &["hash", "number"],
    )];
    let policies_included_case = [GuidCase::Lower, GuidCase::Upper][choose(
        &a.policies_included_case,
        "policies_included_case",
        &["lower", "upper"],
    )];
    let max_retries = a.max_retries.as_ref().map_or(20, |m| *m.get_ref());
    if let Some(m) = &a.max_retries {
        if *m.get_ref() < 1 {
            c.at(m.span(), "addresses.max_retries", "must be at least 1");
        }
    }
    if c.problems.is_empty() && org_key.is_some() {
        let store_servers = servers
            .iter()
            .flat_map(|s| &s.stores)
            .map(|st| {
                let st = st.as_bytes();
                (st.to_vec(), server_index_of_store(&servers, st))
            })
            .collect();
        Some(Policy {
            store_servers,
            org,
            servers,
            mailbox,
            mail_user,
            contact,
            group,
            recipient_policies: policies,
            address_list_filters: MatcherSet::new(
                address_lists.iter().map(|l| l.filter.clone()).collect(),
            ),
            address_lists,
            addresses: AddressSettings {
                transliteration,
                duplicate_base,
                x400_duplicates,
                remove_disabled_types: a.remove_disabled_types,
                expand: ExpandSettings {
                    count_after_mapping: a.count_after_mapping.unwrap_or(true),
                },
                x400: X400Settings {
                    unrepresentable_name_is_empty: a
                        .x400_unrepresentable_name_is_empty
                        .unwrap_or(true),
                    surname_fallback,
                },
                legacy_dn_invalid,
                max_retries,
                x400_from_default_policy: a.x400_from_default_policy.unwrap_or(true),
                legacy_dn_collision,
                policies_included_case,
            },
            warnings,
        })
    } else {
        None
    }
}

/// Reads `linked_sids`: a CSV of `account,sid` rows (account = sAMAccountName or DN; SID as
/// `S-1-5-...`). A header row is allowed.
fn load_linked_sids(path: &str, base: Option<&Path>) -> Result<HashMap<String, Vec<u8>>, String> {
    let p = match base {
        Some(b) if Path::new(path).is_relative() => b.join(path),
        _ => Path::new(path).to_path_buf(),
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&p)
        .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
    let mut map = HashMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("`{}`: {e}", p.display()))?;
        let (Some(account), Some(sid)) = (rec.get(0), rec.get(1)) else {
            return Err(format!(
                "`{}` row {}: expected `account,sid`",
                p.display(),
                i + 1
            ));
        };
        let account = account.trim();
        if i == 0 && !sid.trim().starts_with("S-") {
            continue; // header
        }
        let bytes = crate::model::binary::sid_text_to_bytes(sid.trim())
            .ok_or_else(|| format!("`{}` row {}: `{sid}` is not a SID", p.display(), i + 1))?;
        let key = if account.contains('=') {
            String::from_utf8_lossy(&dn::key_lossy(account.as_bytes())).into_owned()
        } else {
            account.to_lowercase()
        };
        map.insert(key, bytes);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[organization]
name = "Corp"
admin_group_legacy_dn = "/o=Corp/ou=First Administrative Group"
org_dn = "CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=corp,DC=example,DC=com"
default_address_lists = true

[[server]]
name = "SRV01"
dn = "CN=SRV01,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=corp,DC=example,DC=com"
legacy_dn = "/o=Corp/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=SRV01"
stores = ["CN=Mailbox Store (SRV01),CN=First Storage Group,CN=InformationStore,CN=SRV01,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,CN=Corp,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=corp,DC=example,DC=com"]

[[mailbox]]
filter = "(&(objectCategory=person)(objectClass=user))"
server = "SRV01"

[[recipient_policy]]
name = "Default Policy"
priority = 100
filter = "(mailnickname=*)"
addresses = ["SMTP:@corp.example.com", "X400:c=US;a= ;p=Corp;o=Exchange;"]
guid = "{5A4B3C2D-1E0F-4A5B-8C7D-6E5F4A3B2C1D}"
"#;

    #[test]
    fn a_good_policy_compiles() {
        let p = Policy::from_str_at(GOOD, "p.toml", None).unwrap();
        assert_eq!(p.address_lists.len(), 5);
        assert_eq!(p.mailbox[0].store, p.servers[0].stores[0]);
        assert_eq!(
            p.recipient_policies[0].guid.as_deref(),
            Some("{5A4B3C2D-1E0F-4A5B-8C7D-6E5F4A3B2C1D}")
        );
    }

    #[test]
    fn the_server_of_a_store_is_found_as_written_and_as_any_spelling_of_it() {
        let p = Policy::from_str_at(GOOD, "p.toml", None).unwrap();
        let store = p.servers[0].stores[0].clone();
        assert_eq!(
            p.server_of_store(store.as_bytes()).map(|s| &s.name),
            Some(&p.servers[0].name)
        );
        // Not the store as written: found by parsing, the same server.
        let other = store.to_ascii_lowercase().replace(",cn=", ", CN=");
        assert_eq!(
            p.server_of_store(other.as_bytes()).map(|s| &s.name),
            Some(&p.servers[0].name)
        );
        let elsewhere = store.replace("CN=SRV01,", "CN=SRV09,");
        assert!(p.server_of_store(elsewhere.as_bytes()).is_none());
        assert!(p.server_of_store(b"CN=x").is_none());
    }

    #[test]
    fn every_problem_is_reported_with_line_column_and_key() {
        let bad = GOOD
            .replace("server = \"SRV01\"", "server = \"SRV09\"")
            .replace("(mailnickname=*)", "(mailnickname=*")
            .replace("SMTP:@corp.example.com", "SMTP:%q@corp.example.com");
        let err = Policy::from_str_at(&bad, "p.toml", None).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 3, "{text}");
        assert!(
            text.contains("`mailbox[0].server`: unknown server `SRV09`"),
            "{text}"
        );
        assert!(
            text.contains("`recipient_policy[0].filter`: invalid LDAP filter"),
            "{text}"
        );
        assert!(
            text.contains("`recipient_policy[0].addresses[0]`: invalid address template"),
            "{text}"
        );
        let srv = err
            .problems
            .iter()
            .find(|p| p.key == "mailbox[0].server")
            .unwrap();
        assert_eq!(GOOD.lines().nth(srv.line - 1), Some("server = \"SRV01\""));
        assert_eq!(srv.column, 10);
    }

    #[test]
    fn toml_syntax_errors_have_a_position() {
        let err = Policy::from_str_at("[organization\nname=1", "p.toml", None).unwrap_err();
        assert_eq!(err.problems[0].line, 1);
        let err = Policy::from_str_at(
            &GOOD.replace("priority = 100", "priority = 100\nbogus = 1"),
            "p.toml",
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }
}
