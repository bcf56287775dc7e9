//! The integration suite: one binary, one module per concern.

mod conformance;
mod golden;
mod harness;
mod ldapmodify;
mod plan;
mod policy_docs;
mod roundtrip;
mod samples;
