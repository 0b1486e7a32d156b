//! One VM, run by its own thread: RAM, the payload and its parameter block, one vCPU, and the
//! exits it takes to user space (the SBI debug console and SRST's shutdown).
//!
//! Guest-physical layout: 8 MiB of RAM at 0x8000_0000; the parameter block at its start (a1
//! points to it, a0 = hart ID 0); the payload at its ELF's physical addresses (kvm-guest is
//! linked at 0x8020_0000); the test region, 4 MiB at 0x8040_0000. The parameter block, in
//! little-endian doublewords (kvm-guest's hw.rs reads it; keep the two in step): magic
//! `KVMGUEST`, VM index, rounds, test region base, its size, flags (bit 0: timer through SBI),
//! rounds completed (written by the guest).

use std::io;
use std::mem::offset_of;

use kvm_bindings::{
    KVM_API_VERSION, KVM_EXIT_RISCV_SBI, KVM_REG_RISCV, KVM_REG_RISCV_CORE, KVM_REG_RISCV_SBI_EXT,
    KVM_REG_RISCV_SBI_SINGLE, KVM_REG_SIZE_U64, KVM_RISCV_MODE_S,
    KVM_RISCV_SBI_EXT_ID_KVM_RISCV_SBI_EXT_DBCN, KVM_SYSTEM_EVENT_SHUTDOWN, kvm_riscv_core,
    kvm_userspace_memory_region,
};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};

use crate::Options;
use crate::payload::Payload;
use crate::ram::GuestRam;

const RAM_BASE: u64 = 0x8000_0000;
const RAM_SIZE: usize = 8 << 20;
const PARAMS: u64 = RAM_BASE;
const REGION_BASE: u64 = 0x8040_0000;
const REGION_SIZE: u64 = 4 << 20;
const MAGIC: &[u8; 8] = b"KVMGUEST";
/// Flag bit 0 of the block: the timer through SBI set_timer.
const SBI_TIMER: u64 = 1;
/// Where the guest records the rounds it completed.
const ROUNDS_DONE: u64 = PARAMS + 6 * 8;

/// SBI extension IDs and results the console needs (SBI spec).
const EID_LEGACY_PUTCHAR: u64 = 0x01;
const EID_DBCN: u64 = 0x4442_434e;
const DBCN_WRITE: u64 = 0;
const DBCN_READ: u64 = 1;
const DBCN_WRITE_BYTE: u64 = 2;
const SBI_SUCCESS: i64 = 0;
const SBI_ERR_NOT_SUPPORTED: i64 = -2;
const SBI_ERR_INVALID_PARAM: i64 = -3;
/// SRST reasons: none, system failure.
const SRST_NO_REASON: u64 = 0;
const SRST_SYSTEM_FAILURE: u64 = 1;
/// The most bytes one console_write takes (the guest continues with the rest).
const WRITE_CHUNK: usize = 256;
/// The longest console line kept whole; a longer one is printed in pieces.
const LINE_MAX: usize = 200;

/// ONE_REG IDs of riscv64 (`KVM_REG_RISCV | KVM_REG_SIZE_U64 | type | index`).
mod reg {
    use super::*;

    const fn id(kind: u32, index: usize) -> u64 {
        KVM_REG_RISCV as u64 | KVM_REG_SIZE_U64 | kind as u64 | index as u64
    }

    /// A register of `struct kvm_riscv_core`, at byte `offset` of it.
    const fn core(offset: usize) -> u64 {
        id(KVM_REG_RISCV_CORE, offset / size_of::<u64>())
    }

    pub const PC: u64 = core(offset_of!(kvm_riscv_core, regs.pc));
    pub const A0: u64 = core(offset_of!(kvm_riscv_core, regs.a0));
    pub const A1: u64 = core(offset_of!(kvm_riscv_core, regs.a1));
    pub const MODE: u64 = core(offset_of!(kvm_riscv_core, mode));
    /// Whether the VM has the SBI extension DBCN.
    pub const SBI_DBCN: u64 = id(
        KVM_REG_RISCV_SBI_EXT | KVM_REG_RISCV_SBI_SINGLE,
        KVM_RISCV_SBI_EXT_ID_KVM_RISCV_SBI_EXT_DBCN as usize,
    );
}

/// Runs VM `index` to its end, handing each of its console lines to `print`: Ok if the guest
/// shut down reporting success after every round.
pub fn run(
    index: usize,
    options: &Options,
    payload: &Payload,
    print: impl FnMut(String),
) -> Result<(), String> {
    let cpu = options.cpu(index);
    pin_to_cpu(cpu).map_err(|e| format!("cannot pin its thread to cpu {cpu} ({e})"))?;
    let mut machine = Machine::new(index, options, payload)?;
    let mut console = Console::new(print);
    let result = machine.run(&mut console, options.rounds);
    console.flush();
    result.map_err(|reason| console.failure.take().unwrap_or(reason))
}

/// Restricts the calling thread to CPU `cpu`.
fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `cpu_set_t` is a plain bit array, for which all zeroes is the empty set;
    // CPU_SET gets a CPU below CPU_SETSIZE (checked above), so its bit is inside the set;
    // sched_setaffinity (pid 0: the calling thread) reads `size_of::<cpu_set_t>()` bytes at
    // `&set`, which is that big.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A VM with its RAM and its vCPU. The fields drop in this order: the vCPU and the VM (KVM
/// lets go of the RAM when the last of them is closed) before the RAM is unmapped.
struct Machine {
    vcpu: VcpuFd,
    _vm: VmFd,
    ram: GuestRam,
}

/// Why KVM_RUN returned, as far as this VMM cares.
enum Exit {
    /// An SBI call KVM passes to user space (`KVM_EXIT_RISCV_SBI`).
    Sbi,
    /// `KVM_EXIT_SYSTEM_EVENT`: its type and first data word (the SRST reason), if any.
    SystemEvent { kind: u32, data: Option<u64> },
}

impl Machine {
    /// A VM with the payload and its parameter block in its RAM, and its vCPU at the entry.
    fn new(index: usize, options: &Options, payload: &Payload) -> Result<Machine, String> {
        let kvm = Kvm::new().map_err(|e| format!("cannot open /dev/kvm ({e})"))?;
        let version = kvm.get_api_version();
        if version != KVM_API_VERSION as i32 {
            return Err(format!(
                "KVM's API version is {version}, not {KVM_API_VERSION}"
            ));
        }
        // The RAM before the VM: should anything below fail, the VM is dropped first.
        let ram = GuestRam::new(RAM_BASE, RAM_SIZE)
            .map_err(|e| format!("cannot give the VM its RAM ({e})"))?;
        let vm = kvm
            .create_vm()
            .map_err(|e| format!("KVM_CREATE_VM failed ({e})"))?;
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: ram.base(),
            memory_size: ram.size() as u64,
            userspace_addr: ram.host_address(),
        };
        // SAFETY: the region is `ram`'s mapping, `size` bytes of this process's own memory,
        // read-write, which stays mapped until after the VM is gone (the drop order of the
        // locals here and of `Machine`'s fields); it is the VM's only slot, so overlaps none.
        unsafe { vm.set_user_memory_region(region) }
            .map_err(|e| format!("cannot give the VM its RAM ({e})"))?;
        for segment in &payload.segments {
            let fits =
                usize::try_from(segment.memsz).is_ok_and(|size| ram.contains(segment.paddr, size));
            if !fits || !ram.write(segment.paddr, &segment.bytes) {
                return Err(format!(
                    "a payload segment at {:#x} is outside the VM's RAM",
                    segment.paddr
                ));
            }
        }
        write_params(&ram, index, options);
        let vcpu = vm
            .create_vcpu(0)
            .map_err(|e| format!("KVM_CREATE_VCPU failed ({e})"))?;
        for (id, value, what) in [
            (reg::SBI_DBCN, 1, "switch DBCN on"),
            (reg::PC, payload.entry, "set pc"),
            (reg::A0, 0, "set a0"),
            (reg::A1, PARAMS, "set a1"),
            (reg::MODE, KVM_RISCV_MODE_S.into(), "set the mode"),
        ] {
            vcpu.set_one_reg(id, &value.to_le_bytes())
                .map_err(|e| format!("cannot {what} ({e})"))?;
        }
        Ok(Machine { vcpu, _vm: vm, ram })
    }

    /// Runs the vCPU until the guest shuts down or something goes wrong.
    fn run(
        &mut self,
        console: &mut Console<impl FnMut(String)>,
        rounds: u64,
    ) -> Result<(), String> {
        loop {
            match self.next_exit()? {
                Exit::Sbi => self.serve_sbi(console),
                Exit::SystemEvent {
                    kind: KVM_SYSTEM_EVENT_SHUTDOWN,
                    data: Some(SRST_NO_REASON),
                } => {
                    let done = self.ram.read(ROUNDS_DONE, 8).expect("the block is in RAM");
                    let done = u64::from_le_bytes(done.try_into().expect("8 bytes"));
                    return if done == rounds {
                        Ok(())
                    } else {
                        Err(format!(
                            "the guest shut down after {done} of {rounds} rounds"
                        ))
                    };
                }
                Exit::SystemEvent {
                    kind: KVM_SYSTEM_EVENT_SHUTDOWN,
                    data: Some(SRST_SYSTEM_FAILURE),
                } => return Err("the guest reported a system failure".into()),
                Exit::SystemEvent { kind, data } => {
                    return Err(format!("unexpected system event {kind} (data {data:?})"));
                }
            }
        }
    }

    /// Runs the vCPU until an exit this VMM handles; any other exit is an error.
    fn next_exit(&mut self) -> Result<Exit, String> {
        loop {
            return match self.vcpu.run() {
                Ok(VcpuExit::Unsupported(KVM_EXIT_RISCV_SBI)) => Ok(Exit::Sbi),
                Ok(VcpuExit::SystemEvent(kind, data)) => Ok(Exit::SystemEvent {
                    kind,
                    data: data.first().copied(),
                }),
                Ok(other) => Err(format!("unexpected KVM exit {other:?}")),
                Err(error) if error.errno() == libc::EINTR => continue,
                Err(error) => Err(format!("KVM_RUN failed ({error})")),
            };
        }
    }

    /// Serves the SBI call of the last exit and leaves its result (a0 = error, a1 = value)
    /// for KVM to hand to the guest when the vCPU resumes.
    fn serve_sbi(&mut self, console: &mut Console<impl FnMut(String)>) {
        let exit = &mut self.vcpu.get_kvm_run().__bindgen_anon_1;
        // SAFETY: the exit reason was KVM_EXIT_RISCV_SBI, for which KVM filled the union's
        // `riscv_sbi`; its fields are integers, valid with any bits.
        let mut call = unsafe { exit.riscv_sbi };
        let (error, value) = console.sbi(&self.ram, call.extension_id, call.function_id, call.args);
        call.ret = [error as u64, value];
        exit.riscv_sbi = call;
    }
}

fn write_params(ram: &GuestRam, index: usize, options: &Options) {
    let flags = if options.sbi_timer { SBI_TIMER } else { 0 };
    let words = [
        u64::from_le_bytes(*MAGIC),
        index as u64,
        options.rounds,
        REGION_BASE,
        REGION_SIZE,
        flags,
        0,
    ];
    for (i, word) in words.into_iter().enumerate() {
        ram.write(PARAMS + 8 * i as u64, &word.to_le_bytes());
    }
}

/// The guest's console: bytes gathered into lines, each handed to `print`.
struct Console<F> {
    print: F,
    line: Vec<u8>,
    /// The first `FAIL: ...` line's text, the guest's own reason for failing.
    failure: Option<String>,
}

impl<F: FnMut(String)> Console<F> {
    fn new(print: F) -> Self {
        Self {
            print,
            line: Vec::with_capacity(LINE_MAX),
            failure: None,
        }
    }

    /// Serves an SBI call KVM passed up: (error, value) for a0 and a1.
    fn sbi(&mut self, ram: &GuestRam, extension: u64, function: u64, args: [u64; 6]) -> (i64, u64) {
        match (extension, function) {
            (EID_DBCN, DBCN_WRITE) => {
                let (len, gpa, gpa_high) = (args[0], args[1], args[2]);
                let Ok(len) = usize::try_from(len) else {
                    return (SBI_ERR_INVALID_PARAM, 0);
                };
                if gpa_high != 0 || !ram.contains(gpa, len) {
                    return (SBI_ERR_INVALID_PARAM, 0);
                }
                let chunk = ram
                    .read(gpa, len.min(WRITE_CHUNK))
                    .expect("a part of a range in RAM is in RAM");
                chunk.iter().for_each(|&byte| self.byte(byte));
                (SBI_SUCCESS, chunk.len() as u64)
            }
            (EID_DBCN, DBCN_READ) => {
                let (len, gpa, gpa_high) = (args[0], args[1], args[2]);
                match usize::try_from(len) {
                    Ok(len) if gpa_high == 0 && ram.contains(gpa, len) => (SBI_SUCCESS, 0),
                    _ => (SBI_ERR_INVALID_PARAM, 0),
                }
            }
            (EID_DBCN, DBCN_WRITE_BYTE) | (EID_LEGACY_PUTCHAR, _) => {
                self.byte(args[0] as u8);
                (SBI_SUCCESS, 0)
            }
            _ => (SBI_ERR_NOT_SUPPORTED, 0),
        }
    }

    fn byte(&mut self, byte: u8) {
        match byte {
            b'\n' => self.flush(),
            b'\r' => {}
            _ => {
                self.line.push(byte);
                if self.line.len() == LINE_MAX {
                    self.flush();
                }
            }
        }
    }

    /// Hands on the line gathered so far, if any.
    fn flush(&mut self) {
        if self.line.is_empty() {
            return;
        }
        // Guest text may be no UTF-8 at all: it is shown lossily.
        let line = String::from_utf8_lossy(&self.line).into_owned();
        if self.failure.is_none()
            && let Some(what) = line.strip_prefix("FAIL: ")
        {
            self.failure = Some(format!("the guest failed: {what}"));
        }
        (self.print)(line);
        self.line.clear();
    }
}
