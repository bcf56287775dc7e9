//! The Exchange recipient rules that are pure functions over strings (reference
//! `exchange-recipient-attributes.md`): no I/O, no threads, no global state. The caller wires
//! them to entries and policies.
//!
//! * [`translit`]: character tables for SMTP local parts and X.400 PrintableString.
//! * [`template`]: recipient-policy address templates (`SMTP:%g.%s@contoso.com`) and retries.
//! * [`x400`]: X.400 site parts and generated O/R addresses.
//! * [`legacy_dn`]: `legacyExchangeDN` values and collision candidates.
//! * [`alias`]: `mailNickname` validation and repair.

pub mod alias;
pub mod legacy_dn;
pub mod lint;
pub mod recipient;
pub mod stamp;
pub mod template;
pub mod translit;
pub mod uniqueness;
pub mod x400;
