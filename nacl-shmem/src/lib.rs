//! The SBI nested-acceleration (NACL) shared memory: typed layout, consumer (L1) and provider (L0) sides.
#![no_std]
#![forbid(unsafe_code)]
