//! Fuzzes the G-stage walker over an arbitrary memory image, mode, GPA, access and extension
//! set. Checks, beyond the absence of panics: the walk is bounded (reads and compare-exchanges),
//! a fault names the original access type and the GPA, a translation keeps the page offset and
//! grants the access through a valid leaf, and, for the base configuration, the result equals
//! an independent reference walk written from the spec, and the access read back from the
//! fault's cause and htinst (`Access::from_guest_page_fault`) is the one that faulted. The same image also drives a
//! two-stage (VS-stage then G-stage) translation, checked for bounds and fault shapes.
#![no_main]

#[path = "../../gstage/tests/model/mod.rs"]
mod model;

use gstage::walk::AD_UPDATE_ATTEMPTS;
use gstage::{
    Access, AccessType, GStageMode, Hgatp, Implicit, MemoryFault, Origin, PteFlags, PteMemory,
    PteWidth, TwoStageError, VsAccess, VsMode, Vsatp, WalkConfig, WalkError, Xlen, translate,
    translate_two_stage,
};
use libfuzzer_sys::fuzz_target;
use model::{Kind, L1Memory, RefOutcome, reference_l1_walk};

/// The image at PA 0, with counters; memory ends at 64 KiB.
struct Image {
    mem: L1Memory,
    reads: u32,
    cas: u32,
}

impl PteMemory for Image {
    fn read_pte(&mut self, addr: u64, width: PteWidth) -> Result<u64, MemoryFault> {
        self.reads += 1;
        self.mem.read_pte(addr, width)
    }
    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        width: PteWidth,
        current: u64,
        new: u64,
    ) -> Result<u64, MemoryFault> {
        self.cas += 1;
        self.mem.compare_exchange_pte(addr, width, current, new)
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let mode = GStageMode::ALL[data[0] as usize % 5];
    let flags = data[1];
    let config = WalkConfig {
        svadu: flags & 1 != 0,
        pbmte: flags & 2 != 0,
        svnapot: flags & 4 != 0,
        svrsw60t59b: flags & 8 != 0,
    };
    let original = [AccessType::Fetch, AccessType::Load, AccessType::Store][data[2] as usize % 3];
    let implicit = match data[2] / 3 % 3 {
        0 => None,
        1 => Some(Implicit::Read),
        _ => Some(Implicit::Write),
    };
    let access = Access {
        original,
        implicit,
        hlvx: flags & 16 != 0 && original == AccessType::Load,
        mxr: flags & 32 != 0,
    };
    let gpa = u64::from_le_bytes(data[3..11].try_into().unwrap());
    // Small GPAs most of the time, so that the image's entries are reached.
    let gpa = if flags & 64 != 0 {
        gpa
    } else {
        gpa & 0x3_ffff_ffff
    };
    let mut mem = L1Memory::new(0x1_0000);
    for (i, chunk) in data[11..].chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        mem.words.insert(i as u64 * 8, u64::from_le_bytes(w));
    }
    let before = mem.clone();
    let mut image = Image {
        mem,
        reads: 0,
        cas: 0,
    };
    let result = translate(mode, 0, gpa, access, &config, &mut image);

    let levels = mode.scheme().map_or(0, |s| s.levels() as u32);
    assert!(
        image.reads <= levels * AD_UPDATE_ATTEMPTS,
        "{} reads for {levels} levels",
        image.reads
    );
    assert!(image.cas <= AD_UPDATE_ATTEMPTS);
    if !config.svadu {
        assert_eq!(image.cas, 0, "Svade never writes");
    }
    match result {
        Ok(t) => {
            let mask = if t.size_log2 >= 64 {
                u64::MAX
            } else {
                (1u64 << t.size_log2) - 1
            };
            assert_eq!(t.pa & mask, gpa & mask, "the page offset is kept");
            assert!(access.granted_by(t.perms), "{t:?} for {access:?}");
            if let Origin::Leaf { pte, pte_addr, .. } = t.origin {
                let f = pte.flags();
                assert!(
                    f.contains(PteFlags::V | PteFlags::U | PteFlags::A),
                    "{pte:?}"
                );
                assert!(!access.is_write() || f.contains(PteFlags::D));
                let width = mode.scheme().unwrap().width();
                assert_eq!(
                    image.mem.read(pte_addr, width),
                    Some(pte.bits()),
                    "the reported leaf is in memory"
                );
            } else {
                assert_eq!((mode, t.pa), (GStageMode::Bare, gpa));
            }
        }
        Err(WalkError::GuestPageFault(f)) => {
            assert_eq!(f.cause.code(), [20, 21, 23][original as usize]);
            assert_eq!((f.gpa, f.implicit, f.htval()), (gpa, implicit, gpa >> 2));
            // The host reads the access back from scause and htinst.
            let htinst = f.pseudo_instruction(Xlen::Rv64).map_or(0, u64::from);
            let back = Access::from_guest_page_fault(f.cause.code(), htinst, access.mxr);
            assert_eq!((back.original, back.implicit), (original, implicit));
        }
        Err(WalkError::AccessFault(f)) => {
            assert_eq!(f.cause.code(), [1, 5, 7][original as usize]);
            assert!(
                f.pte_addr >= 0x1_0000,
                "only unbacked entries give access faults"
            );
        }
        Err(WalkError::Contended { .. }) => panic!("nothing races in this target"),
    }

    // The base configuration against the reference written from the spec.
    if config == WalkConfig::default() && implicit.is_none() && !access.hlvx && !access.mxr {
        let kind = [Kind::Fetch, Kind::Load, Kind::Store][original as usize];
        let expected = reference_l1_walk(&before, mode, 0, gpa, kind);
        match (expected, result) {
            (Ok((pa, perms, size)), Ok(t)) => {
                assert_eq!((pa, perms, size), (t.pa, t.perms, t.size_log2))
            }
            (Err(RefOutcome::L1Fault { cause }), Err(WalkError::GuestPageFault(f))) => {
                assert_eq!(cause, f.cause.code())
            }
            (Err(RefOutcome::L1AccessFault), Err(WalkError::AccessFault(_))) => {}
            (e, g) => panic!("reference {e:?}, walker {g:?}"),
        }
    }

    // Two-stage over the same image, VS root in the first page.
    let vs_mode = [
        VsMode::Bare,
        VsMode::Sv32,
        VsMode::Sv39,
        VsMode::Sv48,
        VsMode::Sv57,
    ][data[0] as usize / 5 % 5];
    let vsatp = Vsatp {
        mode: vs_mode,
        asid: 0,
        ppn: u64::from(data[1] >> 6),
    };
    let hgatp = Hgatp::new(mode, 0, 0);
    let vs_access = VsAccess {
        kind: original,
        hlvx: access.hlvx,
        user: flags & 128 != 0,
        sum: data[2] & 128 != 0,
        mxr: data[2] & 64 != 0,
        hs_mxr: access.mxr,
    };
    let mut image = Image {
        mem: before,
        reads: 0,
        cas: 0,
    };
    let result = translate_two_stage(vsatp, &config, hgatp, &config, gpa, vs_access, &mut image);
    let vs_levels = vs_mode.scheme().map_or(0, |s| s.levels() as u32);
    let g_walk = levels * AD_UPDATE_ATTEMPTS;
    let bound = AD_UPDATE_ATTEMPTS * (vs_levels * (g_walk + 1) + g_walk + 1) + g_walk;
    assert!(
        image.reads + image.cas <= bound,
        "{} reads, {} cas, bound {bound}",
        image.reads,
        image.cas
    );
    match result {
        Ok(t) => assert_eq!(
            t.pa & 0xfff,
            gpa & 0xfff,
            "the page offset is kept through both stages"
        ),
        Err(TwoStageError::PageFault { cause, .. }) => {
            assert_eq!(cause, [12, 13, 15][original as usize])
        }
        Err(TwoStageError::GuestPageFault(f)) => {
            assert_eq!(f.cause.code(), [20, 21, 23][original as usize]);
            if f.implicit.is_some() {
                assert_eq!(f.gpa % 4, 0, "an implicit access faults at a PTE's GPA");
            }
            let vsxlen = if vs_mode == VsMode::Sv32 {
                Xlen::Rv32
            } else {
                Xlen::Rv64
            };
            let htinst = f.pseudo_instruction(vsxlen).map_or(0, u64::from);
            let back = Access::from_guest_page_fault(f.cause.code(), htinst, access.mxr);
            assert_eq!((back.original, back.implicit), (original, f.implicit));
        }
        Err(TwoStageError::AccessFault { cause }) => {
            assert_eq!(cause, [1, 5, 7][original as usize])
        }
        Err(TwoStageError::Contended) => panic!("nothing races in this target"),
    }
});
