//! The public API end to end on the emulated device ([`super::device`]), bit for bit against
//! mixcore: device frames, host frames through the chunked pinned pipeline, pinned frames,
//! batches, the streaming mixer; and every refusal the API promises.

use mixcore::{
    Dtype, Epilogue, FloatWeights, FrameView, FramesPerSegment, Geometry, Half, Layout, MixPath,
    MixSpec, Plan, PlanConfig,
};

use super::device::EmuBackend;
use super::tests::{
    Case, EPILOGUES, Rng, assert_bits, assert_half_bits, cases, push_order, random_case,
};
use crate::{Error, Gpu};

fn available(test: &str) -> bool {
    super::emulator(test).is_some()
}

fn emu_launches(gpu: &Gpu) -> u64 {
    gpu.backend
        .as_any()
        .downcast_ref::<EmuBackend>()
        .map_or(0, EmuBackend::launches)
}

fn emu_pending(gpu: &Gpu) -> usize {
    gpu.backend
        .as_any()
        .downcast_ref::<EmuBackend>()
        .map_or(0, EmuBackend::pending)
}

/// Every frame of a case as views (frame order of the batch).
fn views(case: &Case) -> Vec<FrameView<'_>> {
    let total: u32 = case.plans.iter().map(Plan::frames).sum();
    (0..total).map(|f| case.frame(f)).collect()
}

fn per_video<'a, 'f>(case: &Case, all: &'a [FrameView<'f>]) -> Vec<&'a [FrameView<'f>]> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for p in &case.plans {
        out.push(&all[at..at + p.frames() as usize]);
        at += p.frames() as usize;
    }
    out
}

#[test]
fn api_mix_device_matches_mixcore() {
    if !available("api_mix_device_matches_mixcore") {
        return;
    }
    let mut rng = Rng::new(11);
    for _ in 0..12 {
        let case = random_case(&mut rng, 3);
        let gpu = Gpu::emulated();
        let plan = gpu.upload_batch(&case.plans, &case.spec).unwrap();
        let frames = views(&case);
        let mut dev = gpu.alloc_frames(case.g, frames.len()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            dev.upload(i, f).unwrap();
        }
        assert_eq!(
            dev.download(frames.len() - 1).unwrap().len(),
            case.g.elements().unwrap()
        );
        let mut out = gpu.alloc_output_for(&plan, case.g).unwrap();
        gpu.mix_device(&plan, &dev, &mut out).unwrap();
        assert_eq!(emu_pending(&gpu), 0, "mix_device returned with work queued");
        assert_bits(
            &case,
            "Gpu::mix_device",
            &out.to_vec().unwrap(),
            &case.reference(),
        );
    }
}

#[test]
fn api_host_mixer_matches_mixcore_with_many_chunks() {
    if !available("api_host_mixer_matches_mixcore_with_many_chunks") {
        return;
    }
    let mut rng = Rng::new(12);
    let gpu = Gpu::emulated();
    let mut mixer = gpu.host_mixer();
    for round in 0..10 {
        let case = random_case(&mut rng, 3);
        // Chunks of about one frame: the pipeline's waits are what keeps the result right.
        mixer.chunk_bytes = if round % 2 == 0 { 1 } else { 1 << 20 };
        let plan = gpu.upload_batch(&case.plans, &case.spec).unwrap();
        let frames = views(&case);
        let mut out = gpu.alloc_output_for(&plan, case.g).unwrap();
        let before = emu_launches(&gpu);
        if case.plans.len() == 1 {
            mixer.mix(&plan, &frames, &mut out).unwrap();
        } else {
            mixer
                .mix_batch(&plan, &per_video(&case, &frames), &mut out)
                .unwrap();
        }
        assert_eq!(emu_pending(&gpu), 0);
        assert_bits(
            &case,
            "HostMixer::mix",
            &out.to_vec().unwrap(),
            &case.reference(),
        );
        let launched = emu_launches(&gpu) - before;
        if round % 2 == 0 && plan.needed_frames() > 1 {
            assert!(launched > 1, "one-frame chunks should launch per chunk");
        }

        let mut pinned = gpu.alloc_pinned_frames(case.g, frames.len()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            pinned.write(i, f).unwrap();
        }
        let mut out2 = gpu.alloc_output_for(&plan, case.g).unwrap();
        mixer.mix_pinned(&plan, &pinned, &mut out2).unwrap();
        assert_bits(
            &case,
            "HostMixer::mix_pinned",
            &out2.to_vec().unwrap(),
            &case.reference(),
        );
    }
}

#[test]
fn api_stream_mixer_matches_mixcore_in_any_accepted_order() {
    if !available("api_stream_mixer_matches_mixcore_in_any_accepted_order") {
        return;
    }
    let mut rng = Rng::new(13);
    for _ in 0..10 {
        let case = random_case(&mut rng, 2);
        let gpu = Gpu::emulated();
        let plan = gpu.upload_batch(&case.plans, &case.spec).unwrap();
        let group = rng.range(1, 4) as usize;
        let mut mixer = gpu
            .stream_mixer_grouped(&plan, case.g, Some(group))
            .unwrap();
        for g in push_order(&mut rng, &case) {
            let b = plan
                .packed
                .videos
                .iter()
                .rposition(|v| v.frame_offset <= g)
                .unwrap();
            let f = g - plan.packed.videos[b].frame_offset;
            mixer.push_video(b, f, &case.frame(g)).unwrap();
        }
        let mut out = gpu.alloc_output_for(&plan, case.g).unwrap();
        mixer.finish(&mut out).unwrap();
        assert_eq!(emu_pending(&gpu), 0);
        assert_bits(
            &case,
            "StreamMixer",
            &out.to_vec().unwrap(),
            &case.reference(),
        );
    }
}

/// f16 and bf16 outputs through every entry point of the API (device frames, host frames and
/// batches, pinned frames, the streaming mixer, the one-call `Gpu::mix_half`), bit for bit
/// against `mixcore::mix_half`.
#[test]
fn api_half_outputs_match_mixcore_mix_half_on_every_path() {
    if !available("api_half_outputs_match_mixcore_mix_half_on_every_path") {
        return;
    }
    let mut rng = Rng::new(15);
    for round in 0..16 {
        let mut case = random_case(&mut rng, 3);
        if round % 3 == 0 {
            case.spec.epilogue = rng.pick(&cases::HALF_EDGE_EPILOGUES);
        }
        let (half, dtype) = if round % 2 == 0 {
            (Half::F16, Dtype::F16)
        } else {
            (Half::Bf16, Dtype::Bf16)
        };
        let want = case.reference_half(half);
        let check = |what: &str, got: Vec<u16>| {
            assert_half_bits(&case, &format!("{what} ({half:?})"), &got, &want);
        };
        let gpu = Gpu::emulated();
        let plan = gpu.upload_batch(&case.plans, &case.spec).unwrap();
        let frames = views(&case);
        let alloc = || {
            let out = gpu.alloc_output_for_typed(&plan, case.g, dtype).unwrap();
            assert_eq!((out.len(), out.dtype()), (want.len(), dtype));
            out
        };

        let mut dev = gpu.alloc_frames(case.g, frames.len()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            dev.upload(i, f).unwrap();
        }
        let mut out = alloc();
        gpu.mix_device(&plan, &dev, &mut out).unwrap();
        check("Gpu::mix_device", out.to_vec_half().unwrap());

        let mut mixer = gpu.host_mixer();
        mixer.chunk_bytes = if round % 4 < 2 { 1 } else { 1 << 20 };
        let mut out = alloc();
        mixer
            .mix_batch(&plan, &per_video(&case, &frames), &mut out)
            .unwrap();
        check("HostMixer::mix_batch", out.to_vec_half().unwrap());

        let mut pinned = gpu.alloc_pinned_frames(case.g, frames.len()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            pinned.write(i, f).unwrap();
        }
        let mut out = alloc();
        mixer.mix_pinned(&plan, &pinned, &mut out).unwrap();
        check("HostMixer::mix_pinned", out.to_vec_half().unwrap());

        let group = rng.range(1, 4) as usize;
        let mut stream = gpu
            .stream_mixer_grouped(&plan, case.g, Some(group))
            .unwrap();
        for g in push_order(&mut rng, &case) {
            let b = plan
                .packed
                .videos
                .iter()
                .rposition(|v| v.frame_offset <= g)
                .unwrap();
            let f = g - plan.packed.videos[b].frame_offset;
            stream.push_video(b, f, &case.frame(g)).unwrap();
        }
        let mut out = alloc();
        stream.finish(&mut out).unwrap();
        assert_eq!(emu_pending(&gpu), 0);
        check("StreamMixer::finish", out.to_vec_half().unwrap());

        if case.plans.len() == 1 {
            // One call, into a longer buffer: the values land in front, the rest is untouched.
            let mut host = vec![0xABCD; want.len() + 3];
            gpu.mix_half(&case.plans[0], &frames, &case.spec, half, &mut host)
                .unwrap();
            assert_eq!(&host[want.len()..], &[0xABCD; 3]);
            host.truncate(want.len());
            check("Gpu::mix_half", host);
        }
    }
}

/// The typed outputs' refusals: the wrong download for the element type, short buffers,
/// `mix_half` without frames.
#[test]
fn api_half_outputs_refuse_mismatched_requests() {
    let gpu = Gpu::emulated();
    let g = Geometry::new(3, 2, 1).unwrap();
    let plan = Plan::new(4, &PlanConfig::default()).unwrap();
    let dplan = gpu.upload_plan(&plan, &MixSpec::default()).unwrap();
    let len = dplan.output_len(g).unwrap();
    let half = gpu.alloc_output_for_typed(&dplan, g, Dtype::Bf16).unwrap();
    assert!(matches!(
        half.download(&mut [0.0; 1]),
        Err(Error::Mismatch { .. })
    ));
    assert!(matches!(half.to_vec(), Err(Error::Mismatch { .. })));
    assert_eq!(
        half.download_half(&mut vec![0; len + 1]),
        Err(Error::DeviceBufferTooSmall {
            len,
            needed: len + 1
        })
    );
    let f32_out = gpu.alloc_output_for(&dplan, g).unwrap();
    assert_eq!(f32_out.dtype(), Dtype::F32);
    assert!(matches!(
        f32_out.download_half(&mut [0; 1]),
        Err(Error::Mismatch { .. })
    ));
    // Half the bytes of f32 cross the bus.
    let (read, written) = dplan.traffic(g).unwrap();
    assert_eq!(
        dplan.traffic_typed(g, Dtype::F16).unwrap(),
        (read, written / 2)
    );
    let bytes = [[7u8; 6]; 4];
    let frames: Vec<FrameView<'_>> = bytes
        .iter()
        .map(|b| FrameView::packed(b, g).unwrap())
        .collect();
    let spec = MixSpec::default();
    assert_eq!(
        gpu.mix_half(&plan, &frames, &spec, Half::F16, &mut vec![0; len - 1]),
        Err(Error::Mix(mixcore::Error::BufferTooSmall {
            len: len - 1,
            needed: len
        }))
    );
    assert_eq!(
        gpu.mix_half(&plan, &[], &spec, Half::F16, &mut vec![0; len]),
        Err(Error::Mix(mixcore::Error::FrameCountMismatch {
            expected: 4,
            found: 0
        }))
    );
    assert_eq!(
        gpu.mix_half(&plan, &frames[..3], &spec, Half::F16, &mut vec![0; len]),
        Err(Error::Mix(mixcore::Error::FrameCountMismatch {
            expected: 4,
            found: 3
        }))
    );
}

/// Frames come from a buffer the caller rewrites after every push (as a decoder does): the
/// streaming mixer must copy each frame before `push` returns, even with uploads queued lazily.
#[test]
fn api_stream_mixer_copies_frames_before_push_returns() {
    if !available("api_stream_mixer_copies_frames_before_push_returns") {
        return;
    }
    let mut rng = Rng::new(14);
    let g = Geometry::new(6, 4, 3).unwrap();
    let video: Vec<Vec<u8>> = (0..20).map(|_| rng.bytes(72)).collect();
    let views: Vec<FrameView<'_>> = video
        .iter()
        .map(|v| FrameView::packed(v, g).unwrap())
        .collect();
    let plan = Plan::new(
        20,
        &PlanConfig {
            segments: 3,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    let want = mixcore::mix_to_vec(&plan, &views, &MixSpec::default()).unwrap();
    let gpu = Gpu::emulated();
    let dplan = gpu.upload_plan(&plan, &MixSpec::default()).unwrap();
    let mut mixer = gpu.stream_mixer_grouped(&dplan, g, Some(3)).unwrap();
    let mut decoder = vec![0u8; 72];
    for (f, v) in video.iter().enumerate() {
        decoder.copy_from_slice(v);
        mixer
            .push(f as u32, &FrameView::packed(&decoder, g).unwrap())
            .unwrap();
        decoder.fill(0);
    }
    let mut out = gpu.alloc_output(want.len()).unwrap();
    mixer.finish(&mut out).unwrap();
    let got = out.to_vec().unwrap();
    assert!(
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

#[test]
fn api_every_layout_and_epilogue_on_the_paper_setting() {
    if !available("api_every_layout_and_epilogue_on_the_paper_setting") {
        return;
    }
    let mut rng = Rng::new(15);
    let g = Geometry::new(7, 5, 3).unwrap();
    let video: Vec<Vec<u8>> = (0..48).map(|_| rng.bytes(105)).collect();
    let views: Vec<FrameView<'_>> = video
        .iter()
        .map(|v| FrameView::packed(v, g).unwrap())
        .collect();
    let plan = Plan::new(48, &PlanConfig::default()).unwrap();
    let gpu = Gpu::emulated();
    let mut dev = gpu.alloc_frames(g, 48).unwrap();
    for (i, v) in views.iter().enumerate() {
        dev.upload(i, v).unwrap();
    }
    for layout in [Layout::Tchw, Layout::Cthw, Layout::Thwc] {
        for epilogue in EPILOGUES {
            for path in [MixPath::Exact, MixPath::Float(FloatWeights::Schedule)] {
                let spec = MixSpec {
                    layout,
                    epilogue,
                    path,
                    ..MixSpec::default()
                };
                let want = mixcore::mix_to_vec(&plan, &views, &spec).unwrap();
                let dplan = gpu.upload_plan(&plan, &spec).unwrap();
                let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
                gpu.mix_device(&dplan, &dev, &mut out).unwrap();
                let got = out.to_vec().unwrap();
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "{spec:?} element {i}");
                }
            }
        }
    }
}

#[test]
fn api_refuses_bad_requests_with_named_errors() {
    let gpu = Gpu::emulated();
    let g = Geometry::new(4, 3, 3).unwrap();
    let plan = Plan::new(
        10,
        &PlanConfig {
            segments: 2,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    let dplan = gpu.upload_plan(&plan, &MixSpec::default()).unwrap();
    let frames = gpu.alloc_frames(g, 9).unwrap();
    let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
    assert_eq!(
        gpu.mix_device(&dplan, &frames, &mut out),
        Err(Error::NotEnoughFrames {
            count: 9,
            needed: 10
        })
    );
    let frames = gpu.alloc_frames(g, 10).unwrap();
    let mut short = gpu.alloc_output(out.len() - 1).unwrap();
    assert_eq!(
        gpu.mix_device(&dplan, &frames, &mut short),
        Err(Error::DeviceBufferTooSmall {
            len: out.len() - 1,
            needed: out.len()
        })
    );
    let other = Gpu::emulated();
    let foreign = other.alloc_frames(g, 10).unwrap();
    assert!(matches!(
        gpu.mix_device(&dplan, &foreign, &mut out),
        Err(Error::Mismatch { .. })
    ));
    let bad_norm = MixSpec {
        epilogue: Epilogue::Normalize {
            mean: [0.0; 4],
            std: [1.0, 0.0, 1.0, 1.0],
        },
        ..MixSpec::default()
    };
    let bad_plan = gpu.upload_plan(&plan, &bad_norm).unwrap();
    assert_eq!(
        gpu.mix_device(&bad_plan, &frames, &mut out),
        Err(Error::Mix(mixcore::Error::BadNormalization { channel: 1 }))
    );
    // The same std is fine for one channel.
    let g1 = Geometry::new(4, 3, 1).unwrap();
    let frames1 = gpu.alloc_frames(g1, 10).unwrap();
    let mut out1 = gpu.alloc_output_for(&bad_plan, g1).unwrap();
    if available("api_refuses_bad_requests_with_named_errors") {
        gpu.mix_device(&bad_plan, &frames1, &mut out1).unwrap();
    }

    // Host frames: wrong count, wrong geometry.
    let bytes = vec![0u8; 36];
    let other_bytes = vec![0u8; 12];
    let view = FrameView::packed(&bytes, g).unwrap();
    let odd = FrameView::packed(&other_bytes, Geometry::new(2, 2, 3).unwrap()).unwrap();
    let mut mixer = gpu.host_mixer();
    assert_eq!(
        mixer.mix(&dplan, &[view; 9], &mut out),
        Err(Error::Mix(mixcore::Error::FrameCountMismatch {
            expected: 10,
            found: 9
        }))
    );
    let mut mixed = vec![view; 10];
    mixed[4] = odd;
    assert!(matches!(
        mixer.mix(&dplan, &mixed, &mut out),
        Err(Error::Mix(mixcore::Error::FrameGeometryMismatch { .. }))
    ));
    assert!(matches!(
        mixer.mix_batch(&dplan, &[&mixed, &mixed], &mut out),
        Err(Error::Mismatch { .. })
    ));
    let pinned = gpu.alloc_pinned_frames(g, 3).unwrap();
    assert_eq!(
        mixer.mix_pinned(&dplan, &pinned, &mut out),
        Err(Error::NotEnoughFrames {
            count: 3,
            needed: 10
        })
    );

    // Device frames: bad index, wrong geometry.
    let mut frames = gpu.alloc_frames(g, 10).unwrap();
    assert_eq!(
        frames.upload(10, &view),
        Err(Error::FrameIndexOutOfRange {
            index: 10,
            count: 10
        })
    );
    assert!(matches!(
        frames.upload(0, &odd),
        Err(Error::Mix(mixcore::Error::FrameGeometryMismatch { .. }))
    ));

    // Streaming: twice, out of range, geometry, missing.
    let mut s = gpu.stream_mixer(&dplan, g).unwrap();
    s.push(0, &view).unwrap();
    assert_eq!(
        s.push(0, &view),
        Err(Error::Mix(mixcore::Error::FramePushedTwice { frame: 0 }))
    );
    assert_eq!(
        s.push(10, &view),
        Err(Error::Mix(mixcore::Error::FrameOutOfRange {
            frame: 10,
            frames: 10
        }))
    );
    assert!(matches!(
        s.push(1, &odd),
        Err(Error::Mix(mixcore::Error::FrameGeometryMismatch { .. }))
    ));
    assert!(matches!(
        s.push_video(1, 0, &view),
        Err(Error::VideoOutOfRange {
            video: 1,
            videos: 1
        })
    ));
    assert_eq!(
        s.finish(&mut out),
        Err(Error::Mix(mixcore::Error::FramesMissing {
            missing: 9,
            first: 1
        }))
    );

    // Float path in a segment's wrong order.
    let float = MixSpec {
        path: MixPath::Float(FloatWeights::Schedule),
        ..MixSpec::default()
    };
    let fplan = gpu.upload_plan(&plan, &float).unwrap();
    let mut s = gpu.stream_mixer(&fplan, g).unwrap();
    s.push(3, &view).unwrap();
    assert_eq!(
        s.push(2, &view),
        Err(Error::Mix(mixcore::Error::FloatOutOfOrder { frame: 2 }))
    );
    drop(s);

    // Plans: a spec the plan refuses, an empty batch, batch errors name the video.
    let given = [1.0f32; 3];
    let spec = MixSpec {
        path: MixPath::Float(FloatWeights::Given(&given)),
        ..MixSpec::default()
    };
    assert_eq!(
        gpu.upload_plan(&plan, &spec).err(),
        Some(Error::Mix(mixcore::Error::CustomNeedsFixedK))
    );
    assert_eq!(
        gpu.upload_batch(&[], &MixSpec::default()).err(),
        Some(Error::EmptyBatch)
    );
    let k3 = Plan::new(
        9,
        &PlanConfig {
            segments: 3,
            k: FramesPerSegment::Fixed(3),
            ..PlanConfig::default()
        },
    )
    .unwrap();
    assert_eq!(
        gpu.upload_batch(&[k3, plan], &spec).err(),
        Some(Error::Video {
            video: 1,
            error: mixcore::Error::CustomNeedsFixedK
        })
    );
    let dk3 = gpu.upload_batch(&[k3, k3], &MixSpec::default()).unwrap();
    assert_eq!(dk3.frame_index(1, 2).unwrap(), 11);
    assert!(dk3.frame_index(2, 0).is_err());
    assert_eq!(dk3.total_frames(), 18);
    assert_eq!(dk3.total_segments(), 6);
    assert_eq!(dk3.videos(), 2);
    assert_eq!(dk3.traffic(g).unwrap(), (18 * 36, 6 * 36 * 4));

    // Streaming a batch: each video admits its own frames, and errors name the video.
    let mut s = gpu.stream_mixer(&dk3, g).unwrap();
    let mut out3 = gpu.alloc_output_for(&dk3, g).unwrap();
    for f in 0..9 {
        assert!(s.is_needed(0, f));
        s.push_video(0, f, &view).unwrap();
    }
    s.push_video(1, 0, &view).unwrap();
    assert_eq!(
        s.push_video(1, 9, &view),
        Err(Error::Video {
            video: 1,
            error: mixcore::Error::FrameOutOfRange {
                frame: 9,
                frames: 9
            }
        })
    );
    assert_eq!(
        s.push_video(1, 0, &view),
        Err(Error::Video {
            video: 1,
            error: mixcore::Error::FramePushedTwice { frame: 0 }
        })
    );
    assert_eq!(
        s.finish(&mut out3),
        Err(Error::Video {
            video: 1,
            error: mixcore::Error::FramesMissing {
                missing: 8,
                first: 1
            }
        })
    );
}

/// A frames buffer laid out with a row stride and pitch of its own, wrapped by `wrap` (what
/// `from_device_buffer` does with a cust buffer), mixes like packed frames.
#[test]
fn api_strided_device_frames_mix_like_packed_ones() {
    if !available("api_strided_device_frames_mix_like_packed_ones") {
        return;
    }
    let mut rng = Rng::new(16);
    let g = Geometry::new(5, 4, 2).unwrap();
    let (stride, pitch) = (13usize, 4 * 13 + 5);
    let pool = rng.bytes(pitch * 12);
    let views: Vec<FrameView<'_>> = (0..12)
        .map(|f| FrameView::new(&pool[f * pitch..], g, stride).unwrap())
        .collect();
    let plan = Plan::new(
        12,
        &PlanConfig {
            segments: 4,
            ..PlanConfig::default()
        },
    )
    .unwrap();
    let want = mixcore::mix_to_vec(&plan, &views, &MixSpec::default()).unwrap();
    let gpu = Gpu::emulated();
    let mem = gpu.backend.alloc(pool.len()).unwrap();
    gpu.backend.upload(&*mem, 0, &pool).unwrap();
    let frames = crate::DeviceFrames::wrap(&gpu.backend, mem, g, stride, pitch, 12).unwrap();
    let dplan = gpu.upload_plan(&plan, &MixSpec::default()).unwrap();
    let mut out = gpu.alloc_output_for(&dplan, g).unwrap();
    gpu.mix_device(&dplan, &frames, &mut out).unwrap();
    let got = out.to_vec().unwrap();
    assert!(
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    // Layouts that do not fit are refused: the last frame needs 3 strides and one row.
    let needed = 11 * pitch + 3 * stride + 10;
    let mem = gpu.backend.alloc(needed).unwrap();
    assert!(crate::DeviceFrames::wrap(&gpu.backend, mem, g, stride, pitch, 12).is_ok());
    let mem = gpu.backend.alloc(needed - 1).unwrap();
    assert!(matches!(
        crate::DeviceFrames::wrap(&gpu.backend, mem, g, stride, pitch, 12),
        Err(Error::DeviceBufferTooSmall { .. })
    ));
    let mem = gpu.backend.alloc(pool.len()).unwrap();
    assert!(matches!(
        crate::DeviceFrames::wrap(&gpu.backend, mem, g, 9, pitch, 12),
        Err(Error::Mix(mixcore::Error::StrideTooSmall { .. }))
    ));
    let mem = gpu.backend.alloc(pool.len()).unwrap();
    assert!(matches!(
        crate::DeviceFrames::wrap(&gpu.backend, mem, g, stride, 40, 12),
        Err(Error::PitchTooSmall { .. })
    ));
}
