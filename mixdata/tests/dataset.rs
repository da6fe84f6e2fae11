//! The dataset: samples equal mixcore's reference under the documented seed rule, draw anew
//! each epoch in train mode only, and fill caller buffers; bad configurations are refused.

mod common;

use common::{TempDir, png_clips, reference, same_bits};
use mixcore::{Epilogue, FramesPerSegment, Geometry, Layout, MixSpec, Mode, Plan, Selection};
use mixdata::seed::sample_seed;
use mixdata::{Dataset, DatasetConfig, Problem, ScheduleBuf, Transform};

const SIZE: (u32, u32) = (10, 6);

fn train(seed: u64) -> DatasetConfig {
    DatasetConfig {
        segments: 4,
        k: FramesPerSegment::Fixed(2),
        selection: Selection::Spread,
        mode: Mode::Train { seed },
        ..DatasetConfig::default()
    }
}

#[test]
fn dataset_sample_is_mixcores_mix_with_the_samples_seed() {
    let dir = TempDir::new("ds-ref");
    let (entries, pixels) = png_clips(dir.path(), 3, |c| 20 + c, |_| SIZE);
    let config = DatasetConfig {
        layout: Layout::Cthw,
        epilogue: Epilogue::IMAGENET,
        schedule: ScheduleBuf::Custom(vec![1, 3]),
        ..train(7)
    };
    let dataset = Dataset::new(entries, config.clone()).unwrap();
    let (index, epoch) = (2, 3);
    let sample = dataset.get(index, epoch).unwrap();
    let seed = sample_seed(7, epoch, index as u64);
    assert_eq!(sample.info.seed, Some(seed));
    assert_eq!(dataset.sample_seed(index, epoch), Some(seed));
    let plan_config = config.plan(Mode::Train { seed });
    let spec = MixSpec {
        layout: Layout::Cthw,
        epilogue: Epilogue::IMAGENET,
        ..MixSpec::default()
    };
    let g = Geometry::new(SIZE.0, SIZE.1, 3).unwrap();
    let want = reference(&pixels[index], g, &plan_config, &spec);
    assert!(same_bits(&sample.data, &want));
    let info = &sample.info;
    assert_eq!(info.shape, [3, 4, 6, 10]);
    assert_eq!(info.frames, 22);
    assert_eq!(info.labels, [2, 102]);
    assert_eq!((info.index, info.epoch), (2, 3));
    let plan = Plan::new(22, &plan_config).unwrap();
    assert_eq!(info.segments.len(), 4);
    for (seg, s) in plan.iter().zip(&info.segments) {
        assert_eq!(s.positions, seg.positions().collect::<Vec<_>>());
        assert_eq!(s.numerators, [1, 3]);
        assert_eq!(s.denominator, 4);
        assert_eq!(s.window, (seg.window().lo, seg.window().hi));
    }
}

#[test]
fn dataset_train_mode_draws_anew_each_epoch_and_test_mode_does_not() {
    let dir = TempDir::new("ds-epochs");
    let (entries, _) = png_clips(dir.path(), 2, |_| 40, |_| SIZE);
    let trained = Dataset::new(entries.clone(), train(11)).unwrap();
    let a = trained.get(1, 0).unwrap();
    let again = trained.get(1, 0).unwrap();
    assert!(
        same_bits(&a.data, &again.data),
        "one epoch's draw is reproducible"
    );
    let b = trained.get(1, 1).unwrap();
    assert!(
        !same_bits(&a.data, &b.data),
        "another epoch draws other frames"
    );
    assert_ne!(a.info.segments, b.info.segments);
    let tested = Dataset::new(
        entries,
        DatasetConfig {
            mode: Mode::Test,
            ..train(11)
        },
    )
    .unwrap();
    let t0 = tested.get(1, 0).unwrap();
    let t9 = tested.get(1, 9).unwrap();
    assert!(same_bits(&t0.data, &t9.data));
    assert_eq!((t0.info.seed, t9.info.epoch), (None, 0));
}

#[test]
fn dataset_get_into_fills_the_callers_buffer() {
    let dir = TempDir::new("ds-into");
    let (entries, _) = png_clips(dir.path(), 2, |_| 16, |_| SIZE);
    let dataset = Dataset::new(entries, train(5)).unwrap();
    let sample = dataset.get(0, 2).unwrap();
    assert_eq!(dataset.shape_of(0).unwrap(), sample.info.shape);
    let mut out = vec![f32::NAN; sample.data.len()];
    let info = dataset.get_into(0, 2, &mut out).unwrap();
    assert_eq!(info, sample.info);
    assert!(same_bits(&out, &sample.data));
    let mut short = vec![0.0; sample.data.len() - 1];
    let e = dataset.get_into(0, 2, &mut short).unwrap_err();
    assert!(matches!(e.problem, Problem::BufferLength { .. }), "{e}");
    assert!(e.to_string().contains("[4, 3, 6, 10]"), "{e}");
    let e = dataset.get(2, 0).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
}

#[test]
fn dataset_resize_gives_every_clip_one_shape() {
    let dir = TempDir::new("ds-resize");
    let (entries, _) = png_clips(dir.path(), 2, |_| 8, |c| (10 + 2 * c, 6 + c));
    let config = DatasetConfig {
        transform: Transform {
            resize: mixdata::Resize::Exact {
                width: 16,
                height: 12,
            },
            ..Transform::default()
        },
        ..train(1)
    };
    let dataset = Dataset::new(entries, config).unwrap();
    assert_eq!(dataset.fixed_shape(), Some([4, 3, 12, 16]));
    for i in 0..2 {
        let s = dataset.get(i, 0).unwrap();
        assert_eq!(s.info.shape, [4, 3, 12, 16]);
        assert_eq!(s.info.source_size, (10 + 2 * i as u32, 6 + i as u32));
    }
}

#[test]
fn dataset_refuses_configurations_that_mix_nothing() {
    let bad = [
        DatasetConfig {
            schedule: ScheduleBuf::Custom(vec![1, 2]),
            ..DatasetConfig::default()
        },
        DatasetConfig {
            k: FramesPerSegment::Fixed(2),
            schedule: ScheduleBuf::Custom(vec![0, 0]),
            ..DatasetConfig::default()
        },
        DatasetConfig {
            segments: 0,
            ..DatasetConfig::default()
        },
        DatasetConfig {
            epilogue: Epilogue::Normalize {
                mean: [0.0; 4],
                std: [0.0; 4],
            },
            ..DatasetConfig::default()
        },
        DatasetConfig {
            transform: Transform {
                resize: mixdata::Resize::Exact {
                    width: 0,
                    height: 8,
                },
                ..Transform::default()
            },
            ..DatasetConfig::default()
        },
    ];
    for config in bad {
        let e = Dataset::new(Vec::new(), config.clone()).unwrap_err();
        assert!(matches!(e.problem, Problem::Usage(_)), "{config:?}: {e}");
    }
}

#[test]
fn dataset_reads_videos_and_names_the_clip_in_errors() {
    let dir = TempDir::new("ds-video");
    let video = common::make_video(
        &dir.path().join("a.webm"),
        30,
        (32, 24),
        &["-c:v", "libvpx", "-b:v", "200k", "-deadline", "realtime"],
    );
    let labels = mixdata::list::parse_sthv2_labels(
        r#"{"Holding something": "3"}"#,
        std::path::Path::new("labels.json"),
    )
    .unwrap();
    let entries = mixdata::list::parse_sthv2(
        r#"[{"id": "a", "template": "Holding [something]"}, {"id": "missing"}]"#,
        std::path::Path::new("train.json"),
        dir.path(),
        &labels,
    )
    .unwrap();
    assert_eq!(entries[0].path, video);
    let dataset = Dataset::new(entries, train(3)).unwrap();
    let s = dataset.get(0, 1).unwrap();
    assert_eq!((s.info.frames, s.info.shape), (30, [4, 3, 24, 32]));
    assert_eq!(s.info.labels, [3]);
    let e = dataset.get(1, 1).unwrap_err();
    assert!(matches!(e.problem, Problem::NotFound), "{e}");
    assert!(e.to_string().contains("missing.webm"), "{e}");
}
