//! `topei` after a write, 2047 identities with 10% enabled (issue 7 target: under 100 ns).
//!
//! Run with `cargo bench -p aia-virt --bench topei`.

use aia_virt::iselect::{VsSelect, imsic_reg};
use aia_virt::{
    AiaConfig, CsrOp, ImsicFile, MmioOp, NestedAia, NoGuestFileHardware, Origin, Vgein, VsContext,
    Xlen,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// Every tenth identity enabled (205 of 2047), delivery on, nothing pending.
fn file_10pct() -> (ImsicFile, Vec<u64>) {
    let mut f = ImsicFile::new(2047).unwrap();
    let enabled: Vec<u64> = (1..=2047).filter(|i| i % 10 == 0).collect();
    for &id in &enabled {
        let Some(VsSelect::File(reg)) = imsic_reg(0xC0 + 2 * (id / 64), Xlen::Rv64) else {
            unreachable!()
        };
        f.rmw_reg(reg, CsrOp::Set(1 << (id % 64)));
    }
    f.rmw_reg(
        imsic_reg(0x70, Xlen::Rv64)
            .map(|s| match s {
                VsSelect::File(r) => r,
                _ => unreachable!(),
            })
            .unwrap(),
        CsrOp::Write(1),
    );
    (f, enabled)
}

fn bench(c: &mut Criterion) {
    let (mut file, enabled) = file_10pct();
    let mut i = 0;
    c.bench_function(
        "imsic_file/seteipnum_then_topei_then_claim/2047ids_10pct",
        |b| {
            b.iter(|| {
                // Cycle through the enabled identities, high ones included: the worst case for a
                // linear scan, the same for the summary.
                let id = enabled[i % enabled.len()];
                i = i.wrapping_add(37);
                file.mmio(0, 4, MmioOp::Store(black_box(id))).unwrap();
                let top = black_box(file.topei());
                file.claim();
                top
            })
        },
    );

    let (mut busy, _) = file_10pct();
    for id in (1000..=2047).filter(|i| i % 10 == 0) {
        busy.set_eipnum(id);
    }
    c.bench_function(
        "imsic_file/seteipnum_then_topei/2047ids_10pct_half_pending",
        |b| {
            b.iter(|| {
                busy.mmio(0, 4, MmioOp::Store(black_box(2040))).unwrap();
                black_box(busy.topei())
            })
        },
    );

    // Only word 31 (identities 1984-2047) is enabled here, not 10%: the store and the claim
    // both touch that one word, so the row measures the NestedAia layers, not the search.
    let mut aia = NestedAia::<1>::new(AiaConfig::new(2047)).unwrap();
    let hw = &mut NoGuestFileHardware;
    let ctx = VsContext::default();
    aia.set_vgein(Vgein::new(1));
    aia.write_then_read(0x250, 0xC0 + 2 * 31, Origin::L1Supervisor, &ctx, hw)
        .unwrap();
    aia.write_then_read(0x251, !0, Origin::L1Supervisor, &ctx, hw)
        .unwrap();
    c.bench_function(
        "nested_aia/mmio_msi_then_vstopei_claim/2047ids_word31_enabled",
        |b| {
            b.iter(|| {
                aia.mmio(1, 0, 4, MmioOp::Store(black_box(2047)), hw)
                    .unwrap();
                aia.csr_rmw(0x25C, CsrOp::Write(0), Origin::L1Supervisor, &ctx, hw)
                    .unwrap()
            })
        },
    );

    // Baseline: what a linear scan of 2047 pending/enable bits costs for the same answer.
    let pending: Vec<bool> = (0..2048).map(|i| i == 2040).collect();
    let enabled: Vec<bool> = (0..2048).map(|i| i % 10 == 0).collect();
    c.bench_function("baseline/linear_scan_topei/2047ids_10pct", |b| {
        b.iter(|| {
            let (p, e) = (black_box(&pending), black_box(&enabled));
            (1..2048).find(|&i| p[i] && e[i]).unwrap_or(0)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
