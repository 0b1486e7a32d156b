//! Placeholder until the program lands.
#![no_std]
#![no_main]

bare::entry!(main);

fn main(_hartid: usize, _dtb: usize) -> ! {
    bare::println!("l2-guest: not written yet");
    bare::shutdown(true)
}
