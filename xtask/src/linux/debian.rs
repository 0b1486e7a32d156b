//! Debian's riscv64 kernels and busybox, fetched with apt into a cache of ours.
//!
//! apt runs with a configuration, source list and state of its own (`APT_CONFIG` names a file
//! that leaves out the host's `/etc/apt`), so the host's apt is neither read nor changed. The
//! packages are extracted here, in Rust; only the files the Linux stage boots are kept.
//!
//! Cache layout (see [`cache_dir`]):
//!
//! ```text
//! apt/SUITE/      apt.conf, sources.list, empty.d/, lists/, cache/ (apt's state)
//! SUITE/          Image, kvm.ko (decompressed), busybox (trixie only), and `release`,
//!                 written last: the kernel release and package versions fetched
//! SUITE.download/ the downloaded .deb files, while fetching only
//! lock            held while fetching
//! ```
//!
//! A suite whose `release` file exists is warm and never touches the network; otherwise the
//! versions are resolved again through the metapackage and the files fetched anew. Removing
//! `SUITE/` fetches that suite's newest kernel on the next run.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The archive both suites come from, as the host's own sources name it.
const MIRROR: &str = "http://deb.debian.org/debian";
/// The key ring that signs the archive (package debian-archive-keyring).
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// The metapackage that names the suite's current kernel.
const KERNEL_META: &str = "linux-image-riscv64";
/// A static busybox for the initramfs; taken from trixie.
const BUSYBOX_PACKAGE: &str = "busybox-static";
/// The variable naming the cache folder, instead of `$XDG_CACHE_HOME/nested-riscv`.
const CACHE_VARIABLE: &str = "NESTED_RISCV_CACHE";
/// The file written last in a suite's folder.
const RELEASE_FILE: &str = "release";

/// A Debian suite whose kernel the Linux stage boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// Debian 13: Linux 6.12, whose KVM has no NACL.
    Trixie,
    /// Debian unstable: Linux 7.x, whose KVM uses SBI nested acceleration.
    Sid,
}

impl Suite {
    /// The suite's name in the archive.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Trixie => "trixie",
            Suite::Sid => "sid",
        }
    }

    /// Whether busybox is taken from this suite.
    fn has_busybox(self) -> bool {
        self == Suite::Trixie
    }
}

/// One suite's kernel, extracted.
pub struct Kernel {
    pub suite: Suite,
    /// The kernel release, e.g. `6.12.117+deb13-riscv64`.
    pub release: String,
    /// The raw Linux image QEMU and mini-hv boot.
    pub image: PathBuf,
    /// KVM's module, decompressed (busybox's insmod cannot read `.xz`).
    pub kvm: PathBuf,
}

/// The cache folder: `$NESTED_RISCV_CACHE`, else `$XDG_CACHE_HOME/nested-riscv`, else
/// `~/.cache/nested-riscv`; outside the work tree, so a fresh clone finds it.
pub fn cache_dir() -> Result<PathBuf, String> {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = set(CACHE_VARIABLE) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = set("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("nested-riscv"));
    }
    set("HOME")
        .map(|home| PathBuf::from(home).join(".cache/nested-riscv"))
        .ok_or_else(|| {
            format!("HOME is not set; set {CACHE_VARIABLE} to a folder for Debian's kernels")
        })
}

/// The suite's kernel (and, for trixie, busybox) from the cache, fetched first when cold.
pub fn kernel(suite: Suite) -> Result<Kernel, String> {
    let cache = cache_dir()?;
    let dir = cache.join(suite.name());
    let release_file = dir.join(RELEASE_FILE);
    if !release_file.is_file() {
        let _lock = lock(&cache)?;
        // Another xtask may have fetched it while this one waited for the lock.
        if !release_file.is_file() {
            fetch(suite, &dir)?;
        }
    }
    let text = std::fs::read_to_string(&release_file)
        .map_err(|e| format!("cannot read {}: {e}", release_file.display()))?;
    let release = text.lines().next().unwrap_or_default().to_string();
    let kernel = Kernel {
        suite,
        release,
        image: dir.join("Image"),
        kvm: dir.join("kvm.ko"),
    };
    for path in [&kernel.image, &kernel.kvm] {
        if !path.is_file() {
            return Err(format!(
                "the cache lacks {}; remove {} to fetch it again",
                path.display(),
                dir.display()
            ));
        }
    }
    Ok(kernel)
}

/// The cache's lock, held while fetching: xtasks side by side (a developer's and CI's) would
/// otherwise extract into the same folders. Released when the file is dropped.
fn lock(cache: &Path) -> Result<File, String> {
    create_dir(cache)?;
    let path = cache.join("lock");
    let file = File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    if file.try_lock().is_err() {
        println!(
            "xtask: waiting for another xtask fetching into {}",
            cache.display()
        );
        file.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    }
    Ok(file)
}

/// The static busybox, from trixie's folder of the cache (fetched with its kernel).
pub fn busybox() -> Result<PathBuf, String> {
    let suite = Suite::Trixie;
    kernel(suite)?;
    let path = cache_dir()?.join(suite.name()).join("busybox");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the cache lacks {}; remove its folder to fetch it again",
            path.display()
        ))
    }
}

/// A package to download: name, version and size from the package list.
#[derive(Debug, PartialEq, Eq)]
struct Package {
    name: String,
    version: String,
    size: u64,
    depends: Vec<String>,
}

/// Resolves the suite's kernel through its metapackage, downloads it with apt into a scratch
/// folder, extracts the files the stage needs into `dir`, and writes `dir/release` last.
fn fetch(suite: Suite, dir: &Path) -> Result<(), String> {
    let apt = Apt::new(suite)?;
    println!("xtask: fetching Debian {}'s package list", suite.name());
    apt.update()?;
    let mut packages = kernel_packages(&apt)?;
    if suite.has_busybox() {
        packages.push(apt.show(BUSYBOX_PACKAGE)?);
    }
    let release = packages
        .iter()
        .find_map(|p| p.name.strip_prefix("linux-image-"))
        .ok_or_else(|| format!("{KERNEL_META} of {} names no kernel", suite.name()))?
        .to_string();
    let total: u64 = packages.iter().map(|p| p.size).sum();
    println!(
        "xtask: downloading Linux {release} from Debian {} ({}): {}",
        suite.name(),
        megabytes(total),
        packages
            .iter()
            .map(|p| format!("{} {} ({})", p.name, p.version, megabytes(p.size)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let scratch = dir.with_extension("download");
    remove_dir(&scratch)?;
    create_dir(&scratch)?;
    let started = Instant::now();
    apt.download(&packages, &scratch)?;
    println!(
        "xtask: downloaded {} in {:.0?}; extracting",
        megabytes(total),
        started.elapsed()
    );
    remove_dir(dir)?;
    create_dir(dir)?;
    let mut found = Found::default();
    for package in &packages {
        let deb = deb_file(&scratch, &package.name)?;
        extract(&deb, dir, &mut found)?;
    }
    found.check(suite)?;
    remove_dir(&scratch)?;
    let mut record = format!("{release}\n");
    for package in &packages {
        record.push_str(&format!("{} {}\n", package.name, package.version));
    }
    write_file(&dir.join(RELEASE_FILE), record.as_bytes())?;
    println!("xtask: Linux {release} is in {}", dir.display());
    Ok(())
}

/// The metapackage's kernel packages: its `linux-image-*`, `linux-binary-*` and
/// `linux-modules-*` dependencies, followed through the versioned image package.
fn kernel_packages(apt: &Apt) -> Result<Vec<Package>, String> {
    let meta = apt.show(KERNEL_META)?;
    let mut pending = meta.depends.clone();
    let mut packages = Vec::new();
    while let Some(name) = pending.pop() {
        let wanted = ["linux-image-", "linux-binary-", "linux-modules-"]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        if !wanted || packages.iter().any(|p: &Package| p.name == name) {
            continue;
        }
        let package = apt.show(&name)?;
        pending.extend(package.depends.iter().cloned());
        packages.push(package);
    }
    Ok(packages)
}

/// apt with a configuration and state of ours for one suite.
struct Apt {
    suite: Suite,
    config: PathBuf,
}

impl Apt {
    /// Writes the suite's apt configuration and source list under `apt/SUITE/` of the cache.
    fn new(suite: Suite) -> Result<Apt, String> {
        if Command::new("apt-get")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            return Err(format!(
                "apt-get is not installed; the Linux stage fetches Debian's riscv64 kernels with \
                 it (install apt and debian-archive-keyring, or set {CACHE_VARIABLE} to a cache \
                 that holds them)"
            ));
        }
        if !Path::new(KEYRING).is_file() {
            return Err(format!(
                "{KEYRING} is missing; install the package debian-archive-keyring"
            ));
        }
        let dir = cache_dir()?.join("apt").join(suite.name());
        for sub in ["empty.d", "lists/partial", "cache/archives/partial"] {
            create_dir(&dir.join(sub))?;
        }
        let source = format!(
            "deb [arch=riscv64 signed-by={KEYRING}] {MIRROR} {} main\n",
            suite.name()
        );
        write_file(&dir.join("sources.list"), source.as_bytes())?;
        let config = dir.join("apt.conf");
        write_file(&config, apt_config(&dir).as_bytes())?;
        Ok(Apt { suite, config })
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("APT_CONFIG", &self.config).env("LC_ALL", "C");
        command
    }

    /// `apt-get update`, failing on any index that could not be fetched.
    fn update(&self) -> Result<(), String> {
        let mut command = self.command("apt-get");
        command.args(["update", "--error-on=any"]);
        run_apt(&mut command).map_err(|e| {
            format!(
                "could not fetch Debian {}'s package list ({e})",
                self.suite.name()
            )
        })
    }

    /// The candidate version of `name` from `apt-cache show`.
    fn show(&self, name: &str) -> Result<Package, String> {
        let output = self
            .command("apt-cache")
            .args(["show", "--no-all-versions", name])
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("could not start apt-cache: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        parse_package(&text)
            .ok_or_else(|| format!("Debian {} has no riscv64 package {name}", self.suite.name()))
    }

    /// `apt-get download NAME=VERSION ...` into `dir` (apt prints each file as it comes).
    fn download(&self, packages: &[Package], dir: &Path) -> Result<(), String> {
        let mut command = self.command("apt-get");
        command.arg("download").current_dir(dir);
        for package in packages {
            command.arg(format!("{}={}", package.name, package.version));
        }
        run_apt(&mut command).map_err(|e| {
            format!(
                "could not download Debian {}'s packages ({e})",
                self.suite.name()
            )
        })
    }
}

/// apt's configuration for one suite's folder: riscv64 only, our source list and state, the
/// host's configuration files and package status left out.
fn apt_config(dir: &Path) -> String {
    let path = |sub: &str| dir.join(sub).display().to_string();
    let entries = [
        ("APT::Architecture", "riscv64".to_string()),
        ("APT::Architectures", "riscv64".to_string()),
        ("Dir::Etc::main", "/dev/null".to_string()),
        ("Dir::Etc::parts", path("empty.d")),
        ("Dir::Etc::sourcelist", path("sources.list")),
        ("Dir::Etc::sourceparts", path("empty.d")),
        ("Dir::Etc::preferences", "/dev/null".to_string()),
        ("Dir::Etc::preferencesparts", path("empty.d")),
        ("Dir::Etc::netrc", "/dev/null".to_string()),
        ("Dir::State::Lists", path("lists")),
        ("Dir::State::status", "/dev/null".to_string()),
        ("Dir::Cache", path("cache")),
        ("Acquire::Languages", "none".to_string()),
        // The package lists stay compressed and apt's binary caches are not written: the
        // state is needed only while fetching, and would take some 300 MB otherwise.
        ("Acquire::GzipIndexes", "true".to_string()),
        ("Dir::Cache::pkgcache", String::new()),
        ("Dir::Cache::srcpkgcache", String::new()),
        // The signatures are checked; the Release files' dates are not, as sid's is valid for
        // a week only and the archive this stage reaches may be a mirror that lags behind.
        ("Acquire::Check-Valid-Until", "false".to_string()),
        // Our folders belong to the user running xtask, who may be root: apt would warn that
        // its own user `_apt` cannot write them.
        ("APT::Sandbox::User", current_user()),
    ];
    entries
        .iter()
        .map(|(key, value)| format!("{key} \"{value}\";\n"))
        .collect()
}

/// The name of the user running xtask (`id -un`), for apt's sandbox.
fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "root".to_string())
}

/// Runs an apt command with its output shown; a failure names its exit status.
fn run_apt(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("could not start apt: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt exited with {status}"))
    }
}

/// The first paragraph of `apt-cache show`: name, version, size and the first alternative of
/// each dependency, without version constraints.
fn parse_package(text: &str) -> Option<Package> {
    let paragraph = text.split("\n\n").next()?;
    let field = |name: &str| {
        paragraph
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    let depends = field("Depends")
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| {
            let first = item.split('|').next()?.trim();
            let name = first.split([' ', '(', ':']).next()?;
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect();
    Some(Package {
        name: field("Package")?.to_string(),
        version: field("Version")?.to_string(),
        size: field("Size")?.parse().ok()?,
        depends,
    })
}

/// The .deb apt-get download wrote for `name` (`NAME_VERSION_ARCH.deb`, the epoch's colon
/// escaped).
fn deb_file(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let prefix = format!("{name}_");
    std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
        .ok_or_else(|| format!("apt-get download left no .deb for {name}"))
}

/// Which of the wanted files were found.
#[derive(Default)]
struct Found {
    image: bool,
    kvm: bool,
    busybox: bool,
}

impl Found {
    fn check(&self, suite: Suite) -> Result<(), String> {
        let missing = [
            (self.image, "the kernel image"),
            (self.kvm, "kvm.ko.xz"),
            (self.busybox || !suite.has_busybox(), "bin/busybox"),
        ];
        match missing.iter().find(|(found, _)| !found) {
            Some((_, what)) => Err(format!(
                "Debian {}'s packages hold no {what}; the package layout changed",
                suite.name()
            )),
            None => Ok(()),
        }
    }
}

/// What a file of a package's data is to the stage.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Image,
    /// `kvm.ko.xz`, decompressed into `kvm.ko`.
    Kvm,
    Busybox,
}

/// Which wanted file `path` (inside a package's data, without `./`) is, if any: the image is
/// `boot/vmlinux-*` (trixie) or `usr/lib/modules/*/vmlinuz` (sid's linux-binary-*).
fn wanted(path: &str) -> Option<Wanted> {
    let in_modules = path.starts_with("usr/lib/modules/") || path.starts_with("lib/modules/");
    if path.starts_with("boot/vmlinux-") || (in_modules && path.ends_with("/vmlinuz")) {
        Some(Wanted::Image)
    } else if in_modules && path.ends_with("/kernel/arch/riscv/kvm/kvm.ko.xz") {
        Some(Wanted::Kvm)
    } else if path == "bin/busybox" || path == "usr/bin/busybox" {
        Some(Wanted::Busybox)
    } else {
        None
    }
}

/// Extracts the wanted files of one .deb (an ar archive whose `data.tar.xz` holds the files)
/// into `dir`.
fn extract(deb: &Path, dir: &Path, found: &mut Found) -> Result<(), String> {
    let context = |e: std::io::Error| format!("cannot read {}: {e}", deb.display());
    let file = File::open(deb).map_err(context)?;
    let mut archive = ar::Archive::new(BufReader::new(file));
    while let Some(member) = archive.next_entry() {
        let member = member.map_err(context)?;
        let name = String::from_utf8_lossy(member.header().identifier()).into_owned();
        if !name.starts_with("data.tar") {
            continue;
        }
        if name != "data.tar.xz" {
            return Err(format!(
                "{} has {name}; only data.tar.xz is read",
                deb.display()
            ));
        }
        let mut data = tar::Archive::new(liblzma::read::XzDecoder::new(member));
        for entry in data.entries().map_err(context)? {
            let mut entry = entry.map_err(context)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(context)?;
            let path = path.to_string_lossy();
            let Some(what) = wanted(path.trim_start_matches("./")) else {
                continue;
            };
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(context)?;
            match what {
                Wanted::Image => {
                    write_file(&dir.join("Image"), &bytes)?;
                    found.image = true;
                }
                Wanted::Kvm => {
                    let mut module = Vec::new();
                    liblzma::read::XzDecoder::new(&bytes[..])
                        .read_to_end(&mut module)
                        .map_err(|e| format!("cannot decompress kvm.ko.xz: {e}"))?;
                    write_file(&dir.join("kvm.ko"), &module)?;
                    found.kvm = true;
                }
                Wanted::Busybox => {
                    write_file(&dir.join("busybox"), &bytes)?;
                    found.busybox = true;
                }
            }
        }
        return Ok(());
    }
    Err(format!("{} has no data.tar member", deb.display()))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn remove_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", dir.display()))
        }
        _ => Ok(()),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{Found, Package, Suite, Wanted, extract, parse_package, wanted};
    use std::io::Write;

    fn xz(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A .deb as dpkg-deb builds it: debian-binary, control.tar.xz, data.tar.xz.
    fn deb(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut data = tar::Builder::new(Vec::new());
        for (path, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            data.append_data(&mut header, path, *contents).unwrap();
        }
        let data = xz(&data.into_inner().unwrap());
        let control = xz(&tar::Builder::new(Vec::new()).into_inner().unwrap());
        let mut deb = ar::Builder::new(Vec::new());
        for (name, member) in [
            ("debian-binary", &b"2.0\n"[..]),
            ("control.tar.xz", &control),
            ("data.tar.xz", &data),
        ] {
            let header = ar::Header::new(name.as_bytes().to_vec(), member.len() as u64);
            deb.append(&header, member).unwrap();
        }
        deb.into_inner().unwrap()
    }

    #[test]
    fn extraction_keeps_the_image_and_busybox_and_decompresses_kvm() {
        let dir = std::env::temp_dir().join(format!("xtask-deb-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let module = b"\x7fELF kvm module".repeat(100);
        let release = "./usr/lib/modules/6.12.117+deb13-riscv64";
        let package = deb(&[
            ("./boot/vmlinux-6.12.117+deb13-riscv64", b"MZ image"),
            ("./boot/config-6.12.117+deb13-riscv64", b"CONFIG_KVM=m"),
            (
                &format!("{release}/kernel/arch/riscv/kvm/kvm.ko.xz"),
                &xz(&module),
            ),
            ("./bin/busybox", b"busybox"),
        ]);
        let path = dir.join("linux.deb");
        std::fs::write(&path, package).unwrap();
        let mut found = Found::default();
        extract(&path, &dir, &mut found).unwrap();
        assert!(found.check(Suite::Trixie).is_ok());
        assert_eq!(std::fs::read(dir.join("Image")).unwrap(), b"MZ image");
        assert_eq!(std::fs::read(dir.join("kvm.ko")).unwrap(), module);
        assert_eq!(std::fs::read(dir.join("busybox")).unwrap(), b"busybox");
        assert!(!dir.join("config").exists());

        let mut found = Found::default();
        std::fs::write(&path, deb(&[("./bin/busybox", b"busybox")])).unwrap();
        extract(&path, &dir, &mut found).unwrap();
        assert!(found.check(Suite::Trixie).is_err());
        std::fs::write(&path, b"!<arch>\n").unwrap();
        assert!(extract(&path, &dir, &mut found).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_package_paragraph_gives_name_version_size_and_first_alternatives() {
        let text = "Package: linux-image-7.2.13+deb14-riscv64\nVersion: 7.2.13-1\n\
                    Installed-Size: 15\nDepends: dracut | initramfs-tools (>= 0.120+deb8u2), \
                    linux-binary-7.2.13+deb14-riscv64 (= 7.2.13-1), kmod:any\nSize: 1876\n\
                    Description: Linux\n\nPackage: other\n";
        let package = parse_package(text).unwrap();
        assert_eq!(
            package,
            Package {
                name: "linux-image-7.2.13+deb14-riscv64".into(),
                version: "7.2.13-1".into(),
                size: 1876,
                depends: vec![
                    "dracut".into(),
                    "linux-binary-7.2.13+deb14-riscv64".into(),
                    "kmod".into()
                ],
            }
        );
        assert_eq!(parse_package(""), None);
        assert_eq!(parse_package("Package: x\nVersion: 1\n"), None);
    }

    #[test]
    fn the_wanted_files_are_found_by_their_paths_in_either_layout() {
        let release = "usr/lib/modules/7.2.13+deb14-riscv64";
        assert_eq!(
            wanted("boot/vmlinux-6.12.117+deb13-riscv64"),
            Some(Wanted::Image)
        );
        assert_eq!(wanted(&format!("{release}/vmlinuz")), Some(Wanted::Image));
        assert_eq!(
            wanted(&format!("{release}/kernel/arch/riscv/kvm/kvm.ko.xz")),
            Some(Wanted::Kvm)
        );
        assert_eq!(wanted("bin/busybox"), Some(Wanted::Busybox));
        assert_eq!(wanted("boot/System.map-6.12.117+deb13-riscv64"), None);
        assert_eq!(
            wanted(&format!("{release}/kernel/virt/lib/irqbypass.ko.xz")),
            None
        );
    }
}
