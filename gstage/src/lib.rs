//! RISC-V G-stage page tables: formats, walker, page-table writer and the shadow G-stage manager.
#![no_std]
#![forbid(unsafe_code)]
