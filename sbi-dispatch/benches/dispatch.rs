//! Decode + route + return for the two commonest calls: a BASE probe and an IPI send.
//!
//! `cargo bench -p sbi-dispatch`

use criterion::{Criterion, criterion_group, criterion_main};
use sbi_dispatch::{Dispatcher, HartMask, Ipi, Outcome, Platform, SbiCall, Version, Xlen};
use std::hint::black_box;

/// The calling hart: its argument registers and the last IPI request it made.
struct Hart {
    a: [u64; 8],
    ipi: Option<HartMask>,
}

/// Records the request, as a host would before raising the interrupts.
struct Clint;
impl Ipi<Hart> for Clint {
    fn send_ipi(&mut self, hart: &mut Hart, harts: HartMask) -> Outcome {
        hart.ipi = Some(harts);
        Outcome::Return(Ok(0))
    }
}

fn platform() -> Platform {
    Platform {
        spec_version: Version::V2_0,
        impl_id: 0x5a,
        impl_version: 1,
        mvendorid: 0,
        marchid: 0,
        mimpid: 0,
        hart_count: 4,
    }
}

/// One full trip: decode the registers, dispatch, write a0/a1 back.
fn ecall(sbi: &mut Dispatcher<Hart, sbi_dispatch::Absent, Clint>, hart: &mut Hart) {
    let call = SbiCall::from_registers(black_box(&hart.a), Xlen::Rv64);
    if let Outcome::Return(result) = sbi.dispatch(hart, &call) {
        call.write_return(result, &mut hart.a);
    }
}

fn bench(c: &mut Criterion) {
    let mut sbi = Dispatcher::new(platform()).with_ipi(Clint);
    // a7 = BASE, a6 = probe_extension, a0 = IPI.
    let probe = [0x735049, 0, 0, 0, 0, 0, 3, 0x10];
    // a7 = IPI, a6 = send_ipi, a0 = harts 1 and 2, a1 = base 0.
    let send = [0b110, 0, 0, 0, 0, 0, 0, 0x735049];
    let mut hart = Hart {
        a: probe,
        ipi: None,
    };
    c.bench_function("base_probe_extension", |b| {
        b.iter(|| {
            hart.a = probe;
            ecall(&mut sbi, &mut hart);
            black_box(hart.a[1])
        })
    });
    c.bench_function("ipi_send_two_harts", |b| {
        b.iter(|| {
            hart.a = send;
            ecall(&mut sbi, &mut hart);
            black_box(hart.a[0])
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
