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
//! `exact_mt` can gain over `exact_1t` on this machine.

use std::process::ExitCode;

use framemix_benches::{
    CASES, Scratch, Variant, Workload, gbps, keep, median, median_ratio, paired_times,
    read_baseline, read_baseline_par, run,
};
use mixcore::{FloatWeights, MixPath, MixSpec};

struct Row {
    name: &'static str,
    baseline: f64,
    /// The read on every thread, paired with the read on one: (median GB/s, median ratio).
    baseline_mt: (f64, f64),
    /// Per variant: median GB/s, and the median over back-to-back pairs of its speed
    /// relative to the read.
    results: Vec<(Variant, f64, f64)>,
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
        let mut reference = vec![0f32; w.output_len()];
        run(
            &w,
            &frames,
            Variant::Reference,
            &mut reference,
            &mut scratch,
        );
        let mut float_ref = vec![0f32; w.output_len()];
        let fspec = MixSpec {
            path: MixPath::Float(FloatWeights::Schedule),
            backend: mixcore::Backend::Reference,
            ..MixSpec::default()
        };
        mixcore::mix(&plan, &frames, &fspec, &mut float_ref).expect("float reference");
        let mut out = vec![0f32; w.output_len()];
        for &v in &variants {
            out.fill(f32::NAN);
            run(&w, &frames, v, &mut out, &mut scratch);
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
        rows.push(Row {
            name: case.name,
            baseline: gbps(bytes, median(&base_times)),
            baseline_mt,
            results,
        });
    }
    if json {
        let cases: Vec<String> = rows
            .iter()
            .map(|r| {
                let mut fields = vec![
                    format!("\"name\": \"{}\"", r.name),
                    format!("\"baseline_gbps\": {:.3}", r.baseline),
                    format!("\"baseline_mt_gbps\": {:.3}", r.baseline_mt.0),
                    format!("\"baseline_mt_ratio\": {:.3}", r.baseline_mt.1),
                ];
                for (v, g, _) in &r.results {
                    fields.push(format!("\"{}_gbps\": {g:.3}", v.name()));
                }
                for (v, _, ratio) in &r.results {
                    fields.push(format!("\"{}_ratio\": {ratio:.3}", v.name()));
                }
                format!("{{{}}}", fields.join(", "))
            })
            .collect();
        println!(
            "{{\"threads\": {}, \"cases\": [{}]}}",
            rayon::current_num_threads(),
            cases.join(", ")
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
    }
    ExitCode::SUCCESS
}
