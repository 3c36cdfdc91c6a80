//! Atomics for memory that processes share: the standard library's, with every access written
//! down as [`evidence`](crate::evidence::record) when the trace is on.
//!
//! [`AtomicU32`] here has the methods of `std::sync::atomic::AtomicU32` (`load`, `store`,
//! `swap`, `fetch_add`, `compare_exchange`...), the same size and layout, and it is
//! [`Shareable`](crate::Shareable), so a struct of them can be viewed in a segment. What it
//! adds: each access is a place where the exercise checker may let another process run first
//! (a [`jitter`](crate::jitter) point), and, with the trace on, a line saying which process
//! loaded or stored what, where, with which ordering. That is how the checker knows the child
//! read the bytes the parent wrote, and whether anything ordered the two.
//!
//! ```
//! use shm_workbook::shared::{AtomicU32, Ordering};
//! let flag = AtomicU32::new(0);
//! flag.store(1, Ordering::Release);
//! assert_eq!(flag.load(Ordering::Acquire), 1);
//! ```

pub use std::sync::atomic::Ordering;

use crate::evidence::{self, Op};

/// A fence (`std::sync::atomic::fence`), written down with the trace on.
pub fn fence(order: Ordering) {
    crate::jitter::point();
    std::sync::atomic::fence(order);
    evidence::fence(order);
}

macro_rules! shared_atomic {
    ($name:ident, $int:ty, $std:ty) => {
        #[doc = concat!("`std::sync::atomic::", stringify!($name), "`, each access written down.")]
        #[repr(transparent)]
        #[derive(Debug, Default)]
        pub struct $name($std);

        impl $name {
            /// A new atomic holding `value`.
            pub const fn new(value: $int) -> Self {
                Self(<$std>::new(value))
            }

            /// The standard atomic inside, for a call that needs its address (`futex`).
            /// Accesses through it are not written down.
            pub fn as_std(&self) -> &$std {
                &self.0
            }

            /// Its address in this process, as `std`'s `as_ptr` gives it.
            pub fn as_ptr(&self) -> *mut $int {
                self.0.as_ptr()
            }

            fn address(&self) -> usize {
                self.0.as_ptr() as usize
            }

            /// `load(order)`.
            pub fn load(&self, order: Ordering) -> $int {
                crate::jitter::load_point();
                let began = evidence::begin();
                let value = self.0.load(order);
                evidence::record(
                    Op::Load,
                    self.address(),
                    &value.to_ne_bytes(),
                    None,
                    order,
                    began,
                );
                value
            }

            /// `store(value, order)`.
            pub fn store(&self, value: $int, order: Ordering) {
                crate::jitter::point();
                let began = evidence::begin();
                self.0.store(value, order);
                evidence::record(
                    Op::Store,
                    self.address(),
                    &value.to_ne_bytes(),
                    None,
                    order,
                    began,
                );
            }

            fn rmw(
                &self,
                order: Ordering,
                step: impl FnOnce(&$std) -> $int,
                new: impl FnOnce($int) -> $int,
            ) -> $int {
                // No jitter point: nothing can come between the read and the write of one
                // read-modify-write, and a count of thousands (exercise 06) would crawl.
                let began = evidence::begin();
                let old = step(&self.0);
                let stored = new(old).to_ne_bytes();
                evidence::record(
                    Op::Rmw,
                    self.address(),
                    &stored,
                    Some(&old.to_ne_bytes()),
                    order,
                    began,
                );
                old
            }

            /// `swap(value, order)`: stores `value`, returns what was there.
            pub fn swap(&self, value: $int, order: Ordering) -> $int {
                self.rmw(order, |a| a.swap(value, order), |_| value)
            }

            /// `fetch_add(value, order)` (wrapping), returns what was there.
            pub fn fetch_add(&self, value: $int, order: Ordering) -> $int {
                self.rmw(order, |a| a.fetch_add(value, order), |old| old.wrapping_add(value))
            }

            /// `fetch_sub(value, order)` (wrapping), returns what was there.
            pub fn fetch_sub(&self, value: $int, order: Ordering) -> $int {
                self.rmw(order, |a| a.fetch_sub(value, order), |old| old.wrapping_sub(value))
            }

            /// `fetch_or(value, order)`, returns what was there.
            pub fn fetch_or(&self, value: $int, order: Ordering) -> $int {
                self.rmw(order, |a| a.fetch_or(value, order), |old| old | value)
            }

            /// `fetch_and(value, order)`, returns what was there.
            pub fn fetch_and(&self, value: $int, order: Ordering) -> $int {
                self.rmw(order, |a| a.fetch_and(value, order), |old| old & value)
            }

            /// `compare_exchange(current, new, success, failure)`: a read-modify-write if it
            /// succeeds, a load (with `failure`'s ordering) if it does not.
            pub fn compare_exchange(
                &self,
                current: $int,
                new: $int,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$int, $int> {
                self.exchange(current, new, success, failure, false)
            }

            /// `compare_exchange_weak(...)`: as [`compare_exchange`](Self::compare_exchange),
            /// but it may fail even when the value is `current` (use it in a loop).
            pub fn compare_exchange_weak(
                &self,
                current: $int,
                new: $int,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$int, $int> {
                self.exchange(current, new, success, failure, true)
            }

            fn exchange(
                &self,
                current: $int,
                new: $int,
                success: Ordering,
                failure: Ordering,
                weak: bool,
            ) -> Result<$int, $int> {
                crate::jitter::point();
                let began = evidence::begin();
                let result = if weak {
                    self.0.compare_exchange_weak(current, new, success, failure)
                } else {
                    self.0.compare_exchange(current, new, success, failure)
                };
                let address = self.address();
                match result {
                    Ok(old) => evidence::record(
                        Op::Rmw,
                        address,
                        &new.to_ne_bytes(),
                        Some(&old.to_ne_bytes()),
                        success,
                        began,
                    ),
                    Err(found) => evidence::record(
                        Op::Load,
                        address,
                        &found.to_ne_bytes(),
                        None,
                        failure,
                        began,
                    ),
                }
                result
            }
        }
    };
}

shared_atomic!(AtomicU8, u8, std::sync::atomic::AtomicU8);
shared_atomic!(AtomicU16, u16, std::sync::atomic::AtomicU16);
shared_atomic!(AtomicU32, u32, std::sync::atomic::AtomicU32);
shared_atomic!(AtomicU64, u64, std::sync::atomic::AtomicU64);
shared_atomic!(AtomicI32, i32, std::sync::atomic::AtomicI32);
shared_atomic!(AtomicI64, i64, std::sync::atomic::AtomicI64);
shared_atomic!(AtomicUsize, usize, std::sync::atomic::AtomicUsize);

/// A 32-bit word that [`futex`](crate::futex) and [`wait`](crate::wait) can sleep on: this
/// module's [`AtomicU32`] (its loads and stores written down) or the standard library's.
pub trait Word: Sync {
    /// The standard atomic, for the address the kernel needs.
    fn raw(&self) -> &std::sync::atomic::AtomicU32;
    /// `load(order)`.
    fn load_word(&self, order: Ordering) -> u32 {
        self.raw().load(order)
    }
    /// `store(value, order)`.
    fn store_word(&self, value: u32, order: Ordering) {
        self.raw().store(value, order)
    }
}

impl Word for std::sync::atomic::AtomicU32 {
    fn raw(&self) -> &std::sync::atomic::AtomicU32 {
        self
    }
}

impl Word for AtomicU32 {
    fn raw(&self) -> &std::sync::atomic::AtomicU32 {
        &self.0
    }
    fn load_word(&self, order: Ordering) -> u32 {
        self.load(order)
    }
    fn store_word(&self, value: u32, order: Ordering) {
        self.store(value, order)
    }
}
