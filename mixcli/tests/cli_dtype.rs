//! `--dtype f32|f16|bf16` and `--format npy|safetensors` end to end: every half output is the
//! `f32` output of the same command rounded to nearest, ties to even (checked bit for bit
//! against the `half` crate, independently of mixcore's conversion), bf16 in `.npy` is refused,
//! and `batch` resumes only outputs of the run's type and format.

mod support;

use std::path::{Path, PathBuf};

use support::*;

fn strings(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<std::ffi::OsString> {
    args.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// Runs `mix` of `input` to `out` with `options` and the common plan.
fn mix(input: &Path, out: &Path, options: &[&str]) {
    let mut args = strings(&[&"mix", &input, &"-o", &out, &"--segments", &"4"]);
    args.extend(options.iter().map(Into::into));
    run_ok(args);
}

#[test]
fn mix_half_outputs_are_the_f32_output_rounded_to_nearest_even() {
    let dir = TempDir::new("dtype-mix");
    let video = make_video(dir.path(), "v.mp4", Codec::H264, 11, 32, 24);
    // Raw values (N/D, many not representable in f16 or bf16) and normalised ones (negative,
    // small).
    for scale in ["raw", "imagenet"] {
        let f32_out = dir.join(format!("{scale}-f32.npy"));
        mix(&video, &f32_out, &["--scale", scale]);
        let (shape, want) = read_npy(&f32_out);
        // The test means something only if rounding changes values of both formats.
        assert!(want.iter().any(|&x| half::f16::from_f32(x).to_f32() != x));
        assert!(want.iter().any(|&x| half::bf16::from_f32(x).to_f32() != x));

        let npy16 = dir.join(format!("{scale}-f16.npy"));
        mix(&video, &npy16, &["--scale", scale, "--dtype", "f16"]);
        let (s, bits) = read_npy_f16(&npy16);
        assert_eq!(s, shape);
        assert_eq!(bits, f16_of(&want), "{scale}: f16 .npy");

        for (dtype, name, oracle) in [
            ("f32", "F32", None),
            ("f16", "F16", Some(f16_of(&want))),
            ("bf16", "BF16", Some(bf16_of(&want))),
        ] {
            let st = dir.join(format!("{scale}-{dtype}.safetensors"));
            mix(
                &video,
                &st,
                &[
                    "--scale",
                    scale,
                    "--dtype",
                    dtype,
                    "--format",
                    "safetensors",
                ],
            );
            let t = read_safetensors(&st);
            assert_eq!((t.name.as_str(), t.dtype.as_str()), ("mixed", name));
            assert_eq!(t.shape, shape);
            match oracle {
                Some(bits) => assert_eq!(u16s(&t.data), bits, "{scale}: {dtype} safetensors"),
                None => assert_bits_eq(&f32s(&t.data), &want, "f32 safetensors"),
            }
            assert_eq!(t.metadata["dtype"], dtype);
            assert!(
                t.metadata["producer"]
                    .as_str()
                    .unwrap()
                    .starts_with("mixcli ")
            );
            let segments = json(t.metadata["segments"].as_str().unwrap());
            assert_eq!(segments.as_array().unwrap().len(), 4);
            assert_eq!(t.metadata["frames"], "11");
        }
    }
    // A .safetensors name picks the format without --format.
    let named = dir.join("named.safetensors");
    mix(&video, &named, &["--dtype", "bf16"]);
    assert_eq!(read_safetensors(&named).dtype, "BF16");
    assert_no_partial_outputs(dir.path());
}

#[test]
fn bf16_in_npy_is_a_usage_error_that_names_the_way_out() {
    let dir = TempDir::new("dtype-bf16-npy");
    let video = make_video(dir.path(), "v.mp4", Codec::H264, 5, 16, 16);
    let out = dir.join("x.npy");
    let old = dir.join("old.npy");
    std::fs::write(&old, b"an older file").unwrap();
    for target in [&out, &old] {
        let r = run(strings(&[
            &"mix", &video, &"-o", target, &"--dtype", &"bf16",
        ]));
        assert_eq!(r.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(stderr.contains("numpy has no bfloat16"), "{stderr}");
        assert!(stderr.contains("--format safetensors"), "{stderr}");
    }
    assert!(!out.exists());
    assert_eq!(std::fs::read(&old).unwrap(), b"an older file");
    let o = dir.join("out");
    let r = run(strings(&[
        &"batch",
        &video,
        &"--out-dir",
        &o,
        &"--dtype",
        &"BF16",
        &"--format",
        &"npy",
    ]));
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("numpy has no bfloat16"));
    assert!(!o.exists() || files_under(&o).is_empty());
    // An unknown type is refused by the parser, listing the types.
    let r = run(strings(&[&"mix", &video, &"-o", &out, &"--dtype", &"f64"]));
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("f16"));
    // A --format that the output's own extension contradicts is refused before anything is
    // written: an older file of that name is left as it was.
    for (target, format) in [(&out, "safetensors"), (&old, "safetensors")] {
        let r = run(strings(&[
            &"mix",
            &video,
            &"-o",
            target,
            &"--format",
            &format,
        ]));
        assert_eq!(r.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(
            stderr.contains("--format safetensors contradicts"),
            "{stderr}"
        );
    }
    let st = dir.join("x.safetensors");
    let r = run(strings(&[&"mix", &video, &"-o", &st, &"--format", &"npy"]));
    assert_eq!(r.status.code(), Some(2));
    assert!(!out.exists() && !st.exists());
    assert_eq!(std::fs::read(&old).unwrap(), b"an older file");
}

/// Two videos under `data/`.
fn two_videos(root: &Path) -> PathBuf {
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    make_video(&data, "a.mp4", Codec::H264, 9, 24, 16);
    make_video(&data, "b.webm", Codec::Vp9, 7, 24, 16);
    data
}

fn batch(data: &Path, out: &Path, options: &[&str]) -> String {
    let mut args = strings(&[&"batch", &data, &"--out-dir", &out, &"--segments", &"3"]);
    args.extend(options.iter().map(Into::into));
    let r = run(args);
    let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    assert!(r.status.success(), "{stderr}");
    stderr
}

#[test]
fn batch_resumes_only_outputs_of_the_same_dtype_and_format() {
    let dir = TempDir::new("dtype-batch");
    let data = two_videos(dir.path());
    let out = dir.join("out");
    let e = batch(&data, &out, &[]);
    assert!(e.contains("2 mixed, 0 skipped"), "{e}");
    let f32_a = read_npy(&out.join("a.npy")).1;
    let f32_b = read_npy(&out.join("b.npy")).1;
    let e = batch(&data, &out, &["--dtype", "f32", "--format", "npy"]);
    assert!(e.contains("0 mixed, 2 skipped"), "{e}");

    // f16 in .npy: the same file names, redone (stale), then current.
    let e = batch(&data, &out, &["--dtype", "f16"]);
    assert!(
        e.contains("2 mixed, 0 skipped") && e.contains("2 stale"),
        "{e}"
    );
    assert_eq!(read_npy_f16(&out.join("a.npy")).1, f16_of(&f32_a));
    assert_eq!(read_npy_f16(&out.join("b.npy")).1, f16_of(&f32_b));
    let record = json(&std::fs::read_to_string(out.join("a.npy.json")).unwrap());
    assert_eq!(record["key"]["store"]["dtype"], "f16");
    assert_eq!(record["output"]["dtype"], "f16");
    let e = batch(&data, &out, &["--dtype", "f16"]);
    assert!(e.contains("0 mixed, 2 skipped"), "{e}");
    // Back to f32: the f16 files are not taken for f32 ones.
    let e = batch(&data, &out, &[]);
    assert!(e.contains("2 mixed, 0 skipped"), "{e}");
    assert_bits_eq(&read_npy(&out.join("a.npy")).1, &f32_a, "a back in f32");

    // safetensors: other files (.safetensors), the .npy left as they are.
    let npy_before = std::fs::read(out.join("a.npy")).unwrap();
    let e = batch(&data, &out, &["--dtype", "bf16", "--format", "safetensors"]);
    assert!(e.contains("2 mixed, 0 skipped"), "{e}");
    let t = read_safetensors(&out.join("a.safetensors"));
    assert_eq!(u16s(&t.data), bf16_of(&f32_a));
    assert_eq!(std::fs::read(out.join("a.npy")).unwrap(), npy_before);
    assert!(out.join("a.safetensors.json").is_file());
    let e = batch(&data, &out, &["--dtype", "bf16", "--format", "safetensors"]);
    assert!(e.contains("0 mixed, 2 skipped"), "{e}");
    // f16 safetensors is another type in the same files: redone.
    let e = batch(&data, &out, &["--dtype", "f16", "--format", "safetensors"]);
    assert!(
        e.contains("2 mixed, 0 skipped") && e.contains("2 stale"),
        "{e}"
    );
    assert_eq!(
        u16s(&read_safetensors(&out.join("b.safetensors")).data),
        f16_of(&f32_b)
    );
    assert_no_partial_outputs(&out);
}

#[test]
fn batch_redoes_a_damaged_safetensors_output_like_a_damaged_npy() {
    let dir = TempDir::new("dtype-damaged");
    let data = two_videos(dir.path());
    let out = dir.join("out");
    let opts = ["--dtype", "f16", "--format", "safetensors"];
    batch(&data, &out, &opts);
    let a = out.join("a.safetensors");
    let b = out.join("b.safetensors");
    let (good_a, good_b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // a: truncated (a run killed mid-copy, a full disk); b: its header no longer the one
    // mixcli wrote (a tensor of another type).
    std::fs::write(&a, &good_a[..good_a.len() - 3]).unwrap();
    let mut bad = good_b.clone();
    let at = bad.windows(5).position(|w| w == b"\"F16\"").unwrap();
    bad[at..at + 5].copy_from_slice(b"\"I16\"");
    std::fs::write(&b, &bad).unwrap();
    let e = batch(&data, &out, &opts);
    assert!(e.contains("2 mixed, 0 skipped"), "{e}");
    assert_eq!(std::fs::read(&a).unwrap(), good_a);
    assert_eq!(std::fs::read(&b).unwrap(), good_b);
    // A header length beyond the file, and a file of garbage.
    std::fs::write(&a, u64::MAX.to_le_bytes()).unwrap();
    std::fs::write(&b, b"not a tensor").unwrap();
    let e = batch(&data, &out, &opts);
    assert!(e.contains("2 mixed, 0 skipped"), "{e}");
    assert_eq!(std::fs::read(&a).unwrap(), good_a);
    assert_no_partial_outputs(&out);
}

#[test]
fn batch_index_states_dtype_and_format() {
    let dir = TempDir::new("dtype-index");
    let data = two_videos(dir.path());
    std::fs::write(data.join("list.txt"), "a.mp4 3\nb.webm 1\n").unwrap();
    let out = dir.join("out");
    let list = data.join("list.txt");
    let run_list = || {
        let r = run(strings(&[
            &"batch",
            &"--list",
            &list,
            &"--out-dir",
            &out,
            &"--segments",
            &"3",
            &"--dtype",
            &"bf16",
            &"--format",
            &"safetensors",
        ]));
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        std::fs::read_to_string(out.join("index.jsonl")).unwrap()
    };
    let first = run_list();
    let lines: Vec<Json> = first.lines().map(json).collect();
    assert_eq!(lines.len(), 2);
    for (line, name) in lines.iter().zip(["a.safetensors", "b.safetensors"]) {
        assert_eq!(line["output"], name);
        assert_eq!(line["dtype"], "bf16");
        assert_eq!(line["format"], "safetensors");
        let t = read_safetensors(&out.join(name));
        assert_eq!(
            u64s(&line["shape"]),
            t.shape.iter().map(|&d| d as u64).collect::<Vec<_>>()
        );
    }
    // Resumed (skipped outputs' lines come from their records): the same index.
    assert_eq!(run_list(), first);
}

#[test]
fn half_outputs_go_to_standard_output_too() {
    let dir = TempDir::new("dtype-stdout");
    let video = make_video(dir.path(), "v.mp4", Codec::H264, 6, 16, 16);
    let file = dir.join("f.safetensors");
    mix(&video, &file, &["--dtype", "bf16"]);
    let r = run(strings(&[
        &"mix",
        &video,
        &"-o",
        &"-",
        &"--segments",
        &"4",
        &"--dtype",
        &"bf16",
        &"--format",
        &"safetensors",
    ]));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(r.stdout, std::fs::read(&file).unwrap());
    let npy = dir.join("f.npy");
    mix(&video, &npy, &["--dtype", "f16"]);
    let r = run(strings(&[
        &"mix",
        &video,
        &"-o",
        &"-",
        &"--segments",
        &"4",
        &"--dtype",
        &"f16",
    ]));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(r.stdout, std::fs::read(&npy).unwrap());
}
