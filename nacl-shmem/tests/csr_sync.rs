//! SYNC_CSR on the provider side: the order in which dirty CSRs are applied, and dropping
//! stale dirty bits at `set_shmem`.

mod common;

use common::SharedMem;
use nacl_shmem::dirty_bitmap::DirtyBitmap;
use nacl_shmem::{CSR_SYNC_ORDER, Consumer, CsrSlot, Provider, Xlen};

fn slot(csr: u16) -> CsrSlot {
    CsrSlot::from_csr(csr).unwrap()
}

/// Writes `csrs` in the given sequence (value = CSR number + 1) and drains with `order`.
fn drain_after_writing(
    xlen: Xlen,
    csrs: &[u16],
    order: &[CsrSlot],
) -> (Vec<(u16, u64)>, SharedMem) {
    let mem = SharedMem::new(xlen);
    let mut l1 = Consumer::new(mem.clone());
    for csr in csrs {
        l1.csr_write(*csr, u64::from(*csr) + 1).unwrap();
    }
    mem.take_log();
    let mut drained = Vec::new();
    Provider::new(mem.clone())
        .drain_dirty_csrs(order, |csr, value| drained.push((csr, value)))
        .unwrap();
    (drained, mem)
}

#[test]
fn the_default_sync_order_is_the_spec_derived_list() {
    let numbers: Vec<u16> = CSR_SYNC_ORDER.iter().map(|s| s.csr()).collect();
    assert_eq!(
        numbers,
        [
            0x600, 0x602, 0x612, 0x603, 0x613, 0x608, 0x618, 0x609, 0x645, 0x655, 0x604, 0x644,
            0x607, 0x606, 0x605, 0x615, 0x24D, 0x25D, 0x643, 0x64A, 0x680, 0x60A, 0x61A, 0x200,
            0x244, 0x254, 0x204, 0x214, 0x205, 0x240, 0x241, 0x242, 0x243, 0x280,
        ]
    );
}

#[test]
fn the_default_sync_order_puts_every_csr_after_the_csrs_it_depends_on() {
    let position = |csr: u16| CSR_SYNC_ORDER.iter().position(|s| s.csr() == csr).unwrap();
    // (depended on, dependent): sbi-nacl.md §5 and the AIA/RV32 halves.
    let rules = [
        (0x645, 0x644), // hvip before hip
        (0x645, 0x244), // hvip before vsip
        (0x655, 0x254), // hviph before vsiph
        (0x605, 0x24D), // htimedelta before vstimecmp
        (0x615, 0x25D), // htimedeltah before vstimecmph
        (0x605, 0x25D),
        (0x603, 0x204), // hideleg before vsie
        (0x603, 0x244), // hideleg before vsip
        (0x613, 0x214), // hidelegh before vsieh
        (0x613, 0x254), // hidelegh before vsiph
        (0x608, 0x645), // hvien before hvip
    ];
    for (first, then) in rules {
        assert!(
            position(first) < position(then),
            "{first:#x} before {then:#x}"
        );
    }
}

#[test]
fn dirty_csrs_are_drained_dependencies_first_then_the_rest_in_slot_order() {
    // Written in the worst order; slot order would give vsstatus, vsie, vsieh, vsip,
    // vstimecmp, hstatus, hideleg, htimedelta, hip, hvip, then the custom 0x6C0.
    let written = [
        0x24D, 0x204, 0x244, 0x6C0, 0x644, 0x645, 0x605, 0x603, 0x200, 0x214, 0x600,
    ];
    for xlen in Xlen::ALL {
        let (drained, mem) = drain_after_writing(xlen, &written, &CSR_SYNC_ORDER);
        let csrs: Vec<u16> = drained.iter().map(|(csr, _)| *csr).collect();
        assert_eq!(
            csrs,
            [
                0x600, 0x603, 0x645, 0x644, 0x605, 0x24D, 0x200, 0x244, 0x204, 0x214, 0x6C0
            ],
            "{xlen:?}"
        );
        assert!(
            drained
                .iter()
                .all(|(csr, value)| *value == u64::from(*csr) + 1)
        );
        // The bitmap and each slot read once; the bitmap cleared.
        assert!(mem.reads_per_offset().values().all(|n| *n == 1));
        assert!(DirtyBitmap::read(&mem).unwrap().is_empty());
    }
}

#[test]
fn a_caller_supplied_order_is_followed_as_given_and_a_repeated_csr_is_yielded_once() {
    let written = [0x280, 0x645, 0x644];
    // The caller's own list, even one that breaks the spec's rule, is the caller's.
    let order = [slot(0x644), slot(0x645), slot(0x644), slot(0x600)];
    for xlen in Xlen::ALL {
        let (drained, _) = drain_after_writing(xlen, &written, &order);
        assert_eq!(drained, [(0x644, 0x645), (0x645, 0x646), (0x280, 0x281)]);
    }
}

#[test]
fn an_empty_order_drains_in_slot_order() {
    let (drained, _) = drain_after_writing(Xlen::Rv64, &[0x645, 0x644, 0x200], &[]);
    assert_eq!(drained, [(0x200, 0x201), (0x644, 0x645), (0x645, 0x646)]);
}

#[test]
fn clear_all_dirty_drops_stale_dirty_bits_without_applying_or_changing_the_values() {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        for csr in [0x200, 0x645, 0xEFF, 0x21F, 0x220] {
            l1.csr_write(csr, 0x77).unwrap();
        }
        let before = mem.bytes.borrow().clone();
        let mut l0 = Provider::new(mem.clone());
        l0.clear_all_dirty().unwrap();
        // The bitmap, and nothing else, changed.
        let after = mem.bytes.borrow().clone();
        assert_eq!(after[..0xF80], before[..0xF80]);
        assert_eq!(after[0x1000..], before[0x1000..]);
        assert!(DirtyBitmap::read(&mem).unwrap().is_empty());
        for csr in [0x200, 0x645, 0xEFF, 0x21F, 0x220] {
            assert_eq!(mem.peek(slot(csr).offset(xlen)), 0x77, "{csr:#x}");
        }
        assert_eq!(
            l0.drain_dirty_csrs(&CSR_SYNC_ORDER, |_, _| unreachable!()),
            Ok(0)
        );
    }
}
