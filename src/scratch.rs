//! Per-thread scratch buffers that hot paths reuse instead of allocating per request.
//!
//! Each user keeps one value in a `thread_local!` `RefCell` and runs its work through
//! [`with_scratch`]: the value is borrowed (or, if the thread is already inside that
//! work, a fresh one is made, so re-entrance never panics), and afterwards anything that
//! grew past the user's cap is freed, so one huge input does not pin its memory for the
//! thread's lifetime.

use std::cell::RefCell;
use std::thread::LocalKey;

/// A reusable scratch value.
pub(crate) trait Scratch: Default {
    /// Frees whatever grew past `keep` bytes.
    fn trim(&mut self, keep: usize);
}

impl Scratch for String {
    fn trim(&mut self, keep: usize) {
        if self.capacity() > keep {
            *self = String::new();
        }
    }
}

impl Scratch for Vec<u8> {
    fn trim(&mut self, keep: usize) {
        if self.capacity() > keep {
            *self = Vec::new();
        }
    }
}

/// Runs `work` with this thread's value in `key`, then trims it to `keep` bytes.
///
/// `work` gets the value as the last call left it: clear it first when that matters.
pub(crate) fn with_scratch<S: Scratch, T>(
    key: &'static LocalKey<RefCell<S>>,
    keep: usize,
    work: impl FnOnce(&mut S) -> T,
) -> T {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let got = work(&mut scratch);
            scratch.trim(keep);
            got
        }
        Err(_) => work(&mut S::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
    }

    #[test]
    fn reuses_trims_and_survives_reentrance() {
        let first = with_scratch(&BUFFER, 64, |s| {
            s.push_str("kept");
            s.as_ptr()
        });
        let (again, len) = with_scratch(&BUFFER, 64, |s| (s.as_ptr(), s.len()));
        assert_eq!((again, len), (first, 4), "the same buffer comes back");
        with_scratch(&BUFFER, 64, |s| s.push_str(&"x".repeat(100)));
        assert_eq!(
            with_scratch(&BUFFER, 64, |s| s.capacity()),
            0,
            "grown past the cap: freed"
        );
        let inner = with_scratch(&BUFFER, 64, |outer| {
            outer.push_str("outer");
            with_scratch(&BUFFER, 64, |inner| inner.len())
        });
        assert_eq!(inner, 0, "a nested call gets a fresh value");
    }
}
