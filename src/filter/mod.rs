//! RFC 4515 LDAP search filters with Active Directory semantics (being written).
