//! The data model: entries with byte values, change records, DNs and schema facts.
//!
//! Nothing here does I/O. Every other module builds on these types.

pub mod binary;
pub mod change;
pub mod dn;
pub mod entry;
pub mod flat;
pub mod schema;

pub use change::{Change, ChangeRecord, Control, ModOp, ModRef, Modification, Record};
pub use entry::{attr_eq, attr_key, attr_type, AttrRef, Desc, Entry, EntryBuilder, Name};
