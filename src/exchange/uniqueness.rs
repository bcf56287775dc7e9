//! Forest-wide uniqueness of proxy addresses and legacyExchangeDNs (reference sections 0.4,
//! 1.3, 2.6, 3.4), decided in one deterministic pass.
//!
//! Pass 1 registers every value objects already hold ([`Index::hold`]) and collects the
//! [`Claim`]s of objects that need new values. [`decide`] then serves the claims in a fixed
//! order — `whenCreated` (oldest first; none = last), then input position, then `objectGUID` —
//! trying the template, then the alias, then alias2, alias3 ... for each address that conflicts,
//! and records the number of the candidate each claim took; [`Decisions::allocation`] turns
//! those numbers back into values and warnings where the claim is made again (pass 2's
//! workers). [`allocate`] does both for a list of claims.
//! Values are compared case-insensitively on the whole `TYPE:address`, and a legacyExchangeDN
//! `L` occupies the same slot as an `X500:L` proxy. Threads never decide anything here.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use rayon::slice::ParallelSliceMut;
use xxhash_rust::xxh3::xxh3_128;

use crate::exchange::legacy_dn;
use crate::exchange::template::DuplicateBase;
use crate::exchange::x400;
use crate::policy::X400Duplicates;

/// The owner recorded for values read from `--index` files.
pub const INDEX_OWNER: u32 = u32::MAX;

/// A 128-bit key of a case-folded value: XXH3-128 of the lower-cased text (collisions are
/// astronomically unlikely; a collision would only cost a retry).
fn key(value: &str) -> (u64, u64) {
    let h = if value.is_ascii() {
        // Lower-cased on the stack: values are short.
        let mut buf = [0u8; 256];
        match buf.get_mut(..value.len()) {
            Some(lower) => {
                lower.copy_from_slice(value.as_bytes());
                lower.make_ascii_lowercase();
                xxh3_128(lower)
            }
            None => xxh3_128(value.to_ascii_lowercase().as_bytes()),
        }
    } else {
        xxh3_128(value.to_lowercase().as_bytes())
    };
    (h as u64, (h >> 64) as u64)
}

/// [`key`] of the concatenation of `parts`, lower-cased on the stack without building the
/// string when it is ASCII and short (the usual candidate: type, `:`, local part, `@`,
/// domain); otherwise [`key`] of the joined string. Unicode lower-casing can depend on the
/// neighbouring characters, so only ASCII parts are lower-cased one by one.
fn key_parts(parts: &[&str]) -> (u64, u64) {
    let mut buf = [0u8; 256];
    let mut n = 0;
    for p in parts {
        let b = p.as_bytes();
        match buf.get_mut(n..n + b.len()) {
            Some(room) if p.is_ascii() => room.copy_from_slice(b),
            _ => return key(&parts.concat()),
        }
        n += b.len();
    }
    let text = &mut buf[..n];
    text.make_ascii_lowercase();
    let h = xxh3_128(text);
    (h as u64, (h >> 64) as u64)
}

/// A claim's key for a candidate that is not tried (see [`Claim::keys`]). No key held in
/// the index is this: a claim stores a key whose high half is 0 as the index does (1).
pub const NO_KEY: (u64, u64) = (0, 0);

/// `k` as a claim stores it: [`NO_KEY`] for `None`, else the key with a zero high half held
/// as 1, as the index holds it (so it is the same key to the index).
fn tried(k: Option<(u64, u64)>) -> (u64, u64) {
    match k {
        None => NO_KEY,
        Some((0, lo)) => (1, lo),
        Some(k) => k,
    }
}

/// The key stored as [`tried`] stores it, `None` for [`NO_KEY`].
fn stored(k: (u64, u64)) -> Option<(u64, u64)> {
    (k != NO_KEY).then_some(k)
}

/// [`key`] of the address `kind:local@domain` (`kind:local` without a domain).
fn local_key(kind: &str, local: &str, domain: &str) -> (u64, u64) {
    if domain.is_empty() {
        key_parts(&[kind, ":", local])
    } else {
        key_parts(&[kind, ":", local, "@", domain])
    }
}

/// [`key`] of [`x400_candidate`]`(kind, address, 0)`.
fn x400_key(kind: &str, address: &str) -> (u64, u64) {
    key_parts(&[kind, ":", address])
}

/// The index's hasher: its keys are hashes already, so they are used as they are (a second
/// SipHash per lookup cost more than the table itself).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(32) ^ n;
    }
}

/// A hasher for small integer keys (record places, sequence numbers): each word is mixed in
/// with a multiplication, as rustc's Fx hash does. Keys come from the input, not from an
/// adversary, and SipHash cost more than the lookups it served.
#[derive(Default)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        // The multiplication leaves the low bits weakest; hashbrown takes buckets from them.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A map with [`IntHasher`].
pub type IntMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IntHasher>>;

/// The index's table: open addressing with linear probing over slots of 16 bytes, four to a
/// cache line, so that a key's place is known before it is looked up ([`Taken::prefetch`])
/// and a lookup costs one cache miss. A slot is two words: the key's high half, whose top
/// bits choose its first slot, then the low 32 bits of its low half with the owner above
/// them. 96 bits of the key are compared: for ten million values a false match has a chance
/// near 10⁻¹⁵, and would cost a retry. A slot whose first word is 0 is empty, so a key with a
/// zero high half is held as 1.
///
/// Taking the first slot from the top bits means that keys in the order of their high
/// halves go into the table from its start to its end, whatever its size: what
/// [`Taken::hold_buckets`] does with many keys at once, where one lookup after another would
/// each miss the cache and the TLB.
#[derive(Default)]
struct Taken {
    /// A power of two in length, or empty.
    slots: Vec<[u64; 2]>,
    len: usize,
}

/// The low 32 bits of a word.
const LOW: u64 = u32::MAX as u64;

/// Slots in a page of memory (4 KiB).
const PAGE_SLOTS: usize = 4096 / 16;

/// What one half of the table's holding ([`Taken::hold_buckets`]) did.
#[derive(Default)]
struct HalfHeld {
    /// Keys held.
    held: usize,
    /// Keys found held by another owner whose holding is to be reported: first word and
    /// low 32 bits of the second.
    reported: Vec<(u64, u32)>,
    /// Keys whose probe ran past the half's end, to be held once both halves are done.
    over: Vec<[u64; 2]>,
}

impl Taken {
    /// The table grows before it is more than half full.
    const fn room(slots: usize) -> usize {
        slots / 2
    }

    /// The key's first word as stored and the low 32 bits of its second word.
    #[inline(always)]
    fn split(k: (u64, u64)) -> (u64, u64) {
        let hi = if k.0 == 0 { 1 } else { k.0 };
        (hi, k.1 & LOW)
    }

    /// The first slot of a key whose first word (as stored) is `hi`, in a table of `slots`
    /// slots: its top log₂(`slots`) bits.
    #[inline(always)]
    fn home(hi: u64, slots: usize) -> usize {
        match slots.trailing_zeros() {
            0 | 64.. => 0,
            bits => (hi >> (64 - bits)) as usize,
        }
    }

    /// The slot of `slots` holding the key (`hi`, `check`), looking from slot `at` on, or
    /// the empty slot where it would go (`Err`). Past the last slot the probe goes on from
    /// the first when `wrap`, and stops otherwise with `Err(slots.len())`; `Err` is out of
    /// range too when there are no slots. A table has room: at least one slot is empty.
    #[inline(always)]
    fn probe(
        slots: &[[u64; 2]],
        (hi, check): (u64, u64),
        mut at: usize,
        wrap: bool,
    ) -> Result<usize, usize> {
        let mask = slots.len().wrapping_sub(1);
        loop {
            let Some(&[first, second]) = slots.get(at) else {
                return Err(at);
            };
            if first == 0 {
                return Err(at);
            }
            if first == hi && second & LOW == check {
                return Ok(at);
            }
            at = if wrap { (at + 1) & mask } else { at + 1 };
        }
    }

    /// The slot holding `k`, or the empty slot where it would go (`Err`; out of range when
    /// the table has no slots).
    #[inline(always)]
    fn find(&self, k: (u64, u64)) -> Result<usize, usize> {
        let (hi, check) = Self::split(k);
        Self::probe(
            &self.slots,
            (hi, check),
            Self::home(hi, self.slots.len()),
            true,
        )
    }

    /// The owner kept in a slot's second word.
    fn owner(slot: [u64; 2]) -> u32 {
        (slot[1] >> 32) as u32
    }

    /// `k` held by `owner`, as a slot holds it.
    fn slot(k: (u64, u64), owner: u32) -> [u64; 2] {
        let (hi, check) = Self::split(k);
        [hi, check | u64::from(owner) << 32]
    }

    /// Who holds `k`.
    fn get(&self, k: (u64, u64)) -> Option<u32> {
        let at = self.find(k).ok()?;
        self.slots.get(at).map(|&s| Self::owner(s))
    }

    /// Holds `k` for `owner` unless it is held; `Err` gives the holder.
    fn insert(&mut self, k: (u64, u64), owner: u32) -> Result<(), u32> {
        self.insert_slot(Self::slot(k, owner))
    }

    /// [`Taken::insert`] of a key in the form of a slot, with its owner.
    fn insert_slot(&mut self, slot: [u64; 2]) -> Result<(), u32> {
        self.reserve(1);
        match self.find((slot[0], slot[1])) {
            Ok(at) => Err(self
                .slots
                .get(at)
                .map_or(Self::owner(slot), |&s| Self::owner(s))),
            Err(at) => {
                if let Some(s) = self.slots.get_mut(at) {
                    *s = slot;
                    self.len += 1;
                }
                Ok(())
            }
        }
    }

    /// Holds every key of `buckets` (slots as [`Taken::slot`] makes them, by the top bits
    /// of their first word: `buckets.len()` a power of two) for its owner, as
    /// [`Taken::insert_slot`] of each bucket's keys one after another would; gives the keys
    /// found held by another owner where `reported(holder, owner)`. Makes room for
    /// `additional` keys first.
    ///
    /// Each half of the table is filled on a thread of the current rayon pool, from the
    /// buckets of keys whose first slot is in it, in order: each thread goes through its
    /// half from start to end. Keys equal in all their bits are in one bucket in the order
    /// given, so the first one holds the value. A key whose probe runs past the end of its
    /// half is held afterwards, in turn. A table with nothing held yet is made at its size
    /// first, and each thread writes a word of every page of its half before holding
    /// ([`Taken::touch`]), so that the pages' first writes, a fault each, are shared too.
    fn hold_buckets(
        &mut self,
        buckets: &[Vec<[u64; 2]>],
        additional: usize,
        reported: impl Fn(u32, u32) -> bool + Sync,
    ) -> Vec<(u64, u32)> {
        let fresh = self.len == 0 && Self::room(self.slots.len()) < additional;
        if fresh {
            // Not written here: each half is written on its own thread, below.
            self.slots = vec![[0; 2]; Self::size_for(additional)];
        } else {
            self.reserve(additional);
        }
        let size = self.slots.len();
        let half = size / 2;
        let (low, high) = self.slots.split_at_mut(half);
        let (low_buckets, high_buckets) = buckets.split_at(buckets.len() / 2);
        let hold_half = |region: &mut [[u64; 2]], base: usize, buckets: &[Vec<[u64; 2]>]| {
            if fresh {
                Self::touch(region);
            }
            let mut done = HalfHeld::default();
            for &slot in buckets.iter().flatten() {
                let at = Self::home(slot[0], size).wrapping_sub(base);
                match Self::probe(region, (slot[0], slot[1] & LOW), at, false) {
                    Ok(at) => {
                        let holder = region.get(at).map_or(u32::MAX, |&s| Self::owner(s));
                        if reported(holder, Self::owner(slot)) {
                            done.reported.push((slot[0], slot[1] as u32));
                        }
                    }
                    Err(at) => match region.get_mut(at) {
                        Some(empty) => {
                            *empty = slot;
                            done.held += 1;
                        }
                        None => done.over.push(slot),
                    },
                }
            }
            done
        };
        let (a, b) = rayon::join(
            || hold_half(low, 0, low_buckets),
            || hold_half(high, half, high_buckets),
        );
        self.len += a.held + b.held;
        let mut found = a.reported;
        found.extend(b.reported);
        for slot in a.over.into_iter().chain(b.over) {
            if let Err(holder) = self.insert_slot(slot) {
                if reported(holder, Self::owner(slot)) {
                    found.push((slot[0], slot[1] as u32));
                }
            }
        }
        found
    }

    /// The table's size for `n` keys.
    fn size_for(n: usize) -> usize {
        let mut size = 16;
        while Self::room(size) < n {
            size *= 2;
        }
        size
    }

    /// Writes every page of `slots` (zeros, as the system gives them): their first writes
    /// cost a fault each, made here rather than where the slots are used. What is written
    /// is opaque to the compiler, which would drop zeros written over zeros.
    fn touch(slots: &mut [[u64; 2]]) {
        for page in slots.chunks_mut(PAGE_SLOTS) {
            if let Some(s) = page.first_mut() {
                *s = std::hint::black_box([0; 2]);
            }
        }
    }

    /// Makes room for `additional` keys besides those held.
    fn reserve(&mut self, additional: usize) {
        let needed = self.len + additional;
        if needed <= Self::room(self.slots.len()) {
            return;
        }
        let size = Self::size_for(needed);
        // Zeros written, not asked for: fresh memory from `calloc` would first be read through
        // the kernel's shared zero page, and every page's first write would then fault again
        // and flush the other cores' TLBs.
        let mut slots = Vec::with_capacity(size);
        slots.resize(size, [0; 2]);
        let old = std::mem::replace(&mut self.slots, slots);
        if self.len == 0 {
            return;
        }
        // The old slots in order have their new first slots in order too (top bits).
        for s in old.into_iter().filter(|s| s[0] != 0) {
            let at = Self::probe(
                &self.slots,
                (s[0], s[1] & LOW),
                Self::home(s[0], size),
                true,
            );
            if let Err(at) = at {
                if let Some(place) = self.slots.get_mut(at) {
                    *place = s;
                }
            }
        }
    }

    /// Asks for the cache line of `k`'s first slot.
    #[inline(always)]
    fn prefetch(&self, k: (u64, u64)) {
        let (hi, _) = Self::split(k);
        prefetch(
            self.slots
                .as_ptr()
                .wrapping_add(Self::home(hi, self.slots.len())),
        );
    }

    /// Number of keys held.
    fn len(&self) -> usize {
        self.len
    }
}

/// The slot a legacyExchangeDN occupies (shared with `X500:` proxies).
pub fn legacy_slot(legacy_dn: &str) -> String {
    [LEGACY_SLOT, legacy_dn].concat()
}

/// What [`legacy_slot`] puts before the legacyExchangeDN.
pub const LEGACY_SLOT: &str = "x500:";

/// [`key`] of [`legacy_slot`]`(legacy_dn)`, without making the slot's string.
fn legacy_key(legacy_dn: &str) -> (u64, u64) {
    key_parts(&[LEGACY_SLOT, legacy_dn])
}

/// The values one object holds, with their keys, gathered where the object is read (the
/// pipeline's workers): one buffer of text instead of a string per value, and the keys
/// hashed there rather than on the thread that builds the index.
#[derive(Debug, Default)]
pub struct Held {
    text: String,
    /// Key and end in `text` of each value.
    values: Vec<((u64, u64), u32)>,
}

impl Held {
    /// Makes room for `values` more values of `bytes` bytes in all.
    pub fn reserve(&mut self, values: usize, bytes: usize) {
        self.text.reserve(bytes);
        self.values.reserve(values);
    }

    /// Adds the value made of `parts` one after another.
    pub fn push(&mut self, parts: &[&str]) {
        let start = self.text.len();
        for p in parts {
            self.text.push_str(p);
        }
        let k = key(&self.text[start..]);
        self.values
            .push((k, u32::try_from(self.text.len()).unwrap_or(u32::MAX)));
    }

    /// The values and their keys, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = ((u64, u64), &str)> + '_ {
        let mut start = 0usize;
        self.values.iter().map(move |&(k, end)| {
            let end = (end as usize).min(self.text.len());
            let v = self.text.get(start..end).unwrap_or_default();
            start = end;
            (k, v)
        })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Values held, with their owners, gathered in the order they are held for
/// [`Index::of_holds`] to hold them all at once: what `plan`'s pass 1 reads of each object,
/// appended as it comes instead of looked up in the index's table one value at a time.
///
/// Only the keys are kept, and the text of the values that may have been added before: a
/// value whose key the filter `seen` may have seen. Every value added again is one of
/// them, and only a value added again can be a duplicate to report, so the report has
/// the text it needs without the text of every value (a hundred megabytes at a million
/// objects).
#[derive(Debug)]
pub struct Holds {
    /// Each value's key and owner as the table's slot holds them ([`Taken::slot`]), by the
    /// top [`Holds::BUCKET_BITS`] bits of the key's first word (where in the table it
    /// goes), in the order added.
    buckets: Vec<Vec<[u64; 2]>>,
    /// Values added.
    len: usize,
    /// A Bloom filter of the keys added: two bits of one word per key ([`Holds::bits`]).
    seen: Vec<u64>,
    /// The values whose key `seen` had seen when they were added, in the order added: the
    /// slot and where the text ends in `text`.
    again: Vec<([u64; 2], usize)>,
    text: String,
}

impl Default for Holds {
    fn default() -> Holds {
        Holds {
            buckets: vec![Vec::new(); 1 << Holds::BUCKET_BITS],
            len: 0,
            seen: vec![0; Holds::LEAST_WORDS],
            again: Vec::new(),
            text: String::new(),
        }
    }
}

impl Holds {
    /// The keys are gathered in 4,096 lists by where they go in the table, so that each
    /// list is held in one run of the table, one after another.
    const BUCKET_BITS: u32 = 12;

    /// The filter's least size, in words.
    const LEAST_WORDS: usize = 1 << 10;

    /// Bits of the filter per key expected: with two bits set per key, about one value in
    /// 60 is taken for one added before when it was not (at 1M objects, a 2 MB filter
    /// for 1.1 million values; twice the size, one in 200, cost the calling thread more
    /// in cache misses than the text it saved).
    const BITS_PER_KEY: usize = 8;

    /// The word of the filter and the two bits in it that stand for the key of `slot`
    /// (bits of its key the table's place and the buckets are not chosen from).
    fn bits(slot: [u64; 2], words: usize) -> (usize, u64) {
        let word = (slot[0] as usize) & (words - 1);
        (word, 1 << (slot[1] & 63) | 1 << ((slot[1] >> 6) & 63))
    }

    /// Reserves room for `n` more values, if the system grants it (see
    /// [`crate::commands::places::reserve_hint`]): the filter is sized for them at once
    /// rather than remade as it fills.
    pub fn reserve_hint(&mut self, n: usize) {
        self.grow((self.len + n).saturating_mul(Self::BITS_PER_KEY));
    }

    /// Makes the filter at least `bits` bits, putting in it every key added.
    fn grow(&mut self, bits: usize) {
        let words = (bits / 64).max(Self::LEAST_WORDS).next_power_of_two();
        if words <= self.seen.len() {
            return;
        }
        let mut seen = Vec::new();
        if seen.try_reserve_exact(words).is_err() {
            return;
        }
        seen.resize(words, 0);
        for &slot in self.buckets.iter().flatten() {
            let (word, bits) = Self::bits(slot, words);
            if let Some(w) = seen.get_mut(word) {
                *w |= bits;
            }
        }
        self.seen = seen;
    }

    /// Adds that `owner` holds every value of `held`.
    pub fn add(&mut self, held: &Held, owner: u32) {
        let bits = (self.len + held.values.len()).saturating_mul(Self::BITS_PER_KEY);
        if bits > self.seen.len() * 64 {
            self.grow(bits.max(self.seen.len() * 128));
        }
        let words = self.seen.len();
        let mut start = 0usize;
        for &(k, end) in &held.values {
            let slot = Taken::slot(k, owner);
            let end = (end as usize).min(held.text.len());
            let (word, bits) = Self::bits(slot, words);
            if let Some(w) = self.seen.get_mut(word) {
                if *w & bits == bits {
                    self.text
                        .push_str(held.text.get(start..end).unwrap_or_default());
                    self.again.push((slot, self.text.len()));
                }
                *w |= bits;
            }
            if let Some(b) = self
                .buckets
                .get_mut((slot[0] >> (64 - Self::BUCKET_BITS)) as usize)
            {
                b.push(slot);
            }
            start = end;
        }
        self.len += held.values.len();
    }

    /// The values the filter had seen when they were added, with their slots, in the order
    /// added.
    fn again(&self) -> impl Iterator<Item = ([u64; 2], &str)> + '_ {
        let mut start = 0usize;
        self.again.iter().map(move |&(slot, end)| {
            let v = self.text.get(start..end).unwrap_or_default();
            start = end;
            (slot, v)
        })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A value two objects already share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    /// The value.
    pub value: String,
    /// The first holder (sequence number).
    pub first: u32,
    /// The second holder.
    pub second: u32,
}

/// Every value in use, with its holder.
#[derive(Default)]
pub struct Index {
    taken: Taken,
    /// Values held by more than one object in the input.
    pub duplicates: Vec<Duplicate>,
}

impl Index {
    /// Records that `owner` holds `value` (a proxy address or [`legacy_slot`]).
    pub fn hold(&mut self, value: &str, owner: u32) {
        self.hold_keyed(key(value), value, owner);
    }

    /// The index of the values of `holds`, as [`Index::hold_all`] of every [`Holds::add`] in
    /// turn would make it, duplicates included, with room for `additional` values besides.
    ///
    /// The values are held from one end of the table to the other, each half on a thread of
    /// the current rayon pool, rather than one cache and TLB miss each in input order. The
    /// keys two objects hold are then looked for among the values added again ([`Holds`]),
    /// in the order added, for the duplicates to come in the order of one hold after
    /// another.
    pub fn of_holds(holds: Holds, additional: usize) -> Index {
        let mut index = Index::default();
        let twice: IntMap<(u64, u32), ()> = index
            .taken
            .hold_buckets(&holds.buckets, holds.len() + additional, Self::reported)
            .into_iter()
            .map(|k| (k, ()))
            .collect();
        if twice.is_empty() {
            return index;
        }
        for (slot, value) in holds.again() {
            if !twice.contains_key(&(slot[0], slot[1] as u32)) {
                continue;
            }
            let owner = Taken::owner(slot);
            let first = index.taken.get((slot[0], slot[1])).unwrap_or(owner);
            if Self::reported(first, owner) {
                index.duplicates.push(Duplicate {
                    value: value.to_string(),
                    first,
                    second: owner,
                });
            }
        }
        index
    }

    /// Whether a value held by `first` and then by `second` is a duplicate to report: two
    /// objects of the input (the `--index` files' values are not reported).
    fn reported(first: u32, second: u32) -> bool {
        first != second && second != INDEX_OWNER && first != INDEX_OWNER
    }

    /// Records that `owner` holds every value of `held`.
    pub fn hold_all(&mut self, held: &Held, owner: u32) {
        // The values' slots are fetched together, so that their cache misses overlap.
        self.taken.reserve(held.len());
        for &(k, _) in &held.values {
            self.taken.prefetch(k);
        }
        for (k, v) in held.iter() {
            self.hold_keyed(k, v, owner);
        }
    }

    /// [`Index::hold`] of a value whose key is known.
    fn hold_keyed(&mut self, k: (u64, u64), value: &str, owner: u32) {
        if let Err(first) = self.taken.insert(k, owner) {
            if Self::reported(first, owner) {
                self.duplicates.push(Duplicate {
                    value: value.to_string(),
                    first,
                    second: owner,
                });
            }
        }
    }

    /// Whether `value` is free for `owner` (unused, or used by `owner` itself).
    pub fn free_for(&self, value: &str, owner: u32) -> bool {
        self.holder(value).is_none_or(|o| o == owner)
    }

    /// Who holds `value`, if anyone.
    pub fn holder(&self, value: &str) -> Option<u32> {
        self.taken.get(key(value))
    }

    /// Holds the value of key `k` ([`key`]) for `owner` when it is free for it (unused, or
    /// used by `owner` itself): one lookup for the test and the hold.
    fn take_key(&mut self, k: (u64, u64), owner: u32) -> bool {
        match self.taken.insert(k, owner) {
            Ok(()) => true,
            Err(holder) => holder == owner,
        }
    }

    /// Who holds the value of key `k`.
    fn holder_key(&self, k: (u64, u64)) -> Option<u32> {
        self.taken.get(k)
    }

    /// Records that `owner` holds the value of key `k`, which is free for it (so that no
    /// duplicate is possible).
    fn hold_key(&mut self, k: (u64, u64), owner: u32) {
        let _ = self.taken.insert(k, owner);
    }

    /// Makes room for `additional` values besides those held, so that holding them does not
    /// grow the index. Growing copies every value held; reserving while values are still
    /// being indexed copies fewer of them, and keeps the copying out of the allocation.
    pub fn reserve(&mut self, additional: usize) {
        self.taken.reserve(additional);
    }

    /// Forgets the values (once the allocation is done), keeping [`Index::duplicates`].
    pub fn release_values(&mut self) {
        self.taken = Taken::default();
    }

    /// Number of values indexed.
    pub fn len(&self) -> usize {
        self.taken.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.taken.len() == 0
    }
}

/// One address an object needs; its strings are `S`: owned ([`Wanted`]), borrowed
/// ([`WantedRef`]), or ranges of a [`Claim`]'s text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted<S = String> {
    /// A `user@domain` address: template output, alias, and domain.
    Local {
        /// The address type as the template writes it (`SMTP`, `smtp`; interned, see
        /// [`crate::model::intern()`]).
        kind: &'static str,
        /// Local part from the template (retry 0).
        template: S,
        /// The alias local part (retry 1 and the base of later ones).
        alias: S,
        /// Domain (interned).
        domain: &'static str,
    },
    /// An X.400 address (`c=...;s=...;` without the type) and its type as written.
    X400 {
        /// `X400` / `x400` (interned).
        kind: &'static str,
        /// The generated address.
        address: S,
    },
}

/// A [`Wanted`] address borrowed (from a preparation, or from a [`Claim`]'s text).
pub type WantedRef<'a> = Wanted<&'a str>;

/// A [`Wanted`] address whose strings are owned (made by a preparation) or borrowed (read
/// back from `plan`'s spool).
pub type WantedCow<'a> = Wanted<std::borrow::Cow<'a, str>>;

impl<S> Wanted<S> {
    /// The same address with each of its strings given by `f`.
    pub fn map<'s, T>(&'s self, mut f: impl FnMut(&'s S) -> T) -> Wanted<T> {
        match self {
            Wanted::Local {
                kind,
                template,
                alias,
                domain,
            } => Wanted::Local {
                kind,
                template: f(template),
                alias: f(alias),
                domain,
            },
            Wanted::X400 { kind, address } => Wanted::X400 {
                kind,
                address: f(address),
            },
        }
    }
}

impl<S: std::ops::Deref<Target = str>> Wanted<S> {
    /// The address borrowed.
    pub fn as_ref(&self) -> WantedRef<'_> {
        self.map(|s| &**s)
    }
}

/// A range of a [`Claim`]'s text.
type At = (u32, u32);

/// A wanted address as a [`Claim`] holds it: its strings are ranges of the claim's text.
type Want = Wanted<At>;

/// A claim's `whenCreated`.
#[derive(Clone, Debug, Default)]
enum WhenCreated {
    #[default]
    None,
    /// Text at the start of the claim's text, up to here.
    InText(u32),
    /// Bytes that are not UTF-8 (never seen in an export, kept as read).
    Bytes(Box<[u8]>),
}

/// What one object needs allocated. Claims are held from pass 1 to the allocation, one per
/// claiming object, so their strings share one buffer (`text`) rather than one allocation
/// each.
#[derive(Clone, Debug, Default)]
pub struct Claim {
    /// Input sequence number of the object.
    pub seq: u32,
    /// The pool thread that made the claim (its index), `u16::MAX` for any other: its memory
    /// is cheapest to free there (see `commands::plan`).
    pub made_on: u16,
    /// `objectGUID` bytes.
    pub guid: Option<[u8; 16]>,
    /// `whenCreated` (when it is text), then the wanted addresses' strings, then the
    /// legacyExchangeDN base and DN.
    text: String,
    when_created: WhenCreated,
    /// `whenCreated` as the serving order sorts it ([`serving_key`]), kept here so that
    /// sorting the claims reads none of their text unless it must.
    when_key: u128,
    /// Addresses, in template order.
    wanted: Box<[Want]>,
    /// `(base CN, DN)` when the object needs a legacyExchangeDN.
    legacy: Option<(At, At)>,
    /// Keys of the first candidates ([`Claim::compute_keys`]), [`NO_KEY`] for a candidate
    /// that is not tried; empty until computed. 16 bytes a key in one exact allocation: the
    /// allocation reads every claim's keys, in an order that is not memory's.
    pub keys: Box<[(u64, u64)]>,
}

/// What [`allocate`] decided for one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocation {
    /// The addresses one after another (see [`Allocation::address`]).
    text: String,
    /// One entry per [`Claim::wanted`]: where its address (with its type) is in `text`, or
    /// `None` when none was free (see `warnings`).
    spans: Vec<Option<(u32, u32)>>,
    /// The legacyExchangeDN, when one was needed.
    pub legacy_dn: Option<String>,
    /// What happened that a reviewer should know (retries, skipped addresses).
    pub warnings: Vec<String>,
    /// Warnings of that kind counted but not written out (see [`Decisions::allocation_of`]).
    pub untold: u32,
    /// Set when a primary SMTP address could not be found: the object must not be stamped.
    pub failed: Option<String>,
}

impl Allocation {
    /// The address given for wanted address `j`, if one was free.
    pub fn address(&self, j: usize) -> Option<&str> {
        let (start, end) = (*self.spans.get(j)?)?;
        self.text.get(start as usize..end as usize)
    }

    /// The addresses given, one per wanted address.
    pub fn addresses(&self) -> impl ExactSizeIterator<Item = Option<&str>> + '_ {
        (0..self.spans.len()).map(|j| self.address(j))
    }

    /// Adds the address made of `parts` one after another (none when `parts` is `None`).
    fn push_address(&mut self, parts: Option<&[&str]>) {
        let Some(parts) = parts else {
            self.spans.push(None);
            return;
        };
        let start = self.text.len();
        for p in parts {
            self.text.push_str(p);
        }
        let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.spans.push(Some((at(start), at(self.text.len()))));
    }

    /// Adds the warning `text` makes when warnings are told, else counts it.
    fn warn(&mut self, tell: bool, text: impl FnOnce() -> String) {
        if tell {
            self.warnings.push(text());
        } else {
            self.untold += 1;
        }
    }
}

/// The `whenCreated` of a claim's text.
fn when_created_bytes<'a>(text: &'a str, when: &'a WhenCreated) -> Option<&'a [u8]> {
    match when {
        WhenCreated::None => None,
        WhenCreated::InText(end) => text.as_bytes().get(..*end as usize),
        WhenCreated::Bytes(b) => Some(b),
    }
}

/// A `whenCreated` as claims are served by it: none sorts last.
fn sorts_as(when_created: Option<&[u8]>) -> &[u8] {
    when_created.unwrap_or(b"\xff")
}

/// A `whenCreated` as a 128-bit key for the serving order. Generalized time (fourteen digits,
/// then at most eight bytes, as every directory writes it: `20040310003704.0Z`) is *exact*:
/// the digits as a number, the bytes after them zero-padded, then the length, below
/// [`INEXACT`]; keys of exact values order as the values do and are equal only for equal
/// values. No `whenCreated` is exact too, and last: `u128::MAX`. Any other value is
/// [`INEXACT`] with its first fifteen bytes: such keys order as the values do unless they
/// are equal, and say nothing of an exact one ([`serving_cmp`] then compares the text).
fn serving_key(when_created: Option<&[u8]>) -> u128 {
    let Some(w) = when_created else {
        return u128::MAX;
    };
    if w.len() <= 22 && w.len() >= 14 && w[..14].iter().all(u8::is_ascii_digit) {
        let digits = w[..14]
            .iter()
            .fold(0u128, |n, d| n * 10 + u128::from(d - b'0'));
        let mut rest = [0u8; 8];
        rest[..w.len() - 14].copy_from_slice(&w[14..]);
        // The digits are below 10^14 < 2^47: the key is below 2^127.
        return digits << 72 | u128::from(u64::from_be_bytes(rest)) << 8 | w.len() as u128;
    }
    let mut head = [0u8; 16];
    let n = w.len().min(15);
    head[1..=n].copy_from_slice(&w[..n]);
    INEXACT | u128::from_be_bytes(head)
}

/// The bit that marks a [`serving_key`] that is not exact.
const INEXACT: u128 = 1 << 127;

/// Whether a [`serving_key`] is exact (equal keys, equal values).
fn is_exact(key: u128) -> bool {
    key < INEXACT || key == u128::MAX
}

/// A claim's `whenCreated` as it sorts ([`sorts_as`]).
fn when(c: &Claim) -> &[u8] {
    sorts_as(c.when_created())
}

/// Allocation settings.
#[derive(Clone, Debug)]
pub struct AllocSettings {
    /// The administrative group's legacyExchangeDN.
    pub admin_group_legacy_dn: String,
    /// Base of numbered retries.
    pub duplicate_base: DuplicateBase,
    /// X.400 conflicts.
    pub x400_duplicates: X400Duplicates,
    /// Retries after the template before giving up.
    pub max_retries: u32,
    /// How a taken legacyExchangeDN gets a unique variant.
    pub legacy_collision: crate::policy::LegacyCollision,
}

impl AllocSettings {
    /// The settings `policy` gives.
    pub fn of(policy: &crate::policy::Policy) -> AllocSettings {
        AllocSettings {
            admin_group_legacy_dn: policy.org.admin_group_legacy_dn.clone(),
            duplicate_base: policy.addresses.duplicate_base,
            x400_duplicates: policy.addresses.x400_duplicates,
            max_retries: policy.addresses.max_retries,
            legacy_collision: policy.addresses.legacy_dn_collision,
        }
    }
}

/// What the allocation learnt of one base's numbered candidates (`base2`, `base3`, ...): every
/// candidate below `next` is held, and `holders` are their holders. Values are never given
/// back while allocating, so those candidates stay taken for every later claim but one of
/// their holders: a later claim that is none of them starts its search at `next` and gets the
/// same address it would get by trying them all again.
struct Numbered {
    next: u32,
    holders: Vec<u32>,
}

/// The key of a base's numbered candidates: type, base and domain, case-folded as the index
/// compares values.
fn numbered_key(kind: &str, base: &str, domain: &str) -> (u64, u64) {
    key_parts(&[kind, ":", base, "\u{0}@", domain])
}

fn numbered(base: &str, n: u32) -> String {
    let digits = n.to_string();
    let room = 64usize.saturating_sub(digits.len());
    let mut b: String = base.chars().take(room).collect();
    while b.ends_with('.') {
        b.pop();
    }
    b.push_str(&digits);
    b
}

/// Local part `n` of a `Local` claim: 0 the template's, 1 the alias, then `base2`, `base3`, ...
fn local_candidate<'c>(n: u32, template: &'c str, alias: &'c str, base: &str) -> Cow<'c, str> {
    match n {
        0 => Cow::Borrowed(template),
        1 => Cow::Borrowed(alias),
        _ => Cow::Owned(numbered(base, n)),
    }
}

/// X.400 candidate `n`: 0 the generated address, then the address with suffix `n` (from 2).
fn x400_candidate(kind: &str, address: &str, n: u32) -> String {
    if n == 0 {
        [kind, ":", address].concat()
    } else {
        [kind, ":", &x400::with_suffix(address, n)].concat()
    }
}

/// The legacyExchangeDN of attempt `attempt` for base CN `base`.
fn legacy_candidate(
    settings: &AllocSettings,
    base: &str,
    guid: Option<&[u8; 16]>,
    dn: &str,
    attempt: u32,
) -> String {
    let cn = if attempt == 0 && !base.is_empty() {
        Cow::Borrowed(base)
    } else if settings.legacy_collision == crate::policy::LegacyCollision::Number
        && !base.is_empty()
    {
        Cow::Owned(numbered(base, attempt + 1))
    } else {
        let b = if base.is_empty() { "recipient" } else { base };
        Cow::Owned(legacy_dn::collision_candidate(b, guid, dn, attempt))
    };
    legacy_dn::recipient_legacy_dn(&settings.admin_group_legacy_dn, &cn)
}

/// [`legacy_key`] of [`legacy_candidate`]: the first candidate, the base itself, is hashed from
/// the DN's parts without making its string.
fn legacy_candidate_key(
    settings: &AllocSettings,
    base: &str,
    guid: Option<&[u8; 16]>,
    dn: &str,
    attempt: u32,
) -> (u64, u64) {
    if attempt == 0 && !base.is_empty() {
        let [parent, recipients, cn_is, cn] =
            legacy_dn::recipient_legacy_dn_parts(&settings.admin_group_legacy_dn, base);
        key_parts(&[LEGACY_SLOT, parent, recipients, cn_is, cn])
    } else {
        legacy_key(&legacy_candidate(settings, base, guid, dn, attempt))
    }
}

/// The base of the numbered candidates (`base2`, `base3`, ...) of a `Local` address.
fn numbered_base<'c>(settings: &AllocSettings, template: &'c str, alias: &'c str) -> &'c str {
    match settings.duplicate_base {
        DuplicateBase::Alias => alias,
        DuplicateBase::Template => template,
    }
}

/// The first alias candidate is tried unless it is empty or the template's (already tried).
fn alias_is_tried(template: &str, alias: &str) -> bool {
    !alias.is_empty() && alias != template
}

impl Claim {
    /// The claim of object `seq`: its `whenCreated` as read (GeneralizedTime sorts as text),
    /// `objectGUID`, wanted addresses in template order, and `(base CN, DN)` when it needs a
    /// legacyExchangeDN (the DN empty when `guid` is set: collision suffixes then derive from
    /// the GUID).
    pub fn new<'a>(
        seq: u32,
        when_created: Option<&[u8]>,
        guid: Option<[u8; 16]>,
        wanted: impl ExactSizeIterator<Item = WantedRef<'a>> + Clone,
        legacy: Option<(&str, &str)>,
    ) -> Claim {
        let when_text = when_created.map(std::str::from_utf8);
        let mut size = match when_text {
            Some(Ok(t)) => t.len(),
            _ => 0,
        };
        for w in wanted.clone() {
            size += match w {
                WantedRef::Local {
                    template, alias, ..
                } => template.len() + alias.len(),
                WantedRef::X400 { address, .. } => address.len(),
            };
        }
        if let Some((base, dn)) = legacy {
            size += base.len() + dn.len();
        }
        let mut text = String::with_capacity(size);
        let mut put = |s: &str| {
            let start = text.len() as u32;
            text.push_str(s);
            (start, text.len() as u32)
        };
        let when_created = match (when_text, when_created) {
            (Some(Ok(t)), _) => WhenCreated::InText(put(t).1),
            (Some(Err(_)), Some(b)) => WhenCreated::Bytes(b.into()),
            _ => WhenCreated::None,
        };
        let wanted = wanted.map(|w| w.map(|s| put(s))).collect();
        let legacy = legacy.map(|(base, dn)| (put(base), put(dn)));
        Claim {
            seq,
            guid,
            when_key: serving_key(when_created_bytes(&text, &when_created)),
            text,
            when_created,
            wanted,
            legacy,
            keys: Box::default(),
            made_on: u16::MAX,
        }
    }

    fn at(&self, (start, end): At) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// `whenCreated` as read.
    pub fn when_created(&self) -> Option<&[u8]> {
        when_created_bytes(&self.text, &self.when_created)
    }

    /// The wanted addresses, in template order.
    pub fn wanted(&self) -> impl ExactSizeIterator<Item = WantedRef<'_>> + Clone + '_ {
        self.wanted.iter().map(|w| w.map(|&at| self.at(at)))
    }

    /// `(base CN, DN)` when the object needs a legacyExchangeDN.
    pub fn legacy(&self) -> Option<(&str, &str)> {
        self.legacy.map(|(b, d)| (self.at(b), self.at(d)))
    }

    /// Computes [`Claim::keys`]: the keys of the candidates nearly every claim tries (its
    /// template and alias addresses, its X.400 address, its first legacyExchangeDN), so that
    /// the one-threaded allocation only looks them up. Call it where the claim is made (the
    /// pipeline's workers); [`decide`] computes the keys of claims that come without them.
    pub fn compute_keys(&mut self, settings: &AllocSettings) {
        self.keys = self.candidate_keys(settings);
    }

    /// What [`Claim::compute_keys`] stores.
    fn candidate_keys(&self, settings: &AllocSettings) -> Box<[(u64, u64)]> {
        let count = self
            .wanted
            .iter()
            .map(|w| match w {
                Wanted::Local { .. } => 2,
                Wanted::X400 { .. } => 1,
            })
            .sum::<usize>()
            + usize::from(self.legacy.is_some());
        let mut keys = Vec::with_capacity(count);
        for w in self.wanted() {
            match w {
                WantedRef::Local {
                    kind,
                    template,
                    alias,
                    domain,
                } => {
                    keys.push(tried(
                        (!template.is_empty()).then(|| local_key(kind, template, domain)),
                    ));
                    keys.push(tried(
                        alias_is_tried(template, alias).then(|| local_key(kind, alias, domain)),
                    ));
                }
                WantedRef::X400 { kind, address } => {
                    keys.push(tried(Some(x400_key(kind, address))));
                }
            }
        }
        if let Some((base, dn)) = self.legacy() {
            keys.push(tried(Some(legacy_candidate_key(
                settings,
                base,
                self.guid.as_ref(),
                dn,
                0,
            ))));
        }
        keys.into_boxed_slice()
    }

    /// Number of decisions the claim needs: one per wanted address, one for its
    /// legacyExchangeDN.
    pub fn decisions(&self) -> usize {
        self.wanted.len() + usize::from(self.legacy.is_some())
    }
}

/// No candidate was free.
const NONE: u32 = u32::MAX;

/// What [`decide`] chose for every claim, as candidate numbers: per wanted address the
/// candidate taken (`Local`: 0 the template, 1 the alias, `n` the numbered `base<n>`;
/// `X400`: 0 the generated address, `n` the address with suffix `n`), then the
/// legacyExchangeDN attempt. [`Decisions::allocation`] turns them back into values and
/// warnings, where the claim is made again (the pipeline's workers), so that the
/// one-threaded pass neither builds nor holds strings.
///
/// The choices can be read while they are being made: [`Decisions::new`] sorts the serving
/// order, one thread then serves the claims ([`Decisions::serve`]), and a claim's choices
/// are read ([`Decisions::allocation_of`]) once its turn has come ([`Decisions::wait`]).
/// A claim's choices never change once it is served, so what is read does not depend on
/// when: `plan`'s pass 2 runs while the allocation does, and waits only for a claim served
/// later than the records before it.
#[derive(Debug, Default)]
pub struct Decisions {
    /// Per claim (in the order given to [`decide`]), where its choices start.
    starts: Vec<u32>,
    /// Written once each, by the serving thread, before the claim's turn is published.
    choices: Vec<AtomicU32>,
    /// The claims' positions in serving order.
    order: Vec<u32>,
    /// Per claim, its turn: its place in `order`.
    turns: Vec<u32>,
    /// Number of claims served (the first turns of `order`).
    served: AtomicU32,
    /// Serving stopped before every claim was served (it panicked).
    stopped: AtomicBool,
    /// Where readers wait for a turn to come.
    wake: (Mutex<()>, Condvar),
}

/// How many claims [`Decisions::serve`] serves between two wake-ups of waiting readers.
const WAKE_EVERY: u32 = 4096;

impl Decisions {
    /// The serving order of `claims` (`noted` are their [`Turns`]), with no claim served
    /// yet.
    pub fn new(claims: &[Claim], noted: Turns) -> Decisions {
        // Turns noted of other claims would misplace every choice: noted again.
        let noted = if noted.keys.len() == claims.len() {
            noted
        } else {
            Turns::of(claims)
        };
        let order = serving_order(claims, &noted);
        let mut turns = vec![0u32; claims.len()];
        for (turn, &i) in order.iter().enumerate() {
            if let Some(t) = turns.get_mut(i as usize) {
                *t = turn as u32;
            }
        }
        Decisions {
            starts: noted.starts,
            choices: std::iter::repeat_with(|| AtomicU32::new(NONE))
                .take(noted.total)
                .collect(),
            order,
            turns,
            ..Decisions::default()
        }
    }

    /// Waits until claim `i` is served; `false` when it never will be (serving stopped).
    /// A claim that is not one of the claims returns at once.
    pub fn wait(&self, i: usize) -> bool {
        let Some(&turn) = self.turns.get(i) else {
            return true;
        };
        if self.served.load(Ordering::Acquire) > turn {
            return true;
        }
        let (lock, cv) = &self.wake;
        let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.served.load(Ordering::Acquire) > turn {
                return true;
            }
            if self.stopped.load(Ordering::Acquire) {
                return false;
            }
            guard = cv.wait(guard).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Wakes the readers waiting in [`Decisions::wait`]. Taking the lock first means that a
    /// reader that found its claim not served yet is already waiting.
    fn wake(&self) {
        let (lock, cv) = &self.wake;
        drop(lock.lock().unwrap_or_else(PoisonError::into_inner));
        cv.notify_all();
    }

    /// The choice `k` (a claim's start plus its place among the claim's choices).
    fn choice(&self, k: usize) -> Option<u32> {
        self.choices.get(k).map(|c| c.load(Ordering::Relaxed))
    }

    /// The allocation of claim `i` (its position in the claims given to [`decide`]); `claim`
    /// must be that claim, made again from the same entry (its `seq` and keys are not read).
    pub fn allocation(&self, i: usize, claim: &Claim, settings: &AllocSettings) -> Allocation {
        self.allocation_of(
            i,
            claim.wanted(),
            claim.legacy(),
            claim.guid.as_ref(),
            settings,
            true,
        )
    }

    /// [`Decisions::allocation`] from the parts of claim `i` that turn its numbers into values
    /// (its wanted addresses, its legacyExchangeDN base and DN, its GUID), without the claim.
    /// Without `tell`, the warnings of retries and skipped addresses are counted
    /// ([`Allocation::untold`]) rather than written: a large run has one for most claims and
    /// prints a few (the message of a failure, [`Allocation::failed`], is always written).
    pub fn allocation_of<'w>(
        &self,
        i: usize,
        wanted: impl ExactSizeIterator<Item = WantedRef<'w>>,
        legacy: Option<(&str, &str)>,
        guid: Option<&[u8; 16]>,
        settings: &AllocSettings,
        tell: bool,
    ) -> Allocation {
        let wanted_len = wanted.len();
        // Not served yet: wait. Serving stopped: every choice reads as none, and the caller
        // that asked `wait` first knows why.
        self.wait(i);
        let start = self.starts.get(i).map_or(usize::MAX, |s| *s as usize);
        let choice = |j: usize| {
            start
                .checked_add(j)
                .and_then(|k| self.choice(k))
                .filter(|c| *c != NONE)
        };
        let mut alloc = Allocation {
            // Room for the usual addresses: an object's two SMTP and one X.400.
            text: String::with_capacity(192),
            spans: Vec::with_capacity(wanted_len),
            ..Allocation::default()
        };
        for (j, w) in wanted.enumerate() {
            match w {
                WantedRef::Local {
                    kind,
                    template,
                    alias,
                    domain,
                } => match choice(j) {
                    Some(n) => {
                        let base = numbered_base(settings, template, alias);
                        let local = local_candidate(n, template, alias, base);
                        let parts: &[&str] = if domain.is_empty() {
                            &[kind, ":", &local]
                        } else {
                            &[kind, ":", &local, "@", domain]
                        };
                        let start = alloc.text.len();
                        alloc.push_address(Some(parts));
                        // Not `Allocation::warn`: the warning quotes the address just
                        // written, which a closure could not borrow while `alloc` changes.
                        if n > 0 && tell {
                            let warning = [
                                "`",
                                kind,
                                ":",
                                template,
                                "@",
                                domain,
                                "` is taken; using `",
                                alloc.text.get(start..).unwrap_or_default(),
                                "` (retry ",
                                &n.to_string(),
                                ")",
                            ]
                            .concat();
                            alloc.warnings.push(warning);
                        } else if n > 0 {
                            alloc.untold += 1;
                        }
                    }
                    None => {
                        let msg = format!(
                            "no free `{kind}` address at `{domain}` after {} tries (template `{template}`, alias `{alias}`)",
                            settings.max_retries
                        );
                        if kind == "SMTP" {
                            alloc.failed = Some(msg.clone());
                        }
                        alloc.warnings.push(msg);
                        alloc.push_address(None);
                    }
                },
                WantedRef::X400 { kind, address } => match choice(j) {
                    Some(0) => {
                        alloc.push_address(Some(&[kind, ":", address]));
                    }
                    Some(n) => {
                        alloc.push_address(Some(&[kind, ":", &x400::with_suffix(address, n)]));
                    }
                    None => {
                        alloc.warn(tell, || {
                            let first = x400_candidate(kind, address, 0);
                            match settings.x400_duplicates {
                                X400Duplicates::Skip => [
                                    "`",
                                    &first,
                                    "` is already used by another object; no X.400 address generated (x400_duplicates = \"skip\")",
                                ].concat(),
                                X400Duplicates::Suffix => {
                                    format!("no free X.400 address for `{first}`")
                                }
                            }
                        });
                        alloc.push_address(None);
                    }
                },
            }
        }
        if let Some((base, dn)) = legacy {
            if let Some(attempt) = choice(wanted_len) {
                let value = legacy_candidate(settings, base, guid, dn, attempt);
                if attempt > 0 {
                    alloc.warn(tell, || {
                        [
                            "legacyExchangeDN `",
                            &legacy_dn::recipient_legacy_dn(&settings.admin_group_legacy_dn, base),
                            "` is taken; using `",
                            &value,
                            "`",
                        ]
                        .concat()
                    });
                }
                alloc.legacy_dn = Some(value);
            }
        }
        alloc
    }
}

/// Serves every claim in claim order; returns the allocations by sequence number (the
/// values and warnings of [`decide`] and [`Decisions::allocation`] together).
pub fn allocate(
    index: &mut Index,
    claims: Vec<Claim>,
    settings: &AllocSettings,
) -> IntMap<u32, Allocation> {
    let decisions = decide(index, &claims, settings);
    claims
        .iter()
        .enumerate()
        .map(|(i, c)| (c.seq, decisions.allocation(i, c, settings)))
        .collect()
}

/// What the serving order and the layout of the decisions are made of, noted claim by claim
/// as the claims are made ([`Turns::note`]) and kept apart from them: one pass over 600,000
/// claims for their keys cost 30 ms, on the way to pass 2.
#[derive(Debug, Default)]
pub struct Turns {
    /// Per claim, its [`serving_key`].
    keys: Vec<u128>,
    /// Per claim, where its choices start.
    starts: Vec<u32>,
    /// Choices of all claims.
    total: usize,
    /// Every key is exact and every claim's `seq` follows the one before: claims with equal
    /// keys are then in serving order already.
    in_seq: bool,
    last_seq: Option<u32>,
    /// The least and the greatest key other than none's (`u128::MAX`), the bits set in
    /// every one of them and those set in any: what the radix sort sorts on, gathered as
    /// the claims come rather than in passes over the keys between the passes.
    least: u128,
    greatest: u128,
    all_bits: u128,
    any_bits: u128,
}

impl Turns {
    /// For `claims`, noted one by one.
    pub fn of(claims: &[Claim]) -> Turns {
        let mut turns = Turns::default();
        for c in claims {
            turns.note(c);
        }
        turns
    }

    /// Notes the next claim (claims are noted in the order they are given to [`Decisions`]).
    pub fn note(&mut self, c: &Claim) {
        if self.keys.is_empty() {
            self.in_seq = true;
            (self.least, self.all_bits) = (u128::MAX, u128::MAX);
        }
        let k = c.when_key;
        if k != u128::MAX {
            self.least = self.least.min(k);
            self.greatest = self.greatest.max(k);
            self.all_bits &= k;
            self.any_bits |= k;
        }
        self.in_seq &= is_exact(k) && self.last_seq.is_none_or(|s| s < c.seq);
        self.last_seq = Some(c.seq);
        self.keys.push(c.when_key);
        self.starts
            .push(u32::try_from(self.total).unwrap_or(u32::MAX));
        self.total += c.decisions();
    }

    /// Reserves room for `n` more claims, if the system grants it (see
    /// [`crate::commands::places::reserve_hint`]).
    pub fn reserve_hint(&mut self, n: usize) {
        crate::commands::places::reserve_hint(&mut self.keys, n);
        crate::commands::places::reserve_hint(&mut self.starts, n);
    }

    /// Number of choices of the claims noted: at most one new value each.
    pub fn choices(&self) -> usize {
        self.total
    }
}

/// The claims' positions in serving order: `whenCreated` as text (none last), then input
/// order, then `objectGUID`.
///
/// When every claim's key is exact and the claims come in input order (as `plan` makes
/// them), the order is that of the keys, ties in claim order: a stable radix sort of the
/// keys ([`radix_sort`]; the claims themselves are not read). Otherwise the claims are
/// compared ([`serving_cmp`]) in a parallel sort on the current rayon pool (the order is
/// total, so the result is the same).
fn serving_order(claims: &[Claim], turns: &Turns) -> Vec<u32> {
    let keys = &turns.keys;
    if !turns.in_seq {
        let mut order: Vec<u32> = (0..claims.len() as u32).collect();
        order.par_sort_unstable_by(|a, b| serving_cmp(claims, *a, *b));
        return order;
    }
    // The keys as small numbers in the same order: less the least key (none, `u128::MAX`,
    // one past the greatest), without the low bits they all share (the least one's too, so
    // the difference has them clear); sorted with the claims' positions below them.
    let least = turns.least.min(turns.greatest);
    let low = match turns.any_bits ^ turns.all_bits {
        0 => 0,
        differ => differ.trailing_zeros(),
    };
    let greatest = (turns.greatest - least) >> low;
    let value = |k: u128| match k {
        u128::MAX => greatest + 1,
        k => (k - least) >> low,
    };
    let bits = 128 - value(u128::MAX).leading_zeros();
    let place_bits = usize::BITS - keys.len().leading_zeros();
    if bits + place_bits > 64 {
        // Keys too far apart to pack with the positions: sorted as pairs.
        let mut order: Vec<(u128, u32)> = keys.iter().copied().zip(0..).collect();
        order.par_sort_unstable();
        return order.into_iter().map(|(_, i)| i).collect();
    }
    let mut packed: Vec<u64> = keys
        .iter()
        .zip(0u64..)
        .map(|(&k, i)| ((value(k) as u64) << place_bits) | i)
        .collect();
    radix_sort(&mut packed, place_bits, bits);
    let mask = (1u64 << place_bits) - 1;
    packed.into_iter().map(|p| (p & mask) as u32).collect()
}

/// The serving order of claims `a` and `b` (positions in `claims`): `whenCreated` as text
/// (none last), then input order, then `objectGUID`, then position. The text is read only
/// when the keys cannot tell.
fn serving_cmp(claims: &[Claim], a: u32, b: u32) -> std::cmp::Ordering {
    let (ca, cb) = (&claims[a as usize], &claims[b as usize]);
    let (ka, kb) = (ca.when_key, cb.when_key);
    let by_keys = is_exact(ka) == is_exact(kb) && (is_exact(ka) || ka != kb);
    if by_keys {
        ka.cmp(&kb)
    } else {
        when(ca).cmp(when(cb))
    }
    .then(ca.seq.cmp(&cb.seq))
    .then_with(|| ca.guid.cmp(&cb.guid))
    .then(a.cmp(&b))
}

/// Sorts `items` by their `bits` bits from bit `from` on, stably: a least-significant-digit
/// radix sort, eleven bits at a time (the bits below `from` are left in the order given).
fn radix_sort(items: &mut Vec<u64>, from: u32, bits: u32) {
    const DIGIT: u32 = 11;
    const BUCKETS: usize = 1 << DIGIT;
    let passes = bits.div_ceil(DIGIT) as usize;
    let digit =
        |k: u64, pass: usize| ((k >> (from + pass as u32 * DIGIT)) as usize) & (BUCKETS - 1);
    // Every pass's counts from one read of the items.
    let mut counts = vec![0usize; passes * BUCKETS];
    for &k in items.iter() {
        for (pass, c) in counts.chunks_exact_mut(BUCKETS).enumerate() {
            c[digit(k, pass)] += 1;
        }
    }
    let mut other = vec![0u64; items.len()];
    for (pass, c) in counts.chunks_exact_mut(BUCKETS).enumerate() {
        let mut sum = 0;
        for n in c.iter_mut() {
            (*n, sum) = (sum, sum + *n);
        }
        for &k in items.iter() {
            let d = digit(k, pass);
            other[c[d]] = k;
            c[d] += 1;
        }
        std::mem::swap(items, &mut other);
    }
}

/// Serves every claim in claim order — `whenCreated` as text (none last), then input order,
/// then `objectGUID` — and records each choice, holding the values chosen in `index`: the
/// whole allocation on the calling thread ([`Decisions::new`], then [`Decisions::serve`]).
pub fn decide(index: &mut Index, claims: &[Claim], settings: &AllocSettings) -> Decisions {
    let decisions = Decisions::new(claims, Turns::of(claims));
    decisions.serve(index, claims, settings);
    decisions
}

/// Marks serving stopped if it ends before every claim is served (a panic), and wakes the
/// readers either way.
struct Served<'a>(&'a Decisions);

impl Drop for Served<'_> {
    fn drop(&mut self) {
        let d = self.0;
        if (d.served.load(Ordering::Acquire) as usize) < d.order.len() {
            d.stopped.store(true, Ordering::Release);
        }
        d.wake();
    }
}

impl Decisions {
    /// Serves `claims` (those given to [`Decisions::new`]) in their serving order and
    /// records each choice, holding the values chosen in `index`; each claim's turn is
    /// published once its choices are written, for the readers that wait for it. Only
    /// numbered retries and legacyExchangeDN collisions build candidate strings here; the
    /// rest is lookups of keys computed by [`Claim::compute_keys`] (computed here for claims
    /// that come without them).
    pub fn serve(&self, index: &mut Index, claims: &[Claim], settings: &AllocSettings) {
        let _served = Served(self);
        let order = &self.order;
        // Each decision holds at most one new value: growing the index as they come would
        // rehash it several times over.
        index.reserve(self.choices.len());
        let mut bases: HashMap<(u64, u64), Numbered, std::hash::BuildHasherDefault<KeyHasher>> =
            HashMap::default();
        for (j, &i) in order.iter().enumerate() {
            // Claims are served out of memory order: fetch the ones a few turns ahead, and then
            // their candidates, while this one is served.
            if let Some(&ahead) = order.get(j + PREFETCH_CLAIM) {
                claims[ahead as usize].prefetch();
            }
            if let Some(&ahead) = order.get(j + PREFETCH_CANDIDATES) {
                claims[ahead as usize].prefetch_candidates();
            }
            if let Some(&ahead) = order.get(j + PREFETCH_SLOTS) {
                for k in claims[ahead as usize].keys.iter().filter(|k| **k != NO_KEY) {
                    index.taken.prefetch(*k);
                }
            }
            let claim = &claims[i as usize];
            let seq = claim.seq;
            let mut out = self
                .starts
                .get(i as usize)
                .map_or(usize::MAX, |s| *s as usize);
            let computed;
            let mut keys = if claim.keys.is_empty() {
                computed = claim.candidate_keys(settings);
                computed.iter().copied().map(stored)
            } else {
                claim.keys.iter().copied().map(stored)
            };
            // The claim's strings are read only for the candidates the keys do not cover: most
            // claims never touch their text here.
            for w in claim.wanted.iter() {
                let got = match *w {
                    Want::Local {
                        kind,
                        template,
                        alias,
                        domain,
                    } => {
                        let (template, alias) = (|| claim.at(template), || claim.at(alias));
                        let (kt, ka) = (keys.next().flatten(), keys.next().flatten());
                        let mut got = None;
                        for (n, k) in [(0, kt), (1, ka)] {
                            if k.is_some_and(|k| {
                                n <= settings.max_retries && index.take_key(k, seq)
                            }) {
                                got = Some(n);
                                break;
                            }
                        }
                        if got.is_none() && settings.max_retries >= 2 {
                            let mut tried: Vec<String> = Vec::new();
                            let (template, alias) = (template(), alias());
                            if kt.is_some() {
                                tried.push(template.to_string());
                            }
                            if ka.is_some() {
                                tried.push(alias.to_string());
                            }
                            got = numbered_retry(
                                index,
                                &mut bases,
                                settings,
                                seq,
                                (kind, template, alias, domain),
                                tried,
                            );
                        }
                        got
                    }
                    Want::X400 { kind, address } => {
                        let first = keys.next().flatten();
                        if first.is_some_and(|k| index.take_key(k, seq)) {
                            Some(0)
                        } else {
                            match settings.x400_duplicates {
                                X400Duplicates::Skip => None,
                                X400Duplicates::Suffix => {
                                    (2..settings.max_retries.max(3)).find(|n| {
                                        let address = claim.at(address);
                                        index.take_key(key(&x400_candidate(kind, address, *n)), seq)
                                    })
                                }
                            }
                        }
                    }
                };
                if let Some(c) = self.choices.get(out) {
                    c.store(got.unwrap_or(NONE), Ordering::Relaxed);
                }
                out += 1;
            }
            if let Some((base, dn_text)) = claim.legacy {
                let first = keys.next().flatten();
                let got = if first.is_some_and(|k| index.take_key(k, seq)) {
                    Some(0)
                } else {
                    let (base, dn_text) = (claim.at(base), claim.at(dn_text));
                    (1..1000u32).find(|attempt| {
                        let k = legacy_candidate_key(
                            settings,
                            base,
                            claim.guid.as_ref(),
                            dn_text,
                            *attempt,
                        );
                        index.take_key(k, seq)
                    })
                };
                if let Some(c) = self.choices.get(out) {
                    c.store(got.unwrap_or(NONE), Ordering::Relaxed);
                }
            }
            // The claim's choices are written: its turn has come.
            let served = j as u32 + 1;
            self.served.store(served, Ordering::Release);
            if served % WAKE_EVERY == 0 {
                self.wake();
            }
        }
    }
}

/// How many turns ahead [`Decisions::serve`] fetches a claim, then its candidates and keys, then the
/// index's slots for those keys.
const PREFETCH_CLAIM: usize = 16;
const PREFETCH_CANDIDATES: usize = 8;
const PREFETCH_SLOTS: usize = 4;

/// [`prefetch`] of every cache line of the `len` bytes at `p`.
#[inline(always)]
fn prefetch_bytes(p: *const u8, len: usize) {
    let mut at = 0;
    while at < len {
        prefetch(p.wrapping_add(at));
        at += 64;
    }
    if len > 0 {
        prefetch(p.wrapping_add(len - 1));
    }
}

/// Asks the processor to bring the cache line at `p` in, without waiting for it.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and reads nothing the program sees, so
    // any address is sound.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl Claim {
    /// [`prefetch`] of the claim itself (its cache lines).
    #[inline(always)]
    fn prefetch(&self) {
        prefetch_bytes((self as *const Claim).cast(), std::mem::size_of::<Claim>());
    }

    /// [`prefetch`] of what serving the claim reads first: its wanted addresses and every
    /// cache line of its keys (a claim's keys take two or three lines).
    #[inline(always)]
    fn prefetch_candidates(&self) {
        prefetch(self.wanted.as_ptr());
        prefetch_bytes(
            self.keys.as_ptr().cast(),
            std::mem::size_of_val(&*self.keys),
        );
    }
}

/// The numbered candidates (`base2`, `base3`, ...) of a `Local` address whose template and
/// alias were taken; `tried` holds the local parts already tried.
fn numbered_retry(
    index: &mut Index,
    bases: &mut HashMap<(u64, u64), Numbered, std::hash::BuildHasherDefault<KeyHasher>>,
    settings: &AllocSettings,
    seq: u32,
    (kind, template, alias, domain): (&str, &str, &str, &str),
    mut tried: Vec<String>,
) -> Option<u32> {
    let base = numbered_base(settings, template, alias);
    // The key of `base` in `bases`, when this claim follows its record.
    let mut known: Option<(u64, u64)> = None;
    // Skip the numbered candidates earlier claims found taken, unless this claim holds one
    // of them itself.
    let mut n = 2;
    let k = numbered_key(kind, base, domain);
    let entry = bases.entry(k).or_insert(Numbered {
        next: 2,
        holders: Vec::new(),
    });
    if !entry.holders.contains(&seq) {
        n = n.max(entry.next);
        known = Some(k);
    }
    while n <= settings.max_retries {
        let this = n;
        n += 1;
        let local = numbered(base, this);
        if tried.contains(&local) {
            continue;
        }
        let vkey = local_key(kind, &local, domain);
        let holder = index.holder_key(vkey);
        if let Some(k) = known
            .and_then(|k| bases.get_mut(&k))
            .filter(|k| k.next == this)
        {
            // A numbered candidate tried in order: taken now (by its holder, or by this
            // claim below) for every later claim.
            k.next = this + 1;
            k.holders.push(holder.unwrap_or(seq));
        }
        if holder.is_none_or(|o| o == seq) {
            index.hold_key(vkey, seq);
            return Some(this);
        }
        tried.push(local);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claims_stored_key_is_the_same_key_to_the_index() {
        assert_eq!(stored(tried(None)), None);
        let k = (7, 9);
        assert_eq!(stored(tried(Some(k))), Some(k));
        // A key whose high half is 0 is held by the index as 1: the claim stores it so, and
        // it is not taken for a candidate that is not tried.
        let zero = (0, 5);
        let kept = stored(tried(Some(zero))).unwrap();
        assert_eq!(kept, (1, 5));
        let mut index = Index::default();
        index.hold_key(zero, 3);
        assert_eq!(index.holder_key(kept), Some(3));
        assert!(!index.take_key(kept, 4));
    }

    fn settings() -> AllocSettings {
        AllocSettings {
            admin_group_legacy_dn: "/o=Corp/ou=AG".into(),
            duplicate_base: DuplicateBase::Alias,
            x400_duplicates: X400Duplicates::Skip,
            max_retries: 20,
            legacy_collision: crate::policy::LegacyCollision::Hash,
        }
    }

    /// The numbered retries without the memory of taken candidates: every candidate tried
    /// in order, for every claim.
    fn reference_smtp(index: &mut Index, claims: &[Claim], retries: u32) -> Vec<Option<String>> {
        let mut sorted: Vec<&Claim> = claims.iter().collect();
        sorted.sort_by(|a, b| {
            let wa = a.when_created().unwrap_or(b"\xff");
            let wb = b.when_created().unwrap_or(b"\xff");
            wa.cmp(wb).then(a.seq.cmp(&b.seq))
        });
        let mut got = vec![None; claims.len() + 1];
        for c in sorted {
            let Some(WantedRef::Local {
                kind,
                template,
                alias,
                domain,
            }) = c.wanted().next()
            else {
                unreachable!()
            };
            let mut found = None;
            for n in 0..=retries {
                let local = match n {
                    0 => template.to_string(),
                    1 => alias.to_string(),
                    _ => numbered(alias, n),
                };
                let addr = format!("{kind}:{local}@{domain}");
                if !local.is_empty() && index.free_for(&addr, c.seq) {
                    found = Some(addr);
                    break;
                }
            }
            if let Some(a) = &found {
                index.hold(a, c.seq);
            }
            got[c.seq as usize] = found;
        }
        got
    }

    #[test]
    fn claims_are_served_by_when_created_as_text_beyond_sixteen_bytes() {
        // Values equal in their first 16 bytes, a prefix of another value, and a missing
        // value (last).
        let order = [
            (1, Some("20040320131015.0Z")),
            (2, None),
            (3, Some("20040320131015.00Z")),
            (4, Some("20040320131015.0")),
            (5, Some("20040320131014.9Z")),
        ];
        let claims: Vec<Claim> = order
            .iter()
            .map(|(seq, when)| smtp_when(*seq, *when, "x", "x", "corp.example.com"))
            .collect();
        let s = AllocSettings {
            max_retries: 10,
            ..settings()
        };
        let got = allocate(&mut Index::default(), claims, &s);
        let served = |seq: u32| got[&seq].address(0).unwrap_or_default().to_string();
        // Served 5, 4, 3, 1, 2: `x`, then `x2`, `x3`, ... in that order.
        assert_eq!(served(5), "smtp:x@corp.example.com");
        assert_eq!(served(4), "smtp:x2@corp.example.com");
        assert_eq!(served(3), "smtp:x3@corp.example.com");
        assert_eq!(served(1), "smtp:x4@corp.example.com");
        assert_eq!(served(2), "smtp:x5@corp.example.com");
    }

    #[test]
    fn numbered_retries_skip_only_candidates_taken_for_the_claim() {
        // Many claims on a few bases, some objects already holding numbered addresses (their
        // own, so free for them), in an order that is not the claims' order: the same
        // addresses as trying every candidate for every claim.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        let names = ["jsmith", "JSmith", "mjones", "alee"];
        let mut claims = Vec::new();
        let mut held = Vec::new();
        for seq in 1..=400u32 {
            let alias = names[next(names.len() as u64) as usize];
            let when = format!("2004{:04}", next(50));
            claims.push(smtp(
                seq,
                &when,
                &format!("{alias}.x"),
                alias,
                "corp.example.com",
            ));
            if next(5) == 0 {
                let n = 2 + next(12) as u32;
                held.push((format!("smtp:{}@corp.example.com", numbered(alias, n)), seq));
            }
        }
        let retries = 15;
        let mut reference_index = Index::default();
        let mut index = Index::default();
        for (v, seq) in &held {
            reference_index.hold(v, *seq);
            index.hold(v, *seq);
        }
        let want = reference_smtp(&mut reference_index, &claims, retries);
        let s = AllocSettings {
            max_retries: retries,
            ..settings()
        };
        let got = allocate(&mut index, claims, &s);
        let mut served = 0;
        for (seq, a) in &got {
            assert_eq!(a.address(0), want[*seq as usize].as_deref(), "claim {seq}");
            served += usize::from(a.address(0).is_some());
        }
        assert!(served > 40 && served < 400, "{served} served");
    }

    /// The allocation as first written: every candidate built as a string, hashed and
    /// looked up in the serving loop, values and warnings made there (the oracle of
    /// [`decide`] with [`Decisions::allocation`]).
    fn reference_allocate(
        index: &mut Index,
        mut claims: Vec<Claim>,
        settings: &AllocSettings,
    ) -> IntMap<u32, Allocation> {
        // The serving order is shared with `decide` (tested on its own above).
        let order = serving_order(&claims, &Turns::of(&claims));
        let mut out = IntMap::with_capacity_and_hasher(claims.len(), Default::default());
        let mut bases: HashMap<(u64, u64), Numbered, std::hash::BuildHasherDefault<KeyHasher>> =
            HashMap::default();
        for &i in &order {
            // Taken out, so that its memory goes as soon as it is served.
            let claim = std::mem::take(&mut claims[i as usize]);
            let mut alloc = Allocation::default();
            for w in claim.wanted() {
                let got = match w {
                    WantedRef::Local {
                        kind,
                        template,
                        alias,
                        domain,
                    } => {
                        let mut found = None;
                        let mut tried = Vec::new();
                        let base = match settings.duplicate_base {
                            DuplicateBase::Alias => alias,
                            DuplicateBase::Template => template,
                        };
                        // The key of `base` in `bases`, when this claim follows its record.
                        let mut known: Option<(u64, u64)> = None;
                        let mut n = 0;
                        while n <= settings.max_retries {
                            if n == 2 {
                                // Skip the numbered candidates earlier claims found taken, unless
                                // this claim holds one of them itself.
                                let k = numbered_key(kind, base, domain);
                                let entry = bases.entry(k).or_insert(Numbered {
                                    next: 2,
                                    holders: Vec::new(),
                                });
                                if !entry.holders.contains(&claim.seq) {
                                    n = n.max(entry.next);
                                    known = Some(k);
                                }
                                if n > settings.max_retries {
                                    break;
                                }
                            }
                            let this = n;
                            n += 1;
                            let local = match this {
                                0 => template.to_string(),
                                1 => alias.to_string(),
                                _ => numbered(base, this),
                            };
                            if local.is_empty() || tried.contains(&local) {
                                continue;
                            }
                            let addr = if domain.is_empty() {
                                [kind, ":", &local].concat()
                            } else {
                                [kind, ":", &local, "@", domain].concat()
                            };
                            let holder = index.holder(&addr);
                            if let Some(k) = known
                                .and_then(|k| bases.get_mut(&k))
                                .filter(|k| k.next == this)
                            {
                                // A numbered candidate tried in order: taken now (by its holder,
                                // or by this claim below) for every later claim.
                                k.next = this + 1;
                                k.holders.push(holder.unwrap_or(claim.seq));
                            }
                            if holder.is_none_or(|o| o == claim.seq) {
                                if this > 0 {
                                    alloc.warnings.push(format!(
                                        "`{kind}:{}@{domain}` is taken; using `{addr}` (retry {this})",
                                        template
                                    ));
                                }
                                found = Some(addr);
                                break;
                            }
                            tried.push(local);
                        }
                        if found.is_none() {
                            let msg = format!(
                                "no free `{kind}` address at `{domain}` after {} tries (template `{template}`, alias `{alias}`)",
                                settings.max_retries
                            );
                            if kind == "SMTP" {
                                alloc.failed = Some(msg.clone());
                            }
                            alloc.warnings.push(msg);
                        }
                        found
                    }
                    WantedRef::X400 { kind, address } => {
                        let first = [kind, ":", address].concat();
                        if index.free_for(&first, claim.seq) {
                            Some(first)
                        } else {
                            match settings.x400_duplicates {
                                X400Duplicates::Skip => {
                                    alloc.warnings.push(format!(
                                        "`{first}` is already used by another object; no X.400 address generated (x400_duplicates = \"skip\")"
                                    ));
                                    None
                                }
                                X400Duplicates::Suffix => {
                                    let mut found = None;
                                    for n in 2..settings.max_retries.max(3) {
                                        let a = format!("{kind}:{}", x400::with_suffix(address, n));
                                        if index.free_for(&a, claim.seq) {
                                            found = Some(a);
                                            break;
                                        }
                                    }
                                    if found.is_none() {
                                        alloc
                                            .warnings
                                            .push(format!("no free X.400 address for `{first}`"));
                                    }
                                    found
                                }
                            }
                        }
                    }
                };
                if let Some(a) = &got {
                    index.hold(a, claim.seq);
                }
                match got.as_deref() {
                    Some(a) => alloc.push_address(Some(&[a])),
                    None => alloc.push_address(None),
                }
            }
            if let Some((base, dn_text)) = claim.legacy() {
                let ag = &settings.admin_group_legacy_dn;
                let mut chosen = None;
                for attempt in 0..1000u32 {
                    let cn = if attempt == 0 && !base.is_empty() {
                        base.to_string()
                    } else if settings.legacy_collision == crate::policy::LegacyCollision::Number
                        && !base.is_empty()
                    {
                        numbered(base, attempt + 1)
                    } else {
                        let b = if base.is_empty() { "recipient" } else { base };
                        legacy_dn::collision_candidate(b, claim.guid.as_ref(), dn_text, attempt)
                    };
                    let value = legacy_dn::recipient_legacy_dn(ag, &cn);
                    if index.free_for(&legacy_slot(&value), claim.seq) {
                        if attempt > 0 {
                            alloc.warnings.push(format!(
                                "legacyExchangeDN `{}` is taken; using `{value}`",
                                legacy_dn::recipient_legacy_dn(ag, base)
                            ));
                        }
                        chosen = Some(value);
                        break;
                    }
                }
                if let Some(v) = &chosen {
                    index.hold(&legacy_slot(v), claim.seq);
                }
                alloc.legacy_dn = chosen;
            }
            out.insert(claim.seq, alloc);
        }
        out
    }

    /// Claims and holders drawn from a few names, so that templates, aliases, numbered
    /// retries, X.400 addresses and legacyExchangeDNs collide with each other and with
    /// values held already.
    fn contested(
        picks: &[(u8, u8, u8, u8, u8)],
        held: &[(u8, u8, u8)],
    ) -> (Vec<Claim>, Vec<(String, u32)>) {
        const NAMES: [&str; 6] = ["jsmith", "JSmith", "john.smith", "", "jsmith2", "mjones"];
        const DOMAINS: [&str; 3] = ["corp.example.com", "", "Corp.Example.com"];
        let name = |i: u8| NAMES[i as usize % NAMES.len()];
        let claims = picks
            .iter()
            .enumerate()
            .map(|(i, &(t, a, d, w, flags))| {
                let seq = i as u32 + 1;
                let mut wanted = vec![Wanted::Local {
                    kind: if flags & 1 == 0 { "SMTP" } else { "smtp" },
                    template: name(t).into(),
                    alias: name(a).into(),
                    domain: DOMAINS[d as usize % DOMAINS.len()],
                }];
                if flags & 2 != 0 {
                    wanted.push(Wanted::X400 {
                        kind: "X400",
                        address: format!("c=US;a= ;p=Corp;o=Exchange;s={};", name(a)),
                    });
                }
                let guid = (flags & 4 != 0).then_some([t; 16]);
                let when = [b'0' + w % 3];
                let legacy = (flags & 8 != 0).then(|| {
                    let dn = if guid.is_none() {
                        format!("cn={seq}")
                    } else {
                        String::new()
                    };
                    (name(a).to_string(), dn)
                });
                Claim::new(
                    seq,
                    (w % 4 != 0).then_some(&when[..]),
                    guid,
                    wanted.iter().map(Wanted::as_ref),
                    legacy.as_ref().map(|(b, d)| (b.as_str(), d.as_str())),
                )
            })
            .collect();
        let held = held
            .iter()
            .map(|&(n, k, owner)| {
                let v = match k % 3 {
                    0 => format!(
                        "smtp:{}@corp.example.com",
                        numbered(name(n), u32::from(n % 4))
                    ),
                    1 => format!("X400:c=US;a= ;p=Corp;o=Exchange;s={};", name(n)),
                    _ => format!("x500:/o=Corp/ou=AG/cn=Recipients/cn={}", name(n)),
                };
                (v, u32::from(owner % 12))
            })
            .collect();
        (claims, held)
    }

    proptest::proptest! {
        #[test]
        fn keys_of_parts_are_keys_of_the_joined_text(
            parts in proptest::collection::vec("[a-zA-Z0-9.:@ ;=ΣσςÉé\u{0}]{0,90}", 0..6),
        ) {
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(key_parts(&parts), key(&parts.concat()));
        }

        /// Deciding by keys and resolving on the workers gives what building every candidate
        /// in the serving loop gave: the same values, failures and warnings.
        #[test]
        fn decisions_resolve_to_what_the_reference_allocates(
            picks in proptest::collection::vec((0u8..6, 0u8..6, 0u8..3, 0u8..8, 0u8..16), 0..40),
            held in proptest::collection::vec((0u8..6, 0u8..3, 0u8..12), 0..12),
            retries in 0u32..6,
            alias_base in proptest::bool::ANY,
            suffix in proptest::bool::ANY,
            number in proptest::bool::ANY,
        ) {
            let (claims, held) = contested(&picks, &held);
            let s = AllocSettings {
                max_retries: retries,
                duplicate_base: if alias_base { DuplicateBase::Alias } else { DuplicateBase::Template },
                x400_duplicates: if suffix { X400Duplicates::Suffix } else { X400Duplicates::Skip },
                legacy_collision: if number {
                    crate::policy::LegacyCollision::Number
                } else {
                    crate::policy::LegacyCollision::Hash
                },
                ..settings()
            };
            let mut index = Index::default();
            let mut reference_index = Index::default();
            for (v, owner) in &held {
                index.hold(v, *owner);
                reference_index.hold(v, *owner);
            }
            let want = reference_allocate(&mut reference_index, claims.clone(), &s);
            let got = allocate(&mut index, claims, &s);
            proptest::prop_assert_eq!(got.len(), want.len());
            for (seq, a) in &want {
                proptest::prop_assert_eq!(&got[seq], a, "claim {}", seq);
            }
            proptest::prop_assert_eq!(index.len(), reference_index.len());
        }

        /// Claims read while another thread serves them (the last one first, so that the
        /// reader waits) get what they get once every claim is served.
        #[test]
        fn choices_read_while_serving_are_those_served(
            picks in proptest::collection::vec((0u8..6, 0u8..6, 0u8..3, 0u8..8, 0u8..16), 0..40),
            held in proptest::collection::vec((0u8..6, 0u8..3, 0u8..12), 0..12),
        ) {
            let (claims, held) = contested(&picks, &held);
            let s = settings();
            let (mut index, mut served_index) = (Index::default(), Index::default());
            for (v, owner) in &held {
                index.hold(v, *owner);
                served_index.hold(v, *owner);
            }
            let want = allocate(&mut index, claims.clone(), &s);
            let decisions = Decisions::new(&claims, Turns::of(&claims));
            let got: Vec<(u32, Allocation)> = std::thread::scope(|threads| {
                threads.spawn(|| decisions.serve(&mut served_index, &claims, &s));
                claims
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, c)| {
                        assert!(decisions.wait(i));
                        (c.seq, decisions.allocation(i, c, &s))
                    })
                    .collect()
            });
            proptest::prop_assert_eq!(got.len(), want.len());
            for (seq, a) in &got {
                proptest::prop_assert_eq!(a, &want[seq], "claim {}", seq);
            }
            proptest::prop_assert_eq!(served_index.len(), index.len());
        }
    }

    #[test]
    fn readers_of_a_claim_never_served_are_told_so() {
        let claims = vec![
            smtp(
                1,
                "20040101000000.0Z",
                "jsmith",
                "jsmith",
                "corp.example.com",
            ),
            smtp(
                2,
                "20030101000000.0Z",
                "jsmith",
                "jsmith",
                "corp.example.com",
            ),
        ];
        let decisions = Decisions::new(&claims, Turns::of(&claims));
        // Claim 2 (the older) comes first.
        assert_eq!(decisions.turns, [1, 0]);
        let waiting = std::thread::scope(|threads| {
            let reader = threads.spawn(|| decisions.wait(0));
            // Serving ends (as a panic would end it) before any claim is served.
            drop(Served(&decisions));
            reader.join().ok()
        });
        assert_eq!(waiting, Some(false));
        assert!(!decisions.wait(1));
        // Not a claim: nothing to wait for.
        assert!(decisions.wait(2));
    }

    proptest::proptest! {
        /// The serving order is the order of `whenCreated` as text (none last), then `seq`,
        /// then GUID, then position, whichever sort makes it: the radix sort of exact keys
        /// for claims in input order, the comparison of claims otherwise (values that are not
        /// generalized time, or claims out of order), and with equal values and ties in the
        /// first 16 bytes.
        #[test]
        fn the_serving_order_is_the_order_of_the_values(
            picks in proptest::collection::vec((0usize..12, 0u8..3), 0..60),
            shuffled in proptest::bool::ANY,
            exact_only in proptest::bool::ANY,
            seconds_only in proptest::bool::ANY,
        ) {
            const WHENS: [Option<&str>; 12] = [
                Some("20040320131015.0Z"),
                Some("20040320131015.0Z"),
                Some("20040320131015.0"),
                Some("20040320131015.00Z"),
                Some("20040320131014.9Z"),
                Some("19990101000000.0Z"),
                Some("20231231235959.0Z"),
                Some("20040320131015.000000Z"),
                Some("20040320131015.0000000Z"),
                Some("2004-03-20 13:10:15"),
                Some("2"),
                None,
            ];
            let claims: Vec<Claim> = picks
                .iter()
                .enumerate()
                .map(|(i, &(w, guid))| {
                    // In input order, or not (and with equal numbers).
                    let seq = if shuffled {
                        (picks.len() - i) as u32 / 2
                    } else {
                        i as u32 + 1
                    };
                    // Generalized time of up to 22 bytes (exact keys), and none; or
                    // values that differ only in their seconds, and none (a radix sort).
                    let w = if exact_only && (8..11).contains(&w) { 11 } else { w };
                    // (Far enough apart for two passes of the radix sort.)
                    let seconds = format!("20040320{:06}.0Z", w * 83_333);
                    let when = match w {
                        _ if !seconds_only => WHENS[w],
                        11 => None,
                        _ => Some(seconds.as_str()),
                    };
                    let mut c = smtp_when(seq, when, "x", "x", "corp.example.com");
                    c.guid = (guid > 0).then_some([guid; 16]);
                    c
                })
                .collect();
            let mut want: Vec<u32> = (0..claims.len() as u32).collect();
            want.sort_by(|&a, &b| {
                let (ca, cb) = (&claims[a as usize], &claims[b as usize]);
                sorts_as(ca.when_created())
                    .cmp(sorts_as(cb.when_created()))
                    .then(ca.seq.cmp(&cb.seq))
                    .then(ca.guid.cmp(&cb.guid))
                    .then(a.cmp(&b))
            });
            proptest::prop_assert_eq!(serving_order(&claims, &Turns::of(&claims)), want);
        }
    }

    #[test]
    fn generalized_time_is_sorted_without_reading_the_claims() {
        let claims: Vec<Claim> = [
            "20040320131015.0Z",
            "20040320131014.0Z",
            "20040320131015.0Z",
        ]
        .iter()
        .zip(1..)
        .map(|(w, seq)| smtp_when(seq, Some(w), "x", "x", "corp.example.com"))
        .collect();
        let turns = Turns::of(&claims);
        assert!(turns.in_seq);
        assert_eq!(serving_order(&claims, &turns), [1, 0, 2]);
        // Out of input order, or with a value that is not generalized time: compared.
        let mut late = claims.clone();
        late[2].seq = 1;
        assert!(!Turns::of(&late).in_seq);
        assert_eq!(serving_order(&late, &Turns::of(&late)), [1, 0, 2]);
        let odd = vec![smtp_when(1, Some("2004"), "x", "x", "corp.example.com")];
        assert!(!Turns::of(&odd).in_seq);
    }

    fn smtp(seq: u32, when: &str, template: &str, alias: &str, domain: &str) -> Claim {
        smtp_when(seq, Some(when), template, alias, domain)
    }

    fn smtp_when(seq: u32, when: Option<&str>, template: &str, alias: &str, domain: &str) -> Claim {
        let wanted = [WantedRef::Local {
            kind: "smtp",
            template,
            alias,
            domain: crate::model::intern(domain),
        }];
        Claim::new(seq, when.map(str::as_bytes), None, wanted.into_iter(), None)
    }

    proptest::proptest! {
        /// Keys are the hash of the lower-cased value, whichever path computes it.
        #[test]
        fn keys_are_the_hash_of_the_lower_cased_value(value in "[A-Za-z0-9@.:;=éÉ ]{0,300}") {
            let h = xxh3_128(value.to_lowercase().as_bytes());
            proptest::prop_assert_eq!(key(&value), (h as u64, (h >> 64) as u64));
        }
    }

    proptest::proptest! {
        /// Values kept in one buffer come back as added, with the key of the whole value, and
        /// an index holding them reports the same duplicates as holding them one by one.
        #[test]
        fn held_values_come_back_with_their_keys(
            values in proptest::collection::vec(
                proptest::collection::vec("[a-cA-C:é]{0,4}", 1..3),
                0..12,
            ),
        ) {
            let mut held = Held::default();
            for parts in &values {
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                held.push(&parts);
            }
            let want: Vec<String> = values.iter().map(|p| p.concat()).collect();
            let got: Vec<((u64, u64), &str)> = held.iter().collect();
            proptest::prop_assert_eq!(got.len(), want.len());
            proptest::prop_assert_eq!(held.len(), want.len());
            for ((k, v), w) in got.iter().zip(&want) {
                proptest::prop_assert_eq!(*v, w.as_str());
                proptest::prop_assert_eq!(*k, key(w));
            }
            let (mut one, mut all) = (Index::default(), Index::default());
            for (i, w) in want.iter().enumerate() {
                one.hold(w, 1 + i as u32 % 3);
            }
            for (i, w) in want.iter().enumerate() {
                // The same values, held by the same owners, in the same order.
                let mut h = Held::default();
                h.push(&[w]);
                all.hold_all(&h, 1 + i as u32 % 3);
            }
            proptest::prop_assert_eq!(&one.duplicates, &all.duplicates);
            proptest::prop_assert_eq!(one.len(), all.len());
        }
    }

    proptest::proptest! {
        /// The open-addressing table answers as a hash map would, through its growth, with
        /// keys crowded onto a few first slots and keys whose high half is 0.
        #[test]
        fn the_index_table_answers_as_a_map(
            ops in proptest::collection::vec(
                (0u64..6, 0u64..40, 0u64..4, 0u32..5, proptest::bool::ANY, 0usize..40),
                0..400,
            ),
        ) {
            let mut table = Taken::default();
            let mut map: HashMap<(u64, u64), u32> = HashMap::new();
            for (spread, hi, lo, owner, insert, reserve) in ops {
                // High halves that differ only below the slot bits share a first slot.
                let k = (hi.wrapping_mul(1 << 40) | (hi % 3) | spread << 8, lo * 0x1_0000_0001);
                let k = if hi == 0 { (0, k.1) } else { k };
                if insert {
                    let want = match map.get(&k) {
                        Some(&o) => Err(o),
                        None => {
                            map.insert(k, owner);
                            Ok(())
                        }
                    };
                    proptest::prop_assert_eq!(table.insert(k, owner), want);
                } else {
                    proptest::prop_assert_eq!(table.get(k), map.get(&k).copied());
                    table.reserve(reserve);
                }
                proptest::prop_assert_eq!(table.len(), map.len());
                proptest::prop_assert!(table.len() <= Taken::room(table.slots.len()));
            }
            for (k, &o) in &map {
                proptest::prop_assert_eq!(table.get(*k), Some(o));
            }
        }
    }

    /// The index `hold_all` makes of `records` (values per record, held by 1, 2, …) and
    /// then of `index_values` (held by the `--index` files), and the one `Index::of_holds`
    /// makes of the same, on a pool of two threads.
    fn both_indexes(
        records: &[Vec<String>],
        index_values: &[String],
        additional: usize,
        hint: bool,
    ) -> (Index, Index) {
        let held_of = |values: &[String]| {
            let mut h = Held::default();
            for v in values {
                h.push(&[v]);
            }
            h
        };
        let (mut reference, mut holds) = (Index::default(), Holds::default());
        if hint {
            holds.reserve_hint(records.iter().map(Vec::len).sum());
        }
        for (i, values) in records.iter().enumerate() {
            let h = held_of(values);
            reference.hold_all(&h, i as u32 + 1);
            holds.add(&h, i as u32 + 1);
        }
        let h = held_of(index_values);
        reference.hold_all(&h, INDEX_OWNER);
        holds.add(&h, INDEX_OWNER);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool");
        let gathered = pool.install(|| Index::of_holds(holds, additional));
        (reference, gathered)
    }

    proptest::proptest! {
        /// Holding the values gathered all at once makes the index holding them one after
        /// another makes: the same holders, the same duplicates in the same order, with the
        /// `--index` files' values after the input's, values held twice by one object, and
        /// room for the values asked for.
        #[test]
        fn values_gathered_are_held_as_one_after_another(
            records in proptest::collection::vec(
                proptest::collection::vec(0usize..14, 0..5),
                0..40,
            ),
            index_values in proptest::collection::vec(0usize..14, 0..4),
            additional in 0usize..60,
            hint in proptest::bool::ANY,
        ) {
            let pool: Vec<String> = (0..14).map(|i| format!("smtp:user{}@example.com", i % 12)).collect();
            let records: Vec<Vec<String>> = records
                .iter()
                .map(|r| r.iter().map(|&i| pool[i].clone()).collect())
                .collect();
            let index_values: Vec<String> = index_values.iter().map(|&i| pool[i].clone()).collect();
            let (reference, gathered) = both_indexes(&records, &index_values, additional, hint);
            proptest::prop_assert_eq!(&gathered.duplicates, &reference.duplicates);
            proptest::prop_assert_eq!(gathered.len(), reference.len());
            for v in &pool {
                proptest::prop_assert_eq!(gathered.holder(v), reference.holder(v));
            }
            proptest::prop_assert!(
                gathered.len() + additional <= Taken::room(gathered.taken.slots.len())
            );
        }
    }

    #[test]
    fn the_filter_of_values_seen_grows_and_still_finds_every_value_added_again() {
        // Far more values than the filter's least size was made for, with no hint: the
        // filter is remade as it fills, and every value added again is still found.
        let records: Vec<Vec<String>> = (0..30_000)
            .map(|i| {
                let mut values = vec![format!("smtp:u{i}@example.com")];
                if i % 1000 == 999 {
                    values.push(format!("smtp:u{}@example.com", i / 7));
                }
                values
            })
            .collect();
        let (reference, gathered) = both_indexes(&records, &[], 10, false);
        assert_eq!(reference.duplicates.len(), 30);
        assert_eq!(gathered.duplicates, reference.duplicates);
        assert_eq!(gathered.len(), reference.len());
    }

    #[test]
    fn keys_whose_probe_runs_past_their_half_are_held_after_it() {
        // A table of 16 slots: keys whose first slot is the last of each half (7 and 15).
        let key_at = |slot: u64, n: u64| (slot << 60 | n, n);
        let keys = [
            (key_at(7, 1), 1),
            (key_at(7, 2), 2),
            (key_at(7, 3), 3),
            (key_at(15, 4), 4),
            (key_at(15, 5), 5),
            // Past their halves' ends: held again by others, and by the same owner.
            (key_at(7, 3), 6),
            (key_at(15, 5), 5),
            (key_at(15, 5), 7),
        ];
        let mut buckets = vec![Vec::new(); 1 << Holds::BUCKET_BITS];
        let mut reference = Taken::default();
        reference.reserve(8);
        let mut expected = Vec::new();
        for &(k, owner) in &keys {
            let slot = Taken::slot(k, owner);
            buckets[(slot[0] >> (64 - Holds::BUCKET_BITS)) as usize].push(slot);
            if let Err(holder) = reference.insert(k, owner) {
                if Index::reported(holder, owner) {
                    expected.push((slot[0], slot[1] as u32));
                }
            }
        }
        let mut table = Taken::default();
        let found = table.hold_buckets(&buckets, 8, Index::reported);
        assert_eq!(table.slots.len(), 16);
        assert_eq!(table.len(), reference.len());
        for &(k, _) in &keys {
            assert_eq!(table.get(k), reference.get(k));
        }
        assert_eq!(found, expected);
        // The second half's last keys went round to the first slots of the table.
        assert!(table.slots[0][0] != 0);
    }

    #[test]
    fn kb315900_third_user_gets_user3() {
        let mut idx = Index::default();
        idx.hold("smtp:user@b.com", 1);
        idx.hold("smtp:user2@b.com", 2);
        let a = allocate(
            &mut idx,
            vec![smtp(3, "2", "user", "user", "b.com")],
            &settings(),
        );
        assert_eq!(a[&3].address(0), Some("smtp:user3@b.com"));
    }

    #[test]
    fn older_objects_win_contested_addresses_whatever_the_input_order() {
        let mut idx = Index::default();
        let claims = vec![
            smtp(1, "20240102000000.0Z", "john.smith", "jsmith2", "x"),
            smtp(2, "20230101000000.0Z", "john.smith", "jsmith", "x"),
        ];
        let a = allocate(&mut idx, claims, &settings());
        assert_eq!(a[&2].address(0), Some("smtp:john.smith@x"));
        assert_eq!(a[&1].address(0), Some("smtp:jsmith2@x"));
    }

    #[test]
    fn an_objects_own_address_is_free_for_it_and_case_is_ignored() {
        let mut idx = Index::default();
        idx.hold("SMTP:A@X", 7);
        assert!(idx.free_for("smtp:a@x", 7));
        assert!(!idx.free_for("smtp:a@x", 8));
        idx.hold("smtp:a@x", 8);
        assert_eq!(idx.duplicates.len(), 1);
    }

    #[test]
    fn legacy_dns_collide_with_x500_proxies_and_get_a_stable_suffix() {
        let mut idx = Index::default();
        idx.hold("X500:/o=Corp/ou=AG/cn=Recipients/cn=jsmith", 1);
        let claim = Claim::new(
            2,
            None,
            Some([7; 16]),
            std::iter::empty(),
            Some(("jsmith", "cn=J,dc=x")),
        );
        let a = allocate(&mut idx, vec![claim.clone()], &settings());
        let v = a[&2].legacy_dn.clone().unwrap();
        assert!(v.starts_with("/o=Corp/ou=AG/cn=Recipients/cn=jsmith"));
        assert_ne!(v, "/o=Corp/ou=AG/cn=Recipients/cn=jsmith");
        let mut idx2 = Index::default();
        idx2.hold("X500:/o=Corp/ou=AG/cn=Recipients/cn=jsmith", 1);
        assert_eq!(
            allocate(&mut idx2, vec![claim], &settings())[&2]
                .legacy_dn
                .clone()
                .unwrap(),
            v
        );
    }

    #[test]
    fn a_claim_gives_back_what_it_was_made_of() {
        let wanted = [
            Wanted::Local {
                kind: "SMTP",
                template: "John.Smith".into(),
                alias: "jsmith".into(),
                domain: "corp.example.com",
            },
            Wanted::Local {
                kind: "smtp",
                template: String::new(),
                alias: "jsmith".into(),
                domain: "corp.example.net",
            },
            Wanted::X400 {
                kind: "X400",
                address: "c=US;a= ;p=Corp;o=Exchange;s=Smith;g=John;".into(),
            },
        ];
        for when in [
            None,
            Some(&b"20050307012756.0Z"[..]),
            Some(&b"2005\xff"[..]),
        ] {
            for legacy in [None, Some(("jsmith", "")), Some(("jsmith", "CN=J,DC=x"))] {
                let c = Claim::new(
                    7,
                    when,
                    Some([1; 16]),
                    wanted.iter().map(Wanted::as_ref),
                    legacy,
                );
                assert_eq!(c.seq, 7);
                assert_eq!(c.when_created(), when);
                assert_eq!(c.guid, Some([1; 16]));
                assert!(c.wanted().eq(wanted.iter().map(Wanted::as_ref)));
                assert_eq!(c.wanted().len(), 3);
                assert_eq!(c.legacy(), legacy);
                assert_eq!(c.decisions(), 3 + usize::from(legacy.is_some()));
                // One buffer, allocated once at its final size.
                assert_eq!(c.text.len(), c.text.capacity());
            }
        }
    }

    #[test]
    fn x400_conflicts_are_skipped_by_default() {
        let mut idx = Index::default();
        idx.hold("X400:c=US;a= ;p=Corp;o=Exchange;s=Smith;g=John;", 1);
        let wanted = [WantedRef::X400 {
            kind: "X400",
            address: "c=US;a= ;p=Corp;o=Exchange;s=Smith;g=John;",
        }];
        let claim = Claim::new(2, None, None, wanted.into_iter(), None);
        let a = allocate(&mut idx, vec![claim], &settings());
        assert_eq!(a[&2].address(0), None);
        assert_eq!(a[&2].warnings.len(), 1);
    }
}
