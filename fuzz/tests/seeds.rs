//! Replays the committed seeds (and regression inputs) of every target through the same checks
//! the fuzz targets run, on stable and without libFuzzer: `cargo test` in `fuzz/`.

use std::path::PathBuf;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("seed entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("reading a seed");
            (p, bytes)
        })
        .collect()
}

/// Runs `check` on every seed of `target` that decodes as `T` and returns what each reported.
fn replay<T, R>(target: &str, check: fn(&T) -> R) -> Vec<R>
where
    T: for<'a> arbitrary::Arbitrary<'a>,
{
    let mut results = Vec::new();
    for (path, bytes) in seeds(target) {
        if let Some(input) = framemix_fuzz::decode_input::<T>(&bytes) {
            eprintln!("{target}: {}", path.display());
            results.push(check(&input));
        }
    }
    assert!(
        !results.is_empty(),
        "no seed of {target} decoded as an input"
    );
    results
}

#[test]
fn plan_seeds_pass() {
    let accepted = replay("plan", framemix_fuzz::plan::check);
    // The seeds reach both sides: plans checked against docs/contract.md, and refusals checked.
    assert!(accepted.iter().any(|&a| a), "no seed makes a valid plan");
    assert!(accepted.iter().any(|&a| !a), "no seed makes a refused plan");
}

#[test]
fn kernels_seeds_pass() {
    let mixed = replay("kernels", framemix_fuzz::kernels::check);
    assert!(mixed.iter().any(|&m| m), "no seed reaches a compared mix");
}

#[test]
fn mixer_seeds_pass() {
    let outcomes = replay("mixer", framemix_fuzz::mixer::check);
    assert!(
        outcomes.iter().any(|o| o.finished),
        "no seed reaches a successful finish"
    );
    assert!(
        outcomes.iter().any(|o| o.refused > 0),
        "no seed makes a refused push"
    );
}

#[cfg(feature = "cli")]
#[test]
fn decode_seeds_pass() {
    let mut videos = 0;
    let mut frames = 0;
    for (path, bytes) in seeds("decode") {
        let outcome = framemix_fuzz::cli::check_decode(&bytes);
        eprintln!("decode: {} {outcome:?}", path.display());
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // The seeds made whole by the ffmpeg program mix; the damaged ones do not.
        if name.starts_with("truncated") || name.starts_with("audio-only") {
            assert!(!outcome.video && !outcome.folder, "{name} mixed");
        }
        videos += usize::from(outcome.video);
        frames += usize::from(outcome.folder);
    }
    assert!(videos >= 10, "only {videos} seed videos mixed");
    assert!(
        frames >= 3,
        "only {frames} seed images mixed as frame folders"
    );
}

#[cfg(feature = "cli")]
#[test]
fn schedule_arg_seeds_pass() {
    for (_, bytes) in seeds("schedule_arg") {
        framemix_fuzz::cli::check_schedule(&bytes);
    }
}

#[cfg(feature = "cli")]
#[test]
fn shard_arg_seeds_pass() {
    for (_, bytes) in seeds("shard_arg") {
        framemix_fuzz::cli::check_shard(&bytes);
    }
}

#[cfg(feature = "cli")]
#[test]
fn cli_args_seeds_pass() {
    let parsed: Vec<bool> = seeds("cli_args")
        .iter()
        .map(|(_, bytes)| framemix_fuzz::cli_args::check(bytes))
        .collect();
    assert!(parsed.iter().any(|&p| p), "no seed parses");
    assert!(parsed.iter().any(|&p| !p), "no seed is refused");
}

#[cfg(feature = "cli")]
#[test]
fn template_seeds_pass() {
    let parsed: Vec<bool> = seeds("template")
        .iter()
        .map(|(_, bytes)| framemix_fuzz::data::check_template(bytes))
        .collect();
    assert!(parsed.iter().any(|&p| p), "no seed parses");
    assert!(parsed.iter().any(|&p| !p), "no seed is refused");
}

#[cfg(feature = "cli")]
#[test]
fn lists_seeds_pass() {
    let outcomes: Vec<_> = seeds("lists")
        .iter()
        .map(|(path, bytes)| {
            let o = framemix_fuzz::data::check_lists(bytes);
            eprintln!("lists: {} {o:?}", path.display());
            o
        })
        .collect();
    // Every format is reached, each both parsing and refusing.
    for format in mixdata::ListFormat::ALL {
        let of = |ok: bool| {
            outcomes
                .iter()
                .any(|o| o.format == Some(format) && o.entries.is_some() == ok)
        };
        assert!(of(true), "no {format} seed parses");
        assert!(of(false), "no {format} seed is refused");
    }
}

#[cfg(feature = "cli")]
#[test]
fn tensor_headers_seeds_pass() {
    let accepted: Vec<(u8, bool)> = seeds("tensor_headers")
        .iter()
        .map(|(_, bytes)| {
            (
                bytes.first().map_or(0, |b| b % 2),
                framemix_fuzz::tensor_headers::check(bytes),
            )
        })
        .collect();
    // Both parsers, each accepting and refusing.
    for parser in [0, 1] {
        assert!(
            accepted.contains(&(parser, true)),
            "parser {parser}: no seed accepted"
        );
        assert!(
            accepted.contains(&(parser, false)),
            "parser {parser}: no seed refused"
        );
    }
}
