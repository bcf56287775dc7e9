//! Binary AD values: GUIDs in the Windows memory layout and SIDs.

use std::fmt::Write as _;

/// Parses a textual GUID (`12345678-9abc-def0-1122-334455667788`, braces optional) into the 16
/// bytes AD stores (Data1..Data3 little-endian, Data4 as is).
pub fn guid_text_to_bytes(text: &str) -> Option<[u8; 16]> {
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(t);
    let u = uuid::Uuid::try_parse(t).ok()?;
    if t.len() != 36 {
        return None;
    }
    Some(u.to_bytes_le())
}

/// Formats 16 GUID bytes in AD layout as the registry form without braces, lower case.
pub fn guid_bytes_to_text(bytes: &[u8]) -> Option<String> {
    let arr: [u8; 16] = bytes.try_into().ok()?;
    Some(uuid::Uuid::from_bytes_le(arr).hyphenated().to_string())
}

/// Parses `S-1-5-21-...` into the binary SID (revision, count, 48-bit big-endian authority,
/// little-endian 32-bit sub-authorities).
pub fn sid_text_to_bytes(text: &str) -> Option<Vec<u8>> {
    let rest = text
        .trim()
        .strip_prefix("S-")
        .or_else(|| text.trim().strip_prefix("s-"))?;
    let mut parts = rest.split('-');
    let revision: u8 = parts.next()?.parse().ok()?;
    let authority_text = parts.next()?;
    let authority: u64 = if let Some(hex) = authority_text.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()?
    } else {
        authority_text.parse().ok()?
    };
    if authority >= 1 << 48 {
        return None;
    }
    let subs: Vec<u32> = parts
        .map(|p| p.parse::<u32>().ok())
        .collect::<Option<Vec<_>>>()?;
    if subs.len() > 15 {
        return None;
    }
    let mut out = Vec::with_capacity(8 + 4 * subs.len());
    out.push(revision);
    out.push(subs.len() as u8);
    out.extend_from_slice(&authority.to_be_bytes()[2..]);
    for s in subs {
        out.extend_from_slice(&s.to_le_bytes());
    }
    Some(out)
}

/// Formats a binary SID as `S-1-5-...`; `None` when the bytes are not a well-formed SID.
pub fn sid_bytes_to_text(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 8 {
        return None;
    }
    let count = bytes[1] as usize;
    if bytes.len() != 8 + 4 * count {
        return None;
    }
    let mut auth = [0u8; 8];
    auth[2..].copy_from_slice(&bytes[2..8]);
    let authority = u64::from_be_bytes(auth);
    let mut s = format!("S-{}-{}", bytes[0], authority);
    for i in 0..count {
        let o = 8 + 4 * i;
        let v = u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let _ = write!(s, "-{v}");
    }
    Some(s)
}

/// The well-known SID SELF (`S-1-5-10`), binary.
pub const SID_SELF: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0];

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn guid_vectors_from_appendix_d() {
        let b = guid_text_to_bytes("12345678-9abc-def0-1122-334455667788").unwrap();
        assert_eq!(b64(&b), "eFY0Erya8N4RIjNEVWZ3iA==");
        let b = guid_text_to_bytes("{26491CFC-9E50-4857-861B-0CB8DF22B5D7}").unwrap();
        assert_eq!(b64(&b), "/BxJJlCeV0iGGwy43yK11w==");
        let raw = base64::engine::general_purpose::STANDARD
            .decode("+klu7DM5yE+9tOs6MuGxsw==")
            .unwrap();
        assert_eq!(
            guid_bytes_to_text(&raw).unwrap(),
            "ec6e49fa-3933-4fc8-bdb4-eb3a32e1b1b3"
        );
    }

    #[test]
    fn sid_vectors_from_appendix_d() {
        assert_eq!(
            b64(&sid_text_to_bytes("S-1-5-10").unwrap()),
            "AQEAAAAAAAUKAAAA"
        );
        assert_eq!(b64(&SID_SELF), "AQEAAAAAAAUKAAAA");
        let s = "S-1-5-21-1004336348-1177238915-682003330-1103";
        let b = sid_text_to_bytes(s).unwrap();
        assert_eq!(b64(&b), "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoTwQAAA==");
        assert_eq!(sid_bytes_to_text(&b).unwrap(), s);
        assert_eq!(
            b64(&sid_text_to_bytes("S-1-5-21-1-2-3-500").unwrap()),
            "AQUAAAAAAAUVAAAAAQAAAAIAAAADAAAA9AEAAA=="
        );
    }

    #[test]
    fn malformed_text_is_not_converted() {
        assert!(guid_text_to_bytes("not-a-guid").is_none());
        assert!(guid_text_to_bytes("12345678123456781234567812345678").is_none());
        assert!(sid_text_to_bytes("S-1-x").is_none());
        assert!(sid_bytes_to_text(&[1, 2, 0]).is_none());
    }
}
