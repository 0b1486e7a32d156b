//! The initramfs L1's Linux boots: a gzip-compressed cpio "newc" archive.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Mode bits of a directory, an executable and a plain file.
const DIRECTORY: u32 = 0o040_755;
const EXECUTABLE: u32 = 0o100_755;
const REGULAR: u32 = 0o100_644;

/// One file of the archive.
pub struct File {
    /// The path inside the archive, without a leading `/`.
    pub path: &'static str,
    /// Whether the file is executable (mode 0755; otherwise 0644).
    pub executable: bool,
    pub contents: Vec<u8>,
}

/// The folders every initramfs has: busybox's applet links and the mount points of `/init`.
const FOLDERS: [&str; 8] = [
    "bin", "dev", "proc", "sbin", "sys", "tmp", "usr/bin", "usr/sbin",
];

/// The cpio archive of `FOLDERS` and `files` (each file's folders must be among `FOLDERS`),
/// gzip-compressed. Entries carry owner root, time 0 and distinct inode numbers.
pub fn encode(files: &[File]) -> Result<Vec<u8>, String> {
    let folders = ["usr"].iter().chain(&FOLDERS);
    let mut entries: Vec<(&str, u32, &[u8])> = folders.map(|f| (*f, DIRECTORY, &[][..])).collect();
    for file in files {
        let mode = if file.executable { EXECUTABLE } else { REGULAR };
        entries.push((file.path, mode, &file.contents));
    }
    let mut archive = GzEncoder::new(Vec::new(), Compression::default());
    for (ino, (path, mode, contents)) in (1..).zip(entries) {
        let size = u32::try_from(contents.len())
            .map_err(|_| format!("{path} is too large for a cpio archive"))?;
        let mut entry = cpio::NewcBuilder::new(path)
            .ino(ino)
            .mode(mode)
            .nlink(if mode == DIRECTORY { 2 } else { 1 })
            .write(&mut archive, size);
        entry
            .write_all(contents)
            .and_then(|()| entry.finish().map(drop))
            .map_err(|e| format!("cannot write {path} into the initramfs: {e}"))?;
    }
    cpio::newc::trailer(&mut archive).map_err(|e| format!("cannot end the initramfs: {e}"))?;
    archive
        .finish()
        .map_err(|e| format!("cannot compress the initramfs: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{File, encode};
    use std::io::Read;

    /// The archive's entries: name, mode, contents.
    fn decode(gzip: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut cpio = Vec::new();
        flate2::read::GzDecoder::new(gzip)
            .read_to_end(&mut cpio)
            .unwrap();
        let mut rest = &cpio[..];
        let mut entries = Vec::new();
        loop {
            let mut reader = cpio::NewcReader::new(rest).unwrap();
            if reader.entry().is_trailer() {
                return entries;
            }
            let (name, mode) = (reader.entry().name().to_string(), reader.entry().mode());
            let mut contents = Vec::new();
            reader.read_to_end(&mut contents).unwrap();
            entries.push((name, mode, contents));
            rest = reader.finish().unwrap();
        }
    }

    #[test]
    fn files_come_back_with_their_names_modes_and_contents_after_their_folders() {
        let files = [
            File {
                path: "init",
                executable: true,
                contents: b"#!/bin/busybox sh\n".to_vec(),
            },
            File {
                path: "bin/busybox",
                executable: true,
                contents: vec![0x7f; 4097],
            },
            File {
                path: "kvm.ko",
                executable: false,
                contents: b"odd".to_vec(),
            },
        ];
        let entries = decode(&encode(&files).unwrap());
        let names: Vec<&str> = entries.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "usr",
                "bin",
                "dev",
                "proc",
                "sbin",
                "sys",
                "tmp",
                "usr/bin",
                "usr/sbin",
                "init",
                "bin/busybox",
                "kvm.ko"
            ]
        );
        assert!(
            entries[..9]
                .iter()
                .all(|(_, mode, contents)| *mode == 0o040_755 && contents.is_empty())
        );
        assert_eq!(
            entries[9],
            ("init".into(), 0o100_755, files[0].contents.clone())
        );
        assert_eq!(
            entries[10],
            ("bin/busybox".into(), 0o100_755, files[1].contents.clone())
        );
        assert_eq!(entries[11], ("kvm.ko".into(), 0o100_644, b"odd".to_vec()));
    }

    #[test]
    fn the_archive_is_gzip_and_an_empty_one_still_has_folders_and_a_trailer() {
        let gzip = encode(&[]).unwrap();
        assert_eq!(&gzip[..2], &[0x1f, 0x8b]);
        assert_eq!(decode(&gzip).len(), 9);
    }
}
