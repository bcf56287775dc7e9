//! A minimal byte codec for values the program writes and reads back itself (`plan`'s spool
//! of prepared objects and of the attributes pass 2 reads of them): little-endian integers,
//! counts and lengths as LEB128 numbers (one byte below 128), length-prefixed bytes, no
//! versioning, no self-description. Reading checks every length against the bytes left, so
//! a damaged record gives [`Short`] instead of a panic.

use super::entry::{attr_key, well_known_keyed, well_known_spelled, WELL_KNOWN};
use super::{Entry, EntryBuilder, TypeSet};

/// The [`attr_key`] of each [`WELL_KNOWN`] type.
const WELL_KNOWN_KEYS: [u64; WELL_KNOWN.len()] = {
    let mut keys = [0; WELL_KNOWN.len()];
    let mut i = 0;
    while i < WELL_KNOWN.len() {
        keys[i] = attr_key(WELL_KNOWN[i].as_bytes());
        i += 1;
    }
    keys
};

/// Appends fixed-size integers and length-prefixed bytes to a buffer.
pub struct Put<'a>(pub &'a mut Vec<u8>);

impl Put<'_> {
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    /// A `u32`, little-endian.
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A `u64`, little-endian.
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A length ([`Put::len`]) then the bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.len(v.len());
        self.0.extend_from_slice(v);
    }

    /// An unsigned number in LEB128: seven bits a byte, the lowest first, the high bit set on
    /// every byte but the last.
    #[inline(always)]
    pub fn var(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// A count or length, as [`Put::var`]. One that does not fit a `u32` (no record comes
    /// near: records are capped far below) is written as `u32::MAX`, which reading refuses.
    pub fn len(&mut self, n: usize) {
        self.var(u64::from(u32::try_from(n).unwrap_or(u32::MAX)));
    }

    /// `None` as 0, `Some(s)` as 1 then the bytes.
    pub fn opt_str(&mut self, v: Option<&str>) {
        match v {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.bytes(s.as_bytes());
            }
        }
    }

    /// A count then each string.
    pub fn strs<S: AsRef<str>>(&mut self, v: &[S]) {
        self.len(v.len());
        for s in v {
            self.bytes(s.as_ref().as_bytes());
        }
    }

    /// The DN of `entry` and those of its attributes whose type is in `keep` (each with its
    /// description as written and its values), for [`Take::entry`] to build a smaller entry
    /// that answers every lookup of a kept attribute as `entry` does. A description spelled
    /// as in [`WELL_KNOWN`] (most of them) is written as its place there, one byte.
    pub fn entry(&mut self, entry: &Entry, keep: &TypeSet) {
        self.bytes(entry.dn());
        let count_at = self.0.len();
        self.u32(0);
        let mut count = 0u32;
        // Most attributes are well-known ones, whose place the entry has: they are kept or
        // not by one bit, and spelled canonically or not by one comparison.
        let places = entry.known_places();
        for (i, a) in entry.attributes().enumerate() {
            let place = places.as_ref().and_then(|p| p.get(i)).copied().unwrap_or(0);
            let known = if place != 0 {
                if !keep.contains_known(place) {
                    continue;
                }
                let canonical = WELL_KNOWN[usize::from(place) - 1].as_bytes();
                if a.name() == canonical {
                    place
                } else {
                    0
                }
            } else {
                if !keep.contains_keyed(a.name(), a.key()) {
                    continue;
                }
                well_known_spelled(a.name(), a.key())
            };
            count += 1;
            if known != 0 {
                self.u8(known);
            } else {
                self.u8(0);
                self.bytes(a.name());
            }
            // The value count, then whether the attribute is binary (so that taking it back
            // needs no schema lookup).
            let n = u64::from(u32::try_from(a.len()).unwrap_or(u32::MAX));
            self.var(n << 1 | u64::from(a.is_binary()));
            for v in a.values() {
                self.bytes(v);
            }
        }
        self.0[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
    }
}

/// A record ended before a value it announces (or held text that is not UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short;

/// Reads what [`Put`] wrote, in the same order.
pub struct Take<'a>(pub &'a [u8]);

impl<'a> Take<'a> {
    fn split(&mut self, n: usize) -> Result<&'a [u8], Short> {
        if n > self.0.len() {
            return Err(Short);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.split(1)?[0])
    }

    /// A `u32`.
    pub fn u32(&mut self) -> Result<u32, Short> {
        let b = self.split(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `u64`.
    pub fn u64(&mut self) -> Result<u64, Short> {
        let b = self.split(8)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    /// What [`Put::var`] wrote. A number longer than ten bytes or past `u64::MAX` is refused.
    #[inline(always)]
    pub fn var(&mut self) -> Result<u64, Short> {
        if let Some((&b, rest)) = self.0.split_first() {
            if b < 0x80 {
                self.0 = rest;
                return Ok(u64::from(b));
            }
        }
        self.var_long()
    }

    /// [`Take::var`] of a number of more than one byte (or of nothing).
    #[cold]
    fn var_long(&mut self) -> Result<u64, Short> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(Short);
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(Short);
            }
        }
    }

    /// A count or length ([`Put::len`]); one past `u32::MAX` is refused.
    #[inline(always)]
    pub fn len(&mut self) -> Result<usize, Short> {
        let n = u32::try_from(self.var()?).map_err(|_| Short)?;
        usize::try_from(n).map_err(|_| Short)
    }

    /// The next `n` bytes (whose length the caller read itself).
    pub fn bytes_of(&mut self, n: usize) -> Result<&'a [u8], Short> {
        self.split(n)
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], Short> {
        let n = self.len()?;
        self.split(n)
    }

    /// Length-prefixed UTF-8 text.
    pub fn str(&mut self) -> Result<&'a str, Short> {
        super::utf8(self.bytes()?).map_err(|_| Short)
    }

    /// What [`Put::opt_str`] wrote, borrowed.
    pub fn opt_str(&mut self) -> Result<Option<&'a str>, Short> {
        Ok(match self.u8()? {
            0 => None,
            _ => Some(self.str()?),
        })
    }

    /// What [`Put::strs`] wrote.
    pub fn strs(&mut self) -> Result<Vec<String>, Short> {
        let n = self.len()?;
        // A damaged count must not reserve memory: each string takes at least 4 bytes.
        let mut v = Vec::with_capacity(n.min(self.0.len() / 4));
        for _ in 0..n {
            v.push(self.str()?.to_string());
        }
        Ok(v)
    }

    /// What [`Put::entry`] wrote, as the last thing in the bytes: the entry starts with a copy
    /// of everything left, and its names and values are read where they are in that copy.
    pub fn entry(&mut self) -> Result<Entry, Short> {
        let record = self.0;
        let at = |t: &Take<'_>, v: &[u8]| {
            let end = record.len() - t.0.len();
            end - v.len()..end
        };
        let dn = self.bytes()?;
        let dn = at(self, dn);
        let attributes = self.u32()?;
        // Each value takes at least a byte: a damaged count reserves nothing. The names of
        // well-known attributes are copied after the record.
        let attributes_room = (attributes as usize).min(self.0.len());
        let mut b =
            EntryBuilder::over_record_grouped(record, attributes_room * 20, self.0.len() / 4);
        b.set_dn_span(dn);
        for _ in 0..attributes {
            let name = match self.u8()? {
                0 => {
                    let name = self.bytes()?;
                    Err((at(self, name), attr_key(name)))
                }
                known => Ok(usize::from(known) - 1),
            };
            let n = self.var()?;
            let binary = n & 1 != 0;
            let n = n >> 1;
            if n == 0 {
                return Err(Short);
            }
            let slot = match name {
                Ok(i) => {
                    let (text, key) = WELL_KNOWN.get(i).zip(WELL_KNOWN_KEYS.get(i)).ok_or(Short)?;
                    let slot = b.new_attribute_binary(text.as_bytes(), *key, binary);
                    b.known_slot((i + 1) as u8, slot);
                    slot
                }
                Err((name, key)) => {
                    let known = well_known_keyed(&record[name.clone()], key);
                    let slot = b.new_attribute_span_binary(name, key, binary);
                    b.known_slot(known, slot);
                    slot
                }
            };
            for _ in 0..n {
                let v = self.bytes()?;
                b.push_span_grouped(slot, at(self, v));
            }
        }
        Ok(b.finish())
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_of(dn: &str, attrs: &[(String, Vec<Vec<u8>>)]) -> Entry {
        let mut b = EntryBuilder::new(dn.as_bytes());
        for (name, values) in attrs {
            for v in values {
                b.push(name.as_bytes(), v);
            }
        }
        b.finish()
    }

    proptest::proptest! {
        #[test]
        fn an_entry_put_is_taken_back_with_the_kept_types_only(
            dn in "[a-zA-Z=, ]{0,30}",
            attrs in proptest::collection::vec(
                (
                    "(cn|sn|mail|objectClass|member|cn;lang-fr|MAIL|x-[a-z]{1,3}|objectGUID|objectSid)",
                    proptest::collection::vec(
                        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
                        1..4,
                    ),
                ),
                0..8,
            ),
            kept in proptest::collection::vec("(cn|mail|member|x-a|objectclass|objectguid|objectSid)", 0..4),
        ) {
            let e = entry_of(&dn, &attrs);
            let mut keep = TypeSet::default();
            for k in &kept {
                keep.insert(k.as_bytes());
            }
            let mut buf = vec![7u8];
            Put(&mut buf).entry(&e, &keep);
            let mut t = Take(&buf[1..]);
            let back = t.entry().unwrap();
            proptest::prop_assert!(t.is_empty());
            proptest::prop_assert_eq!(back.dn(), e.dn());
            let types = |en: &Entry| -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
                en.attributes()
                    .map(|a| (a.name().to_vec(), a.values().map(<[u8]>::to_vec).collect()))
                    .collect()
            };
            let want: Vec<_> = types(&e)
                .into_iter()
                .filter(|(n, _)| {
                    let ty = crate::model::attr_type(n);
                    kept.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(ty))
                })
                .collect();
            proptest::prop_assert_eq!(types(&back), want);
            // Binary or not, as the entry's attributes were.
            for a in back.attributes() {
                proptest::prop_assert_eq!(
                    Some(a.is_binary()),
                    e.get_bytes(a.name()).map(|x| x.is_binary())
                );
            }
            // Lookups of a kept attribute answer as the whole entry's do.
            for k in &kept {
                let v = |en: &Entry| en.values(k.as_str()).map(<[u8]>::to_vec).collect::<Vec<_>>();
                proptest::prop_assert_eq!(v(&back), v(&e));
            }
            // Every cut of the record is refused, never a panic.
            for cut in 1..buf.len() {
                proptest::prop_assert!(Take(&buf[1..cut]).entry().is_err());
            }
        }
    }

    #[test]
    fn numbers_are_one_byte_below_128_and_overlong_ones_are_refused() {
        let mut buf = Vec::new();
        Put(&mut buf).var(127);
        Put(&mut buf).var(128);
        Put(&mut buf).var(u64::MAX);
        assert_eq!(buf.len(), 1 + 2 + 10);
        let mut t = Take(&buf);
        assert_eq!(
            (t.var(), t.var(), t.var()),
            (Ok(127), Ok(128), Ok(u64::MAX))
        );
        // Past 64 bits, or more than ten bytes, or a length past `u32::MAX`.
        for bad in [
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..],
            &[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
            ],
        ] {
            assert_eq!(Take(bad).var(), Err(Short));
        }
        assert_eq!(Take(&[0x80, 0x80, 0x80, 0x80, 0x10]).len(), Err(Short));
    }

    proptest::proptest! {
        #[test]
        fn what_is_put_is_taken_back(
            a in proptest::prelude::any::<u8>(),
            b in proptest::prelude::any::<u32>(),
            c in proptest::prelude::any::<u64>(),
            d in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            e in proptest::option::of(".{0,12}"),
            f in proptest::collection::vec(".{0,8}", 0..4),
            g in proptest::prop_oneof![0u64..300, proptest::prelude::any::<u64>()],
        ) {
            let mut buf = Vec::new();
            let mut p = Put(&mut buf);
            p.u8(a);
            p.u32(b);
            p.u64(c);
            p.var(g);
            p.bytes(&d);
            p.opt_str(e.as_deref());
            p.strs(&f);
            let mut t = Take(&buf);
            proptest::prop_assert_eq!(t.u8(), Ok(a));
            proptest::prop_assert_eq!(t.u32(), Ok(b));
            proptest::prop_assert_eq!(t.u64(), Ok(c));
            proptest::prop_assert_eq!(t.var(), Ok(g));
            proptest::prop_assert_eq!(t.bytes(), Ok(&d[..]));
            proptest::prop_assert_eq!(t.opt_str(), Ok(e.as_deref()));
            proptest::prop_assert_eq!(t.strs(), Ok(f.clone()));
            proptest::prop_assert!(t.is_empty());
            // Every cut of the record is refused, never a panic.
            for cut in 0..buf.len() {
                let mut t = Take(&buf[..cut]);
                let all = (|| -> Result<(), Short> {
                    t.u8()?;
                    t.u32()?;
                    t.u64()?;
                    t.var()?;
                    t.bytes()?;
                    t.opt_str()?;
                    t.strs()?;
                    Ok(())
                })();
                proptest::prop_assert_eq!(all, Err(Short));
            }
        }
    }
}
