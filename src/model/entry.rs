//! [`Entry`]: one directory object as a DN and byte values, stored flat.
//!
//! An entry keeps every byte it owns (the DN, attribute descriptions and values) in one buffer
//! and indexes it with spans, so reading a record costs three allocations however many values
//! it has. Attribute descriptions are compared case-insensitively with their options
//! ([`attr_eq`]); values stay bytes.

use std::fmt;
use std::ops::Range;

/// A byte range inside an entry's buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    name: Span,
    /// [`attr_key`] of the name: lookups compare keys before bytes.
    key: u64,
    /// Index of the first value in `values`.
    first: u32,
    count: u32,
    /// Whether the description names a binary attribute (see
    /// [`AttrInfo::is_binary`](super::schema::AttrInfo::is_binary)), decided when the slot was
    /// made.
    binary: bool,
}

/// One directory entry: a DN and attributes in first-appearance order, each with byte values.
///
/// Build one with [`EntryBuilder`]; read it with [`Entry::get`], [`Entry::attributes`] and
/// [`Entry::first`].
#[derive(Clone, Default)]
pub struct Entry {
    buf: Vec<u8>,
    dn: Span,
    slots: Vec<Slot>,
    values: Vec<Span>,
    /// Open-addressing index of the first [`TABLE_SLOTS`] slots by key: slot number + 1, 0
    /// for free. Later slots are found by a scan. Made by the first lookup by name, so an
    /// entry that is only read through and written (`convert`) never pays for it.
    table: std::sync::OnceLock<Table>,
    /// The slot of each [`WELL_KNOWN`] type the entry has (slot number + 1, 0 when absent):
    /// made by the first lookup of one of them, which then costs no hashing or comparison.
    known: std::sync::OnceLock<Known>,
}

/// One attribute of an [`Entry`]: its description as written and its values.
#[derive(Clone, Copy)]
pub struct AttrRef<'a> {
    entry: &'a Entry,
    slot: &'a Slot,
}

impl<'a> AttrRef<'a> {
    /// The attribute description as it appeared in the input (`proxyAddresses`, `ou;lang-ja`).
    pub fn name(&self) -> &'a [u8] {
        &self.entry.buf[self.slot.name.range()]
    }

    /// The [`attr_key`] of the description (computed when the entry was built).
    pub fn key(&self) -> u64 {
        self.slot.key
    }

    /// Whether the attribute is binary ([`attr_info`](super::schema::attr_info)`(name)`
    /// `.is_binary()`, decided when the entry was built): its values are written in base64.
    pub fn is_binary(&self) -> bool {
        self.slot.binary
    }

    /// The attribute description as text (descriptions are ASCII by grammar).
    pub fn name_str(&self) -> &'a str {
        std::str::from_utf8(self.name()).unwrap_or("?")
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.slot.count as usize
    }

    /// Whether the attribute has no values (never true for a built entry).
    pub fn is_empty(&self) -> bool {
        self.slot.count == 0
    }

    /// The values, in input order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + Clone + 'a {
        let entry = self.entry;
        self.spans().iter().map(move |s| &entry.buf[s.range()])
    }

    /// Where the values are in the entry's buffer.
    fn spans(&self) -> &'a [Span] {
        let first = self.slot.first as usize;
        &self.entry.values[first..first + self.slot.count as usize]
    }
}

impl Entry {
    /// The DN bytes exactly as read (UTF-8 text after decoding, escapes kept).
    pub fn dn(&self) -> &[u8] {
        &self.buf[self.dn.range()]
    }

    /// The DN as text; non-UTF-8 bytes are replaced.
    pub fn dn_lossy(&self) -> std::borrow::Cow<'_, str> {
        super::lossy(self.dn())
    }

    /// Attributes in first-appearance order.
    pub fn attributes(&self) -> impl ExactSizeIterator<Item = AttrRef<'_>> + '_ {
        self.slots
            .iter()
            .map(move |slot| AttrRef { entry: self, slot })
    }

    /// Number of attributes.
    pub fn attr_count(&self) -> usize {
        self.slots.len()
    }

    /// The attribute whose description equals `name` (case-insensitive, options compared as a
    /// set).
    #[inline]
    pub fn get(&self, name: impl Desc) -> Option<AttrRef<'_>> {
        let w = name.well_known();
        if w != 0 && self.slots.len() < usize::from(u8::MAX) {
            let known = self.known.get_or_init(|| Known::of(self));
            return match known.0[usize::from(w) - 1] {
                0 => None,
                i => Some(AttrRef {
                    entry: self,
                    slot: &self.slots[usize::from(i) - 1],
                }),
            };
        }
        self.get_keyed(name.bytes(), name.key())
    }

    /// Per slot, the [`WELL_KNOWN`] place + 1 of its type (0 for any other type, or one with
    /// options): what [`well_known_keyed`] says of its description. `None` for an entry of
    /// 255 attributes or more.
    pub(crate) fn known_places(&self) -> Option<[u8; u8::MAX as usize]> {
        if self.slots.len() >= usize::from(u8::MAX) {
            return None;
        }
        let known = self.known.get_or_init(|| Known::of(self));
        let mut places = [0u8; u8::MAX as usize];
        for (place, &slot) in (1u8..).zip(known.0.iter()) {
            if let Some(p) = usize::from(slot)
                .checked_sub(1)
                .and_then(|s| places.get_mut(s))
            {
                *p = place;
            }
        }
        Some(places)
    }

    /// The values of `name`, empty when the attribute is absent.
    pub fn values<'a>(
        &'a self,
        name: impl Desc,
    ) -> impl ExactSizeIterator<Item = &'a [u8]> + Clone + 'a {
        let spans = self.get(name).map_or(&[][..], |a| a.spans());
        spans.iter().map(move |s| &self.buf[s.range()])
    }

    /// The first value of `name`.
    #[inline]
    pub fn first(&self, name: impl Desc) -> Option<&[u8]> {
        self.get(name).and_then(|a| a.values().next())
    }

    /// The first value of `name` as UTF-8 text, if it is valid UTF-8.
    pub fn first_str(&self, name: impl Desc) -> Option<&str> {
        self.first(name).and_then(|v| super::utf8(v).ok())
    }

    /// Whether `name` is present.
    pub fn has(&self, name: impl Desc) -> bool {
        self.get(name).is_some()
    }

    /// Total bytes held (an approximation of the record's size).
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// A copy of this entry with a different DN.
    pub fn with_dn(&self, dn: &[u8]) -> Entry {
        let mut b = EntryBuilder::new(dn);
        for a in self.attributes() {
            for v in a.values() {
                b.push(a.name(), v);
            }
        }
        b.finish()
    }

    /// A copy with attribute `name` set to `values` (removed when `values` is empty), keeping
    /// the position of an existing attribute and appending a new one.
    pub fn with_values<'v, I>(&self, name: &[u8], values: I) -> Entry
    where
        I: IntoIterator<Item = &'v [u8]>,
    {
        let mut b = EntryBuilder::new(self.dn());
        let mut replaced = false;
        let mut new_values: Option<Vec<&[u8]>> = Some(values.into_iter().collect());
        for a in self.attributes() {
            if attr_eq(a.name(), name) {
                replaced = true;
                if let Some(vals) = new_values.take() {
                    for v in vals {
                        b.push(a.name(), v);
                    }
                }
            } else {
                for v in a.values() {
                    b.push(a.name(), v);
                }
            }
        }
        if !replaced {
            if let Some(vals) = new_values {
                for v in vals {
                    b.push(name, v);
                }
            }
        }
        b.finish()
    }
}

/// Marks a position given to [`Scan`] as one in the `extra` bytes of [`Entry::from_scan`]
/// rather than in its record.
pub(crate) const EXTRA: u32 = 1 << 31;

/// An entry's attributes and values as the LDIF parser's fast path reads them, already in
/// the form [`Entry`] keeps them: one slot per attribute in first-appearance order, and the
/// values of each attribute one after the other when the record lists them so (the usual
/// case), so that making the entry copies these arrays. Positions are offsets in the record,
/// or in its `extra` bytes when marked with [`EXTRA`].
pub(crate) struct Scan {
    slots: Vec<Slot>,
    /// Every value, in input order.
    values: Vec<Span>,
    /// The slot of each value, kept only once an attribute's values have been interrupted by
    /// another attribute's (empty until then).
    owners: Vec<u32>,
    /// The slot of the last value.
    last: u32,
    /// Set when the reader notes the [`WELL_KNOWN`] types of its attributes
    /// ([`Scan::known_slot`]), so that the entry comes with [`Entry::known`] made.
    pub(crate) track_known: bool,
    /// Per [`WELL_KNOWN`] type, its slot number + 1 (0 when absent), when tracked.
    known: [u8; WELL_KNOWN.len()],
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            slots: Vec::new(),
            values: Vec::new(),
            owners: Vec::new(),
            last: 0,
            track_known: false,
            known: [0; WELL_KNOWN.len()],
        }
    }
}

impl Scan {
    /// Forgets the previous record.
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.values.clear();
        self.owners.clear();
        self.last = 0;
        if self.track_known {
            self.known = [0; WELL_KNOWN.len()];
        }
    }

    /// Notes that slot `slot` holds the [`WELL_KNOWN`] type of place + 1 `known` (see
    /// [`well_known_keyed`]).
    #[inline]
    pub(crate) fn known_slot(&mut self, known: u8, slot: u32) {
        note_known(&mut self.known, known, slot);
    }

    /// Adds an attribute whose description is at `start..end` of the record, with its
    /// [`attr_key`] and whether it is binary; returns its slot number. Attributes must be
    /// added in first-appearance order, no two equal by [`attr_eq`].
    #[inline]
    pub(crate) fn attribute(&mut self, start: u32, end: u32, key: u64, binary: bool) -> u32 {
        self.slots.push(Slot {
            name: Span { start, end },
            key,
            first: 0,
            count: 0,
            binary,
        });
        self.slots.len() as u32 - 1
    }

    /// [`Scan::attribute`] for the description at `name` followed by [`Scan::value`] for the
    /// value at `value`, in one step.
    #[inline(always)]
    pub(crate) fn attribute_with_value(
        &mut self,
        name: (u32, u32),
        key: u64,
        binary: bool,
        value: (u32, u32),
    ) -> u32 {
        let slot = self.slots.len() as u32;
        let first = self.values.len() as u32;
        self.slots.push(Slot {
            name: Span {
                start: name.0,
                end: name.1,
            },
            key,
            first,
            count: 1,
            binary,
        });
        self.values.push(Span {
            start: value.0,
            end: value.1,
        });
        if self.owners.is_empty() {
            self.last = slot;
        } else {
            self.owners.push(slot);
        }
        slot
    }

    /// Adds the value at `start..end` to attribute `slot`.
    #[inline]
    pub(crate) fn value(&mut self, slot: u32, start: u32, end: u32) {
        let n = self.values.len() as u32;
        self.values.push(Span { start, end });
        if !self.owners.is_empty() {
            self.owners.push(slot);
            return;
        }
        let s = &mut self.slots[slot as usize];
        if s.count == 0 {
            s.first = n;
            s.count = 1;
            self.last = slot;
        } else if slot == self.last {
            s.count += 1;
        } else {
            self.interrupted(slot);
        }
    }

    /// [`Scan::value`] for a value of an attribute whose run of values another attribute
    /// interrupted: from now on each value's slot is kept, and [`Entry::from_scan`] groups
    /// them.
    #[cold]
    fn interrupted(&mut self, slot: u32) {
        self.owners.resize(self.values.len() - 1, 0);
        for (i, s) in self.slots.iter().enumerate() {
            let run = s.first as usize..(s.first + s.count) as usize;
            self.owners[run].fill(i as u32);
        }
        self.owners.push(slot);
    }
}

/// The buffers of an entry given back with [`Entry::recycle`], emptied, for the next entry
/// the parser's fast path or [`EntryBuilder::over_record_grouped`] makes on the same thread.
struct Spare {
    buf: Vec<u8>,
    slots: Vec<Slot>,
    values: Vec<Span>,
    known: Box<[u8; WELL_KNOWN.len()]>,
}

thread_local! {
    /// One entry's buffers: a pipeline worker reads one entry at a time and drops it once
    /// transformed, and `plan`'s pass 2 rebuilds one spooled entry at a time; each would
    /// otherwise allocate four buffers.
    static SPARE_ENTRY: std::cell::RefCell<Vec<Spare>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Keeps emptied `buffers` in this thread's `pool` for the next user, up to `kept` of them.
/// A thread being torn down has no pool any more: the buffers are then freed.
pub(crate) fn keep_spare<T>(
    pool: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>,
    buffers: T,
    kept: usize,
) {
    let _ = pool.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < kept {
            spare.push(buffers);
        }
    });
}

/// Buffers [`keep_spare`] kept in this thread's `pool`, if any.
pub(crate) fn take_spare<T>(
    pool: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>,
) -> Option<T> {
    pool.try_with(|spare| spare.borrow_mut().pop())
        .ok()
        .flatten()
}

/// Buffer capacity above which a recycled entry's buffers are freed rather than kept.
const SPARE_BUF_MAX: usize = 1 << 16;

impl Entry {
    /// Gives the entry's buffers back for the next entry made on this thread by the parser's
    /// fast path or [`EntryBuilder::over_record_grouped`] (an entry that is dropped instead
    /// frees them).
    pub(crate) fn recycle(self) {
        let Entry {
            mut buf,
            mut slots,
            mut values,
            mut known,
            ..
        } = self;
        // An empty entry (one the pipeline passed over) has nothing worth keeping, and must
        // not take the place of buffers that are.
        if buf.capacity() == 0 || buf.capacity() > SPARE_BUF_MAX {
            return;
        }
        let known = match known.take() {
            Some(Known(k)) => k,
            None => Box::new([0; WELL_KNOWN.len()]),
        };
        buf.clear();
        slots.clear();
        values.clear();
        keep_spare(
            &SPARE_ENTRY,
            Spare {
                buf,
                slots,
                values,
                known,
            },
            1,
        );
    }
}

impl Entry {
    /// An entry read by the LDIF parser's fast path: a copy of `record` followed by `extra`
    /// (bytes decoded or unfolded while reading it), the DN at `dn`, and the attributes and
    /// values of `scan` (every attribute with at least one value).
    pub(crate) fn from_scan(record: &[u8], extra: &[u8], dn: (u32, u32), scan: &Scan) -> Entry {
        let base = record.len() as u32;
        let at = |p: u32| {
            if p & EXTRA != 0 {
                base + (p & !EXTRA)
            } else {
                p
            }
        };
        let span = |s: Span| Span {
            start: at(s.start),
            end: at(s.end),
        };
        let (mut buf, mut slots, spare_values, spare_known) = match take_spare(&SPARE_ENTRY) {
            Some(Spare {
                buf,
                slots,
                values,
                known,
            }) => (buf, slots, Some(values), Some(known)),
            None => (Vec::new(), Vec::new(), None, None),
        };
        buf.reserve(record.len() + extra.len());
        buf.extend_from_slice(record);
        buf.extend_from_slice(extra);
        slots.extend_from_slice(&scan.slots);
        for s in &slots {
            debug_assert!(s.name.start & EXTRA == 0 && s.name.end & EXTRA == 0);
            debug_assert_eq!(s.key, attr_key(&buf[s.name.range()]));
            debug_assert_eq!(
                s.binary,
                super::schema::attr_info(&buf[s.name.range()]).is_binary()
            );
        }
        let values = if scan.owners.is_empty() {
            debug_assert!(slots.iter().all(|s| s.count > 0));
            let mut values = spare_values.unwrap_or_default();
            values.extend(scan.values.iter().map(|&s| span(s)));
            values
        } else {
            // Values grouped by attribute, each group in input order (a counting sort).
            for s in &mut slots {
                s.count = 0;
            }
            for &slot in &scan.owners {
                slots[slot as usize].count += 1;
            }
            // Each attribute's `first` starts at the end of its group and counts down as the
            // values are placed from the last one.
            let mut next = 0u32;
            for s in &mut slots {
                next += s.count;
                s.first = next;
            }
            let mut out = vec![Span::default(); scan.values.len()];
            for (&slot, &v) in scan.owners.iter().zip(&scan.values).rev() {
                let s = &mut slots[slot as usize];
                s.first -= 1;
                out[s.first as usize] = span(v);
            }
            out
        };
        Entry {
            buf,
            dn: span(Span {
                start: dn.0,
                end: dn.1,
            }),
            known: if scan.track_known && slots.len() < usize::from(u8::MAX) {
                let known = match spare_known {
                    Some(mut k) => {
                        *k = scan.known;
                        k
                    }
                    None => Box::new(scan.known),
                };
                std::sync::OnceLock::from(Known(known))
            } else {
                std::sync::OnceLock::new()
            },
            slots,
            values,
            table: std::sync::OnceLock::new(),
        }
    }
}

impl PartialEq for Entry {
    /// Entries are equal when their DN bytes are equal and they have the same attributes
    /// (descriptions compared with [`attr_eq`], in any order) with the same values in the same
    /// order.
    fn eq(&self, other: &Self) -> bool {
        if self.dn() != other.dn() || self.slots.len() != other.slots.len() {
            return false;
        }
        self.attributes().all(|a| match other.get_bytes(a.name()) {
            Some(b) => a.values().eq(b.values()),
            None => false,
        })
    }
}

impl Eq for Entry {}

impl Entry {
    /// [`Entry::get`] for a description given as bytes.
    pub fn get_bytes(&self, name: &[u8]) -> Option<AttrRef<'_>> {
        self.get_keyed(name, attr_key(name))
    }

    /// [`Entry::get_bytes`] when the description's [`attr_key`] is known.
    pub fn get_keyed(&self, name: &[u8], key: u64) -> Option<AttrRef<'_>> {
        debug_assert_eq!(key, attr_key(name));
        self.find_slot(key, name).map(|i| AttrRef {
            entry: self,
            slot: &self.slots[i as usize],
        })
    }

    /// The slot whose description equals `desc` (of key `key`).
    fn find_slot(&self, key: u64, desc: &[u8]) -> Option<u32> {
        let same = |i: usize| {
            let s = &self.slots[i];
            s.key == key && attr_eq_keyed(key, &self.buf[s.name.range()], desc)
        };
        let table = self.table.get_or_init(|| Table::of(&self.slots));
        let mut h = table_home(key);
        loop {
            match table.at(h) {
                0 => break,
                n if same(usize::from(n) - 1) => return Some(u32::from(n) - 1),
                _ => h = (h + 1) % TABLE_SIZE,
            }
        }
        (TABLE_SLOTS..self.slots.len())
            .find(|&i| same(i))
            .map(|i| i as u32)
    }

    /// Rebuilds [`Entry::table`] after slots were removed.
    fn reindex(&mut self) {
        // Made again by the next lookup.
        self.table = std::sync::OnceLock::new();
        self.known = std::sync::OnceLock::new();
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_struct("Entry");
        m.field("dn", &self.dn_lossy());
        for a in self.attributes() {
            let vals: Vec<String> = a
                .values()
                .map(|v| match std::str::from_utf8(v) {
                    Ok(s) => s.to_string(),
                    Err(_) => format!("{v:02x?}"),
                })
                .collect();
            m.field(a.name_str(), &vals);
        }
        m.finish()
    }
}

/// Builds an [`Entry`] value by value; values of one attribute need not be adjacent.
///
/// A parser can start the buffer with a copy of the record's text
/// ([`EntryBuilder::over_record`]) and then add names and values as spans of that text
/// ([`EntryBuilder::push_spans`]), so a plain value costs no copy at all.
#[derive(Default)]
pub struct EntryBuilder {
    entry: Entry,
    /// (slot index, value span) in arrival order.
    pending: Vec<(u32, Span)>,
    /// Bytes of the record copied by [`EntryBuilder::over_record`] (spans below it are valid).
    base: usize,
    /// Per [`WELL_KNOWN`] type, its slot + 1, when the builder is told
    /// ([`EntryBuilder::known_slot`]) rather than left to find out on the first lookup.
    known: Option<Box<[u8; WELL_KNOWN.len()]>>,
}

const TABLE_SIZE: usize = 256;
const TABLE_SLOTS: usize = 192;

impl EntryBuilder {
    /// Starts an entry with `dn`.
    pub fn new(dn: &[u8]) -> Self {
        let mut b = EntryBuilder::default();
        b.set_dn(dn);
        b
    }

    /// Starts an entry with `dn`, reserving room for `bytes` bytes of content.
    pub fn with_capacity(dn: &[u8], bytes: usize) -> Self {
        let mut b = EntryBuilder::default();
        b.entry.buf.reserve(bytes);
        b.set_dn(dn);
        b
    }

    /// Starts an entry whose buffer begins with a copy of `record` (the raw text the entry is
    /// read from), expecting about `values` values. Names, values and the DN found in the
    /// record are then added by position with [`EntryBuilder::push_spans`] and
    /// [`EntryBuilder::set_dn_span`].
    pub fn over_record(record: &[u8], values: usize) -> Self {
        let mut b = Self::over(record, record.len() / 2 + 64, values);
        b.pending.reserve(values);
        b
    }

    /// [`EntryBuilder::over_record`] for a reader whose attributes come one after another,
    /// each with all its values ([`EntryBuilder::push_span_grouped`]), and who knows which
    /// are well known ([`EntryBuilder::known_slot`]): the values go straight to their place
    /// and the entry's table of well-known slots is made as they come. `extra` is room for
    /// names copied after the record.
    ///
    /// The builder takes the buffers of the entry this thread last gave back
    /// ([`Entry::recycle`]), if any.
    pub(crate) fn over_record_grouped(record: &[u8], extra: usize, values: usize) -> Self {
        let Spare {
            buf,
            slots,
            values: value_spans,
            mut known,
        } = take_spare(&SPARE_ENTRY).unwrap_or_else(|| Spare {
            buf: Vec::new(),
            slots: Vec::new(),
            values: Vec::new(),
            known: Box::new([0; WELL_KNOWN.len()]),
        });
        known.fill(0);
        let mut b = Self::over_buffers(record, extra, values, (buf, slots));
        b.entry.values = value_spans;
        b.entry.values.reserve(values);
        b.known = Some(known);
        b
    }

    /// A builder whose buffer is a copy of `record` with room for `extra` bytes more, and
    /// room for the slots of about `values` values.
    fn over(record: &[u8], extra: usize, values: usize) -> Self {
        Self::over_buffers(record, extra, values, (Vec::new(), Vec::new()))
    }

    /// [`EntryBuilder::over`] in the (empty) buffer and slot list given.
    fn over_buffers(
        record: &[u8],
        extra: usize,
        values: usize,
        (mut buf, mut slots): (Vec<u8>, Vec<Slot>),
    ) -> Self {
        buf.reserve(record.len() + extra);
        buf.extend_from_slice(record);
        slots.reserve(values.min(64));
        EntryBuilder {
            entry: Entry {
                buf,
                dn: Span::default(),
                slots,
                values: Vec::new(),
                table: std::sync::OnceLock::new(),
                known: std::sync::OnceLock::new(),
            },
            pending: Vec::new(),
            base: record.len(),
            known: None,
        }
    }

    /// Adds a value at `value` in the record to the attribute numbered `slot`, which is the
    /// last one added (see [`EntryBuilder::over_record_grouped`]).
    ///
    /// # Panics
    /// When `value` is not inside the record, or `slot` is not the last attribute.
    pub(crate) fn push_span_grouped(&mut self, slot: u32, value: Range<usize>) {
        assert_eq!(
            slot as usize + 1,
            self.entry.slots.len(),
            "values come grouped by attribute"
        );
        let value = self.span_of(value);
        let at = self.entry.values.len() as u32;
        if let Some(s) = self.entry.slots.last_mut() {
            if s.count == 0 {
                s.first = at;
            }
            s.count += 1;
        }
        self.entry.values.push(value);
    }

    /// Notes that the attribute numbered `slot` is the [`WELL_KNOWN`] type of place + 1
    /// `known` (see [`well_known_keyed`]), for a builder made by
    /// [`EntryBuilder::over_record_grouped`].
    pub(crate) fn known_slot(&mut self, known: u8, slot: u32) {
        if let Some(table) = self.known.as_deref_mut() {
            note_known(table, known, slot);
        }
    }

    /// Replaces the DN.
    pub fn set_dn(&mut self, dn: &[u8]) {
        self.entry.dn = self.append(dn);
    }

    /// Sets the DN to bytes `dn` of the record given to [`EntryBuilder::over_record`].
    ///
    /// # Panics
    /// When `dn` is not inside that record.
    pub fn set_dn_span(&mut self, dn: Range<usize>) {
        self.entry.dn = self.span_of(dn);
    }

    /// The DN set so far.
    pub fn dn(&self) -> &[u8] {
        &self.entry.buf[self.entry.dn.range()]
    }

    fn span_of(&self, r: Range<usize>) -> Span {
        assert!(
            r.start <= r.end && r.end <= self.base,
            "span outside the record"
        );
        Span {
            start: r.start as u32,
            end: r.end as u32,
        }
    }

    fn append(&mut self, bytes: &[u8]) -> Span {
        let start = self.entry.buf.len() as u32;
        self.entry.buf.extend_from_slice(bytes);
        Span {
            start,
            end: self.entry.buf.len() as u32,
        }
    }

    /// The slot whose description equals `desc` (of key `key`).
    fn find_slot(&self, key: u64, desc: &[u8]) -> Option<u32> {
        // Most records repeat the previous attribute (multi-valued runs): check it first.
        if let Some((last, _)) = self.pending.last() {
            let s = &self.entry.slots[*last as usize];
            if s.key == key && attr_eq_keyed(key, &self.entry.buf[s.name.range()], desc) {
                return Some(*last);
            }
        }
        self.entry.find_slot(key, desc)
    }

    /// Adds a slot for the description at `name` in the buffer.
    fn new_slot(&mut self, key: u64, name: Span) -> u32 {
        let binary = super::schema::attr_info_keyed(&self.entry.buf[name.range()], key).is_binary();
        self.push_slot(key, name, binary)
    }

    /// Adds a slot for the description at `name`, binary or not as given.
    fn push_slot(&mut self, key: u64, name: Span, binary: bool) -> u32 {
        let i = self.entry.slots.len();
        if let Some(t) = self.entry.table.get_mut() {
            t.insert(key, i);
        }
        self.entry.slots.push(Slot {
            name,
            key,
            first: 0,
            count: 0,
            binary,
        });
        i as u32
    }

    /// The slot of the description at `name` in the buffer, added when new.
    fn slot_at(&mut self, name: Span) -> u32 {
        let desc = &self.entry.buf[name.range()];
        let key = attr_key(desc);
        match self.find_slot(key, desc) {
            Some(i) => i,
            None => self.new_slot(key, name),
        }
    }

    fn slot_for(&mut self, name: &[u8]) -> u32 {
        let key = attr_key(name);
        match self.find_slot(key, name) {
            Some(i) => i,
            None => {
                let span = self.append(name);
                self.new_slot(key, span)
            }
        }
    }

    /// Adds one value of `name`.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let slot = self.slot_for(name);
        let span = self.append(value);
        self.pending.push((slot, span));
    }

    /// Adds one value whose description and bytes are at `name` and `value` in the record
    /// given to [`EntryBuilder::over_record`].
    ///
    /// # Panics
    /// When a range is not inside that record.
    pub fn push_spans(&mut self, name: Range<usize>, value: Range<usize>) {
        let name = self.span_of(name);
        let value = self.span_of(value);
        let slot = self.slot_at(name);
        self.pending.push((slot, value));
    }

    /// Adds a new attribute whose description is at `name` in the record given to
    /// [`EntryBuilder::over_record`] and whose [`attr_key`] is `key`, and returns its slot
    /// number for [`EntryBuilder::push_span_at`] and friends.
    ///
    /// For a parser that already knows the entry has no attribute equal to this one (by
    /// [`attr_eq`]): it skips the lookup [`EntryBuilder::push_spans`] makes.
    ///
    /// # Panics
    /// When `name` is not inside that record.
    pub fn new_attribute_span(&mut self, name: Range<usize>, key: u64) -> u32 {
        let name = self.fresh_name(name, key);
        self.new_slot(key, name)
    }

    /// The span of `name` in the record, a description of key `key` the entry does not have.
    fn fresh_name(&mut self, name: Range<usize>, key: u64) -> Span {
        let name = self.span_of(name);
        debug_assert_eq!(key, attr_key(&self.entry.buf[name.range()]));
        debug_assert!(self
            .entry
            .find_slot(key, &self.entry.buf[name.range()])
            .is_none());
        name
    }

    /// [`EntryBuilder::new_attribute_span`] when whether the attribute is binary is known
    /// ([`AttrRef::is_binary`] of an attribute with the same description).
    pub fn new_attribute_span_binary(&mut self, name: Range<usize>, key: u64, binary: bool) -> u32 {
        let name = self.fresh_name(name, key);
        debug_assert_eq!(
            binary,
            super::schema::attr_info(&self.entry.buf[name.range()]).is_binary()
        );
        self.push_slot(key, name, binary)
    }

    /// Adds a new attribute whose description `name` (of [`attr_key`] `key`, and not the
    /// entry's already) is copied after the record, binary or not as given, and returns its
    /// slot number for [`EntryBuilder::push_span_at`] and friends.
    pub fn new_attribute_binary(&mut self, name: &[u8], key: u64, binary: bool) -> u32 {
        debug_assert_eq!(key, attr_key(name));
        debug_assert!(self.entry.find_slot(key, name).is_none());
        debug_assert_eq!(binary, super::schema::attr_info(name).is_binary());
        let name = self.append(name);
        self.push_slot(key, name, binary)
    }

    /// Adds a value at `value` in the record to the attribute numbered `slot` (from
    /// [`EntryBuilder::new_attribute_span`]).
    ///
    /// # Panics
    /// When `value` is not inside the record.
    pub fn push_span_at(&mut self, slot: u32, value: Range<usize>) {
        debug_assert!((slot as usize) < self.entry.slots.len());
        let value = self.span_of(value);
        self.pending.push((slot, value));
    }

    /// Adds a copy of `value` to the attribute numbered `slot`.
    pub fn push_at(&mut self, slot: u32, value: &[u8]) {
        debug_assert!((slot as usize) < self.entry.slots.len());
        let span = self.append(value);
        self.pending.push((slot, span));
    }

    /// Adds a value produced by `fill` to the attribute numbered `slot`.
    pub fn push_with_at<E>(
        &mut self,
        slot: u32,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        debug_assert!((slot as usize) < self.entry.slots.len());
        self.fill_value(slot, fill)
    }

    /// Adds one value of the description at `name` in the record (see
    /// [`EntryBuilder::push_spans`]) whose bytes are produced by `fill`.
    pub fn push_span_with<E>(
        &mut self,
        name: Range<usize>,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let name = self.span_of(name);
        let slot = self.slot_at(name);
        self.fill_value(slot, fill)
    }

    /// Adds one value of `name` whose bytes are produced by `fill` into the entry's buffer
    /// (used to decode base64 without a temporary).
    pub fn push_with<E>(
        &mut self,
        name: &[u8],
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let slot = self.slot_for(name);
        self.fill_value(slot, fill)
    }

    fn fill_value<E>(
        &mut self,
        slot: u32,
        fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.entry.buf.len();
        if let Err(e) = fill(&mut self.entry.buf) {
            self.entry.buf.truncate(start);
            return Err(e);
        }
        let span = Span {
            start: start as u32,
            end: self.entry.buf.len() as u32,
        };
        self.pending.push((slot, span));
        Ok(())
    }

    /// Whether any value was added.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Bytes held so far.
    pub fn byte_len(&self) -> usize {
        self.entry.buf.len()
    }

    /// Finishes the entry, grouping each attribute's values in arrival order.
    pub fn finish(mut self) -> Entry {
        if let Some(known) = self.known.take() {
            // Values pushed grouped are in place already.
            debug_assert!(self.pending.is_empty());
            let mut entry = self.entry;
            if entry.slots.iter().any(|s| s.count == 0) {
                entry.slots.retain(|s| s.count > 0);
                entry.reindex();
            } else if entry.slots.len() < usize::from(u8::MAX) {
                entry.known = std::sync::OnceLock::from(Known(known));
            }
            return entry;
        }
        // Stable sort by slot keeps the values of each attribute in arrival order.
        let already_grouped = self.pending.windows(2).all(|w| w[0].0 <= w[1].0);
        if !already_grouped {
            self.pending.sort_by_key(|(slot, _)| *slot);
        }
        let mut entry = self.entry;
        entry.values = Vec::with_capacity(self.pending.len());
        for (i, (slot, span)) in self.pending.into_iter().enumerate() {
            let s = &mut entry.slots[slot as usize];
            if s.count == 0 {
                s.first = i as u32;
            }
            s.count += 1;
            entry.values.push(span);
        }
        // Slots that never got a value (cannot happen through `push`) are dropped.
        if entry.slots.iter().any(|s| s.count == 0) {
            entry.slots.retain(|s| s.count > 0);
            entry.reindex();
        }
        entry
    }
}

/// Attribute types the engine looks up by [`Name`] on every object: found through
/// a per-entry index rather than by hashing and comparing. A [`Name`] (or a filter's resolved
/// attribute) of one of these types, without options, carries its place here
/// ([`Desc::well_known`]).
pub const WELL_KNOWN: [&str; 40] = [
    "displayName",
    "homeMDB",
    "homeMTA",
    "legacyExchangeDN",
    "mAPIRecipient",
    "mDBUseDefaults",
    "mail",
    "mailNickname",
    "member",
    "msExchHomeServerName",
    "msExchMailboxGuid",
    "msExchMasterAccountSid",
    "msExchPoliciesIncluded",
    "msExchRecipientDisplayType",
    "msExchRecipientTypeDetails",
    "msExchUserAccountControl",
    "msExchVersion",
    "proxyAddresses",
    "reportToOriginator",
    "showInAddressBook",
    "targetAddress",
    "textEncodedORAddress",
    "msExchHideFromAddressLists",
    "msExchPoliciesExcluded",
    "hideDLMembership",
    "objectClass",
    "objectCategory",
    "objectGUID",
    "groupType",
    "userAccountControl",
    "givenName",
    "sn",
    "initials",
    "sAMAccountName",
    "whenCreated",
    "cn",
    "objectSid",
    "distinguishedName",
    "company",
    "department",
];

/// The place + 1 of `text` in [`WELL_KNOWN`] (compared as ASCII without case), 0 when it is
/// not there (or has options).
pub const fn well_known(text: &[u8]) -> u8 {
    let mut i = 0;
    while i < WELL_KNOWN.len() {
        let k = WELL_KNOWN[i].as_bytes();
        if k.len() == text.len() {
            let mut j = 0;
            while j < k.len() && k[j].eq_ignore_ascii_case(&text[j]) {
                j += 1;
            }
            if j == k.len() {
                return (i + 1) as u8;
            }
        }
        i += 1;
    }
    0
}

/// [`WELL_KNOWN`] by key: place + 1, direct-mapped on the key's top bits with linear probing
/// (0 for free), built with the program.
static KNOWN_BY_KEY: [u8; KNOWN_TABLE] = {
    let mut t = [0u8; KNOWN_TABLE];
    let mut i = 0;
    while i < WELL_KNOWN.len() {
        let mut h = known_home(attr_key(WELL_KNOWN[i].as_bytes()));
        while t[h] != 0 {
            h = (h + 1) % KNOWN_TABLE;
        }
        t[h] = (i + 1) as u8;
        i += 1;
    }
    t
};

/// Entries of [`KNOWN_BY_KEY`] (a power of two, well above [`WELL_KNOWN`]'s length).
const KNOWN_TABLE: usize = 128;

const fn known_home(key: u64) -> usize {
    (key >> 57) as usize % KNOWN_TABLE
}

/// The [`WELL_KNOWN`] place + 1 of the description of key `key` for which `same` holds of
/// that type's text, 0 for none. Descriptions with options (the key's low bit) are none of
/// them.
#[inline(always)]
fn well_known_where(key: u64, same: impl Fn(&[u8]) -> bool) -> u8 {
    if key & 1 != 0 {
        return 0;
    }
    let mut h = known_home(key);
    loop {
        match KNOWN_BY_KEY[h] {
            0 => return 0,
            w if same(WELL_KNOWN[usize::from(w) - 1].as_bytes()) => return w,
            _ => h = (h + 1) % KNOWN_TABLE,
        }
    }
}

/// The [`WELL_KNOWN`] place + 1 of the description `desc` of key `key` when it is spelled
/// exactly as there, 0 otherwise.
#[inline]
pub(crate) fn well_known_spelled(desc: &[u8], key: u64) -> u8 {
    well_known_where(key, |k| k == desc)
}

/// The [`WELL_KNOWN`] place + 1 of the description `desc` of key `key`, 0 for none.
#[inline]
pub(crate) fn well_known_keyed(desc: &[u8], key: u64) -> u8 {
    well_known_where(key, |k| k.len() == desc.len() && eq_ignore_case(k, desc))
}

/// Records in `table` (per [`WELL_KNOWN`] type, its slot + 1) that slot `slot` holds the
/// type of place + 1 `known`; nothing for `known` 0, or a slot past what a byte holds.
#[inline]
fn note_known(table: &mut [u8; WELL_KNOWN.len()], known: u8, slot: u32) {
    if let (Some(k), Ok(s)) = (
        table.get_mut(usize::from(known).wrapping_sub(1)),
        u8::try_from(slot + 1),
    ) {
        *k = s;
    }
}

/// [`Entry::known`]: per [`WELL_KNOWN`] type, its slot number + 1 (0 when absent). Boxed to
/// keep entries small to move.
#[derive(Clone, Debug)]
struct Known(Box<[u8; WELL_KNOWN.len()]>);

impl Known {
    /// The well-known slots of `entry` (which has fewer than 255 slots).
    fn of(entry: &Entry) -> Known {
        let mut k = Known(Box::new([0; WELL_KNOWN.len()]));
        for (i, s) in entry.slots.iter().enumerate() {
            let w = well_known_keyed(&entry.buf[s.name.range()], s.key);
            if w != 0 {
                k.0[usize::from(w) - 1] = (i + 1) as u8;
            }
        }
        k
    }
}

/// The open-addressing table of [`Entry::table`] (boxed to keep entries small to move).
#[derive(Clone, Debug)]
struct Table(Box<[u8; TABLE_SIZE]>);

impl Table {
    /// The table of `slots`.
    fn of(slots: &[Slot]) -> Self {
        let mut t = Table(Box::new([0; TABLE_SIZE]));
        for (i, s) in slots.iter().enumerate() {
            t.insert(s.key, i);
        }
        t
    }

    /// The byte at `h`: slot number + 1, or 0 for free.
    #[inline]
    fn at(&self, h: usize) -> u8 {
        self.0[h % TABLE_SIZE]
    }

    /// Indexes slot `i` of key `key` (slots past [`TABLE_SLOTS`] are found by a scan).
    fn insert(&mut self, key: u64, i: usize) {
        if i >= TABLE_SLOTS {
            return;
        }
        let mut h = table_home(key);
        while self.0[h] != 0 {
            h = (h + 1) % TABLE_SIZE;
        }
        self.0[h] = (i + 1) as u8;
    }
}

fn table_home(key: u64) -> usize {
    (key >> 40) as usize % TABLE_SIZE
}

/// A case-insensitive hash of an attribute description's type, with one bit saying whether
/// it has options. Equal descriptions (by [`attr_eq`]) have equal keys.
pub const fn attr_key(desc: &[u8]) -> u64 {
    let mut h = KEY_SEED;
    let mut i = 0;
    while i < desc.len() {
        let c = desc[i];
        if c == b';' {
            return h | 1;
        }
        h = key_step(h, c);
        i += 1;
    }
    h & !1
}

/// An attribute name known when the program is built, with its [`attr_key`] worked out then
/// (see [`name!`](crate::name)): looking it up costs no hashing.
#[derive(Clone, Copy, Debug)]
pub struct Name {
    text: &'static str,
    key: u64,
    /// Its place + 1 in [`WELL_KNOWN`], 0 for none.
    known: u8,
}

impl Name {
    /// `text` and its key; meant for constants (`name!`), where the key is computed at build
    /// time.
    pub const fn new(text: &'static str) -> Name {
        Name {
            text,
            key: attr_key(text.as_bytes()),
            known: well_known(text.as_bytes()),
        }
    }

    /// The name as written.
    pub const fn as_str(self) -> &'static str {
        self.text
    }
}

impl PartialEq for Name {
    /// Equal names by [`attr_eq`] (see [`desc_eq`]).
    fn eq(&self, other: &Name) -> bool {
        desc_eq(*self, *other)
    }
}

/// Whether two descriptions are equal by [`attr_eq`]: two well-known ones
/// ([`Desc::well_known`]) exactly when they are the same one, any other pair by key and then
/// text.
#[inline]
pub fn desc_eq(a: impl Desc, b: impl Desc) -> bool {
    let (ka, kb) = (a.well_known(), b.well_known());
    if ka != 0 && kb != 0 {
        return ka == kb;
    }
    a.key() == b.key() && attr_eq(a.bytes(), b.bytes())
}

impl Eq for Name {}

/// An attribute description to look up: text, or a [`Name`] whose key is known.
pub trait Desc: Copy {
    /// The description as written.
    fn bytes(&self) -> &[u8];
    /// Its [`attr_key`].
    fn key(&self) -> u64;
    /// Its place + 1 in [`WELL_KNOWN`] when it is one of those types without options, else 0
    /// (looked up the general way).
    #[inline]
    fn well_known(&self) -> u8 {
        0
    }
}

impl Desc for &str {
    #[inline]
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
    #[inline]
    fn key(&self) -> u64 {
        attr_key(self.as_bytes())
    }
}

impl Desc for &[u8] {
    #[inline]
    fn bytes(&self) -> &[u8] {
        self
    }
    #[inline]
    fn key(&self) -> u64 {
        attr_key(self)
    }
}

impl Desc for Name {
    #[inline]
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }
    #[inline]
    fn key(&self) -> u64 {
        self.key
    }
    #[inline]
    fn well_known(&self) -> u8 {
        self.known
    }
}

/// A [`Name`] constant: `name!("proxyAddresses")` hashes the name when the program is built.
#[macro_export]
macro_rules! name {
    ($text:literal) => {{
        const NAME: $crate::model::entry::Name = $crate::model::entry::Name::new($text);
        NAME
    }};
}

/// The starting value of [`attr_key`].
const KEY_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// One byte of [`attr_key`] (FNV-1a over the byte with the ASCII case bit set).
#[inline]
const fn key_step(h: u64, c: u8) -> u64 {
    (h ^ (c | 0x20) as u64).wrapping_mul(0x0100_0000_01b3)
}

/// Compares two attribute descriptions the way LDAP does: the type case-insensitively and the
/// options case-insensitively as a set (`ou;lang-ja;phonetic` equals `OU;Phonetic;Lang-JA`).
pub fn attr_eq(a: &[u8], b: &[u8]) -> bool {
    // Different first letters mean different types whatever the options: the common case when
    // a name is looked up among an entry's attributes.
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y) => return false,
        (None, None) => return true,
        (None, _) | (_, None) => return false,
        _ => {}
    }
    // Spelled the same but perhaps for case: the usual case once the keys matched.
    if a.len() == b.len() && eq_ignore_case(a, b) {
        return true;
    }
    if !a.contains(&b';') && !b.contains(&b';') {
        return false;
    }
    let mut pa = a.split(|&c| c == b';');
    let mut pb = b.split(|&c| c == b';');
    let (Some(ta), Some(tb)) = (pa.next(), pb.next()) else {
        return false;
    };
    if !ta.eq_ignore_ascii_case(tb) {
        return false;
    }
    let mut oa: Vec<Vec<u8>> = pa.map(|o| o.to_ascii_lowercase()).collect();
    let mut ob: Vec<Vec<u8>> = pb.map(|o| o.to_ascii_lowercase()).collect();
    oa.sort();
    ob.sort();
    oa == ob
}

/// [`attr_eq`] of two descriptions whose [`attr_key`] is `key`: without options (the key's low
/// bit clear) they are equal exactly when they are equal but for ASCII case.
#[inline]
fn attr_eq_keyed(key: u64, a: &[u8], b: &[u8]) -> bool {
    if key & 1 == 0 {
        a.len() == b.len() && eq_ignore_case(a, b)
    } else {
        attr_eq(a, b)
    }
}

/// `a.eq_ignore_ascii_case(b)` for slices of equal length, eight bytes at a time (names are
/// short: the last word overlaps the one before it, and fewer than eight bytes are read as
/// two overlapping halves or three single bytes, rather than copied byte by byte).
#[inline]
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    // Words spelled the same are not lowered: the usual case.
    let same = |x: u64, y: u64| x == y || lower_word(x) == lower_word(y);
    if n < 8 {
        return same(short_word(a, n), short_word(b, n));
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let mut at = 0;
    loop {
        if !same(word(a, at), word(b, at)) {
            return false;
        }
        if at + 8 >= n {
            return true;
        }
        at = (at + 8).min(n - 8);
    }
}

/// The first `n` (< 8) bytes of `s` in one word: every byte of them is in it, at a place that
/// depends on `n` only.
#[inline(always)]
fn short_word(s: &[u8], n: usize) -> u64 {
    let half = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    match n {
        0 => 0,
        1..=3 => u64::from(s[0]) | u64::from(s[n / 2]) << 8 | u64::from(s[n - 1]) << 16,
        _ => half(0) | half(n - 4) << 32,
    }
}

/// The eight bytes of `w` with ASCII capitals made small (every other byte unchanged).
#[inline]
fn lower_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Bytes below 0x80 only: the sums below never carry into the next byte.
    let low7 = w & (0x7F * ONES);
    let from_a = low7.wrapping_add((0x80 - u64::from(b'A')) * ONES);
    let past_z = low7.wrapping_add((0x7F - u64::from(b'Z')) * ONES);
    let capital = from_a & !past_z & !w & (0x80 * ONES);
    w | (capital >> 2)
}

/// The attribute type of a description, without options (`member;range=0-1499` → `member`).
pub fn attr_type(desc: &[u8]) -> &[u8] {
    match memchr::memchr(b';', desc) {
        Some(i) => &desc[..i],
        None => desc,
    }
}

/// A set of attribute types (descriptions without their options), looked up by key: which
/// attributes of an entry a reader keeps (see [`Put::entry`](super::flat::Put::entry)).
#[derive(Clone, Debug)]
pub struct TypeSet {
    /// By the [`attr_key`] of the type, then the type as given.
    types: Vec<(u64, Box<[u8]>)>,
    /// Bit `i` set when the set holds the `i`th [`WELL_KNOWN`] type.
    known: u64,
    /// Per top byte of a key: one more than the position in `types` of the first type whose
    /// key has it, 0 when none has. Most descriptions outside the set stop at this table.
    first: Box<[u8; 256]>,
}

// [`TypeSet::known`] has a bit for each well-known type.
const _: () = assert!(WELL_KNOWN.len() <= 64);

impl Default for TypeSet {
    fn default() -> Self {
        TypeSet {
            types: Vec::new(),
            known: 0,
            first: Box::new([0; 256]),
        }
    }
}

impl TypeSet {
    /// The most types a set holds; further ones are ignored (the set is meant for the few
    /// dozen attributes a reader needs).
    pub const MAX: usize = 255;

    /// Adds the type of `desc` (its options are dropped). Returns `false` when the set is
    /// full and the type was not already in it.
    pub fn insert(&mut self, desc: &[u8]) -> bool {
        let ty = attr_type(desc);
        let key = attr_key(ty);
        if self.contains_keyed(ty, key) {
            return true;
        }
        if self.types.len() == Self::MAX {
            return false;
        }
        let at = self.types.partition_point(|(k, _)| *k < key);
        self.types.insert(at, (key, ty.into()));
        if let Some(place) = usize::from(well_known_keyed(ty, key)).checked_sub(1) {
            self.known |= 1u64 << place;
        }
        self.first.fill(0);
        for (i, (k, _)) in self.types.iter().enumerate().rev() {
            // `i` < MAX, so one more fits a byte.
            self.first[Self::top(*k)] = (i + 1) as u8;
        }
        true
    }

    /// The top byte of a key (its low bit says whether the description has options).
    #[inline]
    fn top(key: u64) -> usize {
        (key >> 56) as usize
    }

    /// Whether the type of the description `desc`, whose [`attr_key`] is `key`, is in the set
    /// (`cn;lang-fr` is when `cn` is).
    #[inline(always)]
    pub fn contains_keyed(&self, desc: &[u8], key: u64) -> bool {
        let from = usize::from(self.first[Self::top(key)]);
        if from == 0 {
            return false;
        }
        // A key with the options bit hashes the type alone (see [`attr_key`]).
        let (key, ty) = if key & 1 == 0 {
            (key, desc)
        } else {
            (key & !1, attr_type(desc))
        };
        self.types[from - 1..]
            .iter()
            .take_while(|(k, _)| Self::top(*k) == Self::top(key))
            .any(|(k, t)| *k == key && t.eq_ignore_ascii_case(ty))
    }

    /// Whether the set holds the [`WELL_KNOWN`] type of place + 1 `place` (1 or more): what
    /// [`TypeSet::contains_keyed`] says of any description of that type without options.
    #[inline]
    pub fn contains_known(&self, place: u8) -> bool {
        usize::from(place)
            .checked_sub(1)
            .is_some_and(|p| self.known >> p & 1 != 0)
    }

    /// Number of types.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

/// The options of a description, in order (`ou;lang-ja;phonetic` → `lang-ja`, `phonetic`).
pub fn attr_options(desc: &[u8]) -> impl Iterator<Item = &[u8]> {
    desc.split(|&c| c == b';').skip(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_sets_hold_types_whatever_the_options_and_case() {
        let mut set = TypeSet::default();
        assert!(!set.contains_keyed(b"cn", attr_key(b"cn")));
        for t in ["cn", "proxyAddresses;binary", "MAIL", "cn"] {
            assert!(set.insert(t.as_bytes()));
        }
        assert_eq!(set.len(), 3);
        for d in ["cn", "CN;lang-fr", "proxyaddresses", "mail;x", "Mail"] {
            assert!(
                set.contains_keyed(d.as_bytes(), attr_key(d.as_bytes())),
                "{d}"
            );
        }
        for d in ["sn", "c", "cnn", "mailNickname", "proxy"] {
            assert!(
                !set.contains_keyed(d.as_bytes(), attr_key(d.as_bytes())),
                "{d}"
            );
        }
        // A full set refuses new types but still holds its own.
        let mut full = TypeSet::default();
        for i in 0..TypeSet::MAX {
            assert!(full.insert(format!("a{i}").as_bytes()));
        }
        assert!(!full.insert(b"another"));
        assert!(full.insert(b"a7"));
        for i in 0..TypeSet::MAX {
            let d = format!("A{i}");
            assert!(full.contains_keyed(d.as_bytes(), attr_key(d.as_bytes())));
        }
        assert!(!full.contains_keyed(b"another", attr_key(b"another")));
    }

    #[test]
    fn type_sets_answer_well_known_types_by_place_as_by_name() {
        // Every other well-known type, spelled in upper case, and two others.
        let mut set = TypeSet::default();
        for t in WELL_KNOWN.iter().step_by(2) {
            assert!(set.insert(t.to_uppercase().as_bytes()));
        }
        assert!(set.insert(b"telephoneNumber;lang-fr"));
        assert!(set.insert(b"description"));
        assert!(WELL_KNOWN
            .iter()
            .all(|t| !["telephoneNumber", "description"].contains(t)));
        for (t, place) in WELL_KNOWN.iter().zip(1u8..) {
            let by_name = set.contains_keyed(t.as_bytes(), attr_key(t.as_bytes()));
            assert_eq!(set.contains_known(place), by_name, "{t}");
            assert_eq!(by_name, place % 2 == 1, "{t}");
        }
        assert!(!set.contains_known(0));
        assert!(!set.contains_known(WELL_KNOWN.len() as u8 + 1));
    }

    /// The entry `cn=x` with `values` (name, value), added one by one.
    fn pushed(values: &[(&str, &str)]) -> Entry {
        let mut b = EntryBuilder::new(b"cn=x");
        for (n, v) in values {
            b.push(n.as_bytes(), v.as_bytes());
        }
        b.finish()
    }

    #[test]
    fn an_entrys_known_places_name_each_slots_well_known_type() {
        let e = pushed(&[
            ("description", "x"),
            ("MAIL", "a@b"),
            ("proxyAddresses;x", "smtp:a@b"),
            ("proxyAddresses", "SMTP:a@b"),
            ("telephoneNumber", "1"),
            ("displayName", "X"),
        ]);
        let places = e.known_places().unwrap();
        for (i, a) in e.attributes().enumerate() {
            assert_eq!(
                places[i],
                well_known_keyed(a.name(), a.key()),
                "{:?}",
                a.name()
            );
        }
        assert_eq!(places.iter().filter(|p| **p != 0).count(), 3);
    }

    #[test]
    fn a_grouped_build_is_the_entry_a_value_by_value_build_makes() {
        let record = b"cn=x|SMTP:a@b|smtp:c@d|X|1";
        let mut b = EntryBuilder::over_record_grouped(record, 64, 4);
        b.set_dn_span(0..4);
        let proxies = b.new_attribute_binary(b"proxyAddresses", attr_key(b"proxyAddresses"), false);
        b.known_slot(well_known(b"proxyAddresses"), proxies);
        b.push_span_grouped(proxies, 5..13);
        b.push_span_grouped(proxies, 14..22);
        let display = b.new_attribute_binary(b"displayName", attr_key(b"displayName"), false);
        b.known_slot(well_known(b"displayName"), display);
        b.push_span_grouped(display, 23..24);
        let phone = b.new_attribute_binary(b"telephoneNumber", attr_key(b"telephoneNumber"), false);
        b.push_span_grouped(phone, 25..26);
        let grouped = b.finish();
        let reference = pushed(&[
            ("proxyAddresses", "SMTP:a@b"),
            ("proxyAddresses", "smtp:c@d"),
            ("displayName", "X"),
            ("telephoneNumber", "1"),
        ]);
        // The well-known slots were given, not found: lookups by name agree with them.
        assert_same_entry(&grouped, &reference);
    }

    /// `got` is `reference`, and its well-known types are found where the reference's are.
    fn assert_same_entry(got: &Entry, reference: &Entry) {
        assert_eq!(got, reference);
        for name in [name!("proxyAddresses"), name!("displayName"), name!("mail")] {
            let values: Vec<&[u8]> = got.values(name).collect();
            let want: Vec<&[u8]> = reference.values(name).collect();
            assert_eq!(values, want, "{}", name.as_str());
        }
        assert_eq!(got.known_places(), reference.known_places());
    }

    #[test]
    fn a_grouped_build_over_a_recycled_entry_is_the_same_entry() {
        // The first entry holds more than the second, and other well-known types: nothing of
        // it may show through in the entry built over its buffers.
        let build = |record: &[u8], attrs: &[(&str, std::ops::Range<usize>)]| {
            let mut b = EntryBuilder::over_record_grouped(record, 16, attrs.len());
            b.set_dn_span(0..4);
            let mut last: Option<(&str, u32)> = None;
            for (name, span) in attrs {
                let slot = match last {
                    Some((n, slot)) if n == *name => slot,
                    _ => {
                        let slot = b.new_attribute_binary(
                            name.as_bytes(),
                            attr_key(name.as_bytes()),
                            false,
                        );
                        let known = well_known(name.as_bytes());
                        if known != 0 {
                            b.known_slot(known, slot);
                        }
                        slot
                    }
                };
                last = Some((name, slot));
                b.push_span_grouped(slot, span.clone());
            }
            b.finish()
        };
        let first = build(
            b"cn=a|SMTP:a@b|smtp:c@d|Alpha|x@y",
            &[
                ("proxyAddresses", 5..13),
                ("proxyAddresses", 14..22),
                ("displayName", 23..28),
                ("mail", 29..32),
            ],
        );
        let buf = first.buf.as_ptr();
        first.recycle();
        let second = build(b"cn=b|Beta", &[("displayName", 5..9)]);
        assert_eq!(second.buf.as_ptr(), buf, "the buffer was not reused");
        let reference = {
            let mut b = EntryBuilder::new(b"cn=b");
            b.push(b"displayName", b"Beta");
            b.finish()
        };
        assert_same_entry(&second, &reference);
    }

    #[test]
    fn well_known_names_are_found_as_every_other_name() {
        for (i, t) in WELL_KNOWN.iter().enumerate() {
            assert_eq!(usize::from(well_known(t.as_bytes())), i + 1, "{t}");
            assert_eq!(usize::from(well_known(t.to_uppercase().as_bytes())), i + 1);
            assert_eq!(
                well_known_keyed(t.as_bytes(), attr_key(t.as_bytes())),
                (i + 1) as u8
            );
            let opt = format!("{t};lang-de");
            assert_eq!(
                well_known_keyed(opt.as_bytes(), attr_key(opt.as_bytes())),
                0
            );
            // Every name of the table is distinct.
            assert!(WELL_KNOWN[..i].iter().all(|o| !o.eq_ignore_ascii_case(t)));
        }
        for other in [
            "",
            "x",
            "mailNicknam",
            "mailNickname2",
            "proxyAddresses;x",
            "c",
        ] {
            assert_eq!(well_known(other.as_bytes()), 0, "{other}");
            assert_eq!(
                well_known_keyed(other.as_bytes(), attr_key(other.as_bytes())),
                0
            );
        }
        assert_ne!(name!("mailNickname").known, 0);
        // Names compare as `attr_eq` says, well-known or not.
        let texts: Vec<&'static str> = WELL_KNOWN
            .iter()
            .flat_map(|t| [*t, &*Box::leak(t.to_uppercase().into_boxed_str())])
            .chain([
                "other",
                "OTHER",
                "mail;x",
                "MAIL;X",
                "proxyAddresses;lang-de",
            ])
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(
                    Name::new(a) == Name::new(b),
                    attr_eq(a.as_bytes(), b.as_bytes()),
                    "{a} {b}"
                );
            }
        }
    }

    proptest::proptest! {
        /// A lookup by a well-known [`Name`] finds what the general lookup finds, in entries
        /// holding those names in any case, with options, and among other attributes.
        #[test]
        fn well_known_lookups_agree_with_the_general_one(
            attrs in proptest::collection::vec(
                (0usize..WELL_KNOWN.len() + 3, proptest::bool::ANY, proptest::bool::ANY, 0u8..3),
                0..30,
            ),
        ) {
            let mut b = EntryBuilder::new(b"cn=x");
            for (n, (i, upper, option, v)) in attrs.iter().enumerate() {
                let base = WELL_KNOWN.get(*i).copied().unwrap_or("other");
                let mut name = if *upper { base.to_uppercase() } else { base.to_string() };
                if *option {
                    name.push_str(";lang-de");
                }
                b.push(name.as_bytes(), format!("{n}-{v}").as_bytes());
            }
            let e = b.finish();
            for t in WELL_KNOWN {
                let name = Name { text: t, key: attr_key(t.as_bytes()), known: well_known(t.as_bytes()) };
                proptest::prop_assert!(name.known != 0);
                let fast: Option<Vec<&[u8]>> = e.get(name).map(|a| a.values().collect());
                let slow: Option<Vec<&[u8]>> = e.get_bytes(t.as_bytes()).map(|a| a.values().collect());
                proptest::prop_assert_eq!(fast, slow, "{}", t);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn words_compare_as_the_standard_library_does(
            a in proptest::collection::vec(proptest::num::u8::ANY, 0..70),
            flips in proptest::collection::vec(0u8..4, 70),
        ) {
            // `b` is `a` with some bytes flipped in case, moved to a neighbouring byte (`@`
            // and `[` around the capitals, `` ` `` and `{` around the small letters), or
            // with the case bit set on a byte that is not a letter.
            let b: Vec<u8> = a
                .iter()
                .zip(&flips)
                .map(|(&c, &f)| match f {
                    0 => c,
                    1 => c ^ 0x20,
                    2 => c.wrapping_add(1),
                    _ => c.to_ascii_uppercase(),
                })
                .collect();
            proptest::prop_assert_eq!(eq_ignore_case(&a, &b), a.eq_ignore_ascii_case(&b));
            proptest::prop_assert!(eq_ignore_case(&a, &a.to_ascii_uppercase()));
        }

        #[test]
        fn equal_descriptions_have_equal_keys(
            ty in "[a-zA-Z][a-zA-Z0-9-]{0,30}",
            flips in proptest::collection::vec(proptest::bool::ANY, 32),
            options in proptest::collection::vec("[a-z][a-z0-9-]{0,6}", 0..3),
        ) {
            // The same type in another case, and the options in another order and case.
            let other: String = ty
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, &f)| if f { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            let mut a = ty.clone();
            let mut b = other;
            for o in &options {
                a.push(';');
                a.push_str(o);
            }
            for o in options.iter().rev() {
                b.push(';');
                b.push_str(&o.to_ascii_uppercase());
            }
            proptest::prop_assert!(attr_eq(a.as_bytes(), b.as_bytes()));
            proptest::prop_assert_eq!(attr_key(a.as_bytes()), attr_key(b.as_bytes()));
            proptest::prop_assert_eq!(attr_key(a.as_bytes()) & 1, u64::from(!options.is_empty()));
            if !options.is_empty() {
                proptest::prop_assert_eq!(attr_key(a.as_bytes()), attr_key(ty.as_bytes()) | 1);
            }
        }
    }

    #[test]
    fn keys_tell_the_usual_names_apart() {
        let names = [
            "cn",
            "mail",
            "member",
            "objectClass",
            "objectCategory",
            "proxyAddresses",
            "legacyExchangeDN",
            "mailNickname",
            "homeMDB",
            "homeMTA",
            "msExchHomeServerName",
            "showInAddressBook",
            "textEncodedORAddress",
            "targetAddress",
            "displayName",
            "givenName",
            "sn",
            "o",
            "ou",
            "l",
            "c",
            "co",
            "st",
            "msExchMailboxGuid",
            "msExchPoliciesIncluded",
            "msExchPoliciesExcluded",
            "userAccountControl",
        ];
        let keys: std::collections::HashSet<u64> =
            names.iter().map(|n| attr_key(n.as_bytes())).collect();
        assert_eq!(keys.len(), names.len());
        assert_eq!(attr_key(b"ou;lang-ja") & 1, 1);
        assert_eq!(attr_key(b"objectClass;x"), attr_key(b"OBJECTCLASS") | 1);
        assert_eq!(attr_key(b";"), attr_key(b"") | 1);
    }

    #[test]
    fn build_time_names_find_what_text_finds() {
        // The key computed at build time is the one computed at run time.
        const PROXY: Name = crate::name!("proxyAddresses");
        let runtime = String::from("proxyAddresses");
        assert_eq!(PROXY.key(), attr_key(runtime.as_bytes()));
        assert_eq!(crate::name!("ou;lang-ja").key() & 1, 1);
        let mut b = EntryBuilder::new(b"cn=a,dc=x");
        b.push(b"PROXYADDRESSES", b"SMTP:a@x");
        b.push(b"mail", b"a@x");
        let e = b.finish();
        assert_eq!(e.first(PROXY), Some(&b"SMTP:a@x"[..]));
        assert_eq!(e.first(PROXY), e.first("proxyaddresses"));
        assert!(e.has(crate::name!("MAIL")));
        assert!(!e.has(crate::name!("mailNickname")));
        // Names are equal as descriptions are: by key, then case-insensitively.
        assert_eq!(crate::name!("Mail"), crate::name!("mail"));
        assert_ne!(crate::name!("mail"), crate::name!("mailNickname"));
    }

    #[test]
    fn lookups_find_every_attribute_beyond_the_index_too() {
        // More attributes than the index holds, names that share a home slot, options.
        let mut b = EntryBuilder::new(b"CN=a");
        let names: Vec<String> = (0..300).map(|i| format!("attr{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            b.push(n.as_bytes(), i.to_string().as_bytes());
            if i % 7 == 0 {
                b.push(format!("{n};lang-de").as_bytes(), b"de");
            }
        }
        let e = b.finish();
        for (i, n) in names.iter().enumerate() {
            let upper = n.to_uppercase();
            assert_eq!(
                e.first(upper.as_str()),
                Some(i.to_string().as_bytes()),
                "{n}"
            );
            let with_option = e.get(format!("{upper};LANG-DE").as_str());
            assert_eq!(with_option.is_some(), i % 7 == 0, "{n}");
        }
        assert!(e.get("attr300").is_none());
        assert!(e.get("attr1;lang-fr").is_none());
    }

    #[test]
    fn values_of_one_attribute_are_grouped_in_arrival_order() {
        let mut b = EntryBuilder::new(b"cn=a,dc=x");
        b.push(b"objectClass", b"top");
        b.push(b"cn", b"a");
        b.push(b"OBJECTCLASS", b"person");
        let e = b.finish();
        let oc: Vec<&[u8]> = e.values("objectclass").collect();
        assert_eq!(oc, vec![&b"top"[..], b"person"]);
        assert_eq!(e.attr_count(), 2);
        assert_eq!(e.attributes().next().unwrap().name(), b"objectClass");
    }

    #[test]
    fn options_compare_as_a_set() {
        assert!(attr_eq(b"ou;lang-ja;phonetic", b"OU;Phonetic;Lang-JA"));
        assert!(!attr_eq(b"ou;lang-ja", b"ou"));
        assert!(!attr_eq(b"ou", b"o"));
        assert_eq!(attr_type(b"member;range=0-1499"), b"member");
    }

    #[test]
    fn with_values_replaces_in_place_and_removes_when_empty() {
        let mut b = EntryBuilder::new(b"cn=a");
        b.push(b"a", b"1");
        b.push(b"b", b"2");
        let e = b.finish();
        let e2 = e.with_values(b"A", [&b"9"[..], b"8"]);
        assert_eq!(e2.attributes().next().unwrap().values().count(), 2);
        let e3 = e2.with_values(b"a", std::iter::empty());
        assert!(!e3.has("a"));
        assert!(e3.has("b"));
        let e4 = e3.with_values(b"c", [&b"x"[..]]);
        assert_eq!(e4.first("C"), Some(&b"x"[..]));
    }
}
