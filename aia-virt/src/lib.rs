//! The nested AIA state a guest hypervisor expects: virtual IMSIC interrupt files, the VS iselect window, hvictl.
#![no_std]
#![forbid(unsafe_code)]
