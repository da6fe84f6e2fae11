//! `mixbench`: the performance issue's cases a, b and c in one process.
//!
//! For each case it measures (median GB/s of u8 input, single thread unless noted) a streaming
//! read of the same bytes, the scalar reference, the portable SIMD backend, the fastest exact
//! kernel on one thread and on every thread, the AVX2 and AVX-512 backends' exact kernels on
//! one thread (`exact_avx2_1t`, `exact_avx512_1t`; a backend this CPU lacks is left out, with
//! a line on stderr), the float path and the streaming mixer, and each
//! one's ratio to the read: every kernel call alternates with a read of the same bytes, and
//! the ratio is the median over those back-to-back pairs (on a shared host the machine's speed
//! drifts between seconds, so two medians taken apart compare different machines). Every
//! kernel's output is checked bit for bit against the reference before any number is reported.
//!
//!     cargo run --release --bin mixbench -- [--quick] [--json] [--case a|b|c]...
//!
//! `--case` (repeatable) runs only the named cases. `read_mt` is the same read on every
//! thread (each its own chunks), with its ratio to the one-thread read: the ceiling for what
//! `exact_mt` can gain over `exact_1t` on this machine. Inputs and outputs are 2 MiB-aligned
//! with huge pages requested, as NumPy's large arrays and the C peer's buffers are.
//!
//! Half-precision outputs beyond `exact_f16_1t` (the fastest backend's f16): `exact_bf16_1t`,
//! and with the AVX2 backend `exact_avx2_f16_1t` and `exact_avx2_bf16_1t`, each checked
//! against the reference rounded to its format, reported as GB/s and ratio to the read, and as
//! its speed relative to the same backend's f32 output (`exact_f16_1t_vs_f32` etc.: the
//! median over back-to-back pairs of the f32 call's time over the half call's).
//!
//! With `--features peer` (gcc with OpenMP, and the shared bench's `limits.c`: see
//! `benches/build.rs`) it also runs the C peer kernel in the same process: its best
//! configuration of `limits.c`'s one-thread grid for the case, its GB/s and ratio to the read
//! (`peer_gbps`, `peer_ratio`), and for each exact one-thread variant its speed relative to
//! the peer, the median over back-to-back pairs of calls (`exact_avx512_1t_vs_peer` etc.).
//!
//!     cargo run --release -p framemix-benches --features peer --bin mixbench -- --json

use std::process::ExitCode;

use serde_json::{Map, Value, json};

use framemix_benches::{
    CASES, HugeBuf, Scratch, Variant, Workload, gbps, keep, median, median_ratio, paired_times,
    read_baseline, read_baseline_par, run,
};
use mixcore::{Backend, FloatWeights, Half, MixPath, MixSpec};

struct Row {
    name: &'static str,
    baseline: f64,
    /// The read on every thread, paired with the read on one: (median GB/s, median ratio).
    baseline_mt: (f64, f64),
    /// Per variant: median GB/s, and the median over back-to-back pairs of its speed
    /// relative to the read.
    results: Vec<(Variant, f64, f64)>,
    /// Half-precision outputs against the same backend's f32: JSON fields.
    halves: Vec<(String, f64)>,
    /// The C peer (feature `peer`): its configuration, then JSON fields.
    peer: Option<(String, Vec<(String, f64)>)>,
}

fn main() -> ExitCode {
    let mut quick = false;
    let mut json = false;
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--json" => json = true,
            "--case" => match args.next() {
                Some(name) if CASES.iter().any(|c| c.name == name) => only.push(name),
                other => {
                    eprintln!("mixbench: --case needs one of a, b, c (got {other:?})");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!(
                    "mixbench: unknown argument {a:?} (expected --quick, --json, --case NAME)"
                );
                return ExitCode::from(2);
            }
        }
    }
    // A backend this CPU lacks is not measured (its variant would time the fallback).
    let variants: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| {
            let ok = v.is_available();
            if !ok {
                eprintln!(
                    "mixbench: SKIPPED {}: this CPU lacks its backend ({:?})",
                    v.name(),
                    v.backend()
                );
            }
            ok
        })
        .collect();
    let mut rows = Vec::new();
    for case in CASES
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|n| n == c.name))
    {
        let w = Workload::new(case);
        let frames = w.views();
        let plan = w.plan();
        let mut scratch = Scratch::default();
        // The contract first: every variant equals the reference, bit for bit.
        let mut reference = HugeBuf::new(w.output_len(), 0f32);
        run(
            &w,
            &frames,
            Variant::Reference,
            &mut reference,
            &mut scratch,
        );
        let mut float_ref = HugeBuf::new(w.output_len(), 0f32);
        let fspec = MixSpec {
            path: MixPath::Float(FloatWeights::Schedule),
            backend: mixcore::Backend::Reference,
            ..MixSpec::default()
        };
        mixcore::mix(&plan, &frames, &fspec, &mut float_ref).expect("float reference");
        let mut out = HugeBuf::new(w.output_len(), 0f32);
        for &v in &variants {
            out.fill(f32::NAN);
            run(&w, &frames, v, &mut out, &mut scratch);
            if v == Variant::ExactF16 {
                let half = scratch.half.as_deref().unwrap_or(&[]);
                let differs = if half.len() == reference.len() {
                    (0..half.len()).find(|&j| half[j] != Half::F16.bits(reference[j]))
                } else {
                    Some(0)
                };
                if let Some(j) = differs {
                    eprintln!(
                        "mixbench: case {}: {} differs from the reference rounded to f16 at element {j}",
                        case.name,
                        v.name()
                    );
                    return ExitCode::FAILURE;
                }
                continue;
            }
            let expect = if v == Variant::Float {
                &float_ref
            } else {
                &reference
            };
            if let Some(j) = (0..out.len()).find(|&j| out[j].to_bits() != expect[j].to_bits()) {
                eprintln!(
                    "mixbench: case {}: {} differs from the reference at element {j}",
                    case.name,
                    v.name()
                );
                return ExitCode::FAILURE;
            }
        }
        let bytes = w.input_bytes();
        let reps = match (quick, case.name) {
            (true, "a") => 15,
            (true, _) => 5,
            (false, "a") => 101,
            (false, _) => 21,
        };
        // Every kernel call alternates with a read of the same bytes: the ratio is the median
        // over those back-to-back pairs, so a slower or faster spell of this machine touches
        // both sides of a pair alike. The baseline's GB/s is the median over all its calls.
        let mut base_times = Vec::new();
        let (tb, tp) = paired_times(
            reps,
            || {
                keep(read_baseline(keep(&w.bytes)));
            },
            || {
                keep(read_baseline_par(keep(&w.bytes)));
            },
        );
        let baseline_mt = (gbps(bytes, median(&tp)), median_ratio(&tb, &tp));
        let mut results = Vec::new();
        for &v in &variants {
            let r = if v == Variant::Reference {
                reps.min(5)
            } else {
                reps
            };
            let (tb, tv) = paired_times(
                r,
                || {
                    keep(read_baseline(keep(&w.bytes)));
                },
                || run(&w, &frames, v, &mut out, &mut scratch),
            );
            results.push((v, gbps(bytes, median(&tv)), median_ratio(&tb, &tv)));
            base_times.extend(tb);
        }
        let halves = match measure_halves(&w, &frames, &variants, &reference, reps, &mut out) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("mixbench: case {}: {e}", case.name);
                return ExitCode::FAILURE;
            }
        };
        #[cfg(feature = "peer")]
        let peer = match peer::measure(&w, &frames, &variants, reps, &mut out, &mut scratch) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("mixbench: case {}: {e}", case.name);
                return ExitCode::FAILURE;
            }
        };
        #[cfg(not(feature = "peer"))]
        let peer = None;
        rows.push(Row {
            name: case.name,
            baseline: gbps(bytes, median(&base_times)),
            baseline_mt,
            results,
            halves,
            peer,
        });
    }
    if json {
        let cases: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut fields = Map::new();
                fields.insert("name".into(), json!(r.name));
                fields.insert("baseline_gbps".into(), json!(milli(r.baseline)));
                fields.insert("baseline_mt_gbps".into(), json!(milli(r.baseline_mt.0)));
                fields.insert("baseline_mt_ratio".into(), json!(milli(r.baseline_mt.1)));
                for (v, g, _) in &r.results {
                    fields.insert(format!("{}_gbps", v.name()), json!(milli(*g)));
                }
                for (v, _, ratio) in &r.results {
                    fields.insert(format!("{}_ratio", v.name()), json!(milli(*ratio)));
                }
                for (k, x) in &r.halves {
                    fields.insert(k.clone(), json!(milli(*x)));
                }
                if let Some((config, peer)) = &r.peer {
                    fields.insert("peer_config".into(), json!(config));
                    for (k, x) in peer {
                        fields.insert(k.to_string(), json!(milli(*x)));
                    }
                }
                Value::Object(fields)
            })
            .collect();
        println!(
            "{}",
            json!({"threads": rayon::current_num_threads(), "cases": cases})
        );
    } else {
        println!(
            "GB/s of u8 input (median), ratio to a streaming read of the same bytes (median over back-to-back pairs); {} threads for exact_mt",
            rayon::current_num_threads()
        );
        print!("{:<5} {:>9} {:>16}", "case", "read", "read_mt");
        for &v in &variants {
            print!(" {:>16}", v.name());
        }
        println!();
        for r in &rows {
            print!(
                "{:<5} {:>9.2} {:>8.2} ({:>4.2})",
                r.name, r.baseline, r.baseline_mt.0, r.baseline_mt.1
            );
            for (_, g, ratio) in &r.results {
                print!(" {g:>8.2} ({ratio:>4.2})");
            }
            println!();
        }
        for r in &rows {
            let fields: Vec<String> = r
                .halves
                .iter()
                .map(|(k, x)| format!("{k} {x:.2}"))
                .collect();
            println!("{}: halves: {}", r.name, fields.join(", "));
        }
        for r in &rows {
            if let Some((config, peer)) = &r.peer {
                let fields: Vec<String> = peer.iter().map(|(k, x)| format!("{k} {x:.2}")).collect();
                println!("{}: C peer [{config}]: {}", r.name, fields.join(", "));
            }
        }
    }
    ExitCode::SUCCESS
}

/// The half-precision outputs not in [`Variant`]: bf16 from the fastest backend, f16 and bf16
/// from AVX2 (where this CPU has it), each checked against `reference` rounded to its format,
/// then measured against the read (`<name>_gbps`, `<name>_ratio`) and against the same
/// backend's f32 call (`<name>_vs_f32`); also `exact_f16_1t_vs_f32`.
fn measure_halves(
    w: &Workload,
    frames: &[mixcore::FrameView<'_>],
    variants: &[Variant],
    reference: &[f32],
    reps: usize,
    out: &mut [f32],
) -> Result<Vec<(String, f64)>, String> {
    let plan = w.plan();
    let bytes = w.input_bytes();
    let mut half_out = HugeBuf::new(out.len(), 0u16);
    let mut fields = Vec::new();
    let cases = [
        ("exact_f16_1t", Backend::Auto, Half::F16, Variant::Exact),
        ("exact_bf16_1t", Backend::Auto, Half::Bf16, Variant::Exact),
        (
            "exact_avx2_f16_1t",
            Backend::Avx2,
            Half::F16,
            Variant::ExactAvx2,
        ),
        (
            "exact_avx2_bf16_1t",
            Backend::Avx2,
            Half::Bf16,
            Variant::ExactAvx2,
        ),
    ];
    for (name, backend, half, f32_variant) in cases {
        if !variants.contains(&f32_variant) {
            continue;
        }
        let spec = MixSpec {
            backend,
            ..MixSpec::default()
        };
        let call = |o: &mut [u16]| {
            mixcore::mix_half(&plan, frames, &spec, half, o).expect("mix_half");
        };
        half_out.fill(0xffff);
        call(&mut half_out);
        if let Some(j) = (0..out.len()).find(|&j| half_out[j] != half.bits(reference[j])) {
            return Err(format!(
                "{name} differs from the reference rounded to {half:?} at element {j}"
            ));
        }
        // (`exact_f16_1t` itself is a variant, measured against the read above.)
        if name != "exact_f16_1t" {
            let (tb, th) = paired_times(
                reps,
                || {
                    keep(read_baseline(keep(&w.bytes)));
                },
                || call(&mut half_out),
            );
            fields.push((format!("{name}_gbps"), gbps(bytes, median(&th))));
            fields.push((format!("{name}_ratio"), median_ratio(&tb, &th)));
        }
        let mut scratch = Scratch::default();
        let (tf, th) = paired_times(
            reps,
            || run(w, frames, f32_variant, out, &mut scratch),
            || call(&mut half_out),
        );
        fields.push((format!("{name}_vs_f32"), median_ratio(&tf, &th)));
    }
    Ok(fields)
}

/// The C peer (`--features peer`), measured like the variants and against them.
#[cfg(feature = "peer")]
mod peer {
    use framemix_benches::peer::{PeerConfig, peer_mix};
    use framemix_benches::{
        HugeBuf, Scratch, Variant, Workload, gbps, keep, median, median_ratio, median_time,
        paired_times, read_baseline, run,
    };
    use mixcore::FrameView;

    /// The peer's best configuration for `w` (fewest median seconds over a few calls each),
    /// then, over `reps` back-to-back pairs: its GB/s and speed relative to the read
    /// (`peer_gbps`, `peer_ratio`), and the speed of each exact single-thread variant (f16
    /// included) relative to it (`<variant>_vs_peer`: the median over pairs of the peer's time over ours).
    pub fn measure(
        w: &Workload,
        frames: &[FrameView<'_>],
        variants: &[Variant],
        reps: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
    ) -> Result<(String, Vec<(String, f64)>), String> {
        let n = w.geometry.elements().unwrap_or(0);
        let mut pout = HugeBuf::new(8 * n, f32::NAN);
        let tries = if w.case.name == "a" { 9 } else { 3 };
        let mut best: Option<(std::time::Duration, PeerConfig)> = None;
        for cfg in PeerConfig::grid(n) {
            if !peer_mix(w, &mut pout, cfg) {
                return Err(format!("the C peer refused {}", cfg.name()));
            }
            let t = median_time(tries, || {
                peer_mix(w, &mut pout, cfg);
            });
            if best.is_none_or(|(b, _)| t < b) {
                best = Some((t, cfg));
            }
        }
        let Some((_, cfg)) = best else {
            return Err("the C peer has no configuration".into());
        };
        if pout.iter().any(|v| v.is_nan()) {
            return Err("the C peer left output unwritten".into());
        }
        let bytes = w.input_bytes();
        let call = |pout: &mut HugeBuf<f32>| {
            peer_mix(w, pout, cfg);
        };
        let (tb, tp) = paired_times(
            reps,
            || {
                keep(read_baseline(keep(&w.bytes)));
            },
            || call(&mut pout),
        );
        let mut fields = vec![
            ("peer_gbps".to_string(), gbps(bytes, median(&tp))),
            ("peer_ratio".to_string(), median_ratio(&tb, &tp)),
        ];
        for &v in variants {
            if !matches!(
                v,
                Variant::Exact | Variant::ExactAvx2 | Variant::ExactAvx512 | Variant::ExactF16
            ) {
                continue;
            }
            // The peer first in each pair, ours second; the ratio is the peer's time over ours.
            let (tp, tv) =
                paired_times(reps, || call(&mut pout), || run(w, frames, v, out, scratch));
            fields.push((format!("{}_vs_peer", v.name()), median_ratio(&tp, &tv)));
        }
        Ok((cfg.name(), fields))
    }
}

/// `x` rounded to three decimals, as the JSON reports measurements.
fn milli(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
