//! Device tests: the CUDA kernels against mixcore, bit for bit, on a real GPU.
//!
//! Without a device every test prints `<name>: skipped: no CUDA device found (...)` and returns;
//! with `FRAMEMIX_REQUIRE_GPU=1` (scripts/gpu-check.sh sets it) a missing device fails instead,
//! so a GPU run can never pass by skipping.
#![cfg(feature = "cuda")]

use mixcore::{
    Backend, Dtype, Epilogue, FloatWeights, FrameView, FramesPerSegment, Geometry, Half, Layout,
    MixPath, MixSpec, Mode, Plan, PlanConfig, Schedule, Selection,
};
use mixcuda::{DeviceFrames, Error, Gpu};

#[path = "support/cases.rs"]
mod cases;
#[path = "support/gpu.rs"]
mod support;

use cases::Rng;
use support::gpu;

const EPILOGUES: [Epilogue; 4] = [
    Epilogue::Raw,
    Epilogue::Unit,
    Epilogue::IMAGENET,
    Epilogue::Normalize {
        mean: [0.5, 0.0, 1.0, 0.25],
        std: [0.001, 3.0, 0.5, 1e-3],
    },
];

/// Frames with padded rows: `frames[f]` is frame `f` (stride `stride`).
struct Video {
    g: Geometry,
    stride: usize,
    bytes: Vec<Vec<u8>>,
}

impl Video {
    fn random(rng: &mut Rng, frames: u32, g: Geometry) -> Video {
        let row = g.row_bytes().unwrap();
        let stride = row + rng.below(7) as usize;
        let len = stride * (g.height as usize - 1) + row;
        let bytes = (0..frames).map(|_| rng.bytes(len)).collect();
        Video { g, stride, bytes }
    }
    fn views(&self) -> Vec<FrameView<'_>> {
        self.bytes
            .iter()
            .map(|b| FrameView::new(b, self.g, self.stride).unwrap())
            .collect()
    }
}

fn assert_bits(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{what}: element {i}: device {a} vs mixcore {b}"
        );
    }
}

/// Mixes `video` with `plan` and `spec` every way the API offers and compares each with mixcore.
fn check_all_paths(gpu: &Gpu, what: &str, plan: &Plan<'_>, spec: &MixSpec<'_>, video: &Video) {
    let views = video.views();
    let want = mixcore::mix_to_vec(plan, &views, spec).unwrap();
    let dplan = gpu.upload_plan(plan, spec).unwrap();
    let g = video.g;

    let mut frames = gpu.alloc_frames(g, views.len()).unwrap();
    for (i, v) in views.iter().enumerate() {
        frames.upload(i, v).unwrap();
    }
    let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
    gpu.mix_device(&dplan, &frames, &mut out).unwrap();
    assert_bits(
        &format!("{what}: mix_device"),
        &out.to_vec().unwrap(),
        &want,
    );

    let mut host = gpu.host_mixer();
    let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
    host.mix(&dplan, &views, &mut out).unwrap();
    assert_bits(
        &format!("{what}: HostMixer::mix"),
        &out.to_vec().unwrap(),
        &want,
    );

    let mut pinned = gpu.alloc_pinned_frames(g, views.len()).unwrap();
    for (i, v) in views.iter().enumerate() {
        pinned.write(i, v).unwrap();
    }
    let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
    host.mix_pinned(&dplan, &pinned, &mut out).unwrap();
    assert_bits(
        &format!("{what}: HostMixer::mix_pinned"),
        &out.to_vec().unwrap(),
        &want,
    );

    let mut stream = gpu.stream_mixer(&dplan, g).unwrap();
    for (f, v) in views.iter().enumerate() {
        stream.push(f as u32, v).unwrap();
    }
    let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
    stream.finish(&mut out).unwrap();
    assert_bits(
        &format!("{what}: StreamMixer"),
        &out.to_vec().unwrap(),
        &want,
    );
}

fn assert_half_bits(what: &str, got: &[u16], want: &[u16]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            a, b,
            "{what}: element {i}: device {a:#06x} vs mixcore {b:#06x}"
        );
    }
}

/// As [`check_all_paths`] into f16 and bf16 outputs, against `mixcore::mix_half`; and the
/// one-call `Gpu::mix_half`.
fn check_all_paths_half(gpu: &Gpu, what: &str, plan: &Plan<'_>, spec: &MixSpec<'_>, video: &Video) {
    let views = video.views();
    let g = video.g;
    let dplan = gpu.upload_plan(plan, spec).unwrap();
    let mut frames = gpu.alloc_frames(g, views.len()).unwrap();
    let mut pinned = gpu.alloc_pinned_frames(g, views.len()).unwrap();
    for (i, v) in views.iter().enumerate() {
        frames.upload(i, v).unwrap();
        pinned.write(i, v).unwrap();
    }
    for (half, dtype) in [(Half::F16, Dtype::F16), (Half::Bf16, Dtype::Bf16)] {
        let mut want = vec![0; mixcore::output_len(plan, g).unwrap()];
        mixcore::mix_half(plan, &views, spec, half, &mut want).unwrap();
        let alloc = || gpu.alloc_output_for_typed(&dplan, g, dtype).unwrap();

        let mut out = alloc();
        gpu.mix_device(&dplan, &frames, &mut out).unwrap();
        let w = format!("{what} {half:?}");
        assert_half_bits(
            &format!("{w}: mix_device"),
            &out.to_vec_half().unwrap(),
            &want,
        );

        let mut host = gpu.host_mixer();
        let mut out = alloc();
        host.mix(&dplan, &views, &mut out).unwrap();
        assert_half_bits(
            &format!("{w}: HostMixer::mix"),
            &out.to_vec_half().unwrap(),
            &want,
        );

        let mut out = alloc();
        host.mix_pinned(&dplan, &pinned, &mut out).unwrap();
        assert_half_bits(
            &format!("{w}: HostMixer::mix_pinned"),
            &out.to_vec_half().unwrap(),
            &want,
        );

        let mut stream = gpu.stream_mixer(&dplan, g).unwrap();
        for (f, v) in views.iter().enumerate() {
            stream.push(f as u32, v).unwrap();
        }
        let mut out = alloc();
        stream.finish(&mut out).unwrap();
        assert_half_bits(
            &format!("{w}: StreamMixer"),
            &out.to_vec_half().unwrap(),
            &want,
        );

        let mut got = vec![0; want.len()];
        gpu.mix_half(plan, &views, spec, half, &mut got).unwrap();
        assert_half_bits(&format!("{w}: Gpu::mix_half"), &got, &want);
    }
}

type Check = fn(&Gpu, &str, &Plan<'_>, &MixSpec<'_>, &Video);

/// Every schedule x layout x epilogue x path on one video, through `check`.
fn every_schedule_layout_epilogue_and_path(gpu: &Gpu, check: Check, epilogues: &[Epilogue]) {
    let mut rng = Rng::new(1);
    let video = Video::random(&mut rng, 48, Geometry::new(37, 11, 3).unwrap());
    let custom: &[u32] = &[3, 0, 1_000_000_007, 1];
    let given: &[f32] = &[0.125, 0.5, 0.0, 0.375];
    let schedules = [
        (Schedule::Average, FramesPerSegment::All),
        (Schedule::Linear, FramesPerSegment::All),
        (Schedule::Linear0, FramesPerSegment::All),
        (Schedule::Linear, FramesPerSegment::Fixed(4)),
        (Schedule::Custom(custom), FramesPerSegment::Fixed(4)),
    ];
    for (schedule, k) in schedules {
        let plan = Plan::new(
            48,
            &PlanConfig {
                k,
                schedule,
                ..PlanConfig::default()
            },
        )
        .unwrap();
        for layout in [Layout::Tchw, Layout::Cthw, Layout::Thwc] {
            for &epilogue in epilogues {
                let mut paths = vec![MixPath::Exact, MixPath::Float(FloatWeights::Schedule)];
                if k != FramesPerSegment::All {
                    paths.push(MixPath::Float(FloatWeights::Given(given)));
                }
                for path in paths {
                    let spec = MixSpec {
                        layout,
                        epilogue,
                        path,
                        backend: Backend::Reference,
                    };
                    check(
                        gpu,
                        &format!("{schedule:?} {k:?} {spec:?}"),
                        &plan,
                        &spec,
                        &video,
                    );
                }
            }
        }
    }
}

#[test]
fn device_matches_mixcore_for_every_schedule_layout_epilogue_and_path() {
    let Some(gpu) = gpu("device_matches_mixcore_for_every_schedule_layout_epilogue_and_path")
    else {
        return;
    };
    every_schedule_layout_epilogue_and_path(&gpu, check_all_paths, &EPILOGUES);
}

#[test]
fn device_half_outputs_match_mixcore_mix_half_for_every_schedule_layout_epilogue_and_path() {
    let Some(gpu) = gpu(
        "device_half_outputs_match_mixcore_mix_half_for_every_schedule_layout_epilogue_and_path",
    ) else {
        return;
    };
    let mut epilogues = EPILOGUES.to_vec();
    epilogues.extend(cases::HALF_EDGE_EPILOGUES);
    every_schedule_layout_epilogue_and_path(&gpu, check_all_paths_half, &epilogues);
}

#[test]
fn device_matches_mixcore_on_random_shapes_and_plans() {
    let Some(gpu) = gpu("device_matches_mixcore_on_random_shapes_and_plans") else {
        return;
    };
    random_shapes_and_plans(&gpu, check_all_paths, 2, 60, &EPILOGUES);
}

/// f16/bf16 outputs on random shapes (odd widths), plans, layouts and epilogues (the edge ones
/// included).
#[test]
fn device_half_outputs_match_mixcore_mix_half_on_random_shapes_and_plans() {
    let Some(gpu) = gpu("device_half_outputs_match_mixcore_mix_half_on_random_shapes_and_plans")
    else {
        return;
    };
    let mut epilogues = EPILOGUES.to_vec();
    epilogues.extend(cases::HALF_EDGE_EPILOGUES);
    random_shapes_and_plans(&gpu, check_all_paths_half, 6, 30, &epilogues);
}

/// `count` random cases from `seed`, through `check`.
fn random_shapes_and_plans(
    gpu: &Gpu,
    check: Check,
    seed: u64,
    count: usize,
    epilogues: &[Epilogue],
) {
    let mut rng = Rng::new(seed);
    for case in 0..count {
        let g = Geometry::new(
            rng.range(1, 97) as u32,
            rng.range(1, 41) as u32,
            rng.range(1, 4) as u32,
        )
        .unwrap();
        let frames = rng.range(1, 320) as u32;
        let segments = rng.range(1, 16) as u32;
        let smallest = (frames / segments).max(1);
        let k = if rng.below(2) == 0 {
            FramesPerSegment::All
        } else {
            FramesPerSegment::Fixed(rng.range(1, u64::from(smallest.min(9))) as u32)
        };
        let schedule =
            [Schedule::Average, Schedule::Linear, Schedule::Linear0][rng.below(3) as usize];
        let config = PlanConfig {
            segments,
            k,
            selection: if rng.below(2) == 0 {
                Selection::Spread
            } else {
                Selection::Consecutive
            },
            mode: if rng.below(2) == 0 {
                Mode::Test
            } else {
                Mode::Train {
                    seed: rng.0.next_u64(),
                }
            },
            schedule,
        };
        let plan = Plan::new(frames, &config).unwrap();
        let spec = MixSpec {
            layout: [Layout::Tchw, Layout::Cthw, Layout::Thwc][rng.below(3) as usize],
            epilogue: rng.pick(epilogues),
            path: if rng.below(3) == 0 {
                MixPath::Float(FloatWeights::Schedule)
            } else {
                MixPath::Exact
            },
            backend: Backend::Reference,
        };
        let video = Video::random(&mut rng, frames, g);
        check(
            gpu,
            &format!("case {case}: {g:?} F={frames} {config:?} {spec:?}"),
            &plan,
            &spec,
            &video,
        );
    }
}

/// A batch of videos of different lengths and segment counts in one launch.
#[test]
fn device_batch_matches_mixcore_per_video() {
    let Some(gpu) = gpu("device_batch_matches_mixcore_per_video") else {
        return;
    };
    let mut rng = Rng::new(3);
    let g = Geometry::new(64, 48, 3).unwrap();
    let plans: Vec<Plan<'_>> = [(48, 8), (300, 8), (5, 8), (97, 3)]
        .iter()
        .map(|&(f, s)| {
            Plan::new(
                f,
                &PlanConfig {
                    segments: s,
                    ..PlanConfig::default()
                },
            )
            .unwrap()
        })
        .collect();
    let videos: Vec<Video> = plans
        .iter()
        .map(|p| Video::random(&mut rng, p.frames(), g))
        .collect();
    let views: Vec<Vec<FrameView<'_>>> = videos.iter().map(Video::views).collect();
    for spec in [
        MixSpec::default(),
        MixSpec {
            layout: Layout::Cthw,
            epilogue: Epilogue::IMAGENET,
            path: MixPath::Float(FloatWeights::Schedule),
            ..MixSpec::default()
        },
    ] {
        let mut want = Vec::new();
        for (p, v) in plans.iter().zip(&views) {
            want.extend(mixcore::mix_to_vec(p, v, &spec).unwrap());
        }
        let dplan = gpu.upload_batch(&plans, &spec).unwrap();
        let mut frames = gpu.alloc_frames(g, dplan.total_frames()).unwrap();
        for (b, v) in views.iter().enumerate() {
            for (f, view) in v.iter().enumerate() {
                frames
                    .upload(dplan.frame_index(b, f as u32).unwrap(), view)
                    .unwrap();
            }
        }
        let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
        gpu.mix_device(&dplan, &frames, &mut out).unwrap();
        assert_bits("batch mix_device", &out.to_vec().unwrap(), &want);
        let refs: Vec<&[FrameView<'_>]> = views.iter().map(Vec::as_slice).collect();
        let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
        gpu.host_mixer().mix_batch(&dplan, &refs, &mut out).unwrap();
        assert_bits("batch HostMixer::mix_batch", &out.to_vec().unwrap(), &want);
    }
}

/// Windows of 65,536 frames (u64 sums, denominators above 2^29: the integer rounding route),
/// huge custom numerators, and 70,000 segments (launches split in y).
#[test]
fn device_matches_mixcore_for_wide_sums_and_many_segments() {
    let Some(gpu) = gpu("device_matches_mixcore_for_wide_sums_and_many_segments") else {
        return;
    };
    wide_sums_and_many_segments(&gpu, check_all_paths);
}

/// As the test above, into f16 and bf16 outputs.
#[test]
fn device_half_outputs_match_mixcore_mix_half_for_wide_sums_and_many_segments() {
    let Some(gpu) =
        gpu("device_half_outputs_match_mixcore_mix_half_for_wide_sums_and_many_segments")
    else {
        return;
    };
    wide_sums_and_many_segments(&gpu, check_all_paths_half);
}

fn wide_sums_and_many_segments(gpu: &Gpu, check: Check) {
    let mut rng = Rng::new(4);
    for (frames, config) in cases::wide_plans() {
        let plan = Plan::new(frames, &config).unwrap();
        let video = Video::random(&mut rng, frames, Geometry::new(5, 3, 2).unwrap());
        for epilogue in [Epilogue::Raw, Epilogue::IMAGENET] {
            let spec = MixSpec {
                epilogue,
                backend: Backend::Reference,
                ..MixSpec::default()
            };
            check(
                gpu,
                &format!("F={frames} {config:?} {epilogue:?}"),
                &plan,
                &spec,
                &video,
            );
        }
    }
}

/// Frames that already live in a cust buffer, with a stride and pitch of their own.
#[test]
fn device_frames_from_a_cust_buffer_mix_like_uploaded_ones() {
    let Some(gpu) = gpu("device_frames_from_a_cust_buffer_mix_like_uploaded_ones") else {
        return;
    };
    let mut rng = Rng::new(5);
    let g = Geometry::new(31, 17, 3).unwrap();
    let (stride, pitch) = (100usize, 17 * 100 + 12);
    let pool = rng.bytes(pitch * 24);
    let views: Vec<FrameView<'_>> = (0..24)
        .map(|f| FrameView::new(&pool[f * pitch..], g, stride).unwrap())
        .collect();
    let plan = Plan::new(24, &PlanConfig::default()).unwrap();
    let want = mixcore::mix_to_vec(&plan, &views, &MixSpec::default()).unwrap();
    let buffer = cust::memory::DeviceBuffer::from_slice(&pool).unwrap();
    let frames = DeviceFrames::from_device_buffer(&gpu, buffer, g, stride, pitch, 24).unwrap();
    let dplan = gpu.upload_plan(&plan, &MixSpec::default()).unwrap();
    let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
    gpu.mix_device(&dplan, &frames, &mut out).unwrap();
    assert_bits("cust buffer frames", &out.to_vec().unwrap(), &want);
    let back = frames.into_device_buffer().unwrap();
    assert_eq!(back.len(), pool.len());
}

/// Driver failures come back as errors with CUDA's message, never as panics.
#[test]
fn device_errors_come_back_with_the_cuda_message() {
    let Some(gpu) = gpu("device_errors_come_back_with_the_cuda_message") else {
        return;
    };
    match gpu.alloc_output(1 << 60) {
        Err(Error::Cuda { message, .. }) => assert!(!message.is_empty()),
        Err(Error::Mix(mixcore::Error::SizeOverflow)) => {}
        other => panic!("expected an out-of-memory error, got {other:?}"),
    }
    match Gpu::new(4096) {
        Err(e @ Error::Cuda { .. }) => println!("Gpu::new(4096): {e}"),
        other => panic!("expected an invalid-device error, got {other:?}"),
    }
    assert!(!gpu.name().unwrap().is_empty());
}
