//! What the RUS stamps on one object: mail-enabling rules, system policy, recipient policy,
//! address lists and server-group membership (reference sections 0-10), as pure functions.
//!
//! [`Engine::prepare`] runs in both passes and says what the object needs from the
//! forest-wide allocation ([`Prepared::claim`]); [`Engine::finish`] takes the allocation and
//! returns the desired values of every attribute the RUS owns, which [`crate::plan`] turns into
//! a minimal modify record. Evaluation order per object: mail-enabling, then system policy, then
//! recipient policy (its filter sees the mail-enabled state), then address lists (they see the
//! stamped state).

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::ops::Range;

use crate::exchange::alias;
use crate::exchange::legacy_dn;
use crate::exchange::recipient::{self, classify, family, Family, Has, Kind};
use crate::exchange::template::{RecipientFields, Template};
use crate::exchange::uniqueness::{
    AllocSettings, Allocation, Claim, Decisions, Wanted, WantedCow, LEGACY_SLOT,
};
use crate::exchange::x400::X400Fields;
use crate::filter::{AttrName, AttrSource, Facts, Matcher, Subject};
use crate::model::entry::{keep_spare, take_spare};
use crate::model::entry::{Desc, Name};
use crate::model::schema::case_ignore_eq;
use crate::model::{binary, dn, Entry};
use crate::name;
use crate::policy::{GuidCase, Policy, Target, EAP_GUID};

/// When addresses are generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Exchange 2003: an address type is generated only for objects that have none of it.
    NewOnly,
    /// "Apply this policy now": regenerate by policy, keep old addresses, demote old primaries.
    ApplyPolicy,
}

/// Run settings the engine needs besides the policy.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// Address generation mode.
    pub mode: Mode,
    /// Seed for msExchMailboxGuid derivation.
    pub guid_seed: u64,
    /// Only objects under this normalised DN are stamped.
    pub scope_key: Option<Vec<u8>>,
}

/// The engine: a policy and settings.
pub struct Engine<'a> {
    /// The compiled policy.
    pub policy: &'a Policy,
    /// Run settings.
    pub settings: &'a EngineSettings,
    /// Every domain's Exchange Domain Servers group (DN as written), from pass 1.
    pub eds_groups: &'a [Vec<u8>],
}

/// An entry plus planned values (an override replaces all values; empty = absent).
///
/// The planned values lie one after another in one buffer, whatever the attribute: setting
/// a value copies it there, and a state costs a few allocations however many values it plans
/// (a vector per value cost one allocation and one free each, and a vector per attribute one
/// more).
pub struct State<'a> {
    entry: &'a Entry,
    /// The overrides in the order they were first set: the name, and where its values are in
    /// `spans`.
    overrides: Vec<(Name, Range<usize>)>,
    /// Where each planned value is in `text` (a replaced override's values stay, unused).
    spans: Vec<Range<usize>>,
    text: Vec<u8>,
    /// [`name_bit`] of every overridden name: a name whose bit is clear has no override.
    names: u64,
    /// What filters read of the object's classes and categories, which stamping never
    /// changes: shared by every filter evaluated on the entry or on any state of it.
    facts: OnceCell<Facts>,
}

/// One of 64 bits chosen by a name's [`attr_key`] (names equal but for ASCII case share it).
fn name_bit(key: u64) -> u64 {
    1 << (key >> 58)
}

impl Drop for State<'_> {
    fn drop(&mut self) {
        if self.text.capacity() > SPARE_TEXT_MAX {
            return;
        }
        let mut buffers = (
            std::mem::take(&mut self.overrides),
            std::mem::take(&mut self.spans),
            std::mem::take(&mut self.text),
        );
        buffers.0.clear();
        buffers.1.clear();
        buffers.2.clear();
        keep_spare(&SPARE_BUFFERS, buffers, SPARE_STATES);
    }
}

/// The values a [`State`] plans for one attribute, in the order they were set.
#[derive(Clone)]
pub struct Planned<'s> {
    spans: std::slice::Iter<'s, Range<usize>>,
    text: &'s [u8],
}

impl<'s> Iterator for Planned<'s> {
    type Item = &'s [u8];

    #[inline]
    fn next(&mut self) -> Option<&'s [u8]> {
        self.spans.next().and_then(|r| self.text.get(r.clone()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for Planned<'_> {}

/// The buffers of a dropped [`State`], kept for the next one made on the same thread: a
/// state lives for one object, and its three vectors would otherwise be allocated (and grown
/// a few times) again for every object, twice per claiming object.
type Buffers = (Vec<(Name, Range<usize>)>, Vec<Range<usize>>, Vec<u8>);

thread_local! {
    static SPARE_BUFFERS: RefCell<Vec<Buffers>> =
        const { RefCell::new(Vec::new()) };
}

/// Spare buffers kept per thread (states nest a few deep at most).
const SPARE_STATES: usize = 8;
/// Text capacity above which a state's buffer is freed rather than kept.
const SPARE_TEXT_MAX: usize = 1 << 16;

impl<'a> State<'a> {
    fn new(entry: &'a Entry) -> Self {
        let (overrides, spans, text) = take_spare(&SPARE_BUFFERS).unwrap_or_default();
        State {
            entry,
            overrides,
            spans,
            text,
            names: 0,
            facts: OnceCell::new(),
        }
    }

    /// This state, for filters.
    fn subject(&self) -> Subject<'_, Self> {
        Subject::sharing(self, &self.facts)
    }

    /// The entry as exported, for filters.
    fn entry_subject(&self) -> Subject<'_, Entry> {
        Subject::sharing(self.entry, &self.facts)
    }

    /// The first of `rules` whose filter the entry as exported matches, with its index; the
    /// rules share one subject (and so its presence answers).
    fn first_match<'r, R>(
        &self,
        rules: &'r [R],
        filter: impl Fn(&R) -> &Matcher,
    ) -> Option<(usize, &'r R)> {
        let subject = self.entry_subject();
        rules
            .iter()
            .enumerate()
            .find(|(_, r)| filter(r).matches_in(&subject))
    }

    /// The values planned at `spans`.
    fn planned(&self, spans: &Range<usize>) -> Planned<'_> {
        Planned {
            spans: self.spans.get(spans.clone()).unwrap_or(&[]).iter(),
            text: &self.text,
        }
    }

    /// The override of `attr`, if any. Names are compared by key first; the scan is skipped
    /// when no override can match.
    #[inline]
    fn find(&self, attr: impl Desc) -> Option<Planned<'_>> {
        let key = attr.key();
        if self.names & name_bit(key) == 0 {
            return None;
        }
        self.overrides
            .iter()
            .find(|(n, _)| crate::model::entry::desc_eq(*n, attr))
            .map(|(_, r)| self.planned(r))
    }

    /// The values of `attr` in this state.
    pub fn values(&self, attr: impl Desc) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        match self.find(attr) {
            Some(v) => Values::Planned(v),
            None => Values::Exported(self.entry.values(attr)),
        }
    }

    /// The first value as text.
    pub fn text(&self, attr: impl Desc) -> Option<Cow<'_, str>> {
        let v = match self.find(attr) {
            Some(mut v) => v.next(),
            None => self.entry.first(attr),
        }?;
        Some(crate::model::lossy(v))
    }

    /// Sets `attr` (canonical name) to `values`.
    pub fn set<V: AsRef<[u8]>>(&mut self, attr: Name, values: impl IntoIterator<Item = V>) {
        debug_assert!(
            stamped_index(attr).is_some(),
            "`{}` must be listed in STAMPED to be spooled",
            attr.as_str()
        );
        debug_assert!(
            !attr.as_str().eq_ignore_ascii_case("objectClass")
                && !attr.as_str().eq_ignore_ascii_case("objectCategory"),
            "the filter facts assume classes and categories are never stamped"
        );
        let spans = self.append(values);
        if self.names & name_bit(attr.key()) != 0 {
            if let Some(slot) = self.overrides.iter_mut().find(|(n, _)| *n == attr) {
                slot.1 = spans;
                return;
            }
        }
        self.push_new(attr, spans);
    }

    /// Copies `values` after the planned values; returns where they are in `spans`.
    fn append<V: AsRef<[u8]>>(&mut self, values: impl IntoIterator<Item = V>) -> Range<usize> {
        if self.text.capacity() == 0 {
            // Room for what stamping an object usually plans: no regrowing as a state fills.
            self.text.reserve(STATE_TEXT);
            self.spans.reserve(STATE_VALUES);
        }
        let first = self.spans.len();
        for v in values {
            let at = self.text.len();
            self.text.extend_from_slice(v.as_ref());
            self.spans.push(at..self.text.len());
        }
        first..self.spans.len()
    }

    /// Adds an override for `attr`, which has none yet, of the values at `spans`.
    fn push_new(&mut self, attr: Name, spans: Range<usize>) {
        if self.overrides.capacity() == 0 {
            // Room for every attribute the engine may set: no regrowing as a state fills.
            self.overrides.reserve_exact(STAMPED.len());
        }
        self.names |= name_bit(attr.key());
        self.overrides.push((attr, spans));
    }

    fn set_one(&mut self, attr: Name, value: impl AsRef<[u8]>) {
        self.set(attr, [value]);
    }

    /// The planned overrides, in the order they were first set.
    pub fn overrides(&self) -> impl ExactSizeIterator<Item = (&Name, Planned<'_>)> + Clone + '_ {
        self.overrides.iter().map(|(n, r)| (n, self.planned(r)))
    }

    /// The entry underneath.
    pub fn entry(&self) -> &'a Entry {
        self.entry
    }
}

/// Bytes a state makes room for at its first value: an object's planned values (a stamped
/// mailbox plans about 1.5 KB, DNs mostly).
const STATE_TEXT: usize = 2048;
/// Values a state makes room for at its first value.
const STATE_VALUES: usize = 32;

impl Has for State<'_> {
    fn has(&self, attr: impl Desc) -> bool {
        match self.find(attr) {
            Some(v) => v.len() > 0,
            None => self.entry.has(attr),
        }
    }
}

impl AttrSource for State<'_> {
    fn any_value(&self, attr: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        match self.find(attr) {
            Some(mut v) => v.any(f),
            None => self.entry.any_value(attr, f),
        }
    }

    fn any_value_named(&self, attr: &AttrName, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        match self.find(attr) {
            Some(mut v) => v.any(f),
            None => self.entry.any_value_named(attr, f),
        }
    }

    fn dn(&self) -> Option<&[u8]> {
        Some(self.entry.dn())
    }
}

/// The values [`State::values`] yields: planned, or as exported.
#[derive(Clone)]
enum Values<'a, I> {
    Planned(Planned<'a>),
    Exported(I),
}

impl<'a, I: Iterator<Item = &'a [u8]>> Iterator for Values<'a, I> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Values::Planned(v) => v.next(),
            Values::Exported(e) => e.next(),
        }
    }
}

/// The mail-enabling rule that applied to an object: its section of the policy and its place
/// there (shown as `mailbox[0]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnabledBy {
    /// One of [`EnabledBy::SECTIONS`].
    pub section: &'static str,
    /// The rule's place in its section, from 0.
    pub index: usize,
}

impl EnabledBy {
    /// The sections of the policy whose rules mail-enable objects.
    pub const SECTIONS: [&'static str; 4] = ["mailbox", "mail_user", "contact", "group"];
}

impl std::fmt::Display for EnabledBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.section, self.index)
    }
}

/// What [`Engine::prepare`] found.
pub struct Prepared<'a> {
    /// The working state.
    pub state: State<'a>,
    /// The kind after mail-enabling.
    pub kind: Kind,
    /// Whether the object is inside `--scope-base`.
    pub in_scope: bool,
    /// The mail-enabling rule that applied (`mailbox[0]` ...).
    pub enabled_by: Option<EnabledBy>,
    /// Index of the recipient policy that applies.
    pub policy: Option<usize>,
    /// Addresses to allocate, with the (policy, template) each comes from. Their strings
    /// are borrowed when the preparation is read back from the spool.
    pub wanted: Vec<((usize, usize), WantedCow<'a>)>,
    /// Base CN when a legacyExchangeDN is needed.
    pub legacy: Option<Cow<'a, str>>,
    /// Observations for the report.
    pub warnings: Vec<String>,
    /// Pre-set `mail` / `textEncodedORAddress` promoted to primary (new-only mode).
    promoted: Vec<String>,
}

impl Prepared<'_> {
    /// Values this object will hold without allocation: a pre-set `mail` or
    /// `textEncodedORAddress` promoted to primary (`SMTP:...`, `X400:...`).
    pub fn promoted(&self) -> &[String] {
        &self.promoted
    }

    /// The claim this object makes in the allocation pass (`None` when it needs nothing).
    pub fn claim(&self, seq: u32) -> Option<Claim> {
        let (guid, dn) = self.claim_identity()?;
        // Copied into one buffer, not moved out of the preparation: claims live until the
        // allocation (moving the strings cost 100 MB of peak RSS at 1M objects).
        Some(Claim::new(
            seq,
            self.state.entry().first(name!("whenCreated")),
            guid,
            self.wanted.iter().map(|(_, w)| w.as_ref()),
            self.legacy.as_deref().map(|b| (b, &*dn)),
        ))
    }

    /// What `decisions` give this object as claim number `i`, as
    /// [`Decisions::allocation`](crate::exchange::uniqueness::Decisions::allocation) of
    /// [`Prepared::claim`] would, without building the claim. `None` when it claims nothing.
    pub fn allocation(
        &self,
        decisions: &Decisions,
        i: usize,
        settings: &AllocSettings,
        tell: bool,
    ) -> Option<Allocation> {
        let (guid, dn) = self.claim_identity()?;
        let legacy = self.legacy.as_deref().map(|b| (b, &*dn));
        Some(decisions.allocation_of(
            i,
            self.wanted.iter().map(|(_, w)| w.as_ref()),
            legacy,
            guid.as_ref(),
            settings,
            tell,
        ))
    }

    /// The `objectGUID` and the DN a claim of this object carries, `None` when it claims
    /// nothing. The DN only matters without a GUID (`legacy_dn::collision_suffix`), for a
    /// legacyExchangeDN: claims are held for every object at once, so it is empty otherwise.
    fn claim_identity(&self) -> Option<(Option<[u8; 16]>, Cow<'_, str>)> {
        if self.wanted.is_empty() && self.legacy.is_none() {
            return None;
        }
        let e = self.state.entry();
        let guid: Option<[u8; 16]> = e.first(name!("objectGUID")).and_then(|g| g.try_into().ok());
        let dn = match guid {
            None if self.legacy.is_some() => e.dn_lossy(),
            _ => Cow::Borrowed(""),
        };
        Some((guid, dn))
    }
}

/// Every attribute the engine may set on a [`State`]: a spooled state names its overrides by
/// their position here (see [`Prepared::spool`]).
const STAMPED: [Name; 25] = [
    name!("displayName"),
    name!("homeMDB"),
    name!("homeMTA"),
    name!("legacyExchangeDN"),
    name!("mAPIRecipient"),
    name!("mDBUseDefaults"),
    name!("mail"),
    name!("mailNickname"),
    name!("member"),
    name!("msExchHomeServerName"),
    name!("msExchMailboxGuid"),
    name!("msExchMasterAccountSid"),
    name!("msExchPoliciesIncluded"),
    name!("msExchRecipientDisplayType"),
    name!("msExchRecipientTypeDetails"),
    name!("msExchUserAccountControl"),
    name!("msExchVersion"),
    name!("proxyAddresses"),
    name!("reportToOriginator"),
    name!("showInAddressBook"),
    name!("targetAddress"),
    name!("textEncodedORAddress"),
    name!("msExchHideFromAddressLists"),
    name!("msExchPoliciesExcluded"),
    name!("hideDLMembership"),
];

/// What [`Engine::finish`] reads of an entry besides [`STAMPED`] and the address lists'
/// filters (see [`Engine::finish_reads`]).
const FINISH_READS: [Name; 5] = [
    name!("objectClass"),
    name!("objectCategory"),
    name!("objectGUID"),
    name!("groupType"),
    name!("userAccountControl"),
];

/// What [`Engine::prepare`], [`Engine::held_into`] and the classification read of an entry
/// besides [`STAMPED`], [`FINISH_READS`] and the policy's filters (see
/// [`Engine::pass1_reads`]): the name parts templates expand, the account name aliases
/// and linked SIDs come from, and the creation time claims are served in.
const PREPARE_READS: [Name; 5] = [
    name!("givenName"),
    name!("sn"),
    name!("initials"),
    name!("sAMAccountName"),
    name!("whenCreated"),
];

/// Adds to `set` every attribute `filter` reads. `false` when the filter can read any
/// attribute (an extensible match without one), or the set is full.
fn insert_filter_reads(set: &mut crate::model::TypeSet, filter: &crate::filter::Matcher) -> bool {
    let mut all = filter.filter().names_every_attribute();
    for a in filter.filter().attributes() {
        all &= set.insert(a.as_bytes());
    }
    all
}

/// Template `ti` of recipient policy `pi` (what an address wanted at `(pi, ti)` comes from).
fn template_at(policy: &Policy, (pi, ti): (usize, usize)) -> Option<&Template> {
    policy.recipient_policies.get(pi)?.templates.get(ti)
}

/// What [`Prepared::spool`] and [`Prepared::unspool`] share besides the bytes: the policy, and
/// the values of it that mail-enabling sets on every mailbox (store, MTA and server DNs,
/// hundreds of bytes an object), which the spool names by number instead of copying.
pub struct SpoolCodec<'p> {
    policy: &'p Policy,
    values: Vec<Box<[u8]>>,
}

impl<'p> SpoolCodec<'p> {
    /// The codec for `policy`.
    pub fn new(policy: &'p Policy) -> Self {
        let mut values: Vec<Box<[u8]>> = Vec::new();
        let mut add = |v: &[u8]| {
            if !values.iter().any(|x| **x == *v) {
                values.push(v.into());
            }
        };
        for s in &policy.servers {
            add(s.legacy_dn.as_bytes());
            add(s.mta_dn().as_bytes());
            for store in &s.stores {
                add(store.as_bytes());
            }
        }
        for r in &policy.mailbox {
            add(r.store.as_bytes());
        }
        SpoolCodec { policy, values }
    }

    /// Writes a planned value: its number among the policy's values, doubled plus one, when
    /// it is one of them, else its length doubled and its bytes.
    fn put_value(&self, p: &mut crate::model::flat::Put<'_>, v: &[u8]) {
        match self.values.iter().position(|x| **x == *v) {
            Some(i) => p.var((i as u64) << 1 | 1),
            None => {
                p.var((v.len() as u64) << 1);
                p.0.extend_from_slice(v);
            }
        }
    }

    /// Reads what [`SpoolCodec::put_value`] wrote.
    fn take_value<'r, 't: 'r>(
        &'r self,
        t: &mut crate::model::flat::Take<'t>,
    ) -> Result<&'r [u8], crate::model::flat::Short> {
        let n = t.var()?;
        let at = usize::try_from(n >> 1).map_err(|_| crate::model::flat::Short)?;
        if n & 1 != 0 {
            self.values
                .get(at)
                .map(|v| &**v)
                .ok_or(crate::model::flat::Short)
        } else {
            t.bytes_of(at)
        }
    }
}

// [`STAMPED`] is the start of [`WELL_KNOWN`](crate::model::entry::WELL_KNOWN), in its
// order: a stamped name's place there is its index here.
const _: () = {
    let mut i = 0;
    while i < STAMPED.len() {
        assert!(crate::model::entry::well_known(STAMPED[i].as_str().as_bytes()) as usize == i + 1);
        i += 1;
    }
};

/// The index of `attr` in [`STAMPED`]: its well-known place, or found by name for a name
/// without one.
fn stamped_index(attr: Name) -> Option<usize> {
    match usize::from(crate::model::Desc::well_known(&attr)).checked_sub(1) {
        Some(i) => (i < STAMPED.len()).then_some(i),
        None => STAMPED.iter().position(|n| *n == attr),
    }
}

/// The attributes the engine stamps, each as a bit (bit `i` for the `i`th of them), for
/// counting which ones a change record changes without a list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StampedSet(u32);

const _: () = assert!(STAMPED.len() <= 32);

impl StampedSet {
    /// Adds `attr`; `false` (and nothing added) when the engine does not stamp it.
    pub fn insert(&mut self, attr: Name) -> bool {
        match stamped_index(attr) {
            Some(i) => {
                self.0 |= 1 << i;
                true
            }
            None => false,
        }
    }

    /// The places of the attributes in the set (for [`StampedSet::name`]), in order.
    pub fn places(self) -> impl Iterator<Item = usize> {
        (0..STAMPED.len()).filter(move |i| self.0 >> i & 1 != 0)
    }

    /// The name of the attribute at `place`.
    pub fn name(place: usize) -> Option<&'static str> {
        STAMPED.get(place).map(|n| n.as_str())
    }

    /// How many attributes the engine stamps (one more than the largest place).
    pub const LEN: usize = STAMPED.len();
}

impl<'e> Prepared<'e> {
    /// Appends what [`Prepared::unspool`] needs to make this again over the same entry:
    /// everything [`Engine::prepare`] found, so that `plan`'s second pass runs only
    /// [`Engine::finish`]. An address wanted is written without what its template in the
    /// policy gives it (its type and domain), and values the policy holds by number
    /// ([`SpoolCodec`]). `false` (and `out` as it was) when an override names
    /// an attribute outside the engine's list, or an address wanted is not its template's,
    /// which the caller then reads and prepares again.
    pub fn spool(&self, codec: &SpoolCodec<'_>, out: &mut Vec<u8>) -> bool {
        let policy = codec.policy;
        use crate::model::flat::Put;
        let start = out.len();
        let mut p = Put(out);
        let kind = Kind::ALL.iter().position(|k| *k == self.kind).unwrap_or(0);
        p.u8(kind as u8);
        p.u8(u8::from(self.in_scope));
        // 0 for none, else the section's place in `EnabledBy::SECTIONS` + 1, then the index.
        match self.enabled_by {
            None => p.u8(0),
            Some(by) => {
                let section = EnabledBy::SECTIONS
                    .iter()
                    .position(|s| *s == by.section)
                    .unwrap_or(0);
                p.u8(section as u8 + 1);
                p.var(by.index as u64);
            }
        }
        // 0 for none, else the policy's place + 1.
        p.var(self.policy.map_or(0, |i| i as u64 + 1));
        p.len(self.state.overrides.len());
        for (name, values) in self.state.overrides() {
            let Some(i) = stamped_index(*name) else {
                out.truncate(start);
                return false;
            };
            p.u8(i as u8);
            p.len(values.len());
            for v in values {
                codec.put_value(&mut p, v);
            }
        }
        p.len(self.wanted.len());
        for ((a, b), w) in &self.wanted {
            let (a, b) = (*a, *b);
            let Some(t) = template_at(policy, (a, b)) else {
                out.truncate(start);
                return false;
            };
            let mut p = Put(out);
            p.len(a);
            p.len(b);
            match w {
                Wanted::Local {
                    kind,
                    template,
                    alias,
                    domain,
                } if *kind == t.kind && *domain == t.domain().unwrap_or("") => {
                    p.u8(0);
                    p.bytes(template.as_bytes());
                    p.bytes(alias.as_bytes());
                }
                Wanted::X400 { kind, address } if *kind == t.kind => {
                    p.u8(1);
                    p.bytes(address.as_bytes());
                }
                _ => {
                    out.truncate(start);
                    return false;
                }
            }
        }
        let mut p = Put(out);
        p.opt_str(self.legacy.as_deref());
        p.strs(&self.warnings);
        p.strs(&self.promoted);
        true
    }

    /// Reads back what [`Prepared::spool`] wrote for `entry` with `codec`.
    pub fn unspool(
        codec: &SpoolCodec<'_>,
        entry: &'e Entry,
        bytes: &'e [u8],
    ) -> Result<Prepared<'e>, crate::model::flat::Short> {
        let policy = codec.policy;
        use crate::model::flat::{Short, Take};
        let mut t = Take(bytes);
        let kind = *Kind::ALL.get(usize::from(t.u8()?)).ok_or(Short)?;
        let in_scope = t.u8()? != 0;
        let enabled_by = match t.u8()? {
            0 => None,
            n => Some(EnabledBy {
                section: EnabledBy::SECTIONS
                    .get(usize::from(n) - 1)
                    .copied()
                    .ok_or(Short)?,
                index: usize::try_from(t.var()?).map_err(|_| Short)?,
            }),
        };
        let policy_index = match t.var()? {
            0 => None,
            i => Some(usize::try_from(i - 1).map_err(|_| Short)?),
        };
        let mut state = State::new(entry);
        for _ in 0..t.len()? {
            let name = *STAMPED.get(usize::from(t.u8()?)).ok_or(Short)?;
            let first = state.spans.len();
            for _ in 0..t.len()? {
                state.append([codec.take_value(&mut t)?]);
            }
            // Overrides are unique by name: no search for an earlier one.
            state.push_new(name, first..state.spans.len());
        }
        let n = t.len()?;
        let mut wanted = Vec::with_capacity(n.min(t.0.len() / 16));
        for _ in 0..n {
            let at = (t.len()?, t.len()?);
            let template = template_at(policy, at).ok_or(Short)?;
            let kind = template.kind;
            let w = match t.u8()? {
                0 => Wanted::Local {
                    kind,
                    template: Cow::Borrowed(t.str()?),
                    alias: Cow::Borrowed(t.str()?),
                    domain: template.domain().unwrap_or(""),
                },
                1 => Wanted::X400 {
                    kind,
                    address: Cow::Borrowed(t.str()?),
                },
                _ => return Err(Short),
            };
            wanted.push((at, w));
        }
        let legacy = t.opt_str()?.map(Cow::Borrowed);
        let warnings = t.strs()?;
        let promoted = t.strs()?;
        if !t.is_empty() {
            return Err(Short);
        }
        Ok(Prepared {
            state,
            kind,
            in_scope,
            enabled_by,
            policy: policy_index,
            wanted,
            legacy,
            warnings,
            promoted,
        })
    }
}

/// The prefix type of a proxy address (`SMTP` of `SMTP:a@x`).
pub fn proxy_type(p: &[u8]) -> &[u8] {
    match memchr::memchr(b':', p) {
        Some(i) => &p[..i],
        None => p,
    }
}

/// Whether a proxy address is the primary of its type (its type is written in upper case).
pub fn is_primary(p: &[u8]) -> bool {
    let t = proxy_type(p);
    t.iter().any(u8::is_ascii_alphabetic) && !t.iter().any(u8::is_ascii_lowercase)
}

/// Values [`Engine::finish`] works out for a multi-valued attribute (proxy addresses, policy
/// GUIDs): one after another in one buffer, in order, so that working them out costs two
/// allocations however many values there are (a vector per value cost one each, and one
/// more per change).
#[derive(Default)]
struct ValueList {
    text: Vec<u8>,
    /// Where each value is in `text` (a replaced value's bytes stay, unused).
    spans: Vec<Range<usize>>,
}

impl Drop for ValueList {
    /// Keeps the buffers for the thread's next list (see [`SPARE_LISTS`]).
    fn drop(&mut self) {
        if self.text.capacity() > SPARE_LIST_TEXT_MAX {
            return;
        }
        let mut buffers = (
            std::mem::take(&mut self.text),
            std::mem::take(&mut self.spans),
        );
        buffers.0.clear();
        buffers.1.clear();
        keep_spare(&SPARE_LISTS, buffers, SPARE_LISTS_KEPT);
    }
}

thread_local! {
    /// The buffers of value lists dropped on this thread, for the next ones: finishing an
    /// object works out two lists (proxy addresses, policy GUIDs), and their buffers would
    /// otherwise be allocated again for every object.
    static SPARE_LISTS: RefCell<Vec<ListBuffers>> =
        const { RefCell::new(Vec::new()) };
}

/// The buffers of a dropped [`ValueList`]: its text and its values' spans.
type ListBuffers = (Vec<u8>, Vec<Range<usize>>);

/// Spare value lists' buffers kept per thread.
const SPARE_LISTS_KEPT: usize = 4;
/// Text capacity above which a value list's buffer is freed rather than kept.
const SPARE_LIST_TEXT_MAX: usize = 1 << 12;

impl ValueList {
    /// The values `values` gives, in order.
    fn of<'v>(values: impl Iterator<Item = &'v [u8]>) -> ValueList {
        let (text, spans) = take_spare(&SPARE_LISTS)
            .unwrap_or_else(|| (Vec::with_capacity(VALUE_LIST_TEXT), Vec::with_capacity(8)));
        let mut p = ValueList { text, spans };
        for v in values {
            p.push(v);
        }
        p
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        self.spans.iter().map(|r| &self.text[r.clone()])
    }

    fn push(&mut self, v: &[u8]) {
        self.push_parts(&[v]);
    }

    /// Adds the value made of `parts` one after the other.
    fn push_parts(&mut self, parts: &[&[u8]]) {
        let start = self.text.len();
        for part in parts {
            self.text.extend_from_slice(part);
        }
        self.spans.push(start..self.text.len());
    }

    /// Writes value `i` in upper or lower case (ASCII letters), in place.
    fn set_case(&mut self, i: usize, upper: bool) {
        let r = self.spans[i].clone();
        type_case(&mut self.text[r], upper);
    }

    /// Writes the type of address `i` in upper case (`primary`) or lower case, in place.
    fn set_type_case(&mut self, i: usize, primary: bool) {
        let r = self.spans[i].clone();
        let t = proxy_type(&self.text[r.clone()]).len();
        type_case(&mut self.text[r.start..r.start + t], primary);
    }

    /// Adds `addr` (or finds it, case-insensitively). As a primary it becomes the one primary
    /// of its type and the old primary is demoted; a secondary never demotes anything.
    fn put(&mut self, addr: &[u8], primary: bool) {
        let t = proxy_type(addr);
        if primary {
            for i in 0..self.spans.len() {
                let x = &self.text[self.spans[i].clone()];
                if proxy_type(x).eq_ignore_ascii_case(t)
                    && is_primary(x)
                    && !case_ignore_eq(x, addr)
                {
                    self.set_type_case(i, false);
                }
            }
        }
        let found = self.iter().position(|x| case_ignore_eq(x, addr));
        match found {
            Some(i) if primary => {
                let start = self.text.len();
                self.text.extend_from_slice(addr);
                self.spans[i] = start..self.text.len();
                self.set_type_case(i, true);
            }
            Some(_) => {}
            None => {
                self.push(addr);
                self.set_type_case(self.spans.len() - 1, primary);
            }
        }
    }

    /// Keeps the addresses `keep` accepts.
    fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let text = &self.text;
        self.spans.retain(|r| keep(&text[r.clone()]));
    }
}

/// Bytes [`ValueList::of`] makes room for: an object's addresses, and a few more.
const VALUE_LIST_TEXT: usize = 256;

/// Writes `t`'s ASCII letters in upper case (a primary address's type) or lower case.
fn type_case(t: &mut [u8], upper: bool) {
    if upper {
        t.make_ascii_uppercase();
    } else {
        t.make_ascii_lowercase();
    }
}

/// Registry form of an objectGUID-derived mailbox GUID: a v4-format GUID derived from the
/// seed and the object's objectGUID (or DN), in AD's byte layout.
pub fn mailbox_guid(seed: u64, object_guid: Option<&[u8]>, dn_bytes: &[u8]) -> [u8; 16] {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let source: &[u8] = object_guid.unwrap_or(dn_bytes);
    let mut h1 = 0xcbf2_9ce4_8422_2325u64 ^ mix(seed);
    let mut h2 = 0x8422_2325_cbf2_9ce4u64 ^ mix(seed.wrapping_add(1));
    for &b in source {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        h2 = (h2 ^ u64::from(b))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(7);
    }
    let a = mix(h1 ^ (source.len() as u64));
    let b = mix(h2 ^ a);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    let u = uuid::Builder::from_random_bytes(bytes).into_uuid();
    u.to_bytes_le()
}

const TRUE: &[u8] = b"TRUE";
const FALSE: &[u8] = b"FALSE";

impl Engine<'_> {
    fn fields<'s>(state: &'s FieldText) -> RecipientFields<'s> {
        RecipientFields {
            given: &state.given,
            surname: &state.surname,
            initials: &state.initials,
            display: &state.display,
            alias: state.alias,
        }
    }

    /// Mail-enabling and system policy, and what the object needs allocated.
    pub fn prepare<'e>(&self, entry: &'e Entry) -> Prepared<'e> {
        let fam = family(entry);
        let in_scope = match &self.settings.scope_key {
            None => true,
            Some(base) => dn::key_is_under(&dn::key_lossy(entry.dn()), base),
        };
        let mut p = Prepared {
            state: State::new(entry),
            kind: classify(fam, entry),
            in_scope,
            enabled_by: None,
            policy: None,
            wanted: Vec::new(),
            legacy: None,
            warnings: Vec::new(),
            promoted: Vec::new(),
        };
        if !in_scope {
            return p;
        }
        if p.kind == Kind::NonRecipient {
            self.mail_enable(fam, &mut p);
            p.kind = classify(fam, &p.state);
        }
        match p.kind {
            Kind::NonRecipient => return p,
            Kind::Broken => {
                p.warnings.push(
                    "broken recipient: mailNickname without mailbox attributes or targetAddress; not stamped".into(),
                );
                return p;
            }
            _ => {}
        }
        self.system_policy(&mut p);
        self.choose_policy(&mut p);
        p
    }

    fn mail_enable(&self, fam: Family, p: &mut Prepared<'_>) {
        let policy = self.policy;
        let entry = p.state.entry();
        let sam = entry.first_str(name!("sAMAccountName")).unwrap_or("");
        // The first RDN's value, read only when an alias needs it.
        let cn = || {
            dn::first_value(entry.dn())
                .map(|v| crate::model::lossy(&v).into_owned())
                .unwrap_or_default()
        };
        // What an alias is made from: the sAMAccountName, or the CN without one.
        let sam_or_cn = || {
            if sam.is_empty() {
                cn()
            } else {
                sam.to_string()
            }
        };
        match fam {
            Family::User => {
                if let Some((i, rule)) = p.state.first_match(&policy.mailbox, |r| &r.filter) {
                    let alias = self
                        .make_alias(rule.alias.as_ref(), &p.state, sam)
                        .or_else(|| alias::alias_from(&cn()));
                    let Some(alias) = alias else {
                        p.warnings.push(format!("mailbox[{i}] matches but no valid alias can be made from sAMAccountName `{sam}`"));
                        return;
                    };
                    let server = &policy.servers[rule.server];
                    p.state.set_one(name!("mailNickname"), alias);
                    p.state.set_one(name!("homeMDB"), &rule.store);
                    p.state
                        .set_one(name!("msExchHomeServerName"), &server.legacy_dn);
                    p.state.set_one(name!("homeMTA"), server.mta_dn());
                    p.enabled_by = Some(EnabledBy {
                        section: "mailbox",
                        index: i,
                    });
                    if let Some(sid) = linked_sid(rule, entry) {
                        p.state.set_one(name!("msExchMasterAccountSid"), sid);
                    }
                    return;
                }
                self.target_rules(p, &policy.mail_user, "mail_user", sam_or_cn);
            }
            Family::Contact => {
                let source = || cn().chars().filter(|c| *c != ' ').collect();
                self.target_rules(p, &policy.contact, "contact", source);
            }
            Family::Group => {
                if let Some((i, rule)) = p.state.first_match(&policy.group, |g| &g.filter) {
                    let source = sam_or_cn();
                    if let Some(alias) = self.make_alias(rule.alias.as_ref(), &p.state, &source) {
                        p.state.set_one(name!("mailNickname"), alias);
                        p.enabled_by = Some(EnabledBy {
                            section: "group",
                            index: i,
                        });
                    } else {
                        p.warnings.push(format!(
                            "group[{i}] matches but no valid alias can be made from `{source}`"
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    /// The alias for an object being mail-enabled: the rule's alias template (with `%m` =
    /// `source`) or `source` made valid.
    fn make_alias(
        &self,
        template: Option<&Template>,
        state: &State<'_>,
        source: &str,
    ) -> Option<String> {
        match template {
            Some(t) => {
                let ft = FieldText::of(state, source);
                let x = t.expand_local(
                    &Self::fields(&ft),
                    self.policy.addresses.transliteration,
                    &self.policy.addresses.expand,
                );
                Some(x.local).filter(|l| !l.is_empty() && x.valid)
            }
            None => alias::alias_from(source),
        }
    }

    /// Mail-enables the object by the first matching `[[mail_user]]` / `[[contact]]` rule;
    /// `source` is what the alias is made from.
    fn target_rules(
        &self,
        p: &mut Prepared<'_>,
        rules: &[crate::policy::TargetRule],
        section: &'static str,
        source: impl FnOnce() -> String,
    ) {
        let Some((i, rule)) = p.state.first_match(rules, |r| &r.filter) else {
            return;
        };
        let source = &source();
        let Some(alias) = self.make_alias(rule.alias.as_ref(), &p.state, source) else {
            p.warnings.push(format!(
                "{section}[{i}] matches but no valid alias can be made from `{source}`"
            ));
            return;
        };
        self.target_enable(
            p,
            rule.target_address.as_ref(),
            alias,
            EnabledBy { section, index: i },
        );
    }

    fn target_enable(
        &self,
        p: &mut Prepared<'_>,
        template: Option<&Template>,
        alias: String,
        rule: EnabledBy,
    ) {
        let target = match template {
            Some(t) => {
                let ft = FieldText::of(&p.state, &alias);
                let x = t.expand_local(
                    &Self::fields(&ft),
                    self.policy.addresses.transliteration,
                    &self.policy.addresses.expand,
                );
                if !x.valid {
                    p.warnings.push(format!(
                        "{rule}: the targetAddress template gives no valid address"
                    ));
                    return;
                }
                t.address(&x.local)
            }
            None => match p.state.text(name!("mail")) {
                Some(m) if m.contains('@') => format!("SMTP:{m}"),
                _ => {
                    p.warnings.push(format!(
                        "{rule} matches but the object has no `mail` and the rule no `target_address`"
                    ));
                    return;
                }
            },
        };
        p.state.set_one(name!("mailNickname"), alias);
        p.state.set_one(name!("targetAddress"), target);
        p.state.set_one(name!("mAPIRecipient"), FALSE);
        p.enabled_by = Some(rule);
    }

    fn system_policy(&self, p: &mut Prepared<'_>) {
        let policy = self.policy;
        // Read while the state is only borrowed; copied only when set.
        let (display, legacy) = {
            let alias = p.state.text(name!("mailNickname")).unwrap_or_default();
            let legacy = (!p.state.has(name!("legacyExchangeDN")) && p.kind != Kind::PublicFolder)
                .then(|| {
                    legacy_dn::legacy_cn_from_alias(&alias, policy.addresses.legacy_dn_invalid)
                });
            let display = (!p.state.has(name!("displayName"))).then(|| alias.into_owned());
            (display, legacy)
        };
        if let Some(alias) = display {
            p.state.set_one(name!("displayName"), alias);
        }
        p.legacy = legacy.map(Cow::Owned);
        if p.kind != Kind::Mailbox {
            return;
        }
        // Home attributes: complete from whichever is present, never change. Read (and the
        // warnings made) while the state is only borrowed.
        let (server, has_mdb, has_hsn, has_mta) = {
            let mdb = p.state.text(name!("homeMDB"));
            let hsn = p.state.text(name!("msExchHomeServerName"));
            let mta = p.state.text(name!("homeMTA"));
            let server = mdb
                .as_deref()
                .and_then(|m| policy.server_of_store(m.as_bytes()))
                .or_else(|| {
                    hsn.as_deref().and_then(|h| {
                        policy
                            .servers
                            .iter()
                            .find(|s| s.legacy_dn.eq_ignore_ascii_case(h))
                    })
                })
                .or_else(|| {
                    mta.as_deref().and_then(|m| {
                        let k = dn::key_lossy(dn::parent(m.as_bytes())?);
                        policy.servers.iter().find(|s| s.dn_key == k)
                    })
                });
            match server {
                None => p.warnings.push(format!(
                    "the mailbox's server is not in the policy ([[server]]); home attributes are not completed (homeMDB `{}`, msExchHomeServerName `{}`)",
                    mdb.as_deref().unwrap_or("-"),
                    hsn.as_deref().unwrap_or("-")
                )),
                Some(s) => {
                    if let Some(h) = hsn.as_deref().filter(|h| !h.eq_ignore_ascii_case(&s.legacy_dn)) {
                        p.warnings.push(format!(
                            "home attributes disagree: msExchHomeServerName `{h}` is not the server of homeMDB (`{}`); left as is",
                            s.legacy_dn
                        ));
                    }
                }
            }
            (server, mdb.is_some(), hsn.is_some(), mta.is_some())
        };
        if let Some(s) = server {
            if !has_mdb {
                if let Some(store) = s.stores.first() {
                    p.state.set_one(name!("homeMDB"), store);
                }
            }
            if !has_hsn {
                p.state.set_one(name!("msExchHomeServerName"), &s.legacy_dn);
            }
            if !has_mta {
                p.state.set_one(name!("homeMTA"), s.mta_dn());
            }
        }
        if !p.state.has(name!("mDBUseDefaults")) {
            p.state.set_one(name!("mDBUseDefaults"), TRUE);
        }
        let entry = p.state.entry();
        if !p.state.has(name!("msExchMailboxGuid")) {
            let g = entry.first(name!("objectGUID")).filter(|g| g.len() == 16);
            if g.is_none() {
                p.warnings.push("no objectGUID: msExchMailboxGuid is derived from the DN (it changes if the object is renamed before import)".into());
            }
            p.state.set_one(
                name!("msExchMailboxGuid"),
                mailbox_guid(self.settings.guid_seed, g, entry.dn()),
            );
        }
        let disabled = recipient::is_disabled(entry);
        let current: i64 = p
            .state
            .text(name!("msExchUserAccountControl"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let want = if disabled { current | 2 } else { current & !2 };
        if want != current || !p.state.has(name!("msExchUserAccountControl")) {
            p.state.set_one(
                name!("msExchUserAccountControl"),
                itoa::Buffer::new().format(want),
            );
        }
        if disabled && !p.state.has(name!("msExchMasterAccountSid")) {
            p.state
                .set_one(name!("msExchMasterAccountSid"), binary::SID_SELF);
        }
        if p.state.has(name!("targetAddress")) {
            p.warnings.push(
                "a mailbox user had targetAddress (mail would leave the organisation); cleared"
                    .into(),
            );
            p.state.set::<&[u8]>(name!("targetAddress"), []);
        }
    }

    fn choose_policy(&self, p: &mut Prepared<'_>) {
        let excluded = p
            .state
            .values(name!("msExchPoliciesExcluded"))
            .any(|v| case_ignore_eq(v, EAP_GUID.as_bytes()));
        if excluded {
            return;
        }
        let subject = p.state.subject();
        let Some(idx) = self
            .policy
            .recipient_policies
            .iter()
            .position(|rp| rp.filter.matches_in(&subject))
        else {
            p.warnings
                .push("no recipient policy matches: no addresses generated".into());
            return;
        };
        p.policy = Some(idx);
        let rp = &self.policy.recipient_policies[idx];
        let proxies: Vec<&[u8]> = p.state.values(name!("proxyAddresses")).collect();
        let has_type = |t: &str| {
            proxies
                .iter()
                .any(|x| proxy_type(x).eq_ignore_ascii_case(t.as_bytes()))
        };
        let mode = self.settings.mode;
        let target_primary = matches!(p.kind, Kind::MailUser | Kind::Contact);
        let alias = p.state.text(name!("mailNickname")).unwrap_or_default();
        let ft = FieldText::of(&p.state, &alias);
        let alias_local: OnceCell<Option<String>> = OnceCell::new();
        // Every Exchange 2003 recipient needs an X.400 address: when the matching policy has
        // no X.400 template, the last policy that has one (the Default Policy) supplies it.
        let x400_from = (self.policy.addresses.x400_from_default_policy
            && !rp.templates.iter().any(Template::is_x400))
        .then(|| {
            self.policy
                .recipient_policies
                .iter()
                .enumerate()
                .rev()
                .find(|(_, r)| r.templates.iter().any(Template::is_x400))
        })
        .flatten();
        let borrowed = x400_from.into_iter().flat_map(|(pi, dp)| {
            dp.templates
                .iter()
                .enumerate()
                .filter(|(_, t)| t.is_x400())
                .map(move |(ti, _)| (pi, ti))
        });
        let templates = (0..rp.templates.len()).map(|t| (idx, t)).chain(borrowed);
        for (pi, ti) in templates {
            let t = &self.policy.recipient_policies[pi].templates[ti];
            if mode == Mode::NewOnly && has_type(t.kind) {
                continue;
            }
            if mode == Mode::NewOnly && t.primary {
                // A pre-set mail / textEncodedORAddress becomes the primary (KB 275636).
                let preset = if t.kind.eq_ignore_ascii_case("SMTP") {
                    (!target_primary)
                        .then(|| p.state.text(name!("mail")).filter(|m| m.contains('@')))
                        .flatten()
                } else if t.kind.eq_ignore_ascii_case("X400") {
                    p.state.text(name!("textEncodedORAddress"))
                } else {
                    None
                };
                if let Some(v) = preset {
                    let tkind = t.kind.to_ascii_uppercase();
                    p.promoted.push(format!("{tkind}:{v}"));
                    continue;
                }
            }
            if t.is_x400() {
                let fields = X400Fields {
                    surname: &ft.surname,
                    given: &ft.given,
                    initials: &ft.initials,
                    display: &ft.display,
                    alias: ft.alias,
                };
                if let Some(site) = t.x400_site() {
                    // Without its type.
                    let address =
                        crate::exchange::x400::generate(site, &fields, &self.policy.addresses.x400);
                    p.wanted.push((
                        (pi, ti),
                        Wanted::X400 {
                            kind: t.kind,
                            address: Cow::Owned(address),
                        },
                    ));
                }
                continue;
            }
            let x = t.expand_local(
                &Self::fields(&ft),
                self.policy.addresses.transliteration,
                &self.policy.addresses.expand,
            );
            if !x.valid {
                p.warnings.push(format!(
                    "template `{t}` gives no valid address for this object"
                ));
                continue;
            }
            if let Some(r) = &x.fallback {
                p.warnings.push(format!(
                    "template `{t}` gave `{}` ({}); the alias is used",
                    r.output, r.reason
                ));
            }
            // The alias as a local part: the same for every template of the object.
            let alias_local = alias_local
                .get_or_init(|| {
                    alias::alias_from(&crate::exchange::translit::map_local(
                        self.policy.addresses.transliteration,
                        &alias,
                    ))
                })
                .clone()
                .unwrap_or_else(|| x.local.clone());
            p.wanted.push((
                (pi, ti),
                Wanted::Local {
                    kind: t.kind,
                    template: Cow::Owned(x.local),
                    alias: Cow::Owned(alias_local),
                    domain: t.domain().unwrap_or(""),
                },
            ));
        }
    }

    /// Adds to `held` every value the object holds that must stay unique: its proxy
    /// addresses and its legacyExchangeDN slot ([`crate::exchange::uniqueness::legacy_slot`]).
    pub fn held_into(entry: &Entry, held: &mut crate::exchange::uniqueness::Held) {
        let proxies = entry.values(name!("proxyAddresses"));
        let legacy = entry.first_str(name!("legacyExchangeDN"));
        let bytes: usize = proxies.clone().map(<[u8]>::len).sum();
        held.reserve(
            proxies.len() + usize::from(legacy.is_some()),
            bytes + legacy.map_or(0, |l| LEGACY_SLOT.len() + l.len()),
        );
        for v in proxies {
            held.push(&[&crate::model::lossy(v)]);
        }
        if let Some(l) = legacy {
            held.push(&[LEGACY_SLOT, l]);
        }
    }

    /// The attribute types [`Engine::finish`] can read of an object prepared by
    /// [`Prepared::unspool`], [`Prepared::allocation`] included: every attribute the engine
    /// stamps, the classes, category, GUID, group type and account control it reads, and
    /// every attribute an address list's filter names. An entry holding only these (and its
    /// DN) finishes exactly as the whole entry does, so `plan` spools them for pass 2 instead
    /// of reading the object again. `None` when a filter can match any attribute (an
    /// extensible match without one), or names more types than a set holds.
    pub fn finish_reads(&self) -> Option<crate::model::TypeSet> {
        let mut set = crate::model::TypeSet::default();
        let fixed = STAMPED.iter().chain(&FINISH_READS).map(|n| n.as_str());
        let mut all = true;
        for name in fixed {
            all &= set.insert(name.as_bytes());
        }
        for l in &self.policy.address_lists {
            all &= insert_filter_reads(&mut set, &l.filter);
        }
        all.then_some(set)
    }

    /// The attribute types `plan`'s first pass reads of an entry: [`Engine::finish_reads`],
    /// the name parts, account name and creation time preparing reads, and every attribute a mail-enabling rule's or recipient policy's
    /// filter names. An entry holding only these (and its DN) prepares, holds, claims and
    /// settles exactly as the whole entry does, so pass 1 parses only them
    /// ([`ParseOptions::keep`](crate::ldif::parse::ParseOptions::keep)). `None` when a
    /// filter can match any attribute, or the types do not fit a set.
    pub fn pass1_reads(&self) -> Option<crate::model::TypeSet> {
        let mut set = self.finish_reads()?;
        let mut all = true;
        for name in &PREPARE_READS {
            all &= set.insert(name.as_str().as_bytes());
        }
        let p = self.policy;
        let filters = p
            .mailbox
            .iter()
            .map(|r| &r.filter)
            .chain(p.mail_user.iter().map(|r| &r.filter))
            .chain(p.contact.iter().map(|r| &r.filter))
            .chain(p.group.iter().map(|r| &r.filter))
            .chain(p.recipient_policies.iter().map(|r| &r.filter));
        for f in filters {
            all &= insert_filter_reads(&mut set, f);
        }
        all.then_some(set)
    }

    /// The desired state after the allocation: every RUS-owned attribute the object should
    /// have, as overrides over the entry. `None` when the object is not stamped.
    pub fn finish<'e>(&self, mut p: Prepared<'e>, mut alloc: Option<Allocation>) -> Finished<'e> {
        let ees = p.in_scope
            && recipient::well_known_group(p.state.entry(), "Exchange Enterprise Servers")
                .is_some();
        if !p.in_scope || !p.kind.is_recipient() {
            // Exchange Enterprise Servers membership is kept whether or not the group is a
            // recipient (reference section 10).
            if ees {
                self.ees_members(&mut p);
            }
            return Finished {
                prepared: p,
                stamped: ees,
                untold: 0,
            };
        }
        let untold = alloc.as_ref().map_or(0, |a| a.untold);
        if let Some(a) = &mut alloc {
            p.warnings.append(&mut a.warnings);
            if let Some(f) = &a.failed {
                p.warnings.push(format!("not stamped: {f}"));
                return Finished {
                    prepared: p,
                    stamped: false,
                    untold,
                };
            }
            if let Some(l) = &a.legacy_dn {
                p.state.set_one(name!("legacyExchangeDN"), l);
            }
        }
        self.merge_addresses(&mut p, alloc.as_ref());
        if p.kind == Kind::Group {
            // The ADUC default, set only when the group has no value (a deliberate FALSE stays).
            if !p.state.has(name!("reportToOriginator")) {
                p.state.set_one(name!("reportToOriginator"), TRUE);
            }
            if p.state
                .values(name!("hideDLMembership"))
                .next()
                .is_some_and(|v| case_ignore_eq(v, TRUE))
            {
                p.warnings.push("hideDLMembership is TRUE: the hidden-membership ACL needs a live Exchange 2003 RUS; no ACL is written".into());
            }
        }
        if self.policy.org.target == Target::Exchange2007 {
            self.e2007(&mut p);
        }
        self.address_lists(&mut p);
        if ees {
            self.ees_members(&mut p);
        }
        Finished {
            prepared: p,
            stamped: true,
            untold,
        }
    }

    fn merge_addresses(&self, p: &mut Prepared<'_>, alloc: Option<&Allocation>) {
        let Some(pi) = p.policy else {
            // Exchange 2007+ clears msExchPoliciesIncluded of an object opted out of e-mail
            // address policies (reference section 2.3); values of other policy types stay.
            let opted_out = p
                .state
                .values(name!("msExchPoliciesExcluded"))
                .any(|v| case_ignore_eq(v, EAP_GUID.as_bytes()));
            if opted_out && self.policy.org.target == Target::Exchange2007 {
                let current: Vec<Vec<u8>> = p
                    .state
                    .values(name!("msExchPoliciesIncluded"))
                    .map(|v| v.to_vec())
                    .collect();
                let keep: Vec<Vec<u8>> = current
                    .iter()
                    .filter(|v| !self.is_eap_value(v))
                    .cloned()
                    .collect();
                if keep.len() != current.len() {
                    p.state.set(name!("msExchPoliciesIncluded"), keep);
                }
            }
            return;
        };
        let rp = &self.policy.recipient_policies[pi];
        let mut proxies = ValueList::of(p.state.values(name!("proxyAddresses")));
        // targetAddress is the primary SMTP of mail users and contacts.
        let target_primary = matches!(p.kind, Kind::MailUser | Kind::Contact);
        let has_smtp = proxies
            .iter()
            .any(|x| proxy_type(x).eq_ignore_ascii_case(b"SMTP"));
        if target_primary && (self.settings.mode == Mode::ApplyPolicy || !has_smtp) {
            if let Some(t) = p.state.text(name!("targetAddress")) {
                if proxy_type(t.as_bytes()).eq_ignore_ascii_case(b"SMTP") {
                    proxies.put(t.as_bytes(), true);
                }
            }
        }
        for pr in &p.promoted {
            proxies.put(pr.as_bytes(), true);
        }
        if let Some(a) = alloc {
            for (((pi, ti), _), got) in p.wanted.iter().zip(a.addresses()) {
                let Some(addr) = got else { continue };
                let t = &self.policy.recipient_policies[*pi].templates[*ti];
                let mut primary = t.primary;
                if target_primary && t.is_smtp() {
                    primary = false;
                }
                proxies.put(addr.as_bytes(), primary);
            }
        }
        if self.policy.addresses.remove_disabled_types {
            let disabled: Vec<String> = rp
                .disabled
                .iter()
                .map(|t| t.kind.to_ascii_uppercase())
                .filter(|k| !rp.templates.iter().any(|t| t.kind.eq_ignore_ascii_case(k)))
                .collect();
            proxies.retain(|x| {
                !disabled
                    .iter()
                    .any(|d| proxy_type(x).eq_ignore_ascii_case(d.as_bytes()))
            });
        }
        // Compared with the state's values, which nothing above changed (no copy kept).
        let unchanged = proxies.iter().eq(p.state.values(name!("proxyAddresses")));
        if !unchanged {
            p.state.set(name!("proxyAddresses"), proxies.iter());
        }
        // mail and textEncodedORAddress follow the primaries.
        for (kind, attr) in [
            (&b"SMTP"[..], name!("mail")),
            (&b"X400"[..], name!("textEncodedORAddress")),
        ] {
            let Some(primary) = proxies
                .iter()
                .find(|x| is_primary(x) && proxy_type(x) == kind)
            else {
                continue;
            };
            let value = &primary[kind.len() + 1..];
            if p.state.values(attr).next().is_none_or(|cur| cur != value) {
                p.state.set_one(attr, value);
            }
        }
        // msExchPoliciesIncluded in the target's form; other policy types are kept.
        if let Some(guid) = &rp.guid {
            let (mut next, current_len) = {
                let current = p.state.values(name!("msExchPoliciesIncluded"));
                let next = ValueList::of(current.clone().filter(|v| !self.is_eap_value(v)));
                (next, current.count())
            };
            let kept = next.len();
            match self.policy.org.target {
                Target::Exchange2003 => {
                    next.push_parts(&[guid.as_bytes(), b",", EAP_GUID.as_bytes()]);
                }
                Target::Exchange2007 => {
                    let upper = self.policy.addresses.policies_included_case == GuidCase::Upper;
                    for g in [EAP_GUID, guid.as_str()] {
                        next.push(g.as_bytes());
                        next.set_case(next.len() - 1, upper);
                    }
                }
            }
            // The values kept are the current ones; the policy's must be among them too.
            let same = next.len() == current_len
                && next.iter().skip(kept).all(|n| {
                    p.state
                        .values(name!("msExchPoliciesIncluded"))
                        .any(|c| case_ignore_eq(c, n))
                });
            if !same {
                p.state.set(name!("msExchPoliciesIncluded"), next.iter());
            }
        }
    }

    /// Whether an msExchPoliciesIncluded value belongs to e-mail address policies (the E2003
    /// `{policy},{EAP}` value, or an E2007 EAP type or policy GUID value).
    fn is_eap_value(&self, v: &[u8]) -> bool {
        let eap = EAP_GUID.as_bytes();
        // The GUID starts with `{`: only the places of one can start it.
        memchr::memchr_iter(eap[0], v).any(|i| {
            v.get(i..i + eap.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(eap))
        }) || (self.policy.org.target == Target::Exchange2007
            && self.policy.recipient_policies.iter().any(|r| {
                r.guid
                    .as_deref()
                    .is_some_and(|g| case_ignore_eq(g.as_bytes(), v))
            }))
    }

    fn e2007(&self, p: &mut Prepared<'_>) {
        let e = p.state.entry();
        let group_type: i64 = e
            .first_str(name!("groupType"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let universal = group_type & 0x8 != 0;
        let security = group_type & 0x8000_0000 != 0 || group_type < 0;
        let disabled = recipient::is_disabled(e);
        let self_sid = p
            .state
            .values(name!("msExchMasterAccountSid"))
            .next()
            .is_some_and(|v| *v == binary::SID_SELF);
        let (rtd, rdt): (i64, i64) = match p.kind {
            Kind::Mailbox
                if disabled && p.state.has(name!("msExchMasterAccountSid")) && !self_sid =>
            {
                (2, 0)
            }
            Kind::Mailbox if disabled => (4, 0),
            Kind::Mailbox => (1, 0),
            Kind::MailUser => (128, 6),
            Kind::Contact => (64, 6),
            Kind::Group if universal && security => (1024, 1_073_741_833),
            Kind::Group if universal => (256, 1),
            Kind::Group => (512, 1),
            Kind::DynamicDl => (2048, 3),
            Kind::PublicFolder => (4096, 2),
            _ => return,
        };
        for (attr, v) in [
            (name!("msExchRecipientTypeDetails"), rtd),
            (name!("msExchRecipientDisplayType"), rdt),
            (name!("msExchVersion"), 4_535_486_012_416),
        ] {
            let cur: Option<i64> = p.state.text(attr).and_then(|t| t.trim().parse().ok());
            if cur != Some(v) {
                p.state.set_one(attr, itoa::Buffer::new().format(v));
            }
        }
    }

    fn address_lists(&self, p: &mut Prepared<'_>) {
        let lists = &self.policy.address_lists;
        let hidden = p
            .state
            .values(name!("msExchHideFromAddressLists"))
            .next()
            .is_some_and(|v| case_ignore_eq(v, TRUE));
        let filters = &self.policy.address_list_filters;
        if p.state.values(name!("showInAddressBook")).next().is_none() && lists.len() <= 64 {
            // No list yet (a new recipient): the lists it matches, as bits, then set from the
            // policy's DNs without copying them.
            let matched = if hidden {
                0
            } else {
                filters.matching(&p.state.subject()).unwrap_or(0)
            };
            if matched != 0 {
                let dns = lists
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| matched & (1 << i) != 0)
                    .map(|(_, l)| l.dn.as_bytes());
                p.state.set(name!("showInAddressBook"), dns);
            }
            return;
        }
        // Borrowed: only a change is copied out (most objects keep their lists).
        let current: Vec<&[u8]> = p.state.values(name!("showInAddressBook")).collect();
        let mut next: Vec<&[u8]> = Vec::new();
        if !hidden {
            let subject = p.state.subject();
            // A value written as a list's DN is written has that list's key: only other
            // spellings are normalised.
            let keys: Vec<Cow<'_, [u8]>> = current
                .iter()
                .map(|v| match lists.iter().find(|l| l.dn.as_bytes() == *v) {
                    Some(l) => Cow::Borrowed(l.dn_key.as_slice()),
                    None => Cow::Owned(dn::key_lossy(v)),
                })
                .collect();
            // Values for lists the policy does not describe are kept (they cannot be evaluated).
            for (v, k) in current.iter().zip(&keys) {
                if !lists.iter().any(|l| l.dn_key == **k) {
                    next.push(v);
                }
            }
            let matched = filters.matching(&subject);
            for (i, l) in lists.iter().enumerate() {
                let matches = match matched {
                    Some(bits) => bits >> i & 1 != 0,
                    None => l.filter.matches_in(&subject),
                };
                if matches {
                    match keys.iter().position(|k| **k == *l.dn_key) {
                        Some(i) => next.push(current[i]),
                        None => next.push(l.dn.as_bytes()),
                    }
                }
            }
        }
        let same = next.len() == current.len() && next.iter().all(|n| current.contains(n));
        if !same {
            let next: Vec<Vec<u8>> = next.iter().map(|v| v.to_vec()).collect();
            p.state.set(name!("showInAddressBook"), next);
        }
    }

    fn ees_members(&self, p: &mut Prepared<'_>) {
        let current: Vec<Vec<u8>> = p
            .state
            .values(name!("member"))
            .map(|v| v.to_vec())
            .collect();
        let keys: Vec<Vec<u8>> = current.iter().map(|m| dn::key_lossy(m)).collect();
        let mut next = current.clone();
        for eds in self.eds_groups {
            if !keys.contains(&dn::key_lossy(eds)) {
                next.push(eds.clone());
            }
        }
        if next.len() != current.len() {
            p.state.set(name!("member"), next);
        }
    }
}

/// The result of [`Engine::finish`].
pub struct Finished<'e> {
    /// Everything known about the object.
    pub prepared: Prepared<'e>,
    /// Whether the object is stamped (its overrides are to be written).
    pub stamped: bool,
    /// The allocation's warnings counted but not written out ([`Allocation::untold`]).
    pub untold: u32,
}

fn linked_sid(rule: &crate::policy::MailboxRule, entry: &Entry) -> Option<Vec<u8>> {
    if rule.linked_sids.is_empty() {
        return None;
    }
    let sam = entry
        .first_str(name!("sAMAccountName"))
        .map(str::to_lowercase);
    let key = crate::model::lossy(&dn::key_lossy(entry.dn())).into_owned();
    sam.and_then(|s| rule.linked_sids.get(&s))
        .or_else(|| rule.linked_sids.get(&key))
        .cloned()
}

/// The text fields templates read, taken from the working state.
struct FieldText<'s> {
    given: Cow<'s, str>,
    surname: Cow<'s, str>,
    initials: Cow<'s, str>,
    display: Cow<'s, str>,
    alias: &'s str,
}

impl<'s> FieldText<'s> {
    fn of(state: &'s State<'_>, alias: &'s str) -> FieldText<'s> {
        FieldText {
            given: state.text(name!("givenName")).unwrap_or_default(),
            surname: state.text(name!("sn")).unwrap_or_default(),
            initials: state.text(name!("initials")).unwrap_or_default(),
            display: state.text(name!("displayName")).unwrap_or_default(),
            alias,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldif::framer::{Framer, DEFAULT_MAX_RECORD};

    use crate::ldif::parse::{Found, ParseOptions, Parsed, Parser};
    use crate::model::Record;

    #[test]
    fn a_dropped_value_lists_buffers_serve_the_next_one() {
        let first = ValueList::of([&b"SMTP:a@x"[..], b"smtp:b@x"].into_iter());
        let text = first.text.as_ptr();
        drop(first);
        let second = ValueList::of([&b"X400:c=US"[..]].into_iter());
        assert_eq!(second.text.as_ptr(), text, "the buffer was not reused");
        // Nothing of the first list is left in the second.
        assert_eq!(second.iter().collect::<Vec<_>>(), [&b"X400:c=US"[..]]);
        // A list whose text grew past the limit frees its buffer instead.
        let mut big = ValueList::of(std::iter::empty());
        big.push(&vec![b'x'; SPARE_LIST_TEXT_MAX + 1]);
        let big_text = big.text.as_ptr();
        drop(big);
        drop(second);
        let third = ValueList::of(std::iter::empty());
        assert_ne!(third.text.as_ptr(), big_text);
    }

    /// A state's overrides, owned.
    fn planned(state: &State<'_>) -> Vec<(Name, Vec<Vec<u8>>)> {
        state
            .overrides()
            .map(|(n, v)| (*n, v.map(<[u8]>::to_vec).collect()))
            .collect()
    }

    /// Every entry of a shipped export.
    fn sample_entries(name: &str) -> Vec<Entry> {
        sample_entries_with(name, ParseOptions::default())
    }

    /// Every entry of a shipped export, read with `opts`.
    fn sample_entries_with(name: &str, opts: ParseOptions) -> Vec<Entry> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name);
        let data = std::fs::read(path).unwrap();
        let mut framer = Framer::new(&data[..], DEFAULT_MAX_RECORD);
        let mut parser = Parser::new(opts);
        let mut entries = Vec::new();
        while let Some(b) = framer.next_batch(1 << 16).unwrap() {
            parser.read_batch(&b.data, DEFAULT_MAX_RECORD, false, |p, found| match found {
                Found::Entry(_, e) => entries.push(e),
                Found::Raw(r) => {
                    let mut w = Vec::new();
                    if let Ok(Parsed::Record(Record::Entry(e))) =
                        p.parse(&b.data[r.start..r.end], r.line, &mut w)
                    {
                        entries.push(e);
                    }
                }
                Found::Settled(_) => {}
            });
        }
        entries
    }

    /// The shipped policy and the settings the tests stamp with.
    fn sample_policy() -> (Policy, EngineSettings) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/policy.toml");
        let settings = EngineSettings {
            mode: Mode::NewOnly,
            guid_seed: 7,
            scope_key: None,
        };
        (Policy::load(&path).unwrap(), settings)
    }

    #[test]
    fn home_attributes_are_completed_from_the_store_and_disagreements_reported() {
        let (policy, settings) = sample_policy();
        let engine = Engine {
            policy: &policy,
            settings: &settings,
            eds_groups: &[],
        };
        let srv = |n: usize| &policy.servers[n];
        let mailbox = sample_entries("corp.ldf")
            .into_iter()
            .find(|e| {
                e.first(name!("homeMDB")) == Some(srv(0).stores[0].as_bytes())
                    && engine.prepare(e).kind == Kind::Mailbox
            })
            .expect("a mailbox on SRV01 in the sample");
        let value = |p: &Prepared<'_>, n: Name| p.state.text(n).map(Cow::into_owned);
        // Only homeMDB, and msExchHomeServerName naming the other server.
        let e = mailbox
            .with_values(b"homeMTA", std::iter::empty())
            .with_values(b"msExchHomeServerName", [srv(1).legacy_dn.as_bytes()]);
        let p = engine.prepare(&e);
        assert_eq!(
            value(&p, name!("homeMTA")).as_deref(),
            Some(srv(0).mta_dn())
        );
        assert_eq!(
            value(&p, name!("msExchHomeServerName")).as_deref(),
            Some(srv(1).legacy_dn.as_str()),
            "left as is"
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| w.starts_with("home attributes disagree")
                    && w.contains(&srv(1).legacy_dn)
                    && w.contains(&srv(0).legacy_dn)),
            "{:?}",
            p.warnings
        );
        // A store no server of the policy holds: nothing completed, the values reported.
        let e = mailbox
            .with_values(
                b"homeMDB",
                [&b"CN=Elsewhere,CN=SG,CN=InformationStore,CN=X,CN=Servers,DC=x"[..]],
            )
            .with_values(b"homeMTA", std::iter::empty())
            .with_values(b"msExchHomeServerName", std::iter::empty());
        let p = engine.prepare(&e);
        assert_eq!(value(&p, name!("homeMTA")), None);
        assert_eq!(value(&p, name!("msExchHomeServerName")), None);
        assert!(
            p.warnings.iter().any(
                |w| w.starts_with("the mailbox's server is not in the policy")
                    && w.contains("CN=Elsewhere")
                    && w.contains("msExchHomeServerName `-`")
            ),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn spooled_preparations_finish_as_the_originals_do() {
        let (policy, settings) = sample_policy();
        let engine = Engine {
            policy: &policy,
            settings: &settings,
            eds_groups: &[],
        };
        let codec = SpoolCodec::new(&policy);
        let (mut claims, mut named) = (0, 0);
        for name in ["corp.ldf", "corp-large-group.ldf"] {
            for e in sample_entries(name) {
                let p = engine.prepare(&e);
                let mut rec = vec![0xAA];
                assert!(p.spool(&codec, &mut rec), "{}", e.dn_lossy());
                // The store a mailbox gets is named by number, not copied.
                if let Some(store) = p.state.values(name!("homeMDB")).next() {
                    assert!(!rec.windows(store.len()).any(|w| w == store));
                    named += 1;
                }
                let back = Prepared::unspool(&codec, &e, &rec[1..]).unwrap();
                assert_eq!(format!("{:?}", back.claim(3)), format!("{:?}", p.claim(3)));
                claims += usize::from(p.claim(0).is_some());
                assert_eq!(
                    (back.kind, back.in_scope, &back.enabled_by, back.policy),
                    (p.kind, p.in_scope, &p.enabled_by, p.policy)
                );
                assert_eq!((&back.warnings, &back.promoted), (&p.warnings, &p.promoted));
                assert_eq!(planned(&back.state), planned(&p.state));
                let (a, b) = (engine.finish(p, None), engine.finish(back, None));
                assert_eq!(a.stamped, b.stamped);
                assert_eq!(planned(&a.prepared.state), planned(&b.prepared.state));
                assert_eq!(a.prepared.warnings, b.prepared.warnings);
                // Every cut of the record is refused.
                for cut in 1..rec.len() {
                    assert!(Prepared::unspool(&codec, &e, &rec[1..cut]).is_err());
                }
            }
        }
        assert!(claims > 10, "the samples must exercise claims ({claims})");
        assert!(
            named > 3,
            "the samples must exercise named values ({named})"
        );
    }

    #[test]
    fn finishing_over_what_finish_reads_is_finishing_over_the_entry() {
        use crate::model::flat::{Put, Take};
        let (mut policy, settings) = sample_policy();
        let eds = vec![b"CN=Exchange Domain Servers,CN=Users,DC=other,DC=example".to_vec()];
        let mut compared = 0;
        for target in [Target::Exchange2003, Target::Exchange2007] {
            policy.org.target = target;
            let engine = Engine {
                policy: &policy,
                settings: &settings,
                eds_groups: &eds,
            };
            let keep = engine.finish_reads().unwrap();
            let codec = SpoolCodec::new(&policy);
            for name in ["corp.ldf", "corp-large-group.ldf"] {
                for e in sample_entries(name) {
                    let mut rec = Vec::new();
                    Put(&mut rec).entry(&e, &keep);
                    let mut t = Take(&rec);
                    let small = t.entry().unwrap();
                    assert!(t.is_empty());
                    assert!(small.attr_count() < e.attr_count() || e.attr_count() < 8);
                    let p = engine.prepare(&e);
                    let mut spooled = Vec::new();
                    assert!(p.spool(&codec, &mut spooled));
                    let back = Prepared::unspool(&codec, &small, &spooled).unwrap();
                    // What the allocation reads (the claim itself is made in pass 1).
                    assert_eq!(back.claim_identity(), p.claim_identity());
                    let (a, b) = (engine.finish(p, None), engine.finish(back, None));
                    assert_eq!(a.stamped, b.stamped, "{}", e.dn_lossy());
                    assert_eq!(planned(&a.prepared.state), planned(&b.prepared.state));
                    assert_eq!(a.prepared.warnings, b.prepared.warnings);
                    // The modify records are the same: same DN, same changes of the values
                    // the entry had, under the entry's own spelling of the names.
                    let mods = |f: &Finished<'_>, entry: &Entry| {
                        let mut values = Vec::new();
                        let m =
                            crate::plan::mod_refs(entry, f.prepared.state.overrides(), &mut values);
                        let mut out = Vec::new();
                        crate::ldif::writer::Writer::new(Default::default()).modify(
                            &mut out,
                            entry.dn(),
                            m.iter().map(|(m, _)| m),
                        );
                        out
                    };
                    assert_eq!(mods(&a, &e), mods(&b, &small), "{}", e.dn_lossy());
                    compared += usize::from(a.stamped);
                }
            }
        }
        assert!(
            compared > 20,
            "the samples must exercise stamping ({compared})"
        );
    }

    #[test]
    fn pass_one_over_what_it_reads_is_pass_one_over_the_entry() {
        use crate::exchange::uniqueness::Held;
        let (mut policy, mut settings) = sample_policy();
        let eds = vec![b"CN=Exchange Domain Servers,CN=Users,DC=other,DC=example".to_vec()];
        let (mut smaller, mut compared, mut wanted) = (0, 0, 0);
        for (target, mode) in [
            (Target::Exchange2003, Mode::NewOnly),
            (Target::Exchange2007, Mode::NewOnly),
            (Target::Exchange2003, Mode::ApplyPolicy),
        ] {
            policy.org.target = target;
            settings.mode = mode;
            let engine = Engine {
                policy: &policy,
                settings: &settings,
                eds_groups: &eds,
            };
            let keep = std::sync::Arc::new(engine.pass1_reads().unwrap());
            let codec = SpoolCodec::new(&policy);
            for name in ["corp.ldf", "corp-large-group.ldf"] {
                let whole = sample_entries(name);
                let opts = ParseOptions {
                    keep: Some(keep.clone()),
                    ..ParseOptions::default()
                };
                let read = sample_entries_with(name, opts);
                assert_eq!(whole.len(), read.len());
                for (e, small) in whole.iter().zip(&read) {
                    let dn = e.dn_lossy();
                    assert_eq!(e.dn(), small.dn());
                    smaller += usize::from(small.attr_count() < e.attr_count());
                    assert_eq!(family(e), family(small), "{dn}");
                    for group in ["Exchange Domain Servers", "Exchange Enterprise Servers"] {
                        assert_eq!(
                            recipient::well_known_group(e, group),
                            recipient::well_known_group(small, group)
                        );
                    }
                    let (mut ha, mut hb) = (Held::default(), Held::default());
                    Engine::held_into(e, &mut ha);
                    Engine::held_into(small, &mut hb);
                    assert_eq!(format!("{ha:?}"), format!("{hb:?}"), "{dn}");
                    let (a, b) = (engine.prepare(e), engine.prepare(small));
                    assert_eq!(
                        (a.kind, a.in_scope, &a.enabled_by, a.policy),
                        (b.kind, b.in_scope, &b.enabled_by, b.policy),
                        "{dn}"
                    );
                    assert_eq!((&a.warnings, &a.promoted), (&b.warnings, &b.promoted));
                    assert_eq!(planned(&a.state), planned(&b.state), "{dn}");
                    assert_eq!(format!("{:?}", a.claim(1)), format!("{:?}", b.claim(1)));
                    wanted += a.claim(1).map_or(0, |c| c.wanted().len());
                    let (mut sa, mut sb) = (Vec::new(), Vec::new());
                    assert_eq!(a.spool(&codec, &mut sa), b.spool(&codec, &mut sb));
                    assert_eq!(sa, sb, "{dn}");
                    // What settling an object that claims nothing reads: stamping it without
                    // an allocation, and the changes that makes.
                    let (a, b) = (engine.finish(a, None), engine.finish(b, None));
                    assert_eq!(a.stamped, b.stamped, "{dn}");
                    assert_eq!(planned(&a.prepared.state), planned(&b.prepared.state));
                    assert_eq!(a.prepared.warnings, b.prepared.warnings);
                    let mods = |f: &Finished<'_>, entry: &Entry| {
                        let mut values = Vec::new();
                        crate::plan::mod_refs(entry, f.prepared.state.overrides(), &mut values)
                            .iter()
                            .map(|(m, _)| format!("{m:?}"))
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(mods(&a, e), mods(&b, small), "{dn}");
                    compared += usize::from(a.stamped);
                }
            }
        }
        assert!(
            smaller > 100,
            "pass 1 must leave attributes out ({smaller})"
        );
        assert!(
            wanted > 100,
            "the samples must exercise templates ({wanted})"
        );
        assert!(
            compared > 20,
            "the samples must exercise stamping ({compared})"
        );
    }

    #[test]
    fn allocations_from_the_preparation_are_those_of_the_claim() {
        use crate::exchange::uniqueness::{decide, Held, Index};
        let (policy, settings) = sample_policy();
        let engine = Engine {
            policy: &policy,
            settings: &settings,
            eds_groups: &[],
        };
        let alloc_settings = AllocSettings::of(&policy);
        // Every sample object twice (so that every claim collides with its twin), every
        // third copy without its objectGUID (so that the DN seeds legacyExchangeDN suffixes).
        let mut entries = Vec::new();
        for name in ["corp.ldf", "corp-large-group.ldf"] {
            for (i, e) in sample_entries(name).into_iter().enumerate() {
                entries.push(e.clone());
                entries.push(if i % 3 == 0 {
                    e.with_values(b"objectGUID", std::iter::empty())
                } else {
                    e
                });
            }
        }
        let mut index = Index::default();
        let mut claims = Vec::new();
        let mut claimers = Vec::new();
        for (n, e) in entries.iter().enumerate() {
            let mut held = Held::default();
            Engine::held_into(e, &mut held);
            index.hold_all(&held, n as u32 + 1);
            if let Some(mut c) = engine.prepare(e).claim(n as u32 + 1) {
                c.compute_keys(&alloc_settings);
                claims.push(c);
                claimers.push(n);
            }
        }
        let decisions = decide(&mut index, &claims, &alloc_settings);
        let mut retried = 0;
        for (i, (claim, &n)) in claims.iter().zip(&claimers).enumerate() {
            let want = decisions.allocation(i, claim, &alloc_settings);
            retried += usize::from(!want.warnings.is_empty());
            let prepared = engine.prepare(&entries[n]);
            let got = prepared.allocation(&decisions, i, &alloc_settings, true);
            assert_eq!(got.as_ref(), Some(&want), "{}", entries[n].dn_lossy());
            // Untold, the warnings are only counted; the rest is the same.
            let counted = prepared.allocation(&decisions, i, &alloc_settings, false);
            let mut told_as_counted = want.clone();
            told_as_counted.untold = want.warnings.len() as u32;
            told_as_counted.warnings.clear();
            assert_eq!(counted, Some(told_as_counted), "{}", entries[n].dn_lossy());
        }
        assert!(retried > 5, "the twins must collide ({retried})");
    }

    /// The vector-per-address merge [`ValueList::put`] replaced.
    fn put_in_vectors(proxies: &mut Vec<Vec<u8>>, addr: &[u8], primary: bool) {
        let with_type_case = |p: &[u8], primary: bool| {
            let t = proxy_type(p).len();
            let mut out = p.to_vec();
            type_case(&mut out[..t], primary);
            out
        };
        let t = proxy_type(addr);
        if primary {
            for x in proxies.iter_mut() {
                if proxy_type(x).eq_ignore_ascii_case(t)
                    && is_primary(x)
                    && !case_ignore_eq(x, addr)
                {
                    *x = with_type_case(x, false);
                }
            }
        }
        match proxies.iter().position(|x| case_ignore_eq(x, addr)) {
            Some(i) if primary => proxies[i] = with_type_case(addr, true),
            Some(_) => {}
            None => proxies.push(with_type_case(addr, primary)),
        }
    }

    proptest::proptest! {
        #[test]
        fn a_value_list_merges_addresses_as_vectors_did(
            start in proptest::collection::vec("(SMTP|smtp|X400|x400|sip):[aAbB]{1,2}@[xX]", 0..5),
            puts in proptest::collection::vec(
                ("(SMTP|smtp|X400|x400):[aAbB]{1,2}@[xX]", proptest::bool::ANY),
                0..6,
            ),
            drop_type in "(smtp|x400|sip)",
        ) {
            let mut list = ValueList::of(start.iter().map(|v| v.as_bytes()));
            let mut vectors: Vec<Vec<u8>> = start.iter().map(|v| v.clone().into_bytes()).collect();
            for (addr, primary) in &puts {
                list.put(addr.as_bytes(), *primary);
                put_in_vectors(&mut vectors, addr.as_bytes(), *primary);
                proptest::prop_assert!(list.iter().eq(vectors.iter().map(Vec::as_slice)));
            }
            list.retain(|x| !proxy_type(x).eq_ignore_ascii_case(drop_type.as_bytes()));
            vectors.retain(|x| !proxy_type(x).eq_ignore_ascii_case(drop_type.as_bytes()));
            proptest::prop_assert!(list.iter().eq(vectors.iter().map(Vec::as_slice)));
            proptest::prop_assert_eq!(list.len(), vectors.len());
        }
    }
}
