//! What pass 1 of `plan` noted about records, found again by pass 2 by the records' places.
//!
//! A place is `(file's position in the input list, record's byte offset)`: pass 1 notes places
//! in input order, so they come sorted. Pass 2's workers look them up in input order too, each
//! worker through the batches it was given, so a lookup mostly lands at or just after the
//! place the same thread found last. [`Places::get`] starts there and gallops forward, which
//! touches a cache line or two, where a binary search over hundreds of thousands of places
//! costs a score of dependent reads, most of them cache misses, for every record.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A record's place: (file's position in the input list, byte offset of the record).
pub type Place = (u32, u64);

/// Values by place, noted (in increasing order of place, as a rule), then looked up from
/// many threads.
pub struct Places<V> {
    /// In increasing order of place once shared ([`Places::share`]).
    noted: Vec<(Place, V)>,
    /// Per reading thread (by rayon index, the last one for any other thread): where its last
    /// lookup ended. Each on its own cache line, as the threads write them all the time.
    hints: Vec<Hint>,
}

#[derive(Default)]
#[repr(align(64))]
struct Hint(AtomicUsize);

impl<V> Default for Places<V> {
    fn default() -> Self {
        Places {
            noted: Vec::new(),
            hints: Vec::new(),
        }
    }
}

impl<V> FromIterator<(Place, V)> for Places<V> {
    fn from_iter<I: IntoIterator<Item = (Place, V)>>(noted: I) -> Self {
        Places {
            noted: noted.into_iter().collect(),
            hints: Vec::new(),
        }
    }
}

/// The per-thread slot of the calling thread among `slots` made for a rayon pool's threads
/// and one more: its rayon index, the last slot for any other thread (or a higher index).
pub fn thread_slot(slots: usize) -> usize {
    let last = slots.saturating_sub(1);
    rayon::current_thread_index().map_or(last, |t| t.min(last))
}

impl<V> Places<V> {
    /// Notes `value` at `place` (one value per place). Places noted in increasing order are
    /// ready to be looked up; others are put in order by [`Places::share`].
    pub fn push(&mut self, place: Place, value: V) {
        self.noted.push((place, value));
    }

    /// Reserves room for `n` more places, if the system grants it (see [`reserve_hint`]).
    pub fn reserve_hint(&mut self, n: usize) {
        reserve_hint(&mut self.noted, n);
    }

    /// Makes the places ready for [`Places::get`] from `threads` rayon worker threads (and any
    /// other thread), putting them in order first if they were not noted in order.
    pub fn share(&mut self, threads: usize) {
        if !self.noted.is_sorted_by(|a, b| a.0 <= b.0) {
            self.noted.sort_by_key(|(p, _)| *p);
        }
        self.hints = (0..=threads).map(|_| Hint::default()).collect();
    }

    /// Number of places noted.
    pub fn len(&self) -> usize {
        self.noted.len()
    }

    /// Whether no place was noted.
    pub fn is_empty(&self) -> bool {
        self.noted.is_empty()
    }

    /// The value noted at `place`, if any.
    pub fn get(&self, place: Place) -> Option<&V> {
        let i = self.position(place)?;
        self.noted.get(i).map(|(_, v)| v)
    }

    /// The index of `place` in order of place, if it was noted.
    fn position(&self, place: Place) -> Option<usize> {
        let keys = &self.noted;
        let hint = thread_slot(self.hints.len());
        let start = self
            .hints
            .get(hint)
            .map_or(0, |h| h.0.load(Ordering::Relaxed));
        // Every key before `start` must be smaller, or the search starts over.
        let start = match start.checked_sub(1).and_then(|p| keys.get(p)) {
            Some((k, _)) if *k >= place => 0,
            _ => start.min(keys.len()),
        };
        let i = lower_bound_from(keys, start, &place, |(k, _)| k);
        if let Some(h) = self.hints.get(hint) {
            h.0.store(i, Ordering::Relaxed);
        }
        (keys.get(i).map(|(k, _)| k) == Some(&place)).then_some(i)
    }
}

/// The first index at or after `start` whose key (`key_of`) is not below `key`, given that
/// every key before `start` is: keys ahead are probed at distances 1, 2, 4, ... and the last
/// gap searched by halves.
fn lower_bound_from<T, K: Ord>(
    items: &[T],
    start: usize,
    key: &K,
    key_of: impl Fn(&T) -> &K,
) -> usize {
    let below = |t: &T| key_of(t) < key;
    let mut from = start;
    let mut step = 1usize;
    loop {
        let probe = from.saturating_add(step - 1);
        match items.get(probe) {
            None => return from + items[from..].partition_point(below),
            Some(t) if !below(t) => {
                return from + items[from..=probe].partition_point(below);
            }
            Some(_) => {
                from = probe + 1;
                step = step.saturating_mul(2);
            }
        }
    }
}

/// Reserves room for `n` more elements of `v` when the allocator grants it, and does nothing
/// otherwise: for lists whose final length is only estimated. The room is address space until
/// elements are pushed into it, so an estimate too high costs no memory, while one close to
/// the final length spares the list its growth by doubling, each step of which copies it
/// into new memory that the kernel faults in again.
pub fn reserve_hint<T>(v: &mut Vec<T>, n: usize) {
    let _ = v.try_reserve_exact(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_reserves_room_when_granted_and_is_ignored_when_not() {
        let mut v: Vec<(u32, u64)> = vec![(1, 2)];
        reserve_hint(&mut v, 1000);
        assert!(v.capacity() >= 1001);
        // More than the address space: refused, and the list is as it was.
        reserve_hint(&mut v, usize::MAX / 2);
        assert_eq!(v, [(1, 2)]);
        assert!(v.capacity() < usize::MAX / 2);
    }

    fn noted(places: &[Place]) -> Places<usize> {
        let mut p = Places::default();
        for (i, k) in places.iter().enumerate() {
            p.push(*k, i);
        }
        p.share(2);
        p
    }

    #[test]
    fn places_noted_out_of_order_are_found() {
        let mut p = Places::default();
        for (i, o) in [40u64, 10, 30, 20].into_iter().enumerate() {
            p.push((0, o), i);
        }
        p.push((1, 5), 4);
        p.share(1);
        for (o, i) in [
            ((0, 10), 1),
            ((0, 20), 3),
            ((0, 30), 2),
            ((0, 40), 0),
            ((1, 5), 4),
        ] {
            assert_eq!(p.get(o), Some(&i));
        }
        assert_eq!(p.get((0, 25)), None);
        assert_eq!(p.len(), 5);
    }

    #[test]
    fn lookups_in_any_order_find_what_was_noted() {
        let keys: Vec<Place> = (0..500u64).map(|i| ((i / 200) as u32, i * 7 + 3)).collect();
        let p = noted(&keys);
        // Forwards, backwards, and jumping about, from this thread (no rayon index).
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.extend((0..keys.len()).rev());
        order.extend((0..keys.len()).map(|i| (i * 7919) % keys.len()));
        for i in order {
            assert_eq!(p.get(keys[i]), Some(&i));
            // Places between noted ones, and past the end, are not found.
            assert_eq!(p.get((keys[i].0, keys[i].1 + 1)), None);
        }
        assert_eq!(p.get((0, 0)), None);
        assert_eq!(p.get((9, 0)), None);
        assert_eq!(Places::<u8>::default().get((0, 0)), None);
    }

    proptest::proptest! {
        /// Galloping from any start whose keys before it are smaller gives what a search of
        /// the whole slice gives.
        #[test]
        fn galloping_is_a_lower_bound(
            mut keys in proptest::collection::vec(0u32..1000, 0..300),
            key in 0u32..1000,
            start_at in 0usize..300,
        ) {
            keys.sort_unstable();
            keys.dedup();
            let want = keys.partition_point(|k| *k < key);
            let start = start_at.min(want);
            proptest::prop_assert_eq!(lower_bound_from(&keys, start, &key, |k| k), want);
        }

        /// Lookups from the pool's threads, in input order within each thread's share, find
        /// every noted place and nothing else.
        #[test]
        fn threads_find_their_places(
            offsets in proptest::collection::btree_set(0u64..100_000, 1..400),
            probes in proptest::collection::vec(0u64..100_000, 0..200),
        ) {
            let keys: Vec<Place> = offsets.iter().map(|o| (0, *o)).collect();
            let p = noted(&keys);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            let all: Vec<u64> = keys.iter().map(|k| k.1).chain(probes).collect();
            let got: Vec<Option<usize>> = pool.install(|| {
                use rayon::prelude::*;
                all.par_chunks(17)
                    .flat_map_iter(|c| c.iter().map(|o| p.get((0, *o)).copied()).collect::<Vec<_>>())
                    .collect()
            });
            for (o, g) in all.iter().zip(got) {
                proptest::prop_assert_eq!(g, keys.binary_search(&(0, *o)).ok());
            }
        }
    }
}
