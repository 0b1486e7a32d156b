//! Emulating L1's trapped instructions end to end (decode, privilege, the work, rd, pc):
//! one CSR write, and one HLV.D through an Sv39 VS-stage and an Sv39x4 G-stage whose tables
//! are in L1 memory (the caches warm, as every HLV walks both stages again).
//!
//! `cargo bench -p nested-core`

use criterion::{Criterion, criterion_group, criterion_main};
use nacl_shmem::csr_space::write_slot;
use nacl_shmem::dirty_bitmap::set_dirty;
use nacl_shmem::{AccessError, CsrSlot, WordAccess, Xlen};
use nested_core::host::GuestMemory;
use nested_core::host::PhysicalHart;
use nested_core::host::real;
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{SoftHost, Tables, l1_to_l2, l2_to_l1, same, shadow_config};
use nested_core::{GuestRegs, GuestTrap, NestedConfig, NestedHart, Trap, VirtualMode, cause};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// An RV64 L1 hart at reset on the software host, its trap vector set.
fn engine() -> (NestedHart<4>, Box<SoftHost>, GuestRegs) {
    let hart = NestedHart::new(NestedConfig::rv64(), shadow_config(1), 0);
    let mut host = Box::new(SoftHost::new());
    host.cpu.write_csr(real::VSTVEC, 0x8040_0000);
    (hart, host, GuestRegs::default())
}

fn trap(bits: u32) -> Trap {
    Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: u64::from(bits),
        mode: VirtualMode::Hypervisor,
    }
}

/// csrrw x0, CSR, x31.
fn csrrw(csr: u16) -> u32 {
    u32::from(csr) << 20 | 31 << 15 | 1 << 12 | 0x73
}

fn bench(c: &mut Criterion) {
    let (mut hart, mut host, mut regs) = engine();

    regs.x[31] = 8 << 60 | 3 << 44 | 0x8_0100;
    let write_hgatp = trap(csrrw(0x680));
    c.bench_function("emulate_csr_write_hgatp", |b| {
        b.iter(|| {
            regs.pc = 0x8020_0000;
            black_box(hart.emulate(black_box(&write_hgatp), &mut regs, &mut *host))
        })
    });

    // L2 GPA g is L1 GPA 0x8000_0000 + g (G-stage root at 0x8000_4000); the VS-stage (root
    // at L2 GPA 0x1000) maps GVA 0x4000_0000 to L2 GPA 0x2000.
    let mut tables = Tables { next: 0x8000_8000 };
    for page in (0..0x1_0000).step_by(4096) {
        tables.map(
            &mut host.memory,
            0x8000_4000,
            11,
            page,
            0x8000_0000 + page,
            R | W | U | A | D,
            same,
            same,
        );
    }
    tables.map(
        &mut host.memory,
        0x1000,
        9,
        0x4000_0000,
        0x2000,
        R | W | A | D,
        l2_to_l1,
        l1_to_l2,
    );
    for (csr, value) in [
        (0x680, 8 << 60 | 1 << 44 | 0x8_0004),
        (0x280, 8 << 60 | 0x1),
        (0x600, 1 << 8),
    ] {
        regs.x[31] = value;
        hart.emulate(&trap(csrrw(csr)), &mut regs, &mut *host);
    }
    regs.x[6] = 0x4000_0008;
    let hlv_d = trap(0x6c00_4073 | 6 << 15 | 5 << 7);
    c.bench_function("emulate_hlv_d_two_stage_sv39", |b| {
        b.iter(|| {
            regs.pc = 0x8020_0000;
            hart.emulate(black_box(&hlv_d), &mut regs, &mut *host);
            assert_eq!(regs.pc, 0x8020_0004, "the HLV completed");
            black_box(regs.x[5])
        })
    });
}

/// One L2 round trip's two halves: L1's SRET into L2 (shadow context already built), and an
/// ecall of L2 reflected back into L1.
fn world_switch(c: &mut Criterion) {
    let (mut hart, mut host, mut regs) = engine();
    for (csr, value) in [(0x680, 8 << 60 | 1 << 44 | 0x8_0004), (0x600, 1 << 7)] {
        regs.x[31] = value;
        hart.emulate(&trap(csrrw(csr)), &mut regs, &mut *host);
    }
    let sret = trap(0x1020_0073);
    let ecall = GuestTrap {
        code: 10,
        interrupt: false,
        tval: 0,
        htval: 0,
        htinst: 0,
        gva: false,
        supervisor: true,
    };
    c.bench_function("world_switch_enter_l2_and_reflect_an_ecall", |b| {
        b.iter(|| {
            regs.x[31] = 1 << 7; // L1's trap handler sets SPV again before its next SRET
            hart.emulate(&trap(csrrw(0x600)), &mut regs, &mut *host);
            hart.emulate(black_box(&sret), &mut regs, &mut *host);
            hart.handle_guest_trap(black_box(&ecall), &mut regs, &mut *host)
        })
    });
}

/// L1's NACL shared memory in the model, word by word (as L1 writes it).
struct L1Shmem<'a>(&'a mut SoftHost);

const SHMEM: u64 = 0x8000_c000;

impl WordAccess for L1Shmem<'_> {
    fn xlen(&self) -> Xlen {
        Xlen::Rv64
    }
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        let mut bytes = [0; 8];
        self.0
            .memory
            .read(SHMEM + offset as u64, &mut bytes)
            .map_err(|_| AccessError::Fault { offset })?;
        Ok(u64::from_le_bytes(bytes))
    }
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        self.0
            .memory
            .write(SHMEM + offset as u64, &value.to_le_bytes())
            .map_err(|_| AccessError::Fault { offset })
    }
}

/// NACL sync_sret with 10 dirty CSRs: the sync, the SRET area, the entry into L2. Only the
/// sync_sret is timed; L1's batched writes before it and L2's exit after it are not.
fn nacl_sync_sret(c: &mut Criterion) {
    let (mut hart, mut host, mut regs) = engine();
    regs.x[31] = 8 << 60 | 1 << 44 | 0x8_0004;
    hart.emulate(&trap(csrrw(0x680)), &mut regs, &mut *host);
    hart.nacl_set_shmem(Some(SHMEM), &mut *host)
        .expect("shared memory set");
    let dirty: [(u16, u64); 10] = [
        (0x600, 1 << 7),
        (0x602, 0xb1ff),
        (0x603, 0x444),
        (0x645, 0x40),
        (0x605, 1000),
        (0x200, 1 << 8),
        (0x205, 0x3000),
        (0x240, 7),
        (0x241, 0x1000),
        (0x280, 0),
    ];
    let ecall = GuestTrap {
        code: 10,
        interrupt: false,
        tval: 0,
        htval: 0,
        htinst: 0,
        gva: false,
        supervisor: true,
    };
    c.bench_function("nacl_sync_sret_with_10_dirty_csrs", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                let mut l1 = L1Shmem(&mut host);
                for (csr, value) in dirty {
                    let slot = CsrSlot::from_csr(csr).expect("a NACL CSR");
                    write_slot(&mut l1, slot, value).expect("in memory");
                    set_dirty(&mut l1, slot).expect("in memory");
                }
                let start = Instant::now();
                let outcome = hart.nacl_sync_sret(&mut regs, &mut *host);
                timed += start.elapsed();
                assert!(outcome.is_ok() && hart.in_guest(), "{outcome:?}");
                hart.handle_guest_trap(&ecall, &mut regs, &mut *host);
            }
            timed
        })
    });
}

criterion_group!(benches, bench, world_switch, nacl_sync_sret);
criterion_main!(benches);
