//! The Exchange domain rules (being written).
