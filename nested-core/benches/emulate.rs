//! Emulating one trapped CSR write of L1 (decode, privilege, WARL, rd, pc), end to end.
//!
//! `cargo bench -p nested-core`

use criterion::{Criterion, criterion_group, criterion_main};
use nested_core::gstage::{ShadowConfig, SupportedModes, WalkConfig};
use nested_core::host::real;
use nested_core::testing::SoftHart;
use nested_core::{GuestRegs, NestedConfig, NestedHart, Trap, VirtualMode, cause};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let shadow = ShadowConfig {
        l1_walk: WalkConfig::default(),
        host_svvptc: false,
        first_vmid: 1,
        shadow_modes: SupportedModes {
            sv32x4: false,
            sv39x4: true,
            sv48x4: true,
            sv57x4: false,
        },
    };
    let mut hart: NestedHart<4> = NestedHart::new(NestedConfig::rv64(), shadow, 0);
    let mut host = Box::new(SoftHart::new());
    host.csrs.insert(real::VSTVEC, 0x8040_0000).unwrap();
    // csrrw x0, hgatp, x5 with x5 = Sv39x4, VMID 3, root at 0x8010_0000.
    let write_hgatp = Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: 0x6802_9073,
        mode: VirtualMode::Hypervisor,
    };
    let mut regs = GuestRegs::default();
    regs.x[5] = 8 << 60 | 3 << 44 | 0x8_0100;
    c.bench_function("emulate_csr_write_hgatp", |b| {
        b.iter(|| {
            regs.pc = 0x8020_0000;
            black_box(hart.emulate(black_box(&write_hgatp), &mut regs, &mut *host))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
