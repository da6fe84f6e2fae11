//! Every malformed request of docs/contract.md section 9 is returned as an error, never a panic.

use mixcore::{
    Epilogue, Error, FloatWeights, FrameView, FramesPerSegment, Geometry, MixPath, MixSpec, Mixer,
    Plan, PlanConfig, Schedule, mix, output_len,
};

fn cfg(segments: u32) -> PlanConfig<'static> {
    PlanConfig {
        segments,
        ..PlanConfig::default()
    }
}

#[test]
fn plan_errors_are_returned() {
    assert_eq!(Plan::new(10, &cfg(0)), Err(Error::ZeroSegments));
    assert_eq!(Plan::new(0, &cfg(8)), Err(Error::ZeroFrames));
    let k0 = PlanConfig {
        k: FramesPerSegment::Fixed(0),
        ..cfg(8)
    };
    assert_eq!(Plan::new(10, &k0), Err(Error::ZeroFramesPerSegment));
    let custom_all = PlanConfig {
        schedule: Schedule::Custom(&[1, 2]),
        ..cfg(2)
    };
    assert_eq!(Plan::new(10, &custom_all), Err(Error::CustomNeedsFixedK));
    let wrong_len = PlanConfig {
        schedule: Schedule::Custom(&[1, 2]),
        k: FramesPerSegment::Fixed(3),
        ..cfg(2)
    };
    assert_eq!(
        Plan::new(10, &wrong_len),
        Err(Error::WeightsLength {
            given: 2,
            expected: 3
        })
    );
    let zeros = PlanConfig {
        schedule: Schedule::Custom(&[0, 0]),
        k: FramesPerSegment::Fixed(2),
        ..cfg(2)
    };
    assert_eq!(Plan::new(10, &zeros), Err(Error::WeightsAllZero));
    let short = PlanConfig {
        schedule: Schedule::Custom(&[1, 2, 3]),
        k: FramesPerSegment::Fixed(3),
        ..cfg(8)
    };
    assert_eq!(
        Plan::new(20, &short),
        Err(Error::WindowShorterThanK {
            segment: 0,
            window: 2,
            k: 3
        })
    );
    assert!(matches!(
        Plan::new(200_000, &cfg(2)),
        Err(Error::WindowTooLarge {
            frames: 100_000,
            ..
        })
    ));
    let plan = Plan::new(10, &cfg(2)).unwrap();
    assert_eq!(
        plan.segment(2).err(),
        Some(Error::SegmentOutOfRange {
            segment: 2,
            segments: 2
        })
    );
}

#[test]
fn frame_errors_are_returned() {
    assert_eq!(Geometry::new(0, 1, 3), Err(Error::EmptyFrame));
    assert_eq!(Geometry::new(1, 0, 3), Err(Error::EmptyFrame));
    assert_eq!(
        Geometry::new(1, 1, 0),
        Err(Error::BadChannels { channels: 0 })
    );
    assert_eq!(
        Geometry::new(1, 1, 5),
        Err(Error::BadChannels { channels: 5 })
    );
    assert_eq!(
        Geometry::new(u32::MAX, u32::MAX, 4),
        Err(Error::SizeOverflow)
    );
    let g = Geometry::new(4, 2, 3).unwrap();
    assert_eq!(
        FrameView::new(&[0; 24], g, 11).err(),
        Some(Error::StrideTooSmall {
            stride: 11,
            row_bytes: 12
        })
    );
    assert_eq!(
        FrameView::new(&[0; 23], g, 12).err(),
        Some(Error::FrameBufferTooSmall {
            len: 23,
            needed: 24
        })
    );
    assert_eq!(
        FrameView::new(&[0; 27], g, 16).err(),
        Some(Error::FrameBufferTooSmall {
            len: 27,
            needed: 28
        })
    );
    assert_eq!(
        FrameView::new(&[0; 8], g, usize::MAX).err(),
        Some(Error::SizeOverflow)
    );
    assert!(FrameView::new(&[0; 28], g, 16).is_ok());
}

#[test]
fn mix_errors_are_returned() {
    let g = Geometry::new(4, 2, 3).unwrap();
    let other = Geometry::new(4, 2, 1).unwrap();
    let bytes = vec![9u8; 24];
    let frame = FrameView::packed(&bytes, g).unwrap();
    let small = FrameView::packed(&bytes[..8], other).unwrap();
    let plan = Plan::new(4, &cfg(2)).unwrap();
    let mut out = vec![0.0; output_len(&plan, g).unwrap()];
    let spec = MixSpec::default();
    assert_eq!(
        mix(&plan, &[frame; 3], &spec, &mut out),
        Err(Error::FrameCountMismatch {
            expected: 4,
            found: 3
        })
    );
    assert_eq!(
        mix(&plan, &[frame, frame, small, frame], &spec, &mut out),
        Err(Error::FrameGeometryMismatch {
            expected: (4, 2, 3),
            found: (4, 2, 1)
        })
    );
    assert_eq!(
        mix(&plan, &[frame; 4], &spec, &mut out[..47]),
        Err(Error::BufferTooSmall {
            len: 47,
            needed: 48
        })
    );
    let bad_std = MixSpec {
        epilogue: Epilogue::Normalize {
            mean: [0.0; 4],
            std: [1.0, 0.0, 1.0, 1.0],
        },
        ..spec
    };
    assert_eq!(
        mix(&plan, &[frame; 4], &bad_std, &mut out),
        Err(Error::BadNormalization { channel: 1 })
    );
    let nan_std = MixSpec {
        epilogue: Epilogue::Normalize {
            mean: [0.0; 4],
            std: [f32::NAN, 1.0, 1.0, 1.0],
        },
        ..spec
    };
    assert_eq!(
        mix(&plan, &[frame; 4], &nan_std, &mut out),
        Err(Error::BadNormalization { channel: 0 })
    );

    // Float weights: need fixed k, right length, finite and non-negative.
    let w = [0.5f32, 0.5];
    let float = MixSpec {
        path: MixPath::Float(FloatWeights::Given(&w)),
        ..spec
    };
    assert_eq!(
        mix(&plan, &[frame; 4], &float, &mut out),
        Err(Error::CustomNeedsFixedK)
    );
    let k2 = Plan::new(
        4,
        &PlanConfig {
            k: FramesPerSegment::Fixed(2),
            ..cfg(2)
        },
    )
    .unwrap();
    assert_eq!(mix(&k2, &[frame; 4], &float, &mut out), Ok(()));
    let k3 = Plan::new(
        9,
        &PlanConfig {
            k: FramesPerSegment::Fixed(3),
            ..cfg(2)
        },
    )
    .unwrap();
    assert_eq!(
        mix(&k3, &[frame; 9], &float, &mut out),
        Err(Error::WeightsLength {
            given: 2,
            expected: 3
        })
    );
    let neg = [0.5f32, -0.1];
    let float_neg = MixSpec {
        path: MixPath::Float(FloatWeights::Given(&neg)),
        ..spec
    };
    assert_eq!(
        mix(&k2, &[frame; 4], &float_neg, &mut out),
        Err(Error::WeightInvalid { index: 1 })
    );
    let k3_short = Plan::new(
        5,
        &PlanConfig {
            k: FramesPerSegment::Fixed(3),
            ..cfg(2)
        },
    )
    .unwrap();
    let w3 = [1.0f32; 3];
    let float3 = MixSpec {
        path: MixPath::Float(FloatWeights::Given(&w3)),
        ..spec
    };
    assert_eq!(
        mix(&k3_short, &[frame; 5], &float3, &mut out),
        Err(Error::WindowShorterThanK {
            segment: 0,
            window: 2,
            k: 3
        })
    );
}

#[test]
fn mixer_errors_are_returned_and_change_nothing() {
    let g = Geometry::new(4, 2, 3).unwrap();
    let bytes: Vec<u8> = (0..24).collect();
    let frame = FrameView::packed(&bytes, g).unwrap();
    let odd = FrameView::packed(&bytes[..8], Geometry::new(8, 1, 1).unwrap()).unwrap();
    let plan = Plan::new(6, &cfg(2)).unwrap();
    let spec = MixSpec::default();
    let need = Mixer::scratch_len(&plan, g, &spec).unwrap();
    let mut short = vec![0u64; need - 1];
    assert_eq!(
        Mixer::new(&plan, g, spec, &mut short).err(),
        Some(Error::BufferTooSmall {
            len: need - 1,
            needed: need
        })
    );
    let mut scratch = vec![0u64; need];
    let mut mixer = Mixer::new(&plan, g, spec, &mut scratch).unwrap();
    assert_eq!(
        mixer.push(6, &frame),
        Err(Error::FrameOutOfRange {
            frame: 6,
            frames: 6
        })
    );
    assert_eq!(
        mixer.push(0, &odd),
        Err(Error::FrameGeometryMismatch {
            expected: (4, 2, 3),
            found: (8, 1, 1)
        })
    );
    mixer.push(0, &frame).unwrap();
    assert_eq!(
        mixer.push(0, &frame),
        Err(Error::FramePushedTwice { frame: 0 })
    );
    mixer.push(2, &frame).unwrap();
    mixer.push(4, &frame).unwrap();
    let mut out = vec![0.0; output_len(&plan, g).unwrap()];
    let mut tiny = vec![0.0; 3];
    // finish consumes the mixer; check the buffer error on a second one.
    assert_eq!(
        mixer.finish(&mut out),
        Err(Error::FramesMissing {
            missing: 3,
            first: 1
        })
    );
    let mut scratch2 = vec![0u64; need];
    let mut m2 = Mixer::new(&plan, g, spec, &mut scratch2).unwrap();
    for f in 0..6 {
        m2.push(f, &frame).unwrap();
    }
    assert_eq!(
        m2.finish(&mut tiny),
        Err(Error::BufferTooSmall { len: 3, needed: 48 })
    );
    // The output given up front: too short, refused by the constructor; never given,
    // `finish_output` has nowhere to write.
    let mut scratch4 = vec![0u64; Mixer::scratch_len_buffered(&plan, g, &spec, 4).unwrap()];
    assert_eq!(
        Mixer::with_output(&plan, g, spec, 4, &mut scratch4, &mut tiny).map(|_| ()),
        Err(Error::BufferTooSmall { len: 3, needed: 48 })
    );
    let mut m4 = Mixer::with_buffer(&plan, g, spec, 4, &mut scratch4).unwrap();
    for f in 0..6 {
        m4.push(f, &frame).unwrap();
    }
    assert_eq!(
        m4.finish_output(),
        Err(Error::BufferTooSmall { len: 0, needed: 48 })
    );

    // push_with: refused pushes never call `fill`; an unbuffered mixer has no buffer to
    // write into (and is left as it was: the same frame can still be pushed).
    let mut calls = 0;
    let mut scratch5 = vec![0u64; need];
    let mut m5 = Mixer::new(&plan, g, spec, &mut scratch5).unwrap();
    assert_eq!(
        m5.push_with(0, |_| calls += 1),
        Err(Error::BufferTooSmall { len: 0, needed: 24 })
    );
    m5.push(0, &frame).unwrap();
    let mut scratch6 = vec![0u64; Mixer::scratch_len_buffered(&plan, g, &spec, 2).unwrap()];
    let mut m6 = Mixer::with_buffer(&plan, g, spec, 2, &mut scratch6).unwrap();
    assert_eq!(
        m6.push_with(6, |_| calls += 1),
        Err(Error::FrameOutOfRange {
            frame: 6,
            frames: 6
        })
    );
    m6.push_with(0, |b| b.copy_from_slice(&bytes)).unwrap();
    assert_eq!(
        m6.push_with(0, |_| calls += 1),
        Err(Error::FramePushedTwice { frame: 0 })
    );
    assert_eq!(calls, 0, "a refused push_with called fill");

    // Float path: a segment's frames must arrive in increasing order.
    let float = MixSpec {
        path: MixPath::Float(FloatWeights::Schedule),
        ..spec
    };
    let mut scratch3 = vec![0u64; Mixer::scratch_len(&plan, g, &float).unwrap()];
    let mut m3 = Mixer::new(&plan, g, float, &mut scratch3).unwrap();
    m3.push(1, &frame).unwrap();
    assert_eq!(m3.push(0, &frame), Err(Error::FloatOutOfOrder { frame: 0 }));
    m3.push(3, &frame).unwrap(); // another segment: fine
    m3.push(2, &frame).unwrap();
    assert_eq!(
        m3.finish(&mut out),
        Err(Error::FramesMissing {
            missing: 3,
            first: 0
        })
    );
}

#[test]
fn errors_display_names_the_problem() {
    let e = Error::FramePushedTwice { frame: 17 };
    assert_eq!(e.to_string(), "frame 17 was pushed twice");
    let e: Box<dyn std::error::Error> = Box::new(Error::ZeroSegments);
    assert!(e.to_string().contains("segments"));
}
