//! A horizontal flip commutes with Frame Mix-up bit for bit: flipping every frame and then
//! mixing (mixcore's `mix`) gives exactly the bits of mixing and then flipping the output
//! (`flip_output`), for every layout, schedule, epilogue and the float path. The pipeline
//! relies on it to flip S mixed frames instead of F decoded ones.

use mixcore::{
    Epilogue, FloatWeights, FrameView, FramesPerSegment, Geometry, Layout, MixPath, MixSpec, Mode,
    Plan, PlanConfig, Schedule, Selection, SplitMix64, mix_to_vec,
};
use mixdata::transform::{TransformError, flip_frame, flip_output};

/// `frames` random frames of `geometry`, rows `stride` bytes apart.
fn random_frames(frames: u32, geometry: Geometry, stride: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64::new(seed);
    (0..frames)
        .map(|_| {
            (0..stride * geometry.height as usize)
                .map(|_| rng.next_u64() as u8)
                .collect()
        })
        .collect()
}

fn views<'a>(frames: &'a [Vec<u8>], geometry: Geometry, stride: usize) -> Vec<FrameView<'a>> {
    frames
        .iter()
        .map(|f| FrameView::new(f, geometry, stride).unwrap())
        .collect()
}

fn assert_bits_eq(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what}: element {i}: {x} vs {y}");
    }
}

#[test]
fn flip_then_mix_equals_mix_then_flip_bit_for_bit() {
    let custom = [3u32, 0, 7, 1, 2];
    let float = [0.1f32, 0.2, 0.3, 0.15, 0.25];
    let configs = [
        PlanConfig::default(),
        PlanConfig {
            segments: 5,
            k: FramesPerSegment::Fixed(3),
            schedule: Schedule::Average,
            ..PlanConfig::default()
        },
        PlanConfig {
            segments: 4,
            k: FramesPerSegment::Fixed(5),
            schedule: Schedule::Custom(&custom),
            selection: Selection::Consecutive,
            mode: Mode::Train { seed: 11 },
        },
        PlanConfig {
            segments: 3,
            k: FramesPerSegment::Fixed(5),
            schedule: Schedule::Linear0,
            mode: Mode::Train { seed: 99 },
            ..PlanConfig::default()
        },
    ];
    // Odd widths, one and three channels, padded rows.
    for (w, h, c, pad) in [
        (7u32, 5u32, 3u32, 0usize),
        (1, 3, 3, 2),
        (16, 2, 1, 5),
        (9, 4, 3, 1),
    ] {
        let g = Geometry::new(w, h, c).unwrap();
        let stride = (w * c) as usize + pad;
        let frames = random_frames(37, g, stride, u64::from(w * 1000 + h));
        let mut flipped = frames.clone();
        for f in &mut flipped {
            flip_frame(f, g, stride).unwrap();
        }
        for config in &configs {
            let plan = Plan::new(37, config).unwrap();
            for layout in [Layout::Tchw, Layout::Cthw, Layout::Thwc] {
                for epilogue in [Epilogue::Raw, Epilogue::Unit, Epilogue::IMAGENET] {
                    let mut paths = vec![MixPath::Exact, MixPath::Float(FloatWeights::Schedule)];
                    if config.k == FramesPerSegment::Fixed(5) {
                        paths.push(MixPath::Float(FloatWeights::Given(&float)));
                    }
                    for path in paths {
                        let spec = MixSpec {
                            layout,
                            epilogue,
                            path,
                            ..MixSpec::default()
                        };
                        let what =
                            format!("{w}x{h}x{c} {config:?} {layout:?} {epilogue:?} {path:?}");
                        let mut mixed =
                            mix_to_vec(&plan, &views(&frames, g, stride), &spec).unwrap();
                        flip_output(&mut mixed, layout, plan.segments(), g).unwrap();
                        let want = mix_to_vec(&plan, &views(&flipped, g, stride), &spec).unwrap();
                        assert_bits_eq(&mixed, &want, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn flip_output_moves_pixels_and_keeps_channels() {
    // Two segments of 3x1 RGB in thwc: pixels (p0, p1, p2) become (p2, p1, p0).
    let g = Geometry::new(3, 1, 3).unwrap();
    let mut out: Vec<f32> = (0..18).map(|v| v as f32).collect();
    flip_output(&mut out, Layout::Thwc, 2, g).unwrap();
    assert_eq!(
        out,
        [
            6.0, 7.0, 8.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 15.0, 16.0, 17.0, 12.0, 13.0, 14.0, 9.0,
            10.0, 11.0
        ]
    );
    // cthw: every row of every channel plane reversed.
    let mut out: Vec<f32> = (0..18).map(|v| v as f32).collect();
    flip_output(&mut out, Layout::Cthw, 2, g).unwrap();
    let want: Vec<f32> = (0..6)
        .flat_map(|r| [r * 3 + 2, r * 3 + 1, r * 3].map(|v| v as f32))
        .collect();
    assert_eq!(out, want);
    // Twice is the identity.
    let orig = out.clone();
    flip_output(&mut out, Layout::Cthw, 2, g).unwrap();
    flip_output(&mut out, Layout::Cthw, 2, g).unwrap();
    assert_eq!(out, orig);
}

#[test]
fn flips_refuse_buffers_of_the_wrong_size() {
    let g = Geometry::new(4, 2, 3).unwrap();
    let mut out = vec![0.0f32; 8 * 4 * 2 * 3 - 1];
    assert_eq!(
        flip_output(&mut out, Layout::Tchw, 8, g).unwrap_err(),
        TransformError::OutputLength {
            given: 191,
            expected: 192
        }
    );
    let mut frame = vec![0u8; 4 * 3 * 2 - 1];
    assert!(matches!(
        flip_frame(&mut frame, g, 12).unwrap_err(),
        TransformError::BadFrame { .. }
    ));
    let mut frame = vec![0u8; 24];
    assert!(matches!(
        flip_frame(&mut frame, g, 11).unwrap_err(),
        TransformError::BadFrame { .. }
    ));
    assert!(flip_frame(&mut frame, g, 12).is_ok());
}
