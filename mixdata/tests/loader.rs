//! The loader: order, shuffle and drop_last; equal bits for any number of workers and any
//! fetch order; new bits each epoch; the error policies; shapes; recycled buffers.

mod common;

use std::sync::Arc;

use common::{TempDir, png_clips, same_bits};
use mixcore::{FramesPerSegment, Mode};
use mixdata::seed::shuffle_order;
use mixdata::{
    Batch, Dataset, DatasetConfig, ErrorPolicy, Loader, LoaderConfig, Problem, Transform,
};

const SIZE: (u32, u32) = (8, 6);

fn config(seed: u64) -> DatasetConfig {
    DatasetConfig {
        segments: 3,
        k: FramesPerSegment::Fixed(2),
        mode: Mode::Train { seed },
        ..DatasetConfig::default()
    }
}

fn dataset(dir: &TempDir, clips: u32) -> Arc<Dataset> {
    let (entries, _) = png_clips(dir.path(), clips, |c| 12 + c % 5, |_| SIZE);
    Arc::new(Dataset::new(entries, config(21)).unwrap())
}

fn batches(loader: &Loader, epoch: u64) -> Vec<Batch> {
    loader.epoch(epoch).map(Result::unwrap).collect()
}

fn indices(batches: &[Batch]) -> Vec<Vec<usize>> {
    batches.iter().map(|b| b.indices.clone()).collect()
}

#[test]
fn loader_keeps_list_order_and_drop_last() {
    let dir = TempDir::new("ld-order");
    let ds = dataset(&dir, 10);
    let lc = LoaderConfig {
        batch_size: 4,
        ..LoaderConfig::default()
    };
    let loader = Loader::new(Arc::clone(&ds), lc).unwrap();
    assert_eq!(loader.batches_per_epoch(), 3);
    let got = batches(&loader, 0);
    assert_eq!(
        indices(&got),
        [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
    );
    let sample_len = 3 * 3 * 6 * 8;
    assert_eq!(got[0].shape, [4, 3, 3, 6, 8]);
    assert_eq!(got[2].shape, [2, 3, 3, 6, 8]);
    assert_eq!(got[2].data.len(), 2 * sample_len);
    assert_eq!(
        got[1].labels,
        [vec![4, 104], vec![5, 105], vec![6, 106], vec![7, 107]]
    );
    assert!(got.iter().all(|b| b.skipped.is_empty()));
    let dropping = Loader::new(
        Arc::clone(&ds),
        LoaderConfig {
            drop_last: true,
            ..lc
        },
    )
    .unwrap();
    assert_eq!(dropping.batches_per_epoch(), 2);
    assert_eq!(
        indices(&batches(&dropping, 0)),
        [vec![0, 1, 2, 3], vec![4, 5, 6, 7]]
    );
}

#[test]
fn loader_shuffles_by_the_documented_rule_each_epoch() {
    let dir = TempDir::new("ld-shuffle");
    let ds = dataset(&dir, 9);
    let loader = Loader::new(
        ds,
        LoaderConfig {
            batch_size: 4,
            shuffle: true,
            seed: 77,
            workers: 2,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    for epoch in [0, 1, 5] {
        let flat: Vec<usize> = indices(&batches(&loader, epoch)).concat();
        assert_eq!(flat, shuffle_order(9, 77, epoch));
        assert_eq!(loader.order(epoch), flat);
    }
    assert_ne!(loader.order(0), loader.order(1));
}

/// The same batches, bit for bit, for 0, 1, 2 and 3 workers; each sample equal to the
/// dataset's own mix of it fetched alone in a shuffled order; another epoch's bits differ.
#[test]
fn loader_bits_do_not_depend_on_workers_or_fetch_order() {
    let dir = TempDir::new("ld-bits");
    let ds = dataset(&dir, 11);
    let run = |workers: usize, epoch: u64| {
        let loader = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 3,
                workers,
                prefetch: 2,
                shuffle: true,
                seed: 5,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        batches(&loader, epoch)
    };
    let one = run(1, 4);
    for workers in [0, 2, 3] {
        let other = run(workers, 4);
        assert_eq!(indices(&one), indices(&other), "{workers} workers");
        for (a, b) in one.iter().zip(&other) {
            assert!(same_bits(&a.data, &b.data), "{workers} workers");
            assert_eq!(a.samples, b.samples);
        }
    }
    // Fetched one by one, in a shuffled order of its own (and backwards), each sample is the
    // same as in the batches.
    let sample_len = one[0].data.len() / one[0].len();
    let mut fetch = shuffle_order(11, 999, 0);
    fetch.reverse();
    for index in fetch {
        let alone = ds.get(index, 4).unwrap();
        let (b, slot) = one
            .iter()
            .enumerate()
            .find_map(|(b, batch)| {
                batch
                    .indices
                    .iter()
                    .position(|&i| i == index)
                    .map(|s| (b, s))
            })
            .unwrap();
        let in_batch = &one[b].data[slot * sample_len..(slot + 1) * sample_len];
        assert!(same_bits(&alone.data, in_batch), "sample {index}");
    }
    // Another epoch: the same order rule, other draws.
    let next = run(2, 5);
    let by_index = |batches: &[Batch], index: usize| -> Vec<f32> {
        batches
            .iter()
            .flat_map(|b| b.indices.iter().copied().zip(b.data.chunks(sample_len)))
            .find(|(i, _)| *i == index)
            .map(|(_, d)| d.to_vec())
            .unwrap()
    };
    let differs = (0..11)
        .filter(|&i| !same_bits(&by_index(&one, i), &by_index(&next, i)))
        .count();
    assert!(
        differs >= 9,
        "only {differs} of 11 samples changed between epochs"
    );
}

/// Clip 3 of 10 has a gap in its frames.
fn with_a_broken_clip(dir: &TempDir) -> Arc<Dataset> {
    let (entries, _) = png_clips(dir.path(), 10, |_| 10, |_| SIZE);
    std::fs::remove_file(entries[3].path.join("img_00004.png")).unwrap();
    Arc::new(Dataset::new(entries, config(2)).unwrap())
}

#[test]
fn loader_fail_policy_yields_the_error_and_stops() {
    let dir = TempDir::new("ld-fail");
    let ds = with_a_broken_clip(&dir);
    for workers in [0, 2] {
        let loader = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 2,
                workers,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        let mut epoch = loader.epoch(0);
        assert_eq!(epoch.next().unwrap().unwrap().indices, [0, 1]);
        let e = epoch.next().unwrap().unwrap_err();
        assert!(
            matches!(e.problem, Problem::MissingFrame { number: 4, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("clip003"), "{e}");
        assert!(epoch.next().is_none());
        assert!(epoch.next().is_none());
    }
}

#[test]
fn loader_skip_policy_fills_batches_from_the_next_samples_and_reports_skips() {
    let dir = TempDir::new("ld-skip");
    let ds = with_a_broken_clip(&dir);
    let mut first: Option<Vec<Batch>> = None;
    for workers in [0, 1, 3] {
        let loader = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 4,
                workers,
                on_error: ErrorPolicy::Skip,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        let got = batches(&loader, 0);
        assert_eq!(indices(&got), [vec![0, 1, 2, 4], vec![5, 6, 7, 8], vec![9]]);
        assert_eq!(got[0].skipped.len(), 1);
        assert_eq!(got[0].skipped[0].index, 3);
        assert!(
            got[0].skipped[0]
                .error
                .to_string()
                .contains("img_00004.png")
        );
        assert!(got[1].skipped.is_empty() && got[2].skipped.is_empty());
        // The samples after the skip moved up: each equals the dataset's own mix of it.
        let sample_len = got[0].data.len() / 4;
        let alone = ds.get(4, 0).unwrap();
        assert!(same_bits(&got[0].data[3 * sample_len..], &alone.data));
        let alone = ds.get(8, 0).unwrap();
        assert!(same_bits(&got[1].data[3 * sample_len..], &alone.data));
        match &first {
            None => first = Some(got),
            Some(f) => {
                for (a, b) in f.iter().zip(&got) {
                    assert!(same_bits(&a.data, &b.data), "{workers} workers");
                }
            }
        }
        let dropping = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 4,
                workers,
                on_error: ErrorPolicy::Skip,
                drop_last: true,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        assert_eq!(
            indices(&batches(&dropping, 0)),
            [vec![0, 1, 2, 4], vec![5, 6, 7, 8]]
        );
    }
}

#[test]
fn loader_skips_after_the_last_batch_are_reported_by_the_epoch() {
    let dir = TempDir::new("ld-skip-end");
    let (entries, _) = png_clips(dir.path(), 5, |_| 10, |_| SIZE);
    std::fs::remove_file(entries[4].path.join("img_00002.png")).unwrap();
    let ds = Dataset::new(entries, config(2)).unwrap();
    let loader = Loader::new(
        ds,
        LoaderConfig {
            batch_size: 2,
            on_error: ErrorPolicy::Skip,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let mut epoch = loader.epoch(0);
    let got: Vec<Batch> = epoch.by_ref().map(Result::unwrap).collect();
    assert_eq!(indices(&got), [vec![0, 1], vec![2, 3]]);
    assert!(got.iter().all(|b| b.skipped.is_empty()));
    let after: Vec<usize> = epoch.skipped().iter().map(|s| s.index).collect();
    assert_eq!(after, [4]);
    assert!(epoch.skipped().is_empty());
}

#[test]
fn loader_refuses_a_clip_of_another_shape_naming_it() {
    let dir = TempDir::new("ld-shape");
    let (entries, _) = png_clips(dir.path(), 4, |_| 9, |c| if c == 2 { (6, 8) } else { SIZE });
    let ds = Dataset::new(entries.clone(), config(1)).unwrap();
    let loader = Loader::new(
        ds,
        LoaderConfig {
            batch_size: 4,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    assert_eq!(loader.sample_shape(), [3, 3, 6, 8]);
    let e = loader.epoch(0).next().unwrap().unwrap_err();
    assert!(
        matches!(e.problem, Problem::ShapeMismatch { ref found, .. } if found == &[3, 3, 8, 6]),
        "{e}"
    );
    assert!(e.to_string().contains("clip002"), "{e}");
    // With one size for every clip they batch.
    let resized = Dataset::new(
        entries,
        DatasetConfig {
            transform: Transform {
                resize: mixdata::Resize::Exact {
                    width: 8,
                    height: 8,
                },
                ..Transform::default()
            },
            ..config(1)
        },
    )
    .unwrap();
    let loader = Loader::new(resized, LoaderConfig::default()).unwrap();
    let got = batches(&loader, 0);
    assert_eq!(got[0].shape, [4, 3, 3, 8, 8]);
}

#[test]
fn loader_reuses_recycled_buffers() {
    let dir = TempDir::new("ld-recycle");
    let ds = dataset(&dir, 12);
    for workers in [0, 2] {
        let loader = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 2,
                workers,
                prefetch: 3,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        for epoch in 0..4 {
            for batch in loader.epoch(epoch) {
                loader.recycle(batch.unwrap());
            }
        }
        // 24 batches; never more buffers than can be in flight at once (prefetch, the one
        // being taken apart, the one handed out).
        let allocated = loader.buffers_allocated();
        assert!(allocated <= 3 + 2, "{workers} workers: {allocated} buffers");
        // Without recycling, every batch needs a buffer of its own.
        let before = loader.buffers_allocated();
        let kept: Vec<Batch> = batches(&loader, 9);
        assert!(loader.buffers_allocated() + 5 >= before + kept.len());
    }
}

#[test]
fn loader_refuses_bad_configurations() {
    let dir = TempDir::new("ld-bad");
    let ds = dataset(&dir, 2);
    for lc in [
        LoaderConfig {
            batch_size: 0,
            ..LoaderConfig::default()
        },
        LoaderConfig {
            prefetch: 0,
            ..LoaderConfig::default()
        },
    ] {
        let e = Loader::new(Arc::clone(&ds), lc).err().unwrap();
        assert!(matches!(e.problem, Problem::Usage(_)), "{e}");
    }
    let empty = Dataset::new(Vec::new(), config(0)).unwrap();
    assert!(Loader::new(empty, LoaderConfig::default()).is_err());
}

#[test]
fn loader_epoch_dropped_early_stops_its_workers() {
    let dir = TempDir::new("ld-drop");
    let ds = dataset(&dir, 20);
    let loader = Loader::new(
        ds,
        LoaderConfig {
            batch_size: 2,
            workers: 3,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let mut epoch = loader.epoch(0);
    assert!(epoch.next().unwrap().is_ok());
    drop(epoch);
    // A new epoch starts cleanly after.
    assert_eq!(batches(&loader, 1).len(), 10);
}

#[test]
fn ragged_loader_keeps_each_clips_shape_with_the_same_bits_for_any_workers() {
    let dir = TempDir::new("ld-ragged");
    let (entries, _) = png_clips(
        dir.path(),
        5,
        |c| 9 + c,
        |c| if c % 2 == 1 { (6, 10) } else { SIZE },
    );
    let ds = Arc::new(Dataset::new(entries, config(4)).unwrap());
    let mut runs = Vec::new();
    for workers in [0, 2] {
        let loader = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 1,
                workers,
                ragged: true,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        for epoch in 0..2 {
            let got: Vec<Batch> = batches(&loader, epoch);
            assert_eq!(indices(&got), (0..5).map(|i| vec![i]).collect::<Vec<_>>());
            for (i, b) in got.iter().enumerate() {
                let want = ds.get(i, epoch).unwrap();
                let (w, h) = if i % 2 == 1 { (6, 10) } else { SIZE };
                assert_eq!(b.shape, [1, 3, 3, h as usize, w as usize], "sample {i}");
                assert!(
                    same_bits(&b.data, &want.data),
                    "sample {i}, {workers} workers"
                );
            }
            runs.push(got.into_iter().map(|b| b.data).collect::<Vec<_>>());
        }
        // Recycled buffers are reused (resized to each clip) rather than allocated anew.
        let fresh = Loader::new(Arc::clone(&ds), *loader.config()).unwrap();
        for epoch in 0..3 {
            for batch in fresh.epoch(epoch) {
                fresh.recycle(batch.unwrap());
            }
        }
        let allocated = fresh.buffers_allocated();
        assert!(
            allocated <= fresh.config().in_flight() + 2,
            "{allocated} for 15 batches"
        );
    }
    assert_eq!(runs[0].len(), runs[2].len());
    assert!(runs[0].iter().zip(&runs[2]).all(|(a, b)| same_bits(a, b)));
}

#[test]
fn ragged_loader_needs_batches_of_one() {
    let dir = TempDir::new("ld-ragged-bad");
    let ds = dataset(&dir, 2);
    let e = Loader::new(
        ds,
        LoaderConfig {
            batch_size: 2,
            ragged: true,
            ..LoaderConfig::default()
        },
    )
    .err()
    .unwrap();
    assert!(matches!(e.problem, Problem::Usage(_)), "{e}");
    assert!(e.to_string().contains("ragged"), "{e}");
}

/// The batches of a loader over `ds` with `config`, for `epoch`.
fn loaded(ds: &Arc<Dataset>, config: LoaderConfig, epoch: u64) -> Vec<Batch> {
    batches(&Loader::new(Arc::clone(ds), config).unwrap(), epoch)
}

#[test]
fn half_loaders_round_in_their_workers_to_the_f32_batches_bits() {
    use mixdata::{Dtype, Half, Values};
    let dir = TempDir::new("ld-half");
    let skip = with_a_broken_clip(&dir);
    let (entries, _) = png_clips(
        dir.path().join("ragged").as_path(),
        3,
        |c| 9 + c,
        |c| if c == 1 { (6, 10) } else { SIZE },
    );
    let ragged = Arc::new(Dataset::new(entries, config(4)).unwrap());
    for (ds, base) in [
        // A skipped clip moves samples between buffers (both copy paths of the assembly).
        (
            &skip,
            LoaderConfig {
                batch_size: 4,
                on_error: ErrorPolicy::Skip,
                ..LoaderConfig::default()
            },
        ),
        (
            &ragged,
            LoaderConfig {
                batch_size: 1,
                ragged: true,
                ..LoaderConfig::default()
            },
        ),
    ] {
        let want = loaded(ds, base, 1);
        for (half, workers) in [(Half::F16, 0), (Half::Bf16, 2), (Half::F16, 3)] {
            let dtype = half.dtype();
            let got = loaded(
                ds,
                LoaderConfig {
                    workers,
                    dtype,
                    ..base
                },
                1,
            );
            assert_eq!(indices(&got), indices(&want), "{dtype} {workers} workers");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!((g.dtype, g.shape), (dtype, w.shape));
                assert!(g.data.is_empty());
                let bits: Vec<u16> = w.data.iter().map(|&x| half.bits(x)).collect();
                assert_eq!(
                    g.half, bits,
                    "{dtype}, {workers} workers, batch {:?}",
                    g.indices
                );
                assert_eq!(g.skipped.len(), w.skipped.len());
                // The batch's own values, as they are; widened exactly; moved out.
                assert_eq!(g.to_half(half), bits);
                let wide: Vec<f32> = bits.iter().map(|&b| half.to_f32(b)).collect();
                assert_eq!(g.values(Dtype::F32), Values::F32(wide));
                assert_eq!(g.values(dtype), Values::from_half(half, bits.clone()));
            }
            let moved: Vec<Values> = got.into_iter().map(Batch::into_values).collect();
            assert!(moved.iter().zip(&want).all(|(m, w)| *m == w.values(dtype)));
        }
    }
}
