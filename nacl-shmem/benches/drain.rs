//! The provider's full drains and the consumer's CSR write (figures in BENCHMARKS.md).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use nacl_shmem::hfence::{HfenceRequest, PageRange};
use nacl_shmem::layout::hfence_entries;
use nacl_shmem::provider::HfenceTarget;
use nacl_shmem::{ByteShmem, CSR_SYNC_ORDER, Consumer, CsrSlot, Provider, Xlen};
use std::hint::black_box;

/// The H and VS CSRs the privileged spec and AIA define (both XLENs' numbers).
const DEFINED_H_VS_CSRS: [u16; 52] = [
    0x200, 0x204, 0x205, 0x214, 0x240, 0x241, 0x242, 0x243, 0x244, 0x24D, 0x250, 0x251, 0x254,
    0x25C, 0x25D, 0x280, 0x600, 0x602, 0x603, 0x604, 0x605, 0x606, 0x607, 0x608, 0x609, 0x60A,
    0x60C, 0x60D, 0x60E, 0x60F, 0x612, 0x613, 0x615, 0x618, 0x61A, 0x61C, 0x61D, 0x61E, 0x61F,
    0x643, 0x644, 0x645, 0x646, 0x647, 0x64A, 0x655, 0x656, 0x657, 0x680, 0x6A8, 0xE12, 0xEB0,
];

fn image_with_dirty(xlen: Xlen, csrs: impl Iterator<Item = u16>) -> Vec<u8> {
    let mut bytes = vec![0u8; xlen.shmem_size()];
    let mut l1 = Consumer::new(ByteShmem::new(&mut bytes, xlen).unwrap());
    for csr in csrs {
        l1.csr_write(csr, u64::from(csr) * 3).unwrap();
    }
    bytes
}

fn image_with_full_hfence_queue(xlen: Xlen) -> Vec<u8> {
    let mut bytes = vec![0u8; xlen.shmem_size()];
    let mut l1 = Consumer::new(ByteShmem::new(&mut bytes, xlen).unwrap());
    for n in 0..hfence_entries(xlen) as u64 {
        let range = PageRange::new(0, n * 16, 4).unwrap();
        let request = match n % 4 {
            0 => HfenceRequest::GvmaVmid { vmid: 1, range },
            1 => HfenceRequest::Vvma { vmid: 1, range },
            2 => HfenceRequest::VvmaAsid {
                vmid: 1,
                asid: 7,
                range,
            },
            _ => HfenceRequest::GvmaVmidAll { vmid: 1 },
        };
        l1.queue_hfence(&request, || unreachable!()).unwrap();
    }
    bytes
}

// Each drain clears what it reads (dirty bits, pending bits), so every iteration gets a fresh
// copy of the image; `iter_batched_ref` makes that copy outside the timed part. Batches of
// `COPIES` copies (8 x 12 KiB) stay in cache, as the one image restored in place did before;
// criterion's `SmallInput` batches would make every drain read cold memory.
const COPIES: u64 = 8;

fn drain_dirty(c: &mut Criterion) {
    for xlen in Xlen::ALL {
        let all = image_with_dirty(xlen, CsrSlot::all().map(|s| s.csr()));
        let defined = image_with_dirty(xlen, DEFINED_H_VS_CSRS.iter().copied());
        for (name, image) in [("all_1024_slots", &all), ("52_defined_h_vs_csrs", &defined)] {
            for (order_name, order) in [("sync_order", &CSR_SYNC_ORDER[..]), ("slot_order", &[])] {
                let id = format!("provider_drain_dirty_csrs/{xlen:?}/{name}/{order_name}");
                c.bench_function(&id, |b| {
                    b.iter_batched_ref(
                        || image.clone(),
                        |bytes| {
                            let mut l0 = Provider::new(ByteShmem::new(bytes, xlen).unwrap());
                            let mut sum = 0u64;
                            let n = l0.drain_dirty_csrs(order, |csr, value| {
                                sum = sum.wrapping_add(u64::from(csr) ^ value)
                            });
                            black_box((n, sum))
                        },
                        BatchSize::NumIterations(COPIES),
                    )
                });
            }
        }
    }
}

fn drain_hfence(c: &mut Criterion) {
    for xlen in Xlen::ALL {
        let image = image_with_full_hfence_queue(xlen);
        let name = format!(
            "provider_sync_hfence_all/{xlen:?}/full_{}_entries",
            hfence_entries(xlen)
        );
        c.bench_function(&name, |b| {
            b.iter_batched_ref(
                || image.clone(),
                |bytes| {
                    let mut l0 = Provider::new(ByteShmem::new(bytes, xlen).unwrap());
                    let mut last = None;
                    let n = l0.sync_hfence(HfenceTarget::All, |t| last = Some(t.decoded));
                    black_box((n, last))
                },
                BatchSize::NumIterations(COPIES),
            )
        });
    }
}

fn consumer_csr_write(c: &mut Criterion) {
    for xlen in Xlen::ALL {
        let mut bytes = vec![0u8; xlen.shmem_size()];
        let mut l1 = Consumer::new(ByteShmem::new(&mut bytes, xlen).unwrap());
        let mut value = 0u64;
        c.bench_function(&format!("consumer_csr_write/{xlen:?}/hvip"), |b| {
            b.iter(|| {
                value = value.wrapping_add(1);
                l1.csr_write(black_box(0x645), black_box(value))
            })
        });
    }
}

criterion_group!(benches, drain_dirty, drain_hfence, consumer_csr_write);
criterion_main!(benches);
