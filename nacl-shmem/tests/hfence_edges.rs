//! HFENCE entries at the edges: ranges too large to fence page by page, and entries in the
//! shape Linux KVM writes them.

mod common;

use common::SharedMem;
use nacl_shmem::hfence::{DecodedHfence, Fence, HfenceRequest, Malformation, PageRange};
use nacl_shmem::layout::hfence_entry_offset;
use nacl_shmem::provider::HfenceTarget;
use nacl_shmem::{Consumer, Provider, Xlen};

fn pages(order: u8, page_number: u64, page_count: u64) -> PageRange {
    PageRange::new(order, page_number, page_count).unwrap()
}

#[test]
fn a_range_above_the_cap_widens_to_the_all_form_of_its_type_keeping_vmid_and_asid() {
    let cases = [
        (
            HfenceRequest::Gvma {
                range: pages(0, 0, 513),
            },
            HfenceRequest::GvmaAll,
        ),
        (
            HfenceRequest::GvmaVmid {
                vmid: 5,
                range: pages(0, 0x80200, 513),
            },
            HfenceRequest::GvmaVmidAll { vmid: 5 },
        ),
        // Two 2 MiB pages are 1024 pages of 4 KiB.
        (
            HfenceRequest::Vvma {
                vmid: 3,
                range: pages(9, 1, 2),
            },
            HfenceRequest::VvmaAll { vmid: 3 },
        ),
        // The largest legal range: 2^52 pages, up to the top of the address space.
        (
            HfenceRequest::VvmaAsid {
                vmid: 3,
                asid: 4,
                range: pages(0, 0, 1 << 52),
            },
            HfenceRequest::VvmaAsidAll { vmid: 3, asid: 4 },
        ),
    ];
    for (request, widened) in cases {
        assert_eq!(request.capped(512), widened, "{request:?}");
        assert_eq!(Fence::Request(request).capped(512), Fence::Request(widened));
    }
}

#[test]
fn a_range_at_or_below_the_cap_and_the_unranged_fences_are_left_as_they_are() {
    let kept = [
        HfenceRequest::GvmaVmid {
            vmid: 5,
            range: pages(0, 0x80200, 512),
        },
        HfenceRequest::Vvma {
            vmid: 3,
            range: pages(9, 1, 1),
        },
        HfenceRequest::GvmaAll,
        HfenceRequest::VvmaAsidAll { vmid: 1, asid: 2 },
    ];
    for request in kept {
        assert_eq!(request.capped(512), request, "{request:?}");
    }
    let huge = HfenceRequest::Gvma {
        range: pages(0, 0, 1 << 52),
    };
    assert_eq!(huge.capped(u64::MAX), huge);
    assert_eq!(huge.capped(1 << 52), huge);
    assert_eq!(Fence::Everything.capped(0), Fence::Everything);
}

#[test]
fn capping_a_decoded_entry_keeps_its_malformation() {
    let decoded = DecodedHfence {
        fence: Fence::Request(HfenceRequest::GvmaVmidAll { vmid: 7 }),
        malformation: Some(Malformation::EmptyRange),
    };
    assert_eq!(decoded.capped(1), decoded);
    let ranged = DecodedHfence {
        fence: Fence::Request(HfenceRequest::GvmaVmid {
            vmid: 7,
            range: pages(0, 0, 2),
        }),
        malformation: None,
    };
    assert_eq!(
        ranged.capped(1),
        DecodedHfence {
            fence: Fence::Request(HfenceRequest::GvmaVmidAll { vmid: 7 }),
            malformation: None,
        }
    );
}

#[test]
fn a_provider_that_caps_takes_a_huge_queued_range_as_one_all_fence() {
    let mem = SharedMem::new(Xlen::Rv64);
    let request = HfenceRequest::Vvma {
        vmid: 9,
        range: pages(0, 0, 1 << 52),
    };
    Consumer::new(mem.clone())
        .queue_hfence(&request, || unreachable!())
        .unwrap();
    let mut fences = Vec::new();
    Provider::new(mem.clone())
        .sync_hfence(HfenceTarget::All, |t| {
            fences.push(t.decoded.capped(512).fence)
        })
        .unwrap();
    assert_eq!(fences, [Fence::Request(HfenceRequest::VvmaAll { vmid: 9 })]);
}

/// Writes one entry as Linux's `__kvm_riscv_nacl_hfence` does: Config first, then
/// Page_Number and Page_Count; the reserved word is never written (0 from the zeroed page).
fn linux_write(mem: &SharedMem, index: usize, config: u64, page_number: u64, page_count: u64) {
    let (base, w) = (hfence_entry_offset(mem.xlen, index), mem.xlen.word_bytes());
    mem.poke(base, config);
    mem.poke(base + w, page_number);
    mem.poke(base + 3 * w, page_count);
}

/// Entries as Linux builds them (`sbi-nacl.md` §6.3): `nacl_hfence_mkconfig(type, order,
/// vmid, asid)` stores `(order - 12) & 0x7F`, and the `_ALL` helpers pass order 0, so their
/// Order field is 116 and their page fields 0. A field the type ignores is ignored: such
/// entries are well-formed, not widened.
#[test]
fn entries_shaped_as_linux_writes_them_decode_to_the_fence_linux_meant() {
    let ranged_gvma = HfenceRequest::GvmaVmid {
        vmid: 5,
        range: pages(0, 0x80200, 3),
    };
    // (xlen, config, page number, page count, expected)
    let rv64 = [
        // nacl_hfence_gvma_all
        (0x8174_0000_0000_0000u64, 0u64, 0u64, HfenceRequest::GvmaAll),
        // nacl_hfence_gvma_vmid_all(vmid 5)
        (
            0x8374_0000_0005_0000,
            0,
            0,
            HfenceRequest::GvmaVmidAll { vmid: 5 },
        ),
        // nacl_hfence_vvma_all(vmid 5)
        (
            0x8574_0000_0005_0000,
            0,
            0,
            HfenceRequest::VvmaAll { vmid: 5 },
        ),
        // nacl_hfence_vvma_asid_all(vmid 5, asid 0x2A)
        (
            0x8774_0000_0005_002A,
            0,
            0,
            HfenceRequest::VvmaAsidAll {
                vmid: 5,
                asid: 0x2A,
            },
        ),
        // nacl_hfence_gvma_vmid(vmid 5, gpa 0x8020_0000, size 0x3000, order 12)
        (0x8200_0000_0005_0000, 0x80200, 3, ranged_gvma),
        // nacl_hfence_vvma_asid(vmid 5, asid 0x2A, gva 0x4000_0000, size 2 MiB, order 21)
        (
            0x8609_0000_0005_002A,
            0x200,
            1,
            HfenceRequest::VvmaAsid {
                vmid: 5,
                asid: 0x2A,
                range: pages(9, 0x200, 1),
            },
        ),
    ];
    let rv32 = [
        (0x8174_0000u64, 0u64, 0u64, HfenceRequest::GvmaAll),
        (0x8374_0A00, 0, 0, HfenceRequest::GvmaVmidAll { vmid: 5 }),
        (0x8574_0A00, 0, 0, HfenceRequest::VvmaAll { vmid: 5 }),
        (
            0x8774_0A2A,
            0,
            0,
            HfenceRequest::VvmaAsidAll {
                vmid: 5,
                asid: 0x2A,
            },
        ),
        (0x8200_0A00, 0x80200, 3, ranged_gvma),
        // order 22 (4 MiB), gva 0x4000_0000
        (
            0x860A_0A2A,
            0x100,
            1,
            HfenceRequest::VvmaAsid {
                vmid: 5,
                asid: 0x2A,
                range: pages(10, 0x100, 1),
            },
        ),
    ];
    for (xlen, rows) in [(Xlen::Rv64, rv64), (Xlen::Rv32, rv32)] {
        let mem = SharedMem::new(xlen);
        for (index, (config, page_number, page_count, _)) in rows.iter().enumerate() {
            linux_write(&mem, index, *config, *page_number, *page_count);
        }
        let mut taken = Vec::new();
        Provider::new(mem.clone())
            .sync_hfence(HfenceTarget::All, |t| taken.push(t.decoded))
            .unwrap();
        let expected: Vec<DecodedHfence> = rows
            .iter()
            .map(|(.., request)| DecodedHfence {
                fence: Fence::Request(*request),
                malformation: None,
            })
            .collect();
        assert_eq!(taken, expected, "{xlen:?}");
    }
}
