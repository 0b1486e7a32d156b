//! Fuzzes the shadow manager with sequences of fills (fetches, loads, stores, HLVX and
//! HS-level MXR loads, implicit VS-stage table reads and writes), L1 table edits, fences,
//! changes of L1's A/D scheme and PBMTE and host remaps (decoded six bytes per operation), over five L1
//! G-stages (Sv39x4, Sv48x4, Sv32x4, Sv57x4, Bare) sharing three shadow slots. After every
//! operation it checks isolation per L1 GPA (every shadow leaf maps only host memory the host
//! grants L1 there, within its permissions) and, when L1 fences what it changes, coherence
//! with a reference two-stage walk; every fill is compared with the reference too. A model of
//! the hart's TLB keeps every leaf that was valid until a reported fence covers it, and the
//! same checks apply to what it still holds; without Svvptc it also keeps invalid entries and
//! a fill must fence the one on its path.
#![no_main]

#[path = "../../gstage/tests/model/mod.rs"]
mod model;

use gstage::WalkConfig;
use libfuzzer_sys::fuzz_target;
use model::sim::{Op, Sim};

fuzz_target!(|data: &[u8]| {
    let Some((&setup, script)) = data.split_first() else {
        return;
    };
    let frames = [9usize, 13, 16, 64][setup as usize % 4];
    let law_abiding = setup & 4 != 0;
    let svvptc = setup & 8 != 0;
    let l1_walk = WalkConfig {
        svadu: setup & 16 != 0,
        pbmte: setup & 32 != 0,
        ..WalkConfig::default()
    };
    let mut sim = Sim::with_l1_walk(frames, law_abiding, svvptc, l1_walk);
    for (i, chunk) in script.chunks_exact(6).take(64).enumerate() {
        let op = Op::decode(chunk.try_into().unwrap());
        if let Err(e) = sim.step(op) {
            panic!("step {i} {op:?}: {e}");
        }
    }
});
