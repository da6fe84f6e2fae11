//! `scripts/setup.sh` names no package host: the apt source it adds for Debian's contrib and
//! non-free components (libcuda1) is derived by `scripts/apt-nonfree-sources.sh` from the
//! machine's own Debian sources. These tests run that script on made-up apt folders.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

struct AptDir(PathBuf);

impl AptDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("framemix-apt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sources.list.d")).unwrap();
        AptDir(dir)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).unwrap();
    }
}

impl Drop for AptDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the script on `dir` for bookworm; returns (exit code, stdout, stderr).
fn derive(dir: &AptDir) -> (i32, String, String) {
    let out = Command::new("bash")
        .arg(scripts().join("apt-nonfree-sources.sh"))
        .arg(&dir.0)
        .env("FRAMEMIX_CODENAME", "bookworm")
        .output()
        .expect("bash");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn nonfree_source_follows_the_configured_mirror_deb822() {
    let dir = AptDir::new("deb822");
    dir.write(
        "sources.list.d/debian.sources",
        "Types: deb\n# a comment\nURIs: http://mirror.internal/debian\nSuites: bookworm bookworm-updates\n\
         Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
         Types: deb\nURIs: http://mirror.internal/debian-security\nSuites: bookworm-security\n\
         Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
         Types: deb\nURIs: http://disabled.internal/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n",
    );
    // A third-party source with its own suite, and framemix's own earlier output: both ignored.
    dir.write(
        "sources.list.d/vendor.sources",
        "Types: deb\nURIs: https://vendor.internal/apt\nSuites: nodistro\nComponents: main\n",
    );
    dir.write(
        "sources.list.d/framemix-nonfree.sources",
        "Types: deb\nURIs: http://stale.internal/debian\nSuites: bookworm\nComponents: contrib non-free\n",
    );
    let (code, out, err) = derive(&dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Types: deb\nURIs: http://mirror.internal/debian\nSuites: bookworm bookworm-updates\n\
         Components: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
         Types: deb\nURIs: http://mirror.internal/debian-security\nSuites: bookworm-security\n\
         Components: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    );
}

#[test]
fn nonfree_source_follows_the_configured_mirror_one_line() {
    let dir = AptDir::new("oneline");
    dir.write(
        "sources.list",
        "# deb http://commented.internal/debian bookworm main\n\
         deb [arch=amd64 signed-by=/etc/apt/keyrings/site.gpg] http://mirror.internal/debian bookworm main\n\
         deb-src http://mirror.internal/debian bookworm main\n\
         deb http://mirror.internal/debian bullseye main\n",
    );
    let (code, out, err) = derive(&dir);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Types: deb\nURIs: http://mirror.internal/debian\nSuites: bookworm\n\
         Components: contrib non-free\nSigned-By: /etc/apt/keyrings/site.gpg\n\n\
         Types: deb-src\nURIs: http://mirror.internal/debian\nSuites: bookworm\n\
         Components: contrib non-free\n"
    );
}

#[test]
fn no_debian_source_is_a_clear_error() {
    let dir = AptDir::new("none");
    dir.write(
        "sources.list.d/vendor.sources",
        "Types: deb\nURIs: https://vendor.internal/apt\nSuites: nodistro\nComponents: main\n",
    );
    let (code, out, err) = derive(&dir);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no Debian 'bookworm' source"), "{err}");
}

#[test]
fn setup_script_names_no_package_host() {
    for script in ["setup.sh", "apt-nonfree-sources.sh", "test.sh", "demo.sh"] {
        let text = std::fs::read_to_string(scripts().join(script)).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("://"),
                "scripts/{script}:{} names a host: {line}",
                n + 1
            );
        }
    }
}
