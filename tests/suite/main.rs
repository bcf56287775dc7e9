//! The integration suite: one binary, one module per concern.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;
mod golden;
mod harness;
mod ldapmodify;
mod plan;
mod policy_docs;
mod realdir;
mod roundtrip;
mod samples;
