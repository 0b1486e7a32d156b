//! Fuzzes the shadow manager with sequences of fills (fetches, loads, stores, HLVX and
//! HS-level MXR loads, implicit VS-stage table reads and writes), L1 table edits, fences and
//! host remaps (decoded six bytes per operation). After every operation it checks isolation (every shadow
//! leaf maps only host memory the host grants L1, within its permissions) and, when L1 fences
//! what it changes, coherence with a reference two-stage walk; every fill is compared with the
//! reference too.
#![no_main]

#[path = "../../gstage/tests/model/mod.rs"]
mod model;

use libfuzzer_sys::fuzz_target;
use model::sim::{Op, Sim};

fuzz_target!(|data: &[u8]| {
    let Some((&setup, script)) = data.split_first() else {
        return;
    };
    let frames = [9usize, 13, 16, 64][setup as usize % 4];
    let law_abiding = setup & 4 != 0;
    let svvptc = setup & 8 != 0;
    let l1_svadu = setup & 16 != 0;
    let mut sim = Sim::new(frames, law_abiding, svvptc, l1_svadu);
    for (i, chunk) in script.chunks_exact(6).take(64).enumerate() {
        let op = Op::decode(chunk.try_into().unwrap());
        if let Err(e) = sim.step(op) {
            panic!("step {i} {op:?}: {e}");
        }
    }
});
