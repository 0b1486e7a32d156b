//! The host side both NACL test files share: an SBI dispatcher with only the NACL extension,
//! over one engine hart on the software host.

use nested_core::testing::SoftHost;
use nested_core::{GuestRegs, NaclProvider, NestedContext, NestedHart};
use sbi_dispatch::Dispatcher;

/// The NACL extension's ID.
pub const NACL: u64 = 0x4e41_434c;

/// The host's per-hart SBI context: the engine, the host and L1's registers.
pub struct Hart {
    pub nested: NestedHart<2>,
    pub host: Box<SoftHost>,
    pub regs: GuestRegs,
}

impl NestedContext<2> for Hart {
    type Host = SoftHost;
    fn nested(&mut self) -> (&mut NestedHart<2>, &mut SoftHost, &mut GuestRegs) {
        (&mut self.nested, &mut *self.host, &mut self.regs)
    }
}

pub type Sbi = Dispatcher<
    Hart,
    sbi_dispatch::Absent,
    sbi_dispatch::Absent,
    sbi_dispatch::Absent,
    sbi_dispatch::Absent,
    sbi_dispatch::Absent,
    sbi_dispatch::Absent,
    sbi_dispatch::Absent,
    NaclProvider<2>,
>;
