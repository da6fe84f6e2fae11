//! The geometry rules of `mixdata::transform` (resize, centre/three/random/multi-scale crops,
//! the flip draw), their draws from the seed, and the errors of bad options. Pure arithmetic:
//! no FFmpeg involved except in the resampler tests at the end.

use mixcore::Mode;
use mixdata::transform::{
    ClipGeometry, Crop, CropMode, GEOMETRY_STREAM, MULTISCALE_OFFSETS, Rect, Resampler, Resize,
    Transform, TransformError, TransformOption, multiscale_sizes,
};

fn crop(width: u32, height: u32, mode: CropMode) -> Option<Crop> {
    Some(Crop {
        width,
        height,
        mode,
    })
}

fn transform(resize: Resize, crop: Option<Crop>) -> Transform {
    Transform {
        resize,
        crop,
        flip: false,
    }
}

fn train(seed: u64) -> Mode {
    Mode::Train { seed }
}

fn only(views: Vec<ClipGeometry>) -> ClipGeometry {
    assert_eq!(views.len(), 1, "{views:?}");
    views[0]
}

/// SplitMix64 written out from docs/contract.md section 4, independently of mixcore.
fn splitmix_output(seed: u64, n: u64) -> u64 {
    let mut state = seed;
    let mut z = 0;
    for _ in 0..=n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// Draw `n` of a clip's geometry stream, reduced to `0..range` (`U(x, r) = (x * r) >> 64`).
fn geometry_draw(seed: u64, n: u64, range: u64) -> u64 {
    ((u128::from(splitmix_output(seed ^ GEOMETRY_STREAM, n)) * u128::from(range)) >> 64) as u64
}

#[test]
fn resize_short_rounds_half_up_like_mmaction2() {
    let short = |n, source| Resize::Short(n).apply(source).unwrap();
    // The example: 640 * 224 / 272 = 527.06.
    assert_eq!(short(224, (640, 272)), (527, 224));
    assert_eq!(short(224, (272, 640)), (224, 527));
    // 320 * 224 / 240 = 298.67: mmaction2 rounds to 299 (torchvision truncates to 298).
    assert_eq!(short(224, (320, 240)), (299, 224));
    // An exact half, 3 * 3 / 2 = 4.5, rounds up.
    assert_eq!(short(3, (3, 2)), (5, 3));
    assert_eq!(short(3, (2, 3)), (3, 5));
    // Square frames, upscaling, and N = 1.
    assert_eq!(short(224, (100, 100)), (224, 224));
    assert_eq!(short(256, (160, 120)), (341, 256));
    assert_eq!(short(1, (1920, 1080)), (2, 1));
}

#[test]
fn resize_exact_stretches_and_keep_keeps() {
    let exact = Resize::Exact {
        width: 224,
        height: 100,
    };
    assert_eq!(exact.apply((640, 272)).unwrap(), (224, 100));
    assert_eq!(Resize::Keep.apply((641, 273)).unwrap(), (641, 273));
    assert_eq!(Resize::default(), Resize::Keep);
}

#[test]
fn no_crop_keeps_the_whole_resized_frame() {
    let g = only(
        transform(Resize::Short(224), None)
            .plan((640, 272), Mode::Test)
            .unwrap(),
    );
    assert_eq!(g.source, (640, 272));
    assert_eq!(g.pre_crop, Rect::full((640, 272)));
    assert_eq!(g.resized, (527, 224));
    assert_eq!(g.crop, Rect::full((527, 224)));
    assert_eq!(g.output_size(), (527, 224));
    assert!(!g.flip && g.resamples() && !g.is_identity());
    let id = only(Transform::default().plan((33, 17), Mode::Test).unwrap());
    assert!(id.is_identity() && !id.resamples());
}

#[test]
fn center_crop_offsets_round_down_like_mmaction2() {
    let t = transform(Resize::Short(224), crop(224, 224, CropMode::Center));
    // (527 - 224) / 2 = 151.5 -> 151.
    let g = only(t.plan((640, 272), Mode::Test).unwrap());
    assert_eq!(
        g.crop,
        Rect {
            x: 151,
            y: 0,
            width: 224,
            height: 224
        }
    );
    let g = only(t.plan((272, 640), Mode::Test).unwrap());
    assert_eq!(
        g.crop,
        Rect {
            x: 0,
            y: 151,
            width: 224,
            height: 224
        }
    );
    // Both axes, odd room on each.
    let t = transform(Resize::Keep, crop(10, 7, CropMode::Center));
    let g = only(t.plan((15, 12), Mode::Test).unwrap());
    assert_eq!((g.crop.x, g.crop.y), (2, 2));
    // Centre crops are allowed in train mode and draw nothing.
    assert_eq!(only(t.plan((15, 12), train(9)).unwrap()), g);
}

#[test]
fn three_crop_follows_mmaction2_order_along_the_long_side() {
    let at = |x, y| Rect {
        x,
        y,
        width: 224,
        height: 224,
    };
    let t = transform(Resize::Short(224), crop(224, 224, CropMode::Three));
    assert_eq!(t.views(), 3);
    // Landscape: left, right (2 * step), middle (step); step = (527 - 224) / 2 = 151.
    let views = t.plan((640, 272), Mode::Test).unwrap();
    let crops: Vec<Rect> = views.iter().map(|g| g.crop).collect();
    assert_eq!(crops, [at(0, 0), at(302, 0), at(151, 0)]);
    // Portrait: top, bottom, middle.
    let views = t.plan((272, 640), Mode::Test).unwrap();
    let crops: Vec<Rect> = views.iter().map(|g| g.crop).collect();
    assert_eq!(crops, [at(0, 0), at(0, 302), at(0, 151)]);
    // A crop smaller than the short side (mmaction2 refuses it): three along the axis with
    // more room, centred on the other.
    let t = transform(Resize::Short(224), crop(200, 200, CropMode::Three));
    let views = t.plan((640, 272), Mode::Test).unwrap();
    let offsets: Vec<(u32, u32)> = views.iter().map(|g| (g.crop.x, g.crop.y)).collect();
    assert_eq!(offsets, [(0, 12), (326, 12), (163, 12)]);
    // Every view shares the resize.
    assert!(views.iter().all(|g| g.resized == (527, 224)));
}

#[test]
fn views_are_three_for_three_crop_else_one() {
    for mode in CropMode::ALL {
        let t = transform(Resize::Keep, crop(4, 4, mode));
        assert_eq!(t.views(), if mode == CropMode::Three { 3 } else { 1 });
        assert_eq!(t.plan((9, 8), train(1)).unwrap().len(), t.views());
    }
    assert_eq!(Transform::default().views(), 1);
}

#[test]
fn random_crop_draws_follow_the_documented_stream() {
    let t = transform(Resize::Short(224), crop(200, 180, CropMode::Random));
    // Resized 527x224: x in 0..=327, y in 0..=44.
    for seed in [0, 1, 42, u64::MAX, 0x1234_5678_9ABC_DEF0] {
        let g = only(t.plan((640, 272), train(seed)).unwrap());
        assert_eq!(
            u64::from(g.crop.x),
            geometry_draw(seed, 0, 328),
            "seed {seed}"
        );
        assert_eq!(
            u64::from(g.crop.y),
            geometry_draw(seed, 1, 45),
            "seed {seed}"
        );
        assert_eq!((g.crop.width, g.crop.height), (200, 180));
        assert!(g.crop.fits_in(g.resized));
    }
}

#[test]
fn random_crop_is_deterministic_per_seed_and_covers_every_offset() {
    let t = transform(Resize::Keep, crop(6, 5, CropMode::Random));
    // Room 3 x 2: offsets 0..=3 and 0..=2, both ends included.
    let mut seen = [[false; 3]; 4];
    for seed in 0..2000 {
        let a = only(t.plan((9, 7), train(seed)).unwrap());
        let b = only(t.plan((9, 7), train(seed)).unwrap());
        assert_eq!(a, b);
        seen[a.crop.x as usize][a.crop.y as usize] = true;
    }
    assert!(seen.iter().flatten().all(|&s| s), "{seen:?}");
    // Different seeds give different crops (on a larger frame, almost always).
    let t = transform(Resize::Keep, crop(100, 100, CropMode::Random));
    let crops: std::collections::HashSet<(u32, u32)> = (0..50)
        .map(|seed| only(t.plan((640, 480), train(seed)).unwrap()).crop)
        .map(|r| (r.x, r.y))
        .collect();
    assert!(crops.len() >= 45, "{} distinct crops of 50", crops.len());
}

/// TSN's `GroupMultiScaleCrop` (`fix_crop=True, more_fix_crop=True`) as its Python reads, in
/// floats: the region (x, y, w, h) for candidate `pick` and offset `offset`.
fn tsn_region(frame: (u32, u32), out: (u32, u32), pick: usize, offset: usize) -> Rect {
    let (image_w, image_h) = (frame.0 as i64, frame.1 as i64);
    let base = image_w.min(image_h) as f64;
    let sizes: Vec<i64> = [1.0, 0.875, 0.75, 0.66]
        .iter()
        .map(|s| (base * s) as i64)
        .collect();
    let snap = |x: i64, t: u32| {
        if (x - t as i64).abs() < 3 {
            t as i64
        } else {
            x
        }
    };
    let crop_h: Vec<i64> = sizes.iter().map(|&x| snap(x, out.1)).collect();
    let crop_w: Vec<i64> = sizes.iter().map(|&x| snap(x, out.0)).collect();
    let mut pairs = Vec::new();
    for (i, &h) in crop_h.iter().enumerate() {
        for (j, &w) in crop_w.iter().enumerate() {
            if i.abs_diff(j) <= 1 {
                pairs.push((w, h));
            }
        }
    }
    let (w, h) = pairs[pick];
    let (w_step, h_step) = ((image_w - w) / 4, (image_h - h) / 4);
    let offsets = [
        (0, 0),
        (4 * w_step, 0),
        (0, 4 * h_step),
        (4 * w_step, 4 * h_step),
        (2 * w_step, 2 * h_step),
        (0, 2 * h_step),
        (4 * w_step, 2 * h_step),
        (2 * w_step, 4 * h_step),
        (2 * w_step, 0),
        (w_step, h_step),
        (3 * w_step, h_step),
        (w_step, 3 * h_step),
        (3 * w_step, 3 * h_step),
    ];
    let (x, y) = offsets[offset];
    Rect {
        x: x as u32,
        y: y as u32,
        width: w as u32,
        height: h as u32,
    }
}

#[test]
fn multiscale_sizes_are_tsn_candidates() {
    // Short side 256: 256, 224, 192, 168 (256 * 0.66 = 168.96).
    assert_eq!(
        multiscale_sizes(256),
        [
            (256, 256),
            (224, 256),
            (256, 224),
            (224, 224),
            (192, 224),
            (224, 192),
            (192, 192),
            (168, 192),
            (192, 168),
            (168, 168)
        ]
    );
    assert_eq!(MULTISCALE_OFFSETS.len(), 13);
    // Python's int(base * 0.66) for every base a frame may have.
    for base in 1..=16384u32 {
        let python = (f64::from(base) * 0.66) as u32;
        assert_eq!(multiscale_sizes(base)[9].0, python.max(1), "base {base}");
    }
}

#[test]
fn multiscale_matches_tsn_on_the_source_when_not_resized() {
    let t = transform(Resize::Keep, crop(224, 224, CropMode::MultiScale));
    for (frame, seeds) in [
        ((340, 256), 0..400u64),
        ((256, 340), 0..100),
        ((171, 128), 0..100),
    ] {
        let pairs = multiscale_sizes(frame.0.min(frame.1)).len() as u64;
        for seed in seeds {
            let g = only(t.plan(frame, train(seed)).unwrap());
            let pick = geometry_draw(seed, 0, pairs) as usize;
            let offset = geometry_draw(seed, 1, 13) as usize;
            assert_eq!(
                g.pre_crop,
                tsn_region(frame, (224, 224), pick, offset),
                "frame {frame:?} seed {seed}"
            );
            assert_eq!(g.resized, (224, 224));
            assert_eq!(g.crop, Rect::full((224, 224)));
            assert!(g.pre_crop.fits_in(frame));
        }
    }
}

#[test]
fn multiscale_after_a_resize_maps_the_region_back_to_source_pixels() {
    // mmaction2's TSM recipe: Resize(-1, 256), MultiScaleCrop(224, 13 fixed crops), Resize(224).
    let t = transform(Resize::Short(256), crop(224, 224, CropMode::MultiScale));
    let source = (640, 272);
    let resized = Resize::Short(256).apply(source).unwrap();
    assert_eq!(resized, (602, 256));
    for seed in 0..300 {
        let g = only(t.plan(source, train(seed)).unwrap());
        let pick = geometry_draw(seed, 0, 10) as usize;
        let offset = geometry_draw(seed, 1, 13) as usize;
        let r = tsn_region(resized, (224, 224), pick, offset);
        // Each edge, scaled back by 640/602 and 272/256, to the nearest source pixel.
        let edge = |e: u32, to: u32, from: u32| {
            (f64::from(e) * f64::from(to) / f64::from(from)).round() as u32
        };
        let want = (
            edge(r.x, 640, 602),
            edge(r.y, 272, 256),
            edge(r.x + r.width, 640, 602),
            edge(r.y + r.height, 272, 256),
        );
        let p = g.pre_crop;
        assert_eq!(
            (p.x, p.y, p.x + p.width, p.y + p.height),
            want,
            "seed {seed}"
        );
        assert!(p.fits_in(source));
        assert_eq!(g.resized, (224, 224));
        assert_eq!(g.output_size(), (224, 224));
    }
}

#[test]
fn multiscale_keeps_a_snapped_size_inside_the_frame() {
    // Short side 223 with output 224: TSN snaps 223 up to 224, one more than the frame has.
    let t = transform(Resize::Keep, crop(224, 224, CropMode::MultiScale));
    for seed in 0..200 {
        let g = only(t.plan((300, 223), train(seed)).unwrap());
        assert!(g.pre_crop.fits_in((300, 223)), "seed {seed}: {g:?}");
    }
    // Tiny frames: every candidate keeps at least one pixel.
    for seed in 0..200 {
        let g = only(t.plan((2, 1), train(seed)).unwrap());
        assert!(g.pre_crop.fits_in((2, 1)), "seed {seed}: {g:?}");
    }
}

#[test]
fn flip_is_drawn_once_per_clip_with_probability_one_half() {
    let t = Transform {
        resize: Resize::Short(224),
        crop: crop(224, 224, CropMode::Three),
        flip: true,
    };
    let mut flipped = 0;
    for seed in 0..4000u64 {
        let views = t.plan((640, 272), train(seed)).unwrap();
        assert!(views.iter().all(|g| g.flip == views[0].flip));
        assert_eq!(u64::from(views[0].flip), geometry_draw(seed, 2, 2));
        flipped += usize::from(views[0].flip);
    }
    assert!(
        (1800..=2200).contains(&flipped),
        "{flipped} of 4000 flipped"
    );
    // The flip draw does not move the crop draws, and no flip means no flip.
    let random = |flip| Transform {
        resize: Resize::Keep,
        crop: crop(50, 50, CropMode::Random),
        flip,
    };
    for seed in 0..100 {
        let a = only(random(true).plan((200, 100), train(seed)).unwrap());
        let b = only(random(false).plan((200, 100), train(seed)).unwrap());
        assert_eq!(a.crop, b.crop);
        assert!(!b.flip);
    }
}

#[test]
fn geometry_draws_differ_from_the_plan_draws_of_the_same_seed() {
    // mixcore's plan draws SplitMix64 outputs of the seed itself; the geometry XORs in
    // GEOMETRY_STREAM first, so the two never reuse one draw.
    for seed in 0..100 {
        for n in 0..3 {
            assert_ne!(
                splitmix_output(seed ^ GEOMETRY_STREAM, n),
                mixcore::SplitMix64::nth_output(seed, n)
            );
        }
    }
}

#[test]
fn test_mode_refuses_random_crops_and_flip() {
    for mode in [CropMode::Random, CropMode::MultiScale] {
        let t = transform(Resize::Keep, crop(4, 4, mode));
        let e = t.plan((8, 8), Mode::Test).unwrap_err();
        assert_eq!(
            e,
            TransformError::NeedsTrainMode {
                option: TransformOption::CropMode,
                mode: Some(mode)
            }
        );
        assert!(
            e.to_string()
                .starts_with(&format!("--crop-mode {}:", mode.name())),
            "{e}"
        );
        assert!(t.plan((8, 8), train(0)).is_ok());
    }
    let t = Transform {
        flip: true,
        ..Transform::default()
    };
    let e = t.plan((8, 8), Mode::Test).unwrap_err();
    assert!(e.to_string().starts_with("--flip:"), "{e}");
    assert!(t.plan((8, 8), train(0)).is_ok());
}

#[test]
fn bad_options_are_errors_that_name_them() {
    let cases: [(Transform, &str); 9] = [
        (transform(Resize::Short(0), None), "--resize-short"),
        (
            transform(
                Resize::Exact {
                    width: 0,
                    height: 5,
                },
                None,
            ),
            "--size",
        ),
        (
            transform(Resize::Keep, crop(5, 0, CropMode::Center)),
            "--crop",
        ),
        (transform(Resize::Short(16385), None), "--resize-short"),
        (
            transform(
                Resize::Exact {
                    width: 16384,
                    height: 16384,
                },
                None,
            ),
            "--size",
        ),
        (
            transform(Resize::Keep, crop(20000, 10, CropMode::Center)),
            "--crop",
        ),
        (
            transform(
                Resize::Exact {
                    width: 100,
                    height: 100,
                },
                crop(101, 50, CropMode::Center),
            ),
            "--crop",
        ),
        (
            transform(Resize::Short(224), crop(225, 300, CropMode::Three)),
            "--crop",
        ),
        (
            transform(Resize::Short(224), crop(225, 300, CropMode::Random)),
            "--crop",
        ),
    ];
    for (t, option) in cases {
        let e = t.validate().unwrap_err();
        assert!(e.to_string().starts_with(option), "{t:?}: {e}");
        assert_eq!(t.plan((640, 480), train(0)).unwrap_err(), e);
    }
    // A multi-scale crop is resized to its size, so it may exceed the frame.
    let t = transform(
        Resize::Exact {
            width: 100,
            height: 100,
        },
        crop(224, 224, CropMode::MultiScale),
    );
    assert!(t.validate().is_ok());
    assert_eq!(
        only(t.plan((640, 480), train(3)).unwrap()).output_size(),
        (224, 224)
    );
}

#[test]
fn crops_larger_than_the_frame_are_refused_per_clip() {
    let t = transform(Resize::Keep, crop(224, 224, CropMode::Center));
    assert!(t.validate().is_ok());
    let e = t.plan((160, 120), Mode::Test).unwrap_err();
    assert_eq!(
        e,
        TransformError::CropLargerThanFrame {
            crop: (224, 224),
            frame: (160, 120)
        }
    );
    assert!(e.to_string().contains("224x224") && e.to_string().contains("160x120"));
    // 300x224 fits a landscape 527x224 but not a portrait 224x527.
    let t = transform(Resize::Short(224), crop(300, 224, CropMode::Center));
    assert!(t.plan((640, 272), Mode::Test).is_ok());
    assert_eq!(t.output_size((640, 272)).unwrap(), (300, 224));
    assert!(t.plan((272, 640), Mode::Test).is_err());
    assert_eq!(
        t.output_size((272, 640)).unwrap_err(),
        t.plan((272, 640), Mode::Test).unwrap_err()
    );
}

#[test]
fn oversized_resizes_and_empty_sources_are_errors() {
    let t = transform(Resize::Short(224), None);
    let e = t.plan((10_000, 10), Mode::Test).unwrap_err();
    assert_eq!(
        e,
        TransformError::ResizedTooLarge {
            option: TransformOption::ResizeShort,
            source: (10_000, 10),
            resized: (224_000, 224)
        }
    );
    assert!(e.to_string().starts_with("--resize-short"), "{e}");
    assert_eq!(
        t.plan((0, 10), Mode::Test).unwrap_err(),
        TransformError::EmptySource
    );
    assert_eq!(
        Transform::default().plan((10, 0), Mode::Test).unwrap_err(),
        TransformError::EmptySource
    );
}

#[test]
fn crop_mode_names_parse_and_display() {
    for mode in CropMode::ALL {
        assert_eq!(mode.to_string().parse::<CropMode>().unwrap(), mode);
    }
    assert_eq!(
        "multiscale".parse::<CropMode>().unwrap(),
        CropMode::MultiScale
    );
    assert_eq!(CropMode::default(), CropMode::Center);
    for bad in ["centre", "Center", "", "multi-scale", "ten"] {
        let e = bad.parse::<CropMode>().unwrap_err();
        assert_eq!(e, TransformError::UnknownCropMode { given: bad.into() });
        assert!(e.to_string().starts_with("--crop-mode"), "{e}");
    }
}

#[test]
fn resampler_copies_without_resizing_and_reads_any_stride() {
    // A 9x5 frame with 4 bytes of padding per row, cropped 4x3 at the centre.
    let (w, h, stride) = (9u32, 5u32, 9 * 3 + 4);
    let data: Vec<u8> = (0..stride * h as usize)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let t = transform(Resize::Keep, crop(4, 3, CropMode::Center));
    let g = only(t.plan((w, h), Mode::Test).unwrap());
    assert_eq!((g.crop.x, g.crop.y), (2, 1));
    let mut r = Resampler::new();
    let out = r.resample(&data, stride, (w, h), &g).unwrap().to_vec();
    let mut want = Vec::new();
    for y in 1..4 {
        want.extend_from_slice(&data[y * stride + 2 * 3..y * stride + 6 * 3]);
    }
    assert_eq!(out, want);
}

#[test]
fn resampler_gives_the_same_bytes_whatever_follows_the_frame() {
    // The last rows are copied when they end too close to the end of the slice; the output
    // must not depend on that, nor on the stride.
    let (w, h) = (37u32, 23u32);
    let row = w as usize * 3;
    let pixel = |x: usize, y: usize, c: usize| ((x * 31 + y * 17 + c * 101) % 256) as u8;
    let frame = |stride: usize, extra: usize| {
        let mut v = vec![0u8; stride * (h as usize - 1) + row + extra];
        for y in 0..h as usize {
            for x in 0..w as usize {
                for c in 0..3 {
                    v[y * stride + x * 3 + c] = pixel(x, y, c);
                }
            }
        }
        v
    };
    for t in [
        transform(Resize::Short(16), crop(12, 12, CropMode::Center)),
        transform(
            Resize::Exact {
                width: 50,
                height: 9,
            },
            None,
        ),
        transform(Resize::Keep, crop(8, 8, CropMode::MultiScale)),
    ] {
        let g = only(t.plan((w, h), train(5)).unwrap());
        let mut r = Resampler::new();
        let want = r
            .resample(&frame(row, 0), row, (w, h), &g)
            .unwrap()
            .to_vec();
        for (stride, extra) in [(row, 1000), (row + 5, 0), (row + 64, 0), (row + 1, 63)] {
            let got = r
                .resample(&frame(stride, extra), stride, (w, h), &g)
                .unwrap()
                .to_vec();
            assert_eq!(got, want, "{t:?} stride {stride} extra {extra}");
        }
        let mut into = vec![0u8; want.len()];
        r.resample_into(&frame(row, 0), row, (w, h), &g, &mut into)
            .unwrap();
        assert_eq!(into, want);
    }
}

#[test]
fn resampler_refuses_bad_frames_and_buffers() {
    let t = transform(Resize::Short(8), crop(8, 8, CropMode::Center));
    let g = only(t.plan((16, 12), Mode::Test).unwrap());
    let data = vec![0u8; 16 * 12 * 3];
    let mut r = Resampler::new();
    let bad_frame = |e: TransformError| matches!(e, TransformError::BadFrame { .. });
    // Wrong size, short data, short stride, a stride beyond an int.
    assert!(bad_frame(
        r.resample(&data, 16 * 3, (16, 11), &g).unwrap_err()
    ));
    assert!(bad_frame(
        r.resample(&data[..data.len() - 1], 16 * 3, (16, 12), &g)
            .unwrap_err()
    ));
    assert!(bad_frame(
        r.resample(&data, 16 * 3 - 1, (16, 12), &g).unwrap_err()
    ));
    assert!(bad_frame(
        r.resample(&data, 1 << 31, (16, 12), &g).unwrap_err()
    ));
    // A geometry whose rectangles do not fit.
    let mut broken = g;
    broken.crop.x = 4;
    assert!(bad_frame(
        r.resample(&data, 16 * 3, (16, 12), &broken).unwrap_err()
    ));
    // An output buffer of the wrong length.
    let mut out = vec![0u8; 8 * 8 * 3 - 1];
    assert_eq!(
        r.resample_into(&data, 16 * 3, (16, 12), &g, &mut out)
            .unwrap_err(),
        TransformError::OutputLength {
            given: 8 * 8 * 3 - 1,
            expected: 8 * 8 * 3
        }
    );
    // And it still works afterwards.
    assert_eq!(
        r.resample(&data, 16 * 3, (16, 12), &g).unwrap().len(),
        8 * 8 * 3
    );
}
