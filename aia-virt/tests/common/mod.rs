//! Shared test helpers: a software model of the real guest files, and short-hands.
#![allow(dead_code)]

use aia_virt::iselect::{VsSelect, imsic_reg};
use aia_virt::{
    CsrOp, GuestFileHardware, Hstateen0, ImsicFile, Origin, PhysGuestFile, VsContext, Xlen,
};

/// Real guest files 1..=7 modelled by [`ImsicFile`] (the hardware obeys the same spec).
pub struct FakeHardware {
    pub files: [ImsicFile; 8],
    pub accesses: usize,
}

impl FakeHardware {
    pub fn new(identities: u16) -> Self {
        let f = ImsicFile::new(identities).unwrap();
        FakeHardware {
            files: core::array::from_fn(|_| f.clone()),
            accesses: 0,
        }
    }

    pub fn file(&mut self, p: PhysGuestFile) -> &mut ImsicFile {
        &mut self.files[usize::from(p.get())]
    }
}

impl GuestFileHardware for FakeHardware {
    fn ireg_rmw(&mut self, file: PhysGuestFile, iselect: u16, op: CsrOp) -> u64 {
        self.accesses += 1;
        match imsic_reg(u64::from(iselect), Xlen::Rv64) {
            Some(VsSelect::File(reg)) => self.file(file).rmw_reg(reg, op),
            other => panic!("engine sent a bad select {iselect:#x}: {other:?}"),
        }
    }
    fn topei_rmw(&mut self, file: PhysGuestFile, claim: bool) -> u64 {
        self.accesses += 1;
        let op = if claim { CsrOp::Write(0) } else { CsrOp::Read };
        self.file(file).rmw_topei(op)
    }
    fn set_eipnum(&mut self, file: PhysGuestFile, identity: u32) {
        self.accesses += 1;
        self.file(file).set_eipnum(u64::from(identity));
    }
    fn hgeip(&mut self) -> u64 {
        (1..8)
            .filter(|&p| self.files[p].signal())
            .fold(0, |v, p| v | 1 << p)
    }
}

pub const HS: Origin = Origin::L1Supervisor;
pub const VS: Origin = Origin::L2Supervisor {
    hstateen0: Hstateen0::all(),
    xlen: Xlen::Rv64,
};
pub const VS32: Origin = Origin::L2Supervisor {
    hstateen0: Hstateen0::all(),
    xlen: Xlen::Rv32,
};
pub const VU: Origin = Origin::L2User {
    hstateen0: Hstateen0::all(),
    xlen: Xlen::Rv64,
};
pub const CTX: VsContext = VsContext {
    hideleg: 0,
    sip: 0,
    vsie: 0,
    vstimer_pending: false,
};

pub mod num {
    pub const HVIEN: u16 = 0x608;
    pub const HVICTL: u16 = 0x609;
    pub const HVIP: u16 = 0x645;
    pub const HVIPRIO1: u16 = 0x646;
    pub const HVIPRIO2: u16 = 0x647;
    pub const HGEIE: u16 = 0x607;
    pub const HGEIP: u16 = 0xE12;
    pub const VSISELECT: u16 = 0x250;
    pub const VSIREG: u16 = 0x251;
    pub const VSTOPEI: u16 = 0x25C;
    pub const VSTOPI: u16 = 0xEB0;
    pub const SISELECT: u16 = 0x150;
    pub const SIREG: u16 = 0x151;
    pub const STOPEI: u16 = 0x15C;
    pub const STOPI: u16 = 0xDB0;
}
