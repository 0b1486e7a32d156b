//! The bundle `mini-hv` receives as its initrd: L1's image, initrd and command line
//! (layout in examples/README.md, "How `mini-hv` receives L1").

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::programs;

const MAGIC: &[u8; 8] = b"NESTBNDL";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 64;
/// Every part starts on a page boundary.
const ALIGN: usize = 4096;

/// The bundle's bytes: the header, then each part on a 4 KiB boundary. An absent or empty part
/// is recorded as offset 0, length 0.
pub fn encode(image: &[u8], initrd: Option<&[u8]>, cmdline: &str) -> Vec<u8> {
    let parts = [image, initrd.unwrap_or_default(), cmdline.as_bytes()];
    let mut bundle = vec![0; HEADER_LEN];
    bundle[..8].copy_from_slice(MAGIC);
    bundle[8..12].copy_from_slice(&VERSION.to_le_bytes());
    for (i, part) in parts.iter().enumerate() {
        let offset = if part.is_empty() {
            0
        } else {
            bundle.resize(bundle.len().next_multiple_of(ALIGN), 0);
            let offset = bundle.len();
            bundle.extend_from_slice(part);
            offset
        };
        let field = 16 + 16 * i;
        bundle[field..field + 8].copy_from_slice(&(offset as u64).to_le_bytes());
        bundle[field + 8..field + 16].copy_from_slice(&(part.len() as u64).to_le_bytes());
    }
    bundle
}

/// What a bundle carries: L1's image, its initrd and its command line.
pub struct L1<'a> {
    pub image: &'a Path,
    pub initrd: Option<&'a Path>,
    pub cmdline: &'a str,
}

/// A bundle written for one run, removed when dropped.
pub struct BundleFile {
    path: PathBuf,
    len: u64,
}

impl BundleFile {
    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for BundleFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `target/examples/bundle-NAME-PID-N.bin` from the files of L1's image and initrd: a
/// file of this run's own, so that runs side by side (in one process or several) never share
/// one.
pub fn write(name: &str, l1: &L1) -> Result<BundleFile, String> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let image = read(l1.image)?;
    let initrd = l1.initrd.map(read).transpose()?;
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let file = format!("bundle-{name}-{}-{run}.bin", std::process::id());
    let path = programs::output_dir().join(file);
    let bytes = encode(&image, initrd.as_deref(), l1.cmdline);
    std::fs::write(&path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(BundleFile {
        path,
        len: bytes.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::encode;

    fn field(bundle: &[u8], offset: usize) -> u64 {
        u64::from_le_bytes(bundle[offset..offset + 8].try_into().unwrap())
    }

    #[test]
    fn header_holds_magic_version_and_a_zero_reserved_word() {
        let bundle = encode(b"elf", None, "");
        assert_eq!(&bundle[..8], b"NESTBNDL");
        assert_eq!(&bundle[8..12], &[1, 0, 0, 0]);
        assert_eq!(&bundle[12..16], &[0, 0, 0, 0]);
    }

    #[test]
    fn each_part_starts_on_a_4k_boundary_and_holds_its_bytes() {
        let image = vec![0xaa; 5000];
        let bundle = encode(&image, Some(b"initrd"), "gstage=sv48x4 nacl=off");
        let parts = [(16, 0x1000, 5000), (32, 0x3000, 6), (48, 0x4000, 22)];
        for (header, offset, len) in parts {
            assert_eq!(field(&bundle, header), offset);
            assert_eq!(field(&bundle, header + 8), len);
        }
        assert_eq!(&bundle[0x1000..0x1000 + 5000], &image[..]);
        assert_eq!(&bundle[0x3000..0x3006], b"initrd");
        assert_eq!(&bundle[0x4000..], b"gstage=sv48x4 nacl=off");
        assert!(bundle[0x1000 + 5000..0x3000].iter().all(|&b| b == 0));
    }

    #[test]
    fn absent_initrd_and_empty_command_line_are_offset_0_length_0() {
        let bundle = encode(b"elf", None, "");
        for header in [32, 40, 48, 56] {
            assert_eq!(field(&bundle, header), 0);
        }
        assert_eq!(field(&bundle, 16), 0x1000);
        assert_eq!(field(&bundle, 24), 3);
        assert_eq!(bundle.len(), 0x1003);
    }
}
