//! The integration suite: one binary, one module per concern.

mod conformance;
mod golden;
mod harness;
mod ldapmodify;
mod plan;
mod roundtrip;
mod samples;
