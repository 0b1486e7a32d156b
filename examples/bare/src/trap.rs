//! Traps into this program: every register of the interrupted context is saved in the hart's
//! [`TrapFrame`] (pointed to by sscratch), the program's handler runs on the hart's trap stack
//! with the frame, and the context resumes from the frame (the handler may change it, its pc among
//! it). Only traps from a less privileged context are expected: a trap taken while the
//! handler runs would reuse the frame.

use crate::{MAX_HARTS, entry::trap_stack_top};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The saved context of a trap.
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct TrapFrame {
    /// x0..x31 (x0 unused).
    pub x: [u64; 32],
    /// The pc to resume at (sepc at the trap).
    pub pc: u64,
    /// The top of the stack the handler runs on.
    kstack: u64,
    /// The hart the frame belongs to.
    hartid: u64,
}

impl TrapFrame {
    /// The hart this frame belongs to (the hart the trap was taken on).
    pub fn hartid(&self) -> usize {
        self.hartid as usize
    }
}

const PC_OFFSET: usize = 256;
const KSTACK_OFFSET: usize = 264;
const _: () = assert!(core::mem::offset_of!(TrapFrame, pc) == PC_OFFSET);
const _: () = assert!(core::mem::offset_of!(TrapFrame, kstack) == KSTACK_OFFSET);

struct Frames([UnsafeCell<TrapFrame>; MAX_HARTS]);
// SAFETY: each hart uses only its own frame (by hart ID), so no frame is shared.
unsafe impl Sync for Frames {}

static FRAMES: Frames = Frames(
    [const {
        UnsafeCell::new(TrapFrame {
            x: [0; 32],
            pc: 0,
            kstack: 0,
            hartid: 0,
        })
    }; MAX_HARTS],
);

/// The program's handler, as an address (0: none installed).
static HANDLER: AtomicUsize = AtomicUsize::new(0);

macro_rules! save_restore {
    ($op:literal) => {
        concat!(
            $op,
            " x1, 8(a0)\n",
            $op,
            " x3, 24(a0)\n",
            $op,
            " x4, 32(a0)\n",
            $op,
            " x5, 40(a0)\n",
            $op,
            " x6, 48(a0)\n",
            $op,
            " x7, 56(a0)\n",
            $op,
            " x8, 64(a0)\n",
            $op,
            " x9, 72(a0)\n",
            $op,
            " x11, 88(a0)\n",
            $op,
            " x12, 96(a0)\n",
            $op,
            " x13, 104(a0)\n",
            $op,
            " x14, 112(a0)\n",
            $op,
            " x15, 120(a0)\n",
            $op,
            " x16, 128(a0)\n",
            $op,
            " x17, 136(a0)\n",
            $op,
            " x18, 144(a0)\n",
            $op,
            " x19, 152(a0)\n",
            $op,
            " x20, 160(a0)\n",
            $op,
            " x21, 168(a0)\n",
            $op,
            " x22, 176(a0)\n",
            $op,
            " x23, 184(a0)\n",
            $op,
            " x24, 192(a0)\n",
            $op,
            " x25, 200(a0)\n",
            $op,
            " x26, 208(a0)\n",
            $op,
            " x27, 216(a0)\n",
            $op,
            " x28, 224(a0)\n",
            $op,
            " x29, 232(a0)\n",
            $op,
            " x30, 240(a0)\n",
            $op,
            " x31, 248(a0)\n",
        )
    };
}

core::arch::global_asm!(
    ".balign 4",
    ".globl bare_trap_entry",
    "bare_trap_entry:",
    // a0 <-> sscratch: a0 = frame, sscratch = the context's a0.
    "   csrrw a0, sscratch, a0",
    "   sd x2, 16(a0)",
    save_restore!("sd"),
    "   csrr t0, sscratch",
    "   sd t0, 80(a0)",
    "   csrr t0, sepc",
    "   sd t0, {pc}(a0)",
    "   ld sp, {kstack}(a0)",
    "   mv s0, a0",
    "   call {dispatch}",
    "   mv a0, s0",
    ".globl bare_trap_return",
    "bare_trap_return:",
    // a0 = frame.
    "   csrw sscratch, a0",
    "   ld t0, {pc}(a0)",
    "   csrw sepc, t0",
    "   ld x2, 16(a0)",
    save_restore!("ld"),
    "   ld a0, 80(a0)",
    "   sret",
    pc = const PC_OFFSET,
    kstack = const KSTACK_OFFSET,
    dispatch = sym dispatch,
);

unsafe extern "C" {
    fn bare_trap_entry();
    fn bare_trap_return(frame: *mut TrapFrame) -> !;
}

extern "C" fn dispatch(frame: *mut TrapFrame) {
    let handler = HANDLER.load(Ordering::Acquire);
    // SAFETY: only `install` stores into HANDLER, a `fn(&mut TrapFrame)`; it is set before
    // stvec points here.
    let handler: fn(&mut TrapFrame) = unsafe { core::mem::transmute(handler) };
    // SAFETY: the frame is this hart's own, and nothing else uses it while the handler runs.
    handler(unsafe { &mut *frame })
}

/// Routes this hart's traps to `handler`.
pub fn install(hartid: usize, handler: fn(&mut TrapFrame)) {
    HANDLER.store(handler as *const () as usize, Ordering::Release);
    let frame = FRAMES.0[hartid].get();
    // SAFETY: the frame is this hart's; no trap uses it before stvec is set below.
    unsafe {
        (*frame).kstack = trap_stack_top(hartid) as u64;
        (*frame).hartid = hartid as u64;
    }
    // SAFETY: sscratch and stvec are this program's to set.
    unsafe {
        core::arch::asm!(
            "csrw sscratch, {f}",
            "csrw stvec, {v}",
            f = in(reg) frame,
            v = in(reg) bare_trap_entry as *const () as usize,
        );
    }
}

/// Leaves for the context `context` describes (after the caller set sstatus.SPP and, with the
/// H extension, hstatus.SPV for where it goes); its traps come back to the handler installed
/// for `hartid`. The current stack is abandoned.
pub fn enter(hartid: usize, context: &TrapFrame) -> ! {
    let frame = FRAMES.0[hartid].get();
    // SAFETY: the frame is this hart's and no trap handler is running on it (this is the
    // program's main flow, which never returns here).
    unsafe {
        (*frame).x = context.x;
        (*frame).pc = context.pc;
        bare_trap_return(frame)
    }
}
