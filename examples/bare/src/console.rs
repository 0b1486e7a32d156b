//! The console: whole lines written with DBCN console_write when the SBI below offers it,
//! byte by byte with the legacy putchar otherwise. A lock keeps lines of different harts apart.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};
use spin::Mutex;

/// 0: not probed yet; 1: legacy putchar; 2: DBCN.
static BACKEND: AtomicU8 = AtomicU8::new(0);
static LOCK: Mutex<()> = Mutex::new(());

/// Forces the legacy putchar (a program whose SBI is known not to copy from memory).
pub fn use_legacy() {
    BACKEND.store(1, Ordering::Relaxed);
}

fn backend() -> u8 {
    match BACKEND.load(Ordering::Relaxed) {
        0 => {
            let found = if crate::sbi::probe(sbi_spec::dbcn::EID_DBCN) != 0 {
                2
            } else {
                1
            };
            BACKEND.store(found, Ordering::Relaxed);
            found
        }
        found => found,
    }
}

struct Line(heapless::Vec<u8, 256>);

impl Line {
    fn flush(&mut self) {
        if self.0.is_empty() {
            return;
        }
        if backend() == 2 {
            let mut done = 0;
            while done < self.0.len() {
                // The buffer lives on the stack; stacks are identity-mapped in every program.
                let rest = &self.0[done..];
                match crate::sbi::console_write(rest.as_ptr() as usize, rest.len()) {
                    (0, written) if written > 0 => done += written,
                    _ => {
                        rest.iter().for_each(|&b| crate::sbi::legacy_putchar(b));
                        break;
                    }
                }
            }
        } else {
            self.0.iter().for_each(|&b| crate::sbi::legacy_putchar(b));
        }
        self.0.clear();
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.0.push(b).is_err() {
                self.flush();
                let _ = self.0.push(b);
            }
        }
        Ok(())
    }
}

/// Writes one formatted line (with its newline) as a unit.
pub fn print_line(args: fmt::Arguments) {
    let _guard = LOCK.lock();
    let mut line = Line(heapless::Vec::new());
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    line.flush();
}

/// Writes raw bytes (a guest's output being forwarded) under the console lock.
pub fn write_bytes(bytes: &[u8]) {
    let _guard = LOCK.lock();
    let mut line = Line(heapless::Vec::new());
    for &b in bytes {
        if line.0.push(b).is_err() {
            line.flush();
            let _ = line.0.push(b);
        }
    }
    line.flush();
}

/// Prints a line on the console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::console::print_line(format_args!($($arg)*))
    };
}
