//! Sequences that Linux KVM, running as L1 with several VMs, drives through the engine: vCPU
//! switches between L2 G-stages with the NACL shared memory (SBI spec, NACL chapter, "Feature:
//! Synchronized CSR") and without it, mixing batched slot writes and trapped CSR writes.
//! Every entry into L2 must run on the shadow of the hgatp L1 set last, with the vsatp and
//! vstimecmp L1 set last.

use gstage::Hgatp;
use gstage::shadow::ContextKey;
use nacl_shmem::{ByteShmem, Consumer, Xlen};
use nested_core::csr::bits::*;
use nested_core::csr::number::*;
use nested_core::host::{GuestMemory, PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{SoftHost, Tables, same, shadow_config};
use nested_core::{
    Effects, GuestRegs, GuestTrap, NaclProvider, NestedConfig, NestedHart, Outcome, Trap,
    VirtualMode, cause,
};
use sbi_dispatch::{Departure, Dispatcher, SbiCall, Xlen as SbiXlen};

mod nacl_host;
use nacl_host::{Hart, NACL, Sbi};

const SET_SHMEM: u64 = 1;
const SYNC_CSR: u64 = 2;
const SYNC_SRET: u64 = 4;
/// L1's shared memory: three pages after the G-stages.
const SHMEM: u64 = 0x8000_c000;
/// Where L1's SRET sends L2.
const L2_ENTRY: u64 = 0x1000;
/// The L2 page every G-stage maps, each to its own L1 page.
const L2_PAGE: u64 = 0x1000;
const L1_PC: u64 = 0x8020_0000;
const OK: sbi_dispatch::Outcome = sbi_dispatch::Outcome::Return(Ok(0));
/// What Linux's timer save writes before it puts a vCPU: no deadline.
const NO_DEADLINE: u64 = u64::MAX;

/// One of L1's G-stages for a VM: its 16 KiB root (of which only the first page is used, for
/// L2 GPAs below 1 GiB), its VMID, and the vsatp of the VM's vCPU.
#[derive(Clone, Copy, Debug)]
struct Vm {
    root: u64,
    vmid: u64,
    vsatp: u64,
}

impl Vm {
    /// L1's hgatp for this VM: Sv39x4.
    const fn hgatp(self) -> u64 {
        8 << 60 | self.vmid << 44 | self.root >> 12
    }

    /// The L1 page that L2 GPA [`L2_PAGE`] maps to under this G-stage.
    const fn data(self) -> u64 {
        self.root + 0x3000
    }

    fn key(self) -> ContextKey {
        ContextKey::from_hgatp(Hgatp::decode(gstage::Xlen::Rv64, self.hgatp()).unwrap())
    }
}

const VM_A: Vm = Vm {
    root: 0x8000_0000,
    vmid: 1,
    vsatp: 8 << 60 | 0xa << 44 | 0x8_0a00,
};
const VM_B: Vm = Vm {
    root: 0x8000_4000,
    vmid: 2,
    vsatp: 8 << 60 | 0xb << 44 | 0x8_0b00,
};
/// A's VMID again, on another root: L1 recycled the VMID for a new VM.
const VM_A2: Vm = Vm {
    root: 0x8000_8000,
    vmid: 1,
    vsatp: 8 << 60 | 0xc << 44 | 0x8_0c00,
};

/// L1 (Linux KVM) on one hart, with its VMs' G-stages built, with or without NACL.
struct Kvm {
    sbi: Sbi,
    hart: Hart,
    nacl: bool,
}

impl Kvm {
    fn new(nacl: bool) -> Self {
        let mut host = Box::new(SoftHost::new());
        for vm in [VM_A, VM_B, VM_A2] {
            Tables {
                next: vm.root + 0x1000,
            }
            .map(
                &mut host.memory,
                vm.root,
                11,
                L2_PAGE,
                vm.data(),
                R | W | U | A | D,
                same,
                same,
            );
        }
        host.cpu.write_csr(real::VSTVEC, 0x8030_0000);
        // The host gives L1 Sstc: its own henvcfg for L1 has STCE.
        host.cpu.write_csr(real::HENVCFG, HENVCFG_STCE);
        let config = NestedConfig {
            nacl,
            ..NestedConfig::rv64()
        };
        let mut kvm = Kvm {
            sbi: Dispatcher::new(sbi_dispatch::testing::platform(1)).with_nacl(NaclProvider),
            hart: Hart {
                nested: NestedHart::new(config, shadow_config(30), 0),
                host,
                regs: GuestRegs {
                    pc: L1_PC,
                    ..GuestRegs::default()
                },
            },
            nacl,
        };
        kvm.trapped_write(HENVCFG, HENVCFG_STCE);
        if nacl {
            assert_eq!(kvm.call(SET_SHMEM, SHMEM), OK);
        }
        kvm
    }

    fn call(&mut self, fid: u64, a0: u64) -> sbi_dispatch::Outcome {
        self.sbi.dispatch(
            &mut self.hart,
            &SbiCall::new(NACL, fid, [a0, 0, 0, 0, 0, 0], SbiXlen::Rv64),
        )
    }

    /// Runs `f` on L1's shared memory as L1 would (copied out of the model and back).
    fn as_l1<T>(&mut self, f: impl FnOnce(&mut Consumer<ByteShmem<'_>>) -> T) -> T {
        let mut bytes = vec![0; 0x3000];
        self.hart.host.memory.read(SHMEM, &mut bytes).unwrap();
        let out = f(&mut Consumer::new(
            ByteShmem::new(&mut bytes, Xlen::Rv64).unwrap(),
        ));
        self.hart.host.memory.write(SHMEM, &bytes).unwrap();
        out
    }

    /// `nacl_csr_write`: the value into the slot, the dirty bit set, no trap.
    fn slot_write(&mut self, csr: u16, value: u64) {
        self.as_l1(|l1| l1.csr_write(csr, value).unwrap());
    }

    /// `nacl_csr_read`.
    fn slot(&mut self, csr: u16) -> u64 {
        self.as_l1(|l1| l1.csr_read(csr).unwrap())
    }

    /// `csrw csr, x31`, trapped and emulated.
    fn trapped_write(&mut self, csr: u16, value: u64) {
        self.hart.regs.x[31] = value;
        let bits = u32::from(csr) << 20 | 31 << 15 | 1 << 12 | 0x73;
        let trap = Trap {
            cause: cause::VIRTUAL_INSTRUCTION,
            tval: bits.into(),
            mode: VirtualMode::Hypervisor,
        };
        let outcome = self
            .hart
            .nested
            .emulate(&trap, &mut self.hart.regs, &mut *self.hart.host);
        assert!(
            matches!(outcome, Outcome::Resume { .. }),
            "csrw {csr:#x}: {outcome:?}"
        );
        assert_eq!(self.hart.regs.pc, L1_PC + 4, "csrw {csr:#x} was refused");
        self.hart.regs.pc = L1_PC;
    }

    /// `csrr csr` as L1's HS-mode would (the virtual CSR).
    fn l1_read(&mut self, csr: u16) -> u64 {
        self.hart
            .nested
            .read_csr(csr, &mut *self.hart.host)
            .unwrap()
    }

    /// KVM's `vcpu_load`: the vCPU's VS CSRs and its VM's hgatp, as `ncsr_write` does them
    /// (into the slots with NACL, trapped without).
    fn load_vcpu(&mut self, vm: Vm) {
        for (csr, value) in [
            (VSSTATUS, SSTATUS_SPP),
            (VSTVEC, 0x3000 | vm.vmid),
            (VSSCRATCH, 0x5000 | vm.vmid),
            (VSEPC, 0x6000 | vm.vmid),
            (VSATP, vm.vsatp),
            (HGATP, vm.hgatp()),
        ] {
            if self.nacl {
                self.slot_write(csr, value);
            } else {
                self.trapped_write(csr, value);
            }
        }
    }

    /// KVM's entry: hstatus.SPV (with NACL through `nacl_csr_swap`), L1's sepc and
    /// sstatus.SPP, then `sync_sret` (with NACL) or SRET (trapped).
    fn enter(&mut self) {
        let cpu = &mut self.hart.host.cpu;
        cpu.write_csr(real::VSEPC, L2_ENTRY);
        cpu.write_csr(real::VSSTATUS, SSTATUS_SPP | SSTATUS_SPIE);
        let hstatus = HSTATUS_SPV | HSTATUS_SPVP | 2 << 32;
        if self.nacl {
            self.as_l1(|l1| l1.csr_swap(HSTATUS, hstatus).unwrap());
            assert_eq!(
                self.call(SYNC_SRET, 0),
                sbi_dispatch::Outcome::Departed(Departure::EnteredGuest)
            );
        } else {
            self.trapped_write(HSTATUS, hstatus);
            let sret = Trap {
                cause: cause::VIRTUAL_INSTRUCTION,
                tval: 0x1020_0073,
                mode: VirtualMode::Hypervisor,
            };
            let outcome =
                self.hart
                    .nested
                    .emulate(&sret, &mut self.hart.regs, &mut *self.hart.host);
            assert_eq!(
                outcome,
                Outcome::Resume {
                    supervisor: true,
                    effects: Effects::WORLD
                }
            );
        }
        assert!(self.hart.nested.in_guest());
        assert_eq!(self.hart.regs.pc, L2_ENTRY);
    }

    /// L2 traps with `code` (not delegated: L1 takes it). Back in L1.
    fn exit(&mut self, code: u64) {
        let trap = GuestTrap {
            code,
            interrupt: false,
            tval: 0,
            htval: 0,
            htinst: 0,
            gva: false,
            supervisor: true,
        };
        self.hart.regs.pc = L2_ENTRY + 0x40;
        self.hart
            .nested
            .handle_guest_trap(&trap, &mut self.hart.regs, &mut *self.hart.host);
        assert!(!self.hart.nested.in_guest());
        self.hart.regs.pc = L1_PC;
    }

    /// While L2 runs: the real hgatp is the shadow of `vm`'s key and that shadow maps L2's
    /// page to `vm`'s page (filled now, from `vm`'s tables); the real vsatp is `vm`'s.
    fn assert_runs_on(&mut self, vm: Vm, name: &str) {
        let nested = &self.hart.nested;
        assert!(nested.in_guest(), "{name}: not in L2");
        let real_hgatp = self.hart.host.cpu.read_csr(real::HGATP);
        let running = nested
            .shadow()
            .keys()
            .find(|&key| {
                nested
                    .shadow()
                    .hgatp(key)
                    .is_some_and(|shadow| shadow.encode(gstage::Xlen::Rv64) == real_hgatp)
            })
            .map(|key| (key.vmid, key.root_pa));
        assert_eq!(
            running,
            Some((vm.key().vmid, vm.key().root_pa)),
            "{name}: L2 runs on the shadow of (L1 VMID, L1 root) {running:x?} (real hgatp \
             {real_hgatp:#x})"
        );
        assert_eq!(
            self.hart.host.cpu.read_csr(real::VSATP),
            vm.vsatp,
            "{name}: real vsatp"
        );
        let fault = GuestTrap {
            code: 21,
            interrupt: false,
            tval: L2_PAGE,
            htval: L2_PAGE >> 2,
            htinst: 0,
            gva: false,
            supervisor: true,
        };
        let pc = self.hart.regs.pc;
        let outcome =
            self.hart
                .nested
                .handle_guest_trap(&fault, &mut self.hart.regs, &mut *self.hart.host);
        assert!(
            matches!(outcome, Outcome::Resume { .. }),
            "{name}: fill {outcome:?}"
        );
        assert_eq!(self.hart.regs.pc, pc, "{name}: the fill stayed in L2");
        let leaf = self
            .hart
            .nested
            .shadow()
            .lookup(vm.key(), L2_PAGE, &self.hart.host.pool)
            .expect("filled");
        let host_pa = (leaf.pte.bits() >> 10 & ((1 << 44) - 1)) << 12;
        assert_eq!(
            host_pa + (L2_PAGE - leaf.gpa),
            vm.data(),
            "{name}: L2's page maps the VM's own page"
        );
    }
}

#[test]
fn a_trapped_write_before_sync_sret_leaves_the_dirty_hgatp_and_vsatp_of_the_next_vcpu() {
    let mut kvm = Kvm::new(true);
    kvm.load_vcpu(VM_A);
    kvm.enter();
    kvm.assert_runs_on(VM_A, "first entry");
    kvm.exit(cause::VIRTUAL_INSTRUCTION);
    // vcpu_load of VM B's vCPU (dirty slots), then the timer save of vcpu_put, trapped.
    kvm.load_vcpu(VM_B);
    kvm.trapped_write(VSTIMECMP, NO_DEADLINE);
    kvm.enter();
    kvm.assert_runs_on(VM_B, "entry after the switch to B");
    assert_eq!(
        kvm.hart.host.cpu.read_csr(real::VSSCRATCH),
        0x5000 | VM_B.vmid
    );
}

#[test]
fn a_trapped_write_takes_its_own_slot_and_clears_its_dirty_bit_only() {
    let mut kvm = Kvm::new(true);
    kvm.slot_write(VSTIMECMP, 5);
    kvm.slot_write(VSSCRATCH, 0x77);
    kvm.trapped_write(VSTIMECMP, NO_DEADLINE);
    assert_eq!(kvm.slot(VSTIMECMP), NO_DEADLINE);
    assert_eq!(kvm.slot(VSSCRATCH), 0x77, "the other dirty slot is L1's");
    assert_eq!(kvm.call(SYNC_CSR, u64::MAX), OK);
    assert_eq!(
        kvm.l1_read(VSTIMECMP),
        NO_DEADLINE,
        "the stale dirty value was not applied over the trapped write"
    );
    assert_eq!(kvm.l1_read(VSSCRATCH), 0x77, "the dirty value was applied");
}

#[test]
fn an_exit_from_l2_refreshes_clean_slots_and_leaves_dirty_ones_pending() {
    let mut kvm = Kvm::new(true);
    kvm.load_vcpu(VM_A);
    kvm.enter();
    // L1's shared memory is written while L2 runs (another of its harts, or L1 before an
    // entry that did not sync): the refresh at the exit must not undo it.
    kvm.slot_write(VSSCRATCH, 0x99);
    kvm.exit(cause::VIRTUAL_INSTRUCTION);
    assert_eq!(kvm.slot(VSSCRATCH), 0x99);
    assert_eq!(
        kvm.slot(HSTATUS) & HSTATUS_SPV,
        HSTATUS_SPV,
        "a clean slot is refreshed"
    );
    assert_eq!(kvm.call(SYNC_CSR, u64::MAX), OK);
    assert_eq!(kvm.l1_read(VSSCRATCH), 0x99);
}

#[test]
fn sync_csr_of_one_csr_leaves_the_other_dirty_slots_pending() {
    let mut kvm = Kvm::new(true);
    kvm.slot_write(HGATP, VM_B.hgatp());
    kvm.slot_write(VSATP, VM_B.vsatp);
    assert_eq!(kvm.call(SYNC_CSR, u64::from(HGATP)), OK);
    assert_eq!(kvm.l1_read(HGATP), VM_B.hgatp());
    assert_eq!(kvm.l1_read(VSATP), 0, "not synced yet");
    assert_eq!(kvm.slot(VSATP), VM_B.vsatp);
    assert_eq!(kvm.call(SYNC_CSR, u64::MAX), OK);
    assert_eq!(kvm.l1_read(VSATP), VM_B.vsatp);
}

/// The timer sequence of a vCPU switch: vstimecmp = X, then hgatp = B and vstimecmp = Y
/// with no entry in between, then the entry. L2 runs with Y; L1 reads Y back after the exit.
fn the_last_vstimecmp_written_before_an_entry_is_the_one_l2_runs_with(nacl: bool) {
    const X: u64 = 0x1111_0000;
    const Y: u64 = 0x2222_0000;
    let mut kvm = Kvm::new(nacl);
    kvm.load_vcpu(VM_A);
    kvm.enter();
    kvm.assert_runs_on(VM_A, "first entry");
    kvm.exit(cause::VIRTUAL_INSTRUCTION);
    kvm.trapped_write(VSTIMECMP, X);
    kvm.trapped_write(HGATP, VM_B.hgatp());
    kvm.trapped_write(VSTIMECMP, Y);
    assert_eq!(kvm.l1_read(VSTIMECMP), Y);
    kvm.enter();
    assert_eq!(
        kvm.hart.host.cpu.read_csr(real::VSTIMECMP),
        Y,
        "the real vstimecmp while L2 runs"
    );
    assert_eq!(
        kvm.hart.host.cpu.read_csr(real::HENVCFG) & HENVCFG_STCE,
        HENVCFG_STCE,
        "and it is in effect"
    );
    kvm.exit(cause::VIRTUAL_INSTRUCTION);
    assert_eq!(kvm.l1_read(VSTIMECMP), Y, "L1's vstimecmp after the exit");
    if nacl {
        assert_eq!(kvm.slot(VSTIMECMP), Y, "the vstimecmp slot after the exit");
    }
}

#[test]
fn the_last_vstimecmp_written_before_a_trapped_sret_is_the_one_l2_runs_with() {
    the_last_vstimecmp_written_before_an_entry_is_the_one_l2_runs_with(false);
}

#[test]
fn the_last_vstimecmp_written_before_sync_sret_is_the_one_l2_runs_with() {
    the_last_vstimecmp_written_before_an_entry_is_the_one_l2_runs_with(true);
}

#[test]
fn a_dirty_vstimecmp_survives_a_trapped_write_before_sync_sret() {
    const Y: u64 = 0x3333_0000;
    let mut kvm = Kvm::new(true);
    kvm.load_vcpu(VM_A);
    kvm.enter();
    kvm.exit(cause::VIRTUAL_INSTRUCTION);
    // vcpu_put's timer save (trapped), vcpu_load of B with its timer restore (dirty), then a
    // trapped write of another CSR before the entry.
    kvm.trapped_write(VSTIMECMP, NO_DEADLINE);
    kvm.load_vcpu(VM_B);
    kvm.slot_write(VSTIMECMP, Y);
    kvm.trapped_write(HVIP, 0);
    kvm.enter();
    kvm.assert_runs_on(VM_B, "entry after the switch to B");
    assert_eq!(kvm.hart.host.cpu.read_csr(real::VSTIMECMP), Y);
    kvm.exit(cause::VIRTUAL_INSTRUCTION);
    assert_eq!((kvm.l1_read(VSTIMECMP), kvm.slot(VSTIMECMP)), (Y, Y));
}

/// vCPU switches A, B, A' (A's VMID on another root) and back to A, each with the slot
/// writes of `vcpu_load` and trapped writes (`vcpu_put`'s timer save, a trapped hvip) in
/// between: every entry runs on the shadow of the hgatp L1 set last.
fn every_entry_runs_on_the_shadow_of_the_hgatp_l1_set_last(nacl: bool) {
    let mut kvm = Kvm::new(nacl);
    for (n, vm) in [VM_A, VM_B, VM_A2, VM_A, VM_B].into_iter().enumerate() {
        if n % 2 == 0 {
            kvm.trapped_write(VSTIMECMP, NO_DEADLINE);
            kvm.load_vcpu(vm);
        } else {
            kvm.load_vcpu(vm);
            kvm.trapped_write(VSTIMECMP, NO_DEADLINE);
        }
        kvm.trapped_write(HVIP, 0);
        kvm.enter();
        kvm.assert_runs_on(vm, &format!("entry {n}"));
        kvm.exit(cause::VIRTUAL_INSTRUCTION);
        assert_eq!(kvm.l1_read(HGATP), vm.hgatp(), "entry {n}: L1's hgatp");
    }
}

#[test]
fn every_entry_runs_on_the_shadow_of_the_hgatp_l1_set_last_with_nacl() {
    every_entry_runs_on_the_shadow_of_the_hgatp_l1_set_last(true);
}

#[test]
fn every_entry_runs_on_the_shadow_of_the_hgatp_l1_set_last_without_nacl() {
    every_entry_runs_on_the_shadow_of_the_hgatp_l1_set_last(false);
}

/// CSRs Linux KVM writes both ways (in the slots and trapped), aliases among them.
const MIXED: [u16; 12] = [
    HGATP, VSATP, VSSCRATCH, VSEPC, VSTIMECMP, HVIP, HIE, VSIE, HIDELEG, HEDELEG, HTIMEDELTA,
    HCOUNTEREN,
];

#[derive(Clone, Copy, Debug)]
enum Op {
    /// `nacl_csr_write`.
    Slot(u16, u64),
    /// `csrw`, trapped.
    Trapped(u16, u64),
    /// `sync_csr` of one CSR.
    SyncOne(u16),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    let csr = || proptest::sample::select(MIXED.to_vec());
    prop_oneof![
        (csr(), any::<u64>()).prop_map(|(csr, value)| Op::Slot(csr, value)),
        (csr(), any::<u64>()).prop_map(|(csr, value)| Op::Trapped(csr, value)),
        csr().prop_map(Op::SyncOne),
    ]
}

impl Kvm {
    /// Every dirty slot of [`MIXED`] with its value.
    fn dirty_slots(&mut self) -> Vec<(u16, u64)> {
        self.as_l1(|l1| {
            MIXED
                .iter()
                .filter(|&&csr| {
                    let slot = nacl_shmem::CsrSlot::from_csr(csr).unwrap();
                    nacl_shmem::dirty_bitmap::is_dirty(l1.memory(), slot).unwrap()
                })
                .map(|&csr| (csr, l1.csr_read(csr).unwrap()))
                .collect()
        })
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Whatever L1 mixes, L0 changes a dirty slot only when it applies it (sync) or when L1's
    /// trapped write to that same CSR supersedes it; a trapped write's slot then reads what L1
    /// reads from the CSR.
    #[test]
    fn l0_never_overwrites_a_dirty_slot_but_the_one_it_applies_or_a_trapped_write_supersedes(
        ops in proptest::collection::vec(op(), 1..24)
    ) {
        let mut kvm = Kvm::new(true);
        for op in ops {
            let before = kvm.dirty_slots();
            let replaced = match op {
                Op::Slot(csr, value) => {
                    kvm.slot_write(csr, value);
                    csr
                }
                Op::Trapped(csr, value) => {
                    kvm.trapped_write(csr, value);
                    let read = kvm.l1_read(csr);
                    proptest::prop_assert_eq!(kvm.slot(csr), read, "{:?}", op);
                    csr
                }
                Op::SyncOne(csr) => {
                    proptest::prop_assert_eq!(kvm.call(SYNC_CSR, u64::from(csr)), OK);
                    csr
                }
            };
            let after = kvm.dirty_slots();
            for (csr, value) in before.into_iter().filter(|&(csr, _)| csr != replaced) {
                proptest::prop_assert!(
                    after.contains(&(csr, value)),
                    "{:?} changed the dirty slot of {:#x} ({:#x})", op, csr, value
                );
            }
            let own_dirty = after.iter().any(|&(csr, _)| csr == replaced);
            proptest::prop_assert_eq!(own_dirty, matches!(op, Op::Slot(..)), "{:?}", op);
        }
    }
}
