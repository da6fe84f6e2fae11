//! mixcli `--device cuda` end to end, for whichever build cargo made for this test run. The
//! default build (`cargo test -p mixcli`) says it has no CUDA support. The build with the
//! `cuda` feature (`cargo test -p mixcli --features cuda`, its own step in scripts/test.sh)
//! either mixes on the GPU bit for bit like mixcore, or, on a machine without one, fails with
//! exit status 1 and a message naming the device problem; either way a failed run leaves no
//! output file. Each test prints which of these happened and which it skipped, so no run
//! passes silently.

mod support;

use std::path::Path;

use mixcore::{Epilogue, FramesPerSegment, Layout, MixSpec, PlanConfig};
use support::*;

const W: u32 = 24;
const H: u32 = 16;
const FRAMES: u32 = 9;

/// `mixcli --version` of `bin`.
fn version(bin: &Path) -> String {
    let out = run_bin(bin, ["--version"]);
    assert!(out.status.success(), "{bin:?} --version failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `mix VIDEO -o OUT --device DEVICE` with a plan and output options that are not the
/// defaults (so a backend that ignored them would differ).
fn mix_args(video: &Path, out: &Path, device: &str) -> Vec<String> {
    [
        "mix",
        &video.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
        "--device",
        device,
        "--segments",
        "3",
        "--frames",
        "2",
        "--layout",
        "thwc",
        "--scale",
        "unit",
    ]
    .map(str::to_string)
    .to_vec()
}

/// mixcore's result for [`mix_args`] on frames decoded independently by the ffmpeg program.
fn reference(video: &Path) -> Vec<f32> {
    let frames = decode_rgb(video, W, H);
    assert_eq!(frames.len(), FRAMES as usize);
    let config = PlanConfig {
        segments: 3,
        k: FramesPerSegment::Fixed(2),
        ..PlanConfig::default()
    };
    let spec = MixSpec {
        layout: Layout::Thwc,
        epilogue: Epilogue::Unit,
        ..MixSpec::default()
    };
    reference_mix(&frames, W, H, &config, &spec)
}

/// Asserts that `out` is a failure with exit status 1 whose message names `--device cuda` and
/// contains every one of `expected`, and that `dir` holds nothing but `keep`.
fn assert_clean_failure(out: &std::process::Output, expected: &[&str], dir: &Path, keep: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("mixcli: error: --device cuda: "),
        "{stderr}"
    );
    for e in expected {
        assert!(stderr.contains(e), "expected {e:?} in: {stderr}");
    }
    let left: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|f| dir.join(f) != keep)
        .collect();
    assert!(left.is_empty(), "files left after a failed run: {left:?}");
}

#[test]
fn cuda_default_build_says_it_has_no_cuda_support() {
    if cuda_build() {
        println!("skipped: this is the cuda-feature build; the default build's run checks this");
        return;
    }
    assert!(
        version(mixcli()).ends_with("(devices: cpu)"),
        "{}",
        version(mixcli())
    );
    let dir = TempDir::new("cuda-default");
    let video = make_video(dir.path(), "c.avi", Codec::Mjpeg, FRAMES, W, H);
    let out = run(mix_args(&video, &dir.join("o.npy"), "cuda"));
    assert_clean_failure(&out, &["built without CUDA support"], dir.path(), &video);
    let out = run([
        "batch".as_ref(),
        video.as_os_str(),
        "--out-dir".as_ref(),
        dir.join("out").as_os_str(),
        "--device".as_ref(),
        "cuda".as_ref(),
    ]);
    assert_clean_failure(&out, &["built without CUDA support"], dir.path(), &video);
}

#[test]
fn cuda_feature_build_mixes_exactly_or_names_the_missing_device() {
    if !cuda_build() {
        println!(
            "SKIPPED: mixcli was built without the `cuda` feature for this run; \
             `cargo test -p mixcli --features cuda` (a step of scripts/test.sh) runs this test"
        );
        return;
    }
    let bin = mixcli();
    assert!(
        version(bin).ends_with("(devices: cpu, cuda)"),
        "{}",
        version(bin)
    );
    let dir = TempDir::new("cuda-feature");
    let video = make_video(dir.path(), "c.avi", Codec::Mjpeg, FRAMES, W, H);
    let want = reference(&video);

    // The CPU path of the CUDA build is unchanged.
    let cpu_npy = dir.join("cpu.npy");
    let cpu = run_bin(bin, mix_args(&video, &cpu_npy, "cpu"));
    assert!(
        cpu.status.success(),
        "{}",
        String::from_utf8_lossy(&cpu.stderr)
    );
    assert_bits_eq(&read_npy(&cpu_npy).1, &want, "--device cpu (cuda build)");
    std::fs::remove_file(&cpu_npy).unwrap();

    let gpu_npy = dir.join("gpu.npy");
    let gpu = run_bin(bin, mix_args(&video, &gpu_npy, "cuda"));
    // Half outputs of the GPU's mix: its f32 result rounded on the host, the contract's bits.
    let half_args = |out: &Path, dtype: &str| {
        let mut args = mix_args(&video, out, "cuda");
        args.extend(["--dtype", dtype, "--format", "safetensors"].map(str::to_string));
        args
    };
    let gpu_f16 = dir.join("gpu-f16.safetensors");
    let gpu_bf16 = dir.join("gpu-bf16.safetensors");
    if gpu.status.success() {
        assert_bits_eq(&read_npy(&gpu_npy).1, &want, "--device cuda");
        for (path, dtype) in [(&gpu_f16, "f16"), (&gpu_bf16, "bf16")] {
            let r = run_bin(bin, half_args(path, dtype));
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        }
        let f16: Vec<u16> = want
            .iter()
            .map(|&x| half::f16::from_f32(x).to_bits())
            .collect();
        let bf16: Vec<u16> = want
            .iter()
            .map(|&x| half::bf16::from_f32(x).to_bits())
            .collect();
        assert_eq!(
            u16s(&read_safetensors(&gpu_f16).data),
            f16,
            "--device cuda --dtype f16"
        );
        assert_eq!(
            u16s(&read_safetensors(&gpu_bf16).data),
            bf16,
            "--device cuda --dtype bf16"
        );
        println!("CUDA device found: --device cuda matched mixcore bit for bit (f32, f16, bf16)");
        return;
    }
    // No usable GPU: the driver's reason, named as a device problem, and nothing written.
    let mut expected = vec!["no usable CUDA device (CUDA error "];
    if !Path::new("/dev/nvidiactl").exists() {
        // No NVIDIA kernel driver at all: the driver library's CUDA_ERROR_NO_DEVICE.
        expected.push("no CUDA-capable device is detected");
    }
    assert_clean_failure(&gpu, &expected, dir.path(), &video);
    let half = run_bin(bin, half_args(&gpu_bf16, "bf16"));
    assert_clean_failure(&half, &expected, dir.path(), &video);
    let out = run_bin(
        bin,
        [
            "batch".as_ref(),
            video.as_os_str(),
            "--out-dir".as_ref(),
            dir.join("out").as_os_str(),
            "--device".as_ref(),
            "cuda".as_ref(),
        ],
    );
    assert_clean_failure(&out, &expected, dir.path(), &video);
    println!(
        "no CUDA device here: --device cuda failed cleanly: {}",
        String::from_utf8_lossy(&gpu.stderr).trim()
    );
}
