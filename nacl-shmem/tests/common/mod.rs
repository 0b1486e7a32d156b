//! A shared memory for tests: several handles on the same bytes, with a log of every access.

#![allow(dead_code)]

use nacl_shmem::{AccessError, ByteShmem, WordAccess, Xlen};
use std::cell::RefCell;
use std::rc::Rc;

/// One access, as the crate made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read(usize),
    ReadAcquire(usize),
    Write(usize, u64),
    WriteRelease(usize, u64),
}

/// A handle on shared bytes; clones see the same bytes and the same log.
#[derive(Clone)]
pub struct SharedMem {
    pub bytes: Rc<RefCell<Vec<u8>>>,
    pub log: Rc<RefCell<Vec<Access>>>,
    pub xlen: Xlen,
}

impl SharedMem {
    pub fn new(xlen: Xlen) -> Self {
        Self::from_bytes(vec![0; xlen.shmem_size()], xlen)
    }

    pub fn from_bytes(bytes: Vec<u8>, xlen: Xlen) -> Self {
        SharedMem {
            bytes: Rc::new(RefCell::new(bytes)),
            log: Rc::default(),
            xlen,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut ByteShmem<'_>) -> R) -> R {
        let mut bytes = self.bytes.borrow_mut();
        f(&mut ByteShmem::new(&mut bytes, self.xlen).unwrap())
    }

    /// Reads a word without logging it (for the test's own checks).
    pub fn peek(&self, offset: usize) -> u64 {
        self.with(|m| m.read_word(offset)).unwrap()
    }

    /// Writes a word without logging it (for the test's own setup).
    pub fn poke(&self, offset: usize, value: u64) {
        self.with(|m| m.write_word(offset, value)).unwrap()
    }

    pub fn take_log(&self) -> Vec<Access> {
        std::mem::take(&mut self.log.borrow_mut())
    }

    /// The offsets read, with how many times each.
    pub fn reads_per_offset(&self) -> std::collections::BTreeMap<usize, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for access in self.log.borrow().iter() {
            if let Access::Read(o) | Access::ReadAcquire(o) = access {
                *counts.entry(*o).or_insert(0) += 1;
            }
        }
        counts
    }
}

impl WordAccess for SharedMem {
    fn xlen(&self) -> Xlen {
        self.xlen
    }
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        self.log.borrow_mut().push(Access::Read(offset));
        self.with(|m| m.read_word(offset))
    }
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        self.log.borrow_mut().push(Access::Write(offset, value));
        self.with(|m| m.write_word(offset, value))
    }
    fn read_word_acquire(&self, offset: usize) -> Result<u64, AccessError> {
        self.log.borrow_mut().push(Access::ReadAcquire(offset));
        self.with(|m| m.read_word(offset))
    }
    fn write_word_release(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        self.log
            .borrow_mut()
            .push(Access::WriteRelease(offset, value));
        self.with(|m| m.write_word(offset, value))
    }
}
