//! One hart's side of L2: its H CSRs (written directly, or through its NACL shared memory),
//! its G-stage fences, and the switch into L2 (the first entry, and the return after each
//! exit).

use bare::trap::{self, TrapFrame};
use gstage::{HfenceGvma, Hgatp, Xlen};
use nacl_shmem::Consumer;

use crate::csr::{self, HCOUNTEREN_TM, HCsr, hedeleg, hideleg, hstatus, sstatus};
use crate::hw::NaclShmem;
use crate::{nacl, vm};

/// Where a hart's H CSR accesses and G-stage fences go.
pub enum HartCsrs {
    /// The CSRs and HFENCE.GVMA themselves.
    Direct,
    /// The hart's NACL shared memory, applied by the next sync call.
    Nacl(Consumer<NaclShmem>),
}

impl HartCsrs {
    /// Hart `hartid`'s.
    pub fn of(hartid: usize) -> Self {
        if nacl::in_use() {
            Self::Nacl(Consumer::new(NaclShmem::of(hartid)))
        } else {
            Self::Direct
        }
    }

    /// Reads `csr` (with NACL from its slot, which L0 keeps up to date).
    pub fn read(&self, csr: HCsr) -> u64 {
        match self {
            Self::Direct => bare::csr::read(csr as u16),
            Self::Nacl(shmem) => shmem.csr_read(csr as u16).ok(),
        }
        .unwrap_or_else(|| fatal!("cannot read {csr:?}"))
    }

    /// Writes `csr` (with NACL into its slot, marked dirty).
    pub fn write(&mut self, csr: HCsr, value: u64) {
        let written = match self {
            Self::Direct => bare::csr::write(csr as u16, value),
            Self::Nacl(shmem) => shmem.csr_write(csr as u16, value).is_ok(),
        };
        if !written {
            fatal!("cannot write {csr:?}")
        }
    }

    /// Sets the bits `set` and clears the bits `clear` of `csr`.
    pub fn modify(&mut self, csr: HCsr, set: u64, clear: u64) {
        let value = self.read(csr);
        self.write(csr, (value & !clear) | set);
    }

    /// Makes the writes to `csr` take effect now rather than at the next entry into L2.
    pub fn sync(&mut self, csr: HCsr) {
        if let Self::Nacl(_) = self {
            let error = bare::sbi::nacl_sync_csr(csr as usize);
            if error != 0 {
                fatal!("NACL sync_csr of {csr:?} failed (SBI error {error})")
            }
        }
    }

    /// Orders this hart's G-stage translations after a change of L2's table.
    pub fn fence(&mut self, fence: HfenceGvma) {
        match self {
            Self::Direct => bare::fence::hfence_gvma(fence.vmid, fence.gpa),
            Self::Nacl(shmem) => nacl::hfence_gvma(shmem, fence),
        }
    }

    /// Enters L2 for the first time, with the registers and pc of `context`.
    fn enter(self, hartid: usize, context: &TrapFrame) -> ! {
        match self {
            Self::Direct => trap::enter(hartid, context),
            // sscratch already holds the hart's trap frame: `trap::install` put it there.
            Self::Nacl(mut shmem) => nacl::sync_sret(&mut shmem, &context.x, context.pc),
        }
    }

    /// Returns to L2 after an exit, as `frame` says. Directly this is bare's return path,
    /// after the handler; with NACL it is sync_sret, now.
    pub fn resume(self, frame: &mut TrapFrame) {
        if let Self::Nacl(mut shmem) = self {
            // bare's trap entry left L2's a0 in sscratch; its return path would put the frame
            // back there, and so does this one.
            bare::csr::write(csr::SSCRATCH, core::ptr::from_mut(frame) as u64);
            nacl::sync_sret(&mut shmem, &frame.x, frame.pc)
        }
    }
}

/// Programs this hart for L2 (delegation, counters, G-stage, hstatus with the guest interrupt
/// file, if this hart's is L2's) and enters it at the plan's entry, with a0 = `hartid` and
/// a1 = 0, in VS-mode.
pub fn run_l2(hartid: usize, plan: &vm::Plan) -> ! {
    if nacl::in_use() {
        nacl::register(hartid);
    }
    let mut csrs = HartCsrs::of(hartid);
    csrs.write(HCsr::Hedeleg, hedeleg::TO_L2);
    csrs.write(HCsr::Hideleg, hideleg::TO_L2);
    csrs.write(HCsr::Hcounteren, HCOUNTEREN_TM);
    csrs.write(HCsr::Hvip, 0);
    csrs.write(HCsr::Vsatp, 0);
    csrs.write(HCsr::Hgatp, plan.hgatp.encode(Xlen::Rv64));
    csrs.sync(HCsr::Hgatp);
    let taken = Hgatp::decode(Xlen::Rv64, csrs.read(HCsr::Hgatp)).map(|hgatp| hgatp.mode());
    if taken != Ok(plan.hgatp.mode()) {
        fatal!(
            "hart {hartid} does not take hgatp mode {:?}",
            plan.hgatp.mode()
        )
    }
    // VMID 1 may hold translations from whatever used it before.
    csrs.fence(HfenceGvma {
        vmid: Some(plan.hgatp.vmid()),
        gpa: None,
    });
    let guest_file = plan.interrupt_file.filter(|file| file.hart == hartid);
    csrs.modify(
        HCsr::Hstatus,
        hstatus::SPV | hstatus::SPVP | hstatus::vgein(guest_file.map_or(0, |file| file.guest)),
        hstatus::VTSR | hstatus::VTW | hstatus::VTVM | hstatus::VGEIN,
    );
    let status = bare::csr::read(csr::SSTATUS).unwrap_or_else(|| fatal!("cannot read sstatus"));
    bare::csr::write(csr::SSTATUS, (status | sstatus::SPP) & !sstatus::SPIE);
    trap::install(hartid, crate::trap::on_trap);
    bare::println!("L1: entering L2 on hart {hartid}");
    let mut context = TrapFrame::default();
    context.pc = plan.entry;
    context.x[10] = hartid as u64;
    csrs.enter(hartid, &context)
}
