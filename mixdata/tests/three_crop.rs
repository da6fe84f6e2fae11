//! Three-crop testing (`CropMode::Three`) through the pipeline, the dataset and the loader:
//! each view is, bit for bit, the mix of the frames cropped by hand at that view's offset
//! (mmaction2's `ThreeCrop` order: left, right, middle; or top, bottom, middle), or resampled
//! by the `Resampler` with that view's own geometry; the middle view is the centre crop; the
//! loader batches the three views of each sample as `[B, 3, S, 3, H, W]`.
//! (The `ffmpeg` program's crops of real clips are compared in mixcli's `cli_three_crop.rs`.)

mod common;

use std::sync::Arc;

use common::{TempDir, png_clips, reference, same_bits};
use mixcore::{FramesPerSegment, Geometry, Layout, MixSpec, Mode};
use mixdata::transform::{Rect, Resampler};
use mixdata::{
    Crop, CropMode, Dataset, DatasetConfig, Loader, LoaderConfig, Resize, Transform, mix_input,
};

fn config(transform: Transform, layout: Layout) -> DatasetConfig {
    DatasetConfig {
        segments: 4,
        k: FramesPerSegment::Fixed(2),
        layout,
        transform,
        ..DatasetConfig::default()
    }
}

fn crop(width: u32, height: u32, mode: CropMode) -> Transform {
    Transform {
        resize: Resize::Keep,
        crop: Some(Crop {
            width,
            height,
            mode,
        }),
        flip: false,
    }
}

/// The `w` x `h` crop at (`x`, `y`) of a packed RGB frame `frame_w` wide.
fn cut(frame: &[u8], frame_w: u32, (x, y, w, h): (u32, u32, u32, u32)) -> Vec<u8> {
    let row = frame_w as usize * 3;
    (y..y + h)
        .flat_map(|r| {
            let start = r as usize * row + x as usize * 3;
            frame[start..start + w as usize * 3].iter().copied()
        })
        .collect()
}

/// A wide clip (three crops along the width) and a tall one (along the height): each view is
/// the mix of the frames cut by hand at mmaction2's offsets; the shape has a leading axis of 3;
/// `SampleInfo::views` names the offsets; the middle view is the centre crop.
#[test]
fn three_crop_views_are_the_mixes_of_hand_cut_crops_at_mmaction2s_offsets() {
    let dir = TempDir::new("three-cut");
    let sizes = [(41, 24), (24, 40)];
    let (entries, pixels) = png_clips(dir.path(), 2, |c| 13 + c * 4, |c| sizes[c as usize]);
    let (cw, ch) = (16, 16);
    let three = Dataset::new(
        entries.clone(),
        config(crop(cw, ch, CropMode::Three), Layout::Tchw),
    )
    .unwrap();
    let center = Dataset::new(
        entries,
        config(crop(cw, ch, CropMode::Center), Layout::Tchw),
    )
    .unwrap();
    assert_eq!(three.views(), 3);
    // Room 25 x 8 (step 12) and 8 x 24 (step 12): mmaction2's ThreeCrop offsets.
    let expected: [[(u32, u32); 3]; 2] = [[(0, 4), (24, 4), (12, 4)], [(4, 0), (4, 24), (4, 12)]];
    let g = Geometry::new(cw, ch, 3).unwrap();
    let plan = three.config().plan(Mode::Test);
    for (c, frames) in pixels.iter().enumerate() {
        let sample = three.get(c, 0).unwrap();
        assert_eq!(sample.info.shape, [4, 3, 16, 16]);
        assert_eq!(sample.info.full_shape(), vec![3, 4, 3, 16, 16]);
        assert_eq!(sample.data.len(), 3 * 4 * 3 * 16 * 16);
        assert_eq!(sample.info.views.len(), 3);
        assert_eq!(sample.info.transform, sample.info.views[0]);
        let per_view = sample.data.len() / 3;
        for (v, &(x, y)) in expected[c].iter().enumerate() {
            let view = sample.info.views[v].geometry;
            assert_eq!(
                view.crop,
                Rect {
                    x,
                    y,
                    width: cw,
                    height: ch
                },
                "clip {c} view {v}"
            );
            let cut_frames: Vec<Vec<u8>> = frames
                .iter()
                .map(|f| cut(f, sizes[c].0, (x, y, cw, ch)))
                .collect();
            let want = reference(&cut_frames, g, &plan, &MixSpec::default());
            let got = &sample.data[v * per_view..(v + 1) * per_view];
            assert!(same_bits(got, &want), "clip {c} view {v}");
        }
        // The middle view is the centre crop.
        let centred = center.get(c, 0).unwrap();
        assert_eq!(centred.info.full_shape(), vec![4, 3, 16, 16]);
        assert!(same_bits(&centred.data, &sample.data[2 * per_view..]));
    }
}

/// With a short-side resize the frame is resampled once and the three views are crops of it:
/// each view equals the mix of the frames the `Resampler` gives for that view's own geometry
/// (the single-view path), in a layout other than tchw too; `get_into` takes the three views'
/// length and refuses one view's.
#[test]
fn three_crop_resized_views_equal_each_views_own_resample() {
    let dir = TempDir::new("three-resize");
    let size = (40, 24);
    let (entries, pixels) = png_clips(dir.path(), 1, |_| 11, |_| size);
    let transform = Transform {
        resize: Resize::Short(20),
        ..crop(20, 20, CropMode::Three)
    };
    for layout in [Layout::Tchw, Layout::Cthw] {
        let ds = Dataset::new(entries.clone(), config(transform, layout)).unwrap();
        let sample = ds.get(0, 0).unwrap();
        let views = transform.plan(size, Mode::Test).unwrap();
        assert_eq!(views.len(), 3);
        // 40x24 -> 33x20 (mmaction2's rounding), room 13: offsets 0, 12, 6.
        let xs: Vec<u32> = views.iter().map(|g| g.crop.x).collect();
        assert_eq!(xs, [0, 12, 6]);
        assert!(views.iter().all(|g| g.resized == (33, 20)));
        let shape = layout.shape(4, Geometry::new(20, 20, 3).unwrap());
        assert_eq!(sample.info.shape, shape);
        let per_view = sample.data.len() / 3;
        let spec = MixSpec {
            layout,
            ..MixSpec::default()
        };
        for (v, g) in views.iter().enumerate() {
            assert_eq!(sample.info.views[v].geometry, *g);
            let mut resampler = Resampler::new();
            let frames: Vec<Vec<u8>> = pixels[0]
                .iter()
                .map(|f| {
                    resampler
                        .resample(f, size.0 as usize * 3, size, g)
                        .unwrap()
                        .to_vec()
                })
                .collect();
            let want = reference(
                &frames,
                Geometry::new(20, 20, 3).unwrap(),
                &ds.config().plan(Mode::Test),
                &spec,
            );
            assert!(
                same_bits(&sample.data[v * per_view..(v + 1) * per_view], &want),
                "{layout:?} view {v}"
            );
        }
        let mut out = vec![0.0f32; sample.data.len()];
        let info = ds.get_into(0, 0, &mut out).unwrap();
        assert!(same_bits(&out, &sample.data));
        assert_eq!(info, sample.info);
        let mut one_view = vec![0.0f32; per_view];
        let e = ds.get_into(0, 0, &mut one_view).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{:?}", info.full_shape())),
            "{e}"
        );
    }
}

/// The pipeline's own entry point gives the same: `mix_input` with three crops, and in train
/// mode with the flip the three views are flipped alike (all or none).
#[test]
fn mix_input_makes_three_views_and_flips_them_alike() {
    let dir = TempDir::new("three-mix");
    let (entries, _) = png_clips(dir.path(), 1, |_| 9, |_| (30, 18));
    let source = mixdata::Source::open_with(
        &entries[0].path,
        &mixdata::OpenOptions {
            template: entries[0].template.as_ref(),
            ..mixdata::OpenOptions::default()
        },
    )
    .unwrap();
    let plain = config(crop(12, 12, CropMode::Three), Layout::Tchw);
    let req = |mode: Mode, flip: bool| mixdata::MixRequest {
        plan: plain.plan(mode),
        layout: Layout::Tchw,
        epilogue: mixcore::Epilogue::Raw,
        transform: Transform {
            flip,
            ..plain.transform
        },
        device: mixdata::Device::Cpu,
        threads: 1,
        autorotate: true,
        allow_damaged: false,
    };
    let mixed = mix_input(&source, &req(Mode::Test, false)).unwrap();
    assert_eq!(mixed.full_shape(), vec![3, 4, 3, 12, 12]);
    assert_eq!(mixed.views.len(), 3);
    let per_view = mixed.data.len() / 3;
    // Seeds whose draw flips and whose draw does not: each view flipped alike.
    let (mut flipped, mut kept) = (0, 0);
    for seed in 0..16 {
        let m = mix_input(&source, &req(Mode::Train { seed }, true)).unwrap();
        let flip = m.views[0].geometry.flip;
        assert!(
            m.views.iter().all(|v| v.geometry.flip == flip),
            "seed {seed}"
        );
        let unflipped = mix_input(&source, &req(Mode::Train { seed }, false)).unwrap();
        for v in 0..3 {
            let mut view = unflipped.data[v * per_view..(v + 1) * per_view].to_vec();
            if flip {
                mixdata::transform::flip_output(
                    &mut view,
                    Layout::Tchw,
                    4,
                    Geometry::new(12, 12, 3).unwrap(),
                )
                .unwrap();
            }
            assert!(
                same_bits(&m.data[v * per_view..(v + 1) * per_view], &view),
                "seed {seed} view {v}"
            );
        }
        if flip {
            flipped += 1;
        } else {
            kept += 1;
        }
    }
    assert!(flipped > 0 && kept > 0, "{flipped} flipped, {kept} kept");
}

/// The loader with three views: batches `[B, 3, S, 3, H, W]`, each slot the sample's three
/// views as the dataset mixes it alone, the same bits for 0 and 2 workers.
#[test]
fn loader_batches_three_views_per_sample() {
    let dir = TempDir::new("three-loader");
    let (entries, _) = png_clips(
        dir.path(),
        5,
        |c| 10 + c,
        |c| if c % 2 == 0 { (30, 18) } else { (18, 26) },
    );
    let ds = Arc::new(
        Dataset::new(entries, config(crop(12, 12, CropMode::Three), Layout::Tchw)).unwrap(),
    );
    let run = |workers: usize| {
        let loader = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 2,
                workers,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        assert_eq!(loader.views(), 3);
        assert_eq!(loader.sample_shape(), [4, 3, 12, 12]);
        loader.epoch(0).map(Result::unwrap).collect::<Vec<_>>()
    };
    let batches = run(2);
    assert_eq!(batches.len(), 3);
    let sample_len = 3 * 4 * 3 * 12 * 12;
    for batch in &batches {
        let n = batch.len();
        assert_eq!(batch.views, 3);
        assert_eq!(batch.shape, [n, 4, 3, 12, 12]);
        assert_eq!(batch.full_shape(), vec![n, 3, 4, 3, 12, 12]);
        assert_eq!(batch.data.len(), n * sample_len);
        for (slot, &index) in batch.indices.iter().enumerate() {
            let alone = ds.get(index, 0).unwrap();
            assert_eq!(alone.info.views.len(), 3);
            assert!(same_bits(
                &batch.data[slot * sample_len..(slot + 1) * sample_len],
                &alone.data
            ));
            assert_eq!(batch.samples[slot], alone.info);
        }
    }
    for (a, b) in batches.iter().zip(&run(0)) {
        assert!(same_bits(&a.data, &b.data));
    }
}
