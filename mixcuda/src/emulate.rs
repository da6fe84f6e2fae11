//! Test-only: the kernels' own CUDA C source, compiled for the host and run by
//! `kernels/emu/emu_main.cpp`, driven by the same packing, parameters and launch geometry the
//! CUDA backend uses, and compared bit for bit with mixcore. On machines without a GPU this is
//! what checks the kernels' logic; on a GPU the device tests check the real thing.
//!
//! The emulator is compiled once per test process with `$FRAMEMIX_EMU_CXX`, else `g++` (with
//! AddressSanitizer and UBSan, so an out-of-bounds kernel access fails), else `clang++-16`.
//! Without any, the tests print `skipped: ...` and return, unless `FRAMEMIX_REQUIRE_EMULATOR=1`
//! (CI sets it), which makes that a failure.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::launch::Launch;

/// Fake device address of buffer `id`: the emulator relocates `(id + 1) << 40 | offset`.
fn address(id: usize) -> u64 {
    (id as u64 + 1) << 40
}

/// A batch of buffers and launches for one emulator run.
#[derive(Default)]
pub(crate) struct Emu {
    buffers: Vec<Vec<u8>>,
    launches: Vec<Launch>,
}

impl Emu {
    /// Adds a buffer; returns its device address.
    pub(crate) fn buffer(&mut self, bytes: Vec<u8>) -> u64 {
        self.buffers.push(bytes);
        address(self.buffers.len() - 1)
    }

    /// Queues a launch (run in order).
    pub(crate) fn launch(&mut self, l: Launch) {
        self.launches.push(l);
    }

    /// Queues launches.
    pub(crate) fn launches(&mut self, ls: impl IntoIterator<Item = Launch>) {
        self.launches.extend(ls);
    }

    /// Runs every launch; returns the buffers afterwards (by address), or `None` when the
    /// emulator is unavailable (a `skipped:` line has been printed).
    pub(crate) fn run(self, test: &str) -> Option<Buffers> {
        let exe = &emulator(test)?.path;
        let dir = scratch_dir();
        static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let req = dir.join(format!("req-{n}"));
        let resp = dir.join(format!("resp-{n}"));
        let mut bytes = b"FMEMU001".to_vec();
        bytes.extend((self.buffers.len() as u32).to_le_bytes());
        for b in &self.buffers {
            bytes.extend((b.len() as u64).to_le_bytes());
            bytes.extend(b);
        }
        bytes.extend((self.launches.len() as u32).to_le_bytes());
        for l in &self.launches {
            let name = l.kernel.name().as_bytes();
            bytes.extend((name.len() as u32).to_le_bytes());
            bytes.extend(name);
            for v in l.grid.iter().chain(&l.block) {
                bytes.extend(v.to_le_bytes());
            }
            bytes.extend(((l.params.len() * 8) as u32).to_le_bytes());
            bytes.extend(crate::params::words_to_bytes(&l.params));
        }
        std::fs::write(&req, bytes).expect("write emulator request");
        let out = Command::new(exe)
            .arg(&req)
            .arg(&resp)
            .output()
            .expect("run emulator");
        assert!(
            out.status.success(),
            "emulator failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let data = std::fs::read(&resp).expect("read emulator response");
        let _ = std::fs::remove_file(&req);
        let _ = std::fs::remove_file(&resp);
        let mut buffers = Vec::new();
        let mut at = 0;
        for b in &self.buffers {
            buffers.push(data[at..at + b.len()].to_vec());
            at += b.len();
        }
        assert_eq!(at, data.len());
        Some(Buffers(buffers))
    }
}

/// Buffers after a run, looked up by the address [`Emu::buffer`] returned.
pub(crate) struct Buffers(Vec<Vec<u8>>);

impl Buffers {
    pub(crate) fn bytes(&self, addr: u64) -> &[u8] {
        &self.0[(addr >> 40) as usize - 1]
    }

    pub(crate) fn u16s(&self, addr: u64) -> Vec<u16> {
        self.bytes(addr)
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()
    }

    pub(crate) fn f32s(&self, addr: u64) -> Vec<f32> {
        self.bytes(addr)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mixcuda-emu-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create emulator scratch dir");
        d
    })
    .clone()
}

fn have(cxx: &str) -> bool {
    Command::new(cxx)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The compiled emulator.
pub(crate) struct Emulator {
    /// The executable.
    pub path: PathBuf,
    /// Built with AddressSanitizer and UBSan.
    pub sanitized: bool,
}

/// The compiled emulator, or `None` (with a printed skip line) when no compiler is available.
pub(crate) fn emulator(test: &str) -> Option<&'static Emulator> {
    static EXE: OnceLock<Result<Emulator, String>> = OnceLock::new();
    let exe = EXE.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels/emu/emu_main.cpp");
        if !src.exists() {
            return Err(format!("{} not found", src.display()));
        }
        let mut candidates: Vec<(String, bool)> = Vec::new();
        if let Ok(cxx) = std::env::var("FRAMEMIX_EMU_CXX") {
            candidates.push((cxx, false));
        }
        candidates.push(("g++".into(), true));
        candidates.push(("clang++-16".into(), false));
        candidates.push(("clang++".into(), false));
        let exe = scratch_dir().join("emu");
        let mut tried = Vec::new();
        for (cxx, sanitize) in candidates {
            if !have(&cxx) {
                tried.push(cxx);
                continue;
            }
            let mut cmd = Command::new(&cxx);
            cmd.args([
                "-std=c++17",
                "-O1",
                "-Wall",
                "-Wextra",
                "-Wno-unknown-pragmas",
                "-Werror",
                "-ffp-contract=off",
                "-fno-fast-math",
            ]);
            if sanitize {
                cmd.args([
                    "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all",
                    "-fno-omit-frame-pointer",
                ]);
            }
            cmd.arg(&src).arg("-o").arg(&exe);
            let out = cmd.output().map_err(|e| format!("{cxx}: {e}"))?;
            if out.status.success() {
                return Ok(Emulator {
                    path: exe,
                    sanitized: sanitize,
                });
            }
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if sanitize && stderr.contains("sanitize") {
                // A compiler without sanitizer runtimes: try the next one.
                tried.push(format!("{cxx} (no sanitizer runtime)"));
                continue;
            }
            panic!("compiling the kernel emulator with {cxx} failed:\n{stderr}");
        }
        Err(format!(
            "no C++ compiler found (tried {})",
            tried.join(", ")
        ))
    });
    match exe {
        Ok(e) => Some(e),
        Err(why) => {
            assert!(
                std::env::var("FRAMEMIX_REQUIRE_EMULATOR").as_deref() != Ok("1"),
                "{test}: the kernel emulator is required but unavailable: {why}"
            );
            // Straight to stderr, past the test harness's capture, so the skip is visible.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: kernel emulator unavailable: {why}"
            );
            None
        }
    }
}

mod api_tests;
pub(crate) mod device;
pub(crate) mod tests;
