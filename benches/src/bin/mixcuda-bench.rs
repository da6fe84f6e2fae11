//! `mixcuda-bench`: the GPU performance check of the mixcuda issue, cases a, b and c of the
//! performance issue (linear schedule, all frames, exact path, `tchw`, raw):
//!
//! - kernel: device-memory throughput of `Gpu::mix_device` (bytes of u8 read plus f32 written
//!   per second, CUDA events around back-to-back mixes) against a device-to-device copy that
//!   moves as many bytes (half read, half written); goal >= 0.7;
//! - end to end: `HostMixer::mix_pinned` (frames in pinned host memory to a finished output on
//!   the device, wall clock) against a plain pinned upload of the same frame bytes; goal >= 0.8;
//! - f16 output (docs/contract.md section 10): the same kernel and end-to-end timings into an
//!   `f16` output (2 bytes a value instead of 4), and the f32/f16 kernel time ratio.
//!
//! Every case is checked bit for bit against mixcore before any number is reported. The cases
//! and their frames are `mixbench`'s (`framemix_benches::CASES`, `Workload`).
//!
//! Usage: mixcuda-bench [--quick] [--json] [--device N]
//!
//! Build it with the `cuda` feature (`cargo build --release -p framemix-benches --features
//! cuda --bin mixcuda-bench`); without it, it says that mixcuda was built without CUDA.

use std::process::ExitCode;
use std::time::Instant;

use framemix_benches::{CASES, Case, Workload};
use mixcore::{Dtype, Geometry, Half, MixSpec};
use mixcuda::{Gpu, bench};

const KERNEL_GOAL: f64 = 0.7;
const E2E_GOAL: f64 = 0.8;

struct Row {
    name: &'static str,
    frames: u32,
    geometry: Geometry,
    bytes_read: u64,
    bytes_written: u64,
    kernel_s: f64,
    copy_s: f64,
    upload_bytes: u64,
    e2e_s: f64,
    pinned_s: f64,
    pageable_s: f64,
    stream_s: f64,
    /// Bytes the f16 mix writes.
    bytes_written_f16: u64,
    kernel_f16_s: f64,
    e2e_f16_s: f64,
}

impl Row {
    fn kernel_gbps(&self) -> f64 {
        (self.bytes_read + self.bytes_written) as f64 / self.kernel_s / 1e9
    }
    fn copy_gbps(&self) -> f64 {
        // The copy moved (read + written) / 2 bytes: as many bytes read and written in all.
        (self.bytes_read + self.bytes_written) as f64 / self.copy_s / 1e9
    }
    fn e2e_gbps(&self) -> f64 {
        self.upload_bytes as f64 / self.e2e_s / 1e9
    }
    fn pinned_gbps(&self) -> f64 {
        self.upload_bytes as f64 / self.pinned_s / 1e9
    }
    fn kernel_f16_gbps(&self) -> f64 {
        (self.bytes_read + self.bytes_written_f16) as f64 / self.kernel_f16_s / 1e9
    }
    fn e2e_f16_gbps(&self) -> f64 {
        self.upload_bytes as f64 / self.e2e_f16_s / 1e9
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run_case(gpu: &Gpu, case: &Case, rounds: usize, repeats: u32) -> Result<Row, String> {
    let err = |what: &str| {
        let what = what.to_string();
        move |e: mixcuda::Error| format!("case {}: {what}: {e}", case.name)
    };
    let w = Workload::new(*case);
    let g = w.geometry;
    let frame_bytes = g.elements().map_err(|e| e.to_string())?;
    let views = w.views();
    let plan = w.plan();
    let spec = MixSpec::default();
    let want = mixcore::mix_to_vec(&plan, &views, &spec).map_err(|e| e.to_string())?;

    let dplan = gpu
        .upload_plan(&plan, &spec)
        .map_err(err("uploading the plan"))?;
    let mut frames = gpu
        .alloc_frames(g, views.len())
        .map_err(err("allocating frames"))?;
    for (i, v) in views.iter().enumerate() {
        frames.upload(i, v).map_err(err("uploading frames"))?;
    }
    let mut out = gpu
        .alloc_output_for(&dplan, g)
        .map_err(err("allocating the output"))?;
    let check = |what: &str, out: &mixcuda::DeviceOutput| -> Result<(), String> {
        let got = out.to_vec().map_err(err("downloading the output"))?;
        match got
            .iter()
            .zip(&want)
            .position(|(a, b)| a.to_bits() != b.to_bits())
        {
            None if got.len() == want.len() => Ok(()),
            None => Err(format!("case {}: {what}: output length differs", case.name)),
            Some(i) => Err(format!(
                "case {}: {what}: element {i} is {} on the device but {} in mixcore",
                case.name, got[i], want[i]
            )),
        }
    };
    gpu.mix_device(&dplan, &frames, &mut out)
        .map_err(err("mix_device"))?;
    check("mix_device", &out)?;

    let (bytes_read, bytes_written) = dplan.traffic(g).map_err(err("traffic"))?;
    bench::mix_device_seconds(gpu, &dplan, &frames, &mut out, repeats).map_err(err("warm-up"))?;
    let kernel_s = median(
        (0..rounds)
            .map(|_| bench::mix_device_seconds(gpu, &dplan, &frames, &mut out, repeats))
            .collect::<Result<_, _>>()
            .map_err(err("timing the kernel"))?,
    );
    check("mix_device after timing", &out)?;
    let copy_bytes = ((bytes_read + bytes_written) / 2) as usize;
    bench::device_copy_seconds(gpu, copy_bytes, 1).map_err(err("copy warm-up"))?;
    let copy_s = median(
        (0..rounds)
            .map(|_| bench::device_copy_seconds(gpu, copy_bytes, repeats))
            .collect::<Result<_, _>>()
            .map_err(err("timing the device copy"))?,
    );

    // The f16 output: checked against mixcore::mix_half, then timed like the f32 one.
    let mut want_f16 = vec![0u16; want.len()];
    mixcore::mix_half(&plan, &views, &spec, Half::F16, &mut want_f16).map_err(|e| e.to_string())?;
    let mut out_f16 = gpu
        .alloc_output_for_typed(&dplan, g, Dtype::F16)
        .map_err(err("allocating the f16 output"))?;
    let check_f16 = |what: &str, out: &mixcuda::DeviceOutput| -> Result<(), String> {
        let got = out
            .to_vec_half()
            .map_err(err("downloading the f16 output"))?;
        match got.iter().zip(&want_f16).position(|(a, b)| a != b) {
            None if got.len() == want_f16.len() => Ok(()),
            None => Err(format!("case {}: {what}: output length differs", case.name)),
            Some(i) => Err(format!(
                "case {}: {what}: f16 element {i} is {:#06x} on the device but {:#06x} in mixcore",
                case.name, got[i], want_f16[i]
            )),
        }
    };
    gpu.mix_device(&dplan, &frames, &mut out_f16)
        .map_err(err("mix_device (f16)"))?;
    check_f16("mix_device (f16)", &out_f16)?;
    let (_, bytes_written_f16) = dplan.traffic_typed(g, Dtype::F16).map_err(err("traffic"))?;
    let kernel_f16_s = median(
        (0..rounds)
            .map(|_| bench::mix_device_seconds(gpu, &dplan, &frames, &mut out_f16, repeats))
            .collect::<Result<_, _>>()
            .map_err(err("timing the f16 kernel"))?,
    );
    check_f16("mix_device (f16) after timing", &out_f16)?;

    // End to end from pinned host memory.
    let mut pinned = gpu
        .alloc_pinned_frames(g, views.len())
        .map_err(err("pinned frames"))?;
    for (i, v) in views.iter().enumerate() {
        pinned.write(i, v).map_err(err("filling pinned frames"))?;
    }
    let upload_bytes = (dplan.needed_frames() * frame_bytes) as u64;
    let mut host = gpu.host_mixer();
    let mut e2e = Vec::new();
    let mut base = Vec::new();
    let mut pageable = Vec::new();
    let mut streamed = Vec::new();
    let mut e2e_f16 = Vec::new();
    host.mix_pinned(&dplan, &pinned, &mut out)
        .map_err(err("mix_pinned warm-up"))?;
    check("mix_pinned", &out)?;
    bench::pinned_upload_seconds(gpu, &pinned, upload_bytes as usize)
        .map_err(err("upload warm-up"))?;
    for _ in 0..rounds.max(3) {
        base.push(
            bench::pinned_upload_seconds(gpu, &pinned, upload_bytes as usize)
                .map_err(err("pinned upload"))?,
        );
        let t = Instant::now();
        host.mix_pinned(&dplan, &pinned, &mut out)
            .map_err(err("mix_pinned"))?;
        e2e.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        host.mix_pinned(&dplan, &pinned, &mut out_f16)
            .map_err(err("mix_pinned (f16)"))?;
        e2e_f16.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        host.mix(&dplan, &views, &mut out)
            .map_err(err("mix (pageable)"))?;
        pageable.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut s = gpu.stream_mixer(&dplan, g).map_err(err("stream mixer"))?;
        for (f, v) in views.iter().enumerate() {
            s.push(f as u32, v).map_err(err("stream push"))?;
        }
        s.finish(&mut out).map_err(err("stream finish"))?;
        streamed.push(t.elapsed().as_secs_f64());
    }
    check("stream mixer", &out)?;
    check_f16("mix_pinned (f16)", &out_f16)?;
    host.mix(&dplan, &views, &mut out)
        .map_err(err("mix (pageable)"))?;
    check("mix (pageable)", &out)?;
    Ok(Row {
        name: case.name,
        frames: case.frames,
        geometry: g,
        bytes_read,
        bytes_written,
        kernel_s,
        copy_s,
        upload_bytes,
        e2e_s: median(e2e),
        pinned_s: median(base),
        pageable_s: median(pageable),
        stream_s: median(streamed),
        bytes_written_f16,
        kernel_f16_s,
        e2e_f16_s: median(e2e_f16),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut quick = false;
    let mut json = false;
    let mut device = 0u32;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--json" => json = true,
            "--device" => match it.next().and_then(|d| d.parse().ok()) {
                Some(d) => device = d,
                None => {
                    eprintln!("mixcuda-bench: --device needs a device number");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: mixcuda-bench [--quick] [--json] [--device N]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("mixcuda-bench: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let gpu = match Gpu::new(device) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("mixcuda-bench: no GPU to measure: {e}");
            return ExitCode::from(1);
        }
    };
    let name = gpu.name().unwrap_or_else(|e| format!("unknown ({e})"));
    let (rounds, repeats) = if quick { (5, 10) } else { (11, 50) };
    let mut rows = Vec::new();
    for case in &CASES {
        match run_case(&gpu, case, rounds, repeats) {
            Ok(r) => rows.push(r),
            Err(e) => {
                eprintln!("mixcuda-bench: {e}");
                return ExitCode::from(1);
            }
        }
    }
    if json {
        let milli = |x: f64| (x * 1000.0).round() / 1000.0;
        let cases: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "frames": r.frames,
                    "width": r.geometry.width,
                    "height": r.geometry.height,
                    "verified": true,
                    "kernel_gbps": milli(r.kernel_gbps()),
                    "copy_gbps": milli(r.copy_gbps()),
                    "kernel_ratio": milli(r.kernel_gbps() / r.copy_gbps()),
                    "e2e_gbps": milli(r.e2e_gbps()),
                    "pinned_gbps": milli(r.pinned_gbps()),
                    "e2e_ratio": milli(r.e2e_gbps() / r.pinned_gbps()),
                    "pageable_gbps": milli(r.upload_bytes as f64 / r.pageable_s / 1e9),
                    "stream_gbps": milli(r.upload_bytes as f64 / r.stream_s / 1e9),
                    "kernel_us": (r.kernel_s * 1e8).round() / 100.0,
                    "copy_us": (r.copy_s * 1e8).round() / 100.0,
                    "kernel_f16_gbps": milli(r.kernel_f16_gbps()),
                    "kernel_f16_us": (r.kernel_f16_s * 1e8).round() / 100.0,
                    "f16_speedup": milli(r.kernel_s / r.kernel_f16_s),
                    "e2e_f16_gbps": milli(r.e2e_f16_gbps()),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "device": name,
                "kernel_goal": KERNEL_GOAL,
                "e2e_goal": E2E_GOAL,
                "cases": cases,
            })
        );
    } else {
        println!(
            "mixcuda-bench on {name} (linear, all frames, exact, tchw, raw; medians; outputs checked against mixcore)"
        );
        println!(
            "{:<4} {:>22} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7} {:>10} {:>10} {:>10} {:>7} {:>10}",
            "case",
            "input",
            "kernel",
            "d2d copy",
            "ratio",
            "e2e pin",
            "pin copy",
            "ratio",
            "pageable",
            "stream",
            "f16 kern",
            "speedup",
            "f16 e2e"
        );
        for r in &rows {
            let flag = |x: f64, goal: f64| if x >= goal { " " } else { "!" };
            let kr = r.kernel_gbps() / r.copy_gbps();
            let er = r.e2e_gbps() / r.pinned_gbps();
            println!(
                "{:<4} {:>22} {:>7.1} GB/s {:>5.1} GB/s {:>6.2}{} {:>5.1} GB/s {:>5.1} GB/s {:>6.2}{} {:>5.1} GB/s {:>5.1} GB/s {:>5.1} GB/s {:>6.2}x {:>5.1} GB/s",
                r.name,
                format!("{}x {}x{}x3", r.frames, r.geometry.width, r.geometry.height),
                r.kernel_gbps(),
                r.copy_gbps(),
                kr,
                flag(kr, KERNEL_GOAL),
                r.e2e_gbps(),
                r.pinned_gbps(),
                er,
                flag(er, E2E_GOAL),
                r.upload_bytes as f64 / r.pageable_s / 1e9,
                r.upload_bytes as f64 / r.stream_s / 1e9,
                r.kernel_f16_gbps(),
                r.kernel_s / r.kernel_f16_s,
                r.e2e_f16_gbps(),
            );
        }
        println!(
            "kernel: (u8 read + f32 written) / time vs a device copy moving as many bytes (goal >= {KERNEL_GOAL});"
        );
        println!(
            "e2e: needed frame bytes / wall time of HostMixer::mix_pinned vs one pinned upload (goal >= {E2E_GOAL}); ! = below goal"
        );
        println!(
            "f16: the same into an f16 output (u8 read + f16 written); speedup = f32 kernel time / f16 kernel time (goal >= 1)"
        );
    }
    ExitCode::SUCCESS
}
