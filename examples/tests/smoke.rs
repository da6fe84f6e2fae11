//! CI's smoke run of the trainer: one epoch on a tiny split, every variant, through the real
//! binary, so the whole path runs: clips written as mp4 files with an mmaction2 list, decoded
//! and mixed by mixdata's loader, trained on with candle. `cargo test --workspace` builds it with the workspace's features, so this costs no
//! separate build of candle (a `cargo run -p framemix-examples` would resolve features for this
//! crate alone and rebuild it).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn trainer_smoke_run_trains_every_variant_and_writes_its_results() {
    let out: PathBuf = std::env::temp_dir().join(format!("framemix-smoke-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .arg("--smoke")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("the trainer binary runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "trainer --smoke failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    // 8 classes x (4 train + 2 test) clips, written as files and read back through the lists.
    assert!(
        stderr.contains("videos: 48 mp4 files"),
        "the smoke run did not write its videos:\n{stderr}"
    );
    for variant in [
        "tsn",
        "average",
        "linear",
        "linear-k5",
        "linear-k3",
        "linear0",
    ] {
        assert!(
            stdout.contains(&format!("| {variant} |")),
            "no table row for {variant}:\n{stdout}"
        );
    }
    for file in ["results.md", "results.csv", "results.png", "samples.png"] {
        let len = std::fs::metadata(out.join(file)).map_or(0, |m| m.len());
        assert!(len > 0, "{file} missing or empty in {}", out.display());
    }
    std::fs::remove_dir_all(&out).ok();
}
