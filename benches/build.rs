//! With the `peer` feature: compiles the shared bench's C peer kernel (`limits.c`, found at
//! `$FRAMEMIX_PEER_C`, else at `shared/bench/limits.c` beside the workspace or beside the
//! folder holding it, as for a worktree) through
//! `peer/peer.c` with gcc (`-O3 -march=native -fopenmp`, as its README builds it) and links it.
//! Without the feature it does nothing.

use std::path::PathBuf;
use std::process::{Command, exit};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=peer/peer.c");
    println!("cargo:rerun-if-env-changed=FRAMEMIX_PEER_C");
    if std::env::var_os("CARGO_FEATURE_PEER").is_none() {
        return;
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let candidates: Vec<PathBuf> = match std::env::var_os("FRAMEMIX_PEER_C") {
        Some(p) => vec![PathBuf::from(p)],
        None => [
            "../../shared/bench/limits.c",
            "../../../shared/bench/limits.c",
        ]
        .iter()
        .map(|p| manifest.join(p))
        .collect(),
    };
    let Some(src) = candidates.iter().find_map(|p| p.canonicalize().ok()) else {
        eprintln!(
            "framemix-benches (feature peer): no C peer at {candidates:?} (set FRAMEMIX_PEER_C)"
        );
        exit(1);
    };
    println!("cargo:rerun-if-changed={}", src.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let obj = out.join("peer.o");
    let run = |cmd: &mut Command| match cmd.status() {
        Ok(s) if s.success() => {}
        other => {
            eprintln!("framemix-benches (feature peer): {cmd:?} failed: {other:?}");
            exit(1);
        }
    };
    run(Command::new("gcc")
        .args(["-O3", "-march=native", "-fopenmp", "-w", "-c"])
        .arg(format!("-DPEER_SRC=\"{}\"", src.display()))
        .arg(manifest.join("peer/peer.c"))
        .arg("-o")
        .arg(&obj));
    run(Command::new("ar")
        .arg("rcs")
        .arg(out.join("libframemix_peer.a"))
        .arg(&obj));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=framemix_peer");
    println!("cargo:rustc-link-lib=dylib=gomp");
    println!("cargo:rustc-link-lib=dylib=m");
}
