//! Buffers laid out as NumPy lays out a large array, and as the C peer (`limits.c`) lays out
//! its own: 2 MiB-aligned, with transparent huge pages requested before the first touch. On a
//! host whose THP mode is `madvise` (Debian's default), a plain `Vec` of a video gets 4 KiB
//! pages and the peer gets 2 MiB ones; comparing the two would compare page sizes too.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// 2 MiB: the alignment, and the huge page size on x86-64.
const HUGE: usize = 2 << 20;

/// A fixed-length buffer of `T`, 2 MiB-aligned, huge pages requested (see the module docs).
pub struct HugeBuf<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    layout: Layout,
}

// SAFETY: a `HugeBuf` owns its allocation alone, like a `Vec<T>`; `T: Copy` holds no
// references of its own beyond what `T: Send`/`Sync` allow.
unsafe impl<T: Copy + Send> Send for HugeBuf<T> {}
// SAFETY: as above; shared access only reads.
unsafe impl<T: Copy + Sync> Sync for HugeBuf<T> {}

impl<T: Copy> HugeBuf<T> {
    /// `len` copies of `value`.
    ///
    /// # Panics
    /// When the size overflows `isize` (the allocation failing aborts, as a `Vec`'s does).
    pub fn new(len: usize, value: T) -> Self {
        let bytes = (len.max(1) * size_of::<T>()).next_multiple_of(HUGE);
        let layout = Layout::from_size_align(bytes, HUGE).expect("buffer size fits isize");
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<T>()) else {
            handle_alloc_error(layout)
        };
        advise_huge(raw, bytes);
        // SAFETY: the allocation holds `bytes >= len * size_of::<T>()` bytes, aligned for `T`
        // (2 MiB is a multiple of any `T`'s alignment); every element is written before
        // any is read.
        unsafe {
            for i in 0..len {
                ptr.as_ptr().add(i).write(value);
            }
        }
        HugeBuf { ptr, len, layout }
    }
}

#[cfg(target_os = "linux")]
fn advise_huge(addr: *mut u8, len: usize) {
    unsafe extern "C" {
        fn madvise(addr: *mut u8, len: usize, advice: i32) -> i32;
    }
    const MADV_HUGEPAGE: i32 = 14;
    // SAFETY: `addr..addr + len` is one allocation of ours; advice changes no contents. A
    // refusal (THP disabled) leaves 4 KiB pages, which is not an error.
    let _ = unsafe { madvise(addr, len, MADV_HUGEPAGE) };
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_: *mut u8, _: usize) {}

impl<T: Copy> Deref for HugeBuf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised elements (see `new`), owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> DerefMut for HugeBuf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> Drop for HugeBuf<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; `T: Copy` needs no drop.
        unsafe { dealloc(self.ptr.as_ptr().cast(), self.layout) };
    }
}

impl<T: Copy> std::fmt::Debug for HugeBuf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HugeBuf")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
