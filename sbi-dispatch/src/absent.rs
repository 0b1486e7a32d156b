//! [`Absent`]: the filler of every extension slot nothing is plugged into.

use crate::address::{FenceRange, PhysicalRange};
use crate::call::SbiCall;
use crate::console::Console;
use crate::error::SbiError;
use crate::hart_mask::HartMask;
use crate::hsm::{Hsm, SuspendType};
use crate::ipi::Ipi;
use crate::legacy::Legacy;
use crate::nacl::{Nacl, NaclFeature};
use crate::other::OtherExtensions;
use crate::outcome::Outcome;
use crate::rfence::{RemoteHfence, Rfence};
use crate::system_reset::{ResetReason, ResetType, SystemReset};
use crate::system_suspend::{SleepType, SystemSuspend};
use crate::time::Timer;

/// An extension that is not there: `probe_extension` answers 0 and every call
/// `NOT_SUPPORTED`. The dispatcher never calls its methods; they answer the same for a host
/// that does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Absent;

const NOT_SUPPORTED: Outcome = Outcome::Return(Err(SbiError::NotSupported));

impl<C> Timer<C> for Absent {
    const PRESENT: bool = false;
    fn set_timer(&mut self, _: &mut C, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> Ipi<C> for Absent {
    const PRESENT: bool = false;
    fn send_ipi(&mut self, _: &mut C, _: HartMask) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> Rfence<C> for Absent {
    const PRESENT: bool = false;
    fn remote_fence_i(&mut self, _: &mut C, _: HartMask) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_sfence_vma(&mut self, _: &mut C, _: HartMask, _: FenceRange) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_sfence_vma_asid(&mut self, _: &mut C, _: HartMask, _: FenceRange, _: u16) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> RemoteHfence<C> for Absent {
    const PRESENT: bool = false;
    fn remote_hfence_gvma_vmid(
        &mut self,
        _: &mut C,
        _: HartMask,
        _: FenceRange,
        _: u16,
    ) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_hfence_gvma(&mut self, _: &mut C, _: HartMask, _: FenceRange) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_hfence_vvma_asid(
        &mut self,
        _: &mut C,
        _: HartMask,
        _: FenceRange,
        _: u16,
    ) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_hfence_vvma(&mut self, _: &mut C, _: HartMask, _: FenceRange) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> Hsm<C> for Absent {
    const PRESENT: bool = false;
    fn hart_start(&mut self, _: &mut C, _: u32, _: u64, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
    fn hart_stop(&mut self, _: &mut C) -> Outcome {
        NOT_SUPPORTED
    }
    fn hart_get_status(&mut self, _: &mut C, _: u32) -> Outcome {
        NOT_SUPPORTED
    }
    fn hart_suspend(&mut self, _: &mut C, _: SuspendType, _: u64, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> SystemReset<C> for Absent {
    const PRESENT: bool = false;
    fn system_reset(&mut self, _: &mut C, _: ResetType, _: ResetReason) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> Console<C> for Absent {
    const PRESENT: bool = false;
    fn console_write(&mut self, _: &mut C, _: PhysicalRange) -> Outcome {
        NOT_SUPPORTED
    }
    fn console_read(&mut self, _: &mut C, _: PhysicalRange) -> Outcome {
        NOT_SUPPORTED
    }
    fn console_write_byte(&mut self, _: &mut C, _: u8) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> Nacl<C> for Absent {
    const PRESENT: bool = false;
    fn probe_feature(&mut self, _: &mut C, _: NaclFeature) -> bool {
        false
    }
    fn set_shmem(&mut self, _: &mut C, _: Option<u64>) -> Outcome {
        NOT_SUPPORTED
    }
    fn sync_csr(&mut self, _: &mut C, _: Option<u16>) -> Outcome {
        NOT_SUPPORTED
    }
    fn sync_hfence(&mut self, _: &mut C, _: Option<u32>) -> Outcome {
        NOT_SUPPORTED
    }
    fn sync_sret(&mut self, _: &mut C) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> SystemSuspend<C> for Absent {
    const PRESENT: bool = false;
    fn system_suspend(&mut self, _: &mut C, _: SleepType, _: u64, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> Legacy<C> for Absent {
    const PRESENT: bool = false;
    fn set_timer(&mut self, _: &mut C, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
    fn console_putchar(&mut self, _: &mut C, _: u8) -> Outcome {
        NOT_SUPPORTED
    }
    fn console_getchar(&mut self, _: &mut C) -> Outcome {
        NOT_SUPPORTED
    }
    fn clear_ipi(&mut self, _: &mut C) -> Outcome {
        NOT_SUPPORTED
    }
    fn send_ipi(&mut self, _: &mut C, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_fence_i(&mut self, _: &mut C, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_sfence_vma(&mut self, _: &mut C, _: u64, _: u64, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
    fn remote_sfence_vma_asid(&mut self, _: &mut C, _: u64, _: u64, _: u64, _: u64) -> Outcome {
        NOT_SUPPORTED
    }
    fn shutdown(&mut self, _: &mut C) -> Outcome {
        NOT_SUPPORTED
    }
}

impl<C> OtherExtensions<C> for Absent {
    fn probe(&self, _: u64) -> u64 {
        0
    }
    fn call(&mut self, _: &mut C, _: &SbiCall) -> Outcome {
        NOT_SUPPORTED
    }
}
