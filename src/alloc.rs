//! The global allocator of the `ldifstamp` binary and of the benches: mimalloc, called the
//! way its unaligned fast path is reached.
//!
//! Every worker allocates and frees many small buffers, where glibc's allocator took a
//! quarter of `plan`'s time (docs/benchmarks.md). The `mimalloc` crate's allocator calls
//! `mi_malloc_aligned` for every request; in mimalloc's v3 line that function only has a
//! fast path for blocks up to 1 KiB that happen to be free, and sends everything else
//! through a generic path (about 200 instructions instead of about 30). Every block mimalloc
//! hands out is aligned to at least 8 bytes, so requests with an alignment of 8 or less go to
//! `mi_malloc` / `mi_zalloc` / `mi_realloc`; larger alignments keep the aligned calls.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::{c_int, c_long};

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_t` in `mimalloc.h`; the
/// `libmimalloc-sys` crate gives it no name). A test holds the number to the option's
/// default.
const PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// Tells mimalloc to keep the memory the program frees for its next allocations instead of
/// handing it back to the system a second after it was freed (`purge_delay` -1). A run of
/// `plan` frees and allocates hundreds of megabytes between its phases; handed back, the
/// memory is faulted in and zeroed again by the kernel (on the 1M-object benchmark export,
/// about 30,000 page faults and a tenth of a second of system time). The peak resident set
/// is the same: memory kept was resident already. Call it before the work starts.
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes any option number and value; an option that does not
    // exist is ignored, and -1 is a documented value of `purge_delay`.
    unsafe { mi_option_set(PURGE_DELAY, -1) }
}

/// mimalloc as a [`GlobalAlloc`] (see the module documentation).
pub struct MiMalloc;

/// The alignment every mimalloc block has (`MI_INTPTR_SIZE` on 64-bit targets; a pointer's
/// size on the others).
const MIN_ALIGN: usize = std::mem::size_of::<usize>();

// SAFETY: every method forwards to the mimalloc function with the same contract (a block of
// at least `size` bytes aligned as asked, or null; `mi_free` and `mi_realloc*` accept any
// block mimalloc returned), choosing the unaligned one only when mimalloc's own alignment
// already satisfies `layout`.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            pick(
                layout,
                libmimalloc_sys::mi_malloc,
                libmimalloc_sys::mi_malloc_aligned,
            )
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            pick(
                layout,
                libmimalloc_sys::mi_zalloc,
                libmimalloc_sys::mi_zalloc_aligned,
            )
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: see the impl.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= MIN_ALIGN {
                libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

/// A new block for `layout` from `plain` (size) when mimalloc's own alignment is enough,
/// else from `aligned` (size, alignment).
///
/// # Safety
///
/// `plain` and `aligned` must be mimalloc's allocation functions of the same kind
/// (`mi_malloc`/`mi_malloc_aligned` or `mi_zalloc`/`mi_zalloc_aligned`).
#[inline(always)]
unsafe fn pick(
    layout: Layout,
    plain: unsafe extern "C" fn(usize) -> *mut std::ffi::c_void,
    aligned: unsafe extern "C" fn(usize, usize) -> *mut std::ffi::c_void,
) -> *mut u8 {
    // SAFETY: the caller passes mimalloc's functions, which take any size and a power-of-two
    // alignment (a `Layout`'s alignment always is one).
    unsafe {
        if layout.align() <= MIN_ALIGN {
            plain(layout.size()).cast()
        } else {
            aligned(layout.size(), layout.align()).cast()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_named() {
        // mimalloc's default purge delay is 1000 ms; set from the environment, it is what the
        // variable says.
        let want = std::env::var("MIMALLOC_PURGE_DELAY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        // SAFETY: reading an option has no precondition.
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, want);
    }

    #[test]
    fn blocks_have_the_alignment_asked_for_and_keep_their_bytes() {
        let a = MiMalloc;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1usize, 7, 8, 24, 1000, 1025, 5000, 70_000, 1 << 20] {
                let layout = Layout::from_size_align(size, align).expect("valid layout");
                // SAFETY: `layout` has a non-zero size; each block is written within its
                // size and freed once, with its layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xAB, size);
                    let q = a.realloc(p, layout, size * 2);
                    assert!(!q.is_null());
                    assert_eq!(q as usize % align, 0, "realloc size {size} align {align}");
                    assert_eq!(*q, 0xAB);
                    assert_eq!(*q.add(size - 1), 0xAB);
                    a.dealloc(q, Layout::from_size_align(size * 2, align).expect("valid"));
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, layout);
                }
            }
        }
    }
}
