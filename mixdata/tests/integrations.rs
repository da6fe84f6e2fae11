//! The framework hand-offs on real clips: a loader's batches as candle tensors (`candle`
//! feature), and the dataset as burn's `Dataset` with a settable epoch (`burn` feature).
//! `cargo test -p mixdata --features candle,burn --test integrations`.
#![cfg(any(feature = "candle", feature = "burn"))]

mod common;

use common::{TempDir, png_clips, same_bits};
use mixcore::{FramesPerSegment, Mode};
use mixdata::{Dataset, DatasetConfig};

const SIZE: (u32, u32) = (8, 6);

fn dataset(dir: &TempDir, clips: u32) -> Dataset {
    let (entries, _) = png_clips(dir.path(), clips, |c| 10 + c % 4, |_| SIZE);
    let config = DatasetConfig {
        segments: 3,
        k: FramesPerSegment::Fixed(2),
        mode: Mode::Train { seed: 5 },
        ..DatasetConfig::default()
    };
    Dataset::new(entries, config).unwrap()
}

#[cfg(feature = "candle")]
#[test]
fn loader_batches_become_candle_tensors_with_the_same_bits() {
    use candle_core::Device;
    use mixdata::{Loader, LoaderConfig};
    let dir = TempDir::new("int-candle");
    let loader = Loader::new(
        dataset(&dir, 5),
        LoaderConfig {
            batch_size: 2,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let batches: Vec<_> = loader.epoch(1).map(Result::unwrap).collect();
    assert_eq!(batches.len(), 3);
    for batch in batches {
        let x = batch.to_candle(&Device::Cpu).unwrap();
        assert_eq!(x.dims(), &batch.shape);
        let values: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        assert!(same_bits(&values, &batch.data));
        // png_clips labels clip c with [c, c + 100]: two labels, so no single-label tensor.
        assert!(batch.labels_to_candle(&Device::Cpu).is_err());
        let hot = batch.labels_to_candle_multi_hot(200, &Device::Cpu).unwrap();
        let rows = hot.to_vec2::<f32>().unwrap();
        for (row, &i) in rows.iter().zip(&batch.indices) {
            let ones: Vec<usize> = (0..200).filter(|&k| row[k] == 1.0).collect();
            assert_eq!(ones, vec![i, i + 100]);
        }
        loader.recycle(batch);
    }
    let sample = loader.dataset().get(3, 1).unwrap();
    let t = sample.to_candle(&Device::Cpu).unwrap();
    assert_eq!(t.dims(), &sample.info.shape);
    assert!(sample.label_to_candle(&Device::Cpu).is_err());
}

#[cfg(feature = "burn")]
#[test]
fn burn_dataset_follows_the_epoch_and_reports_failed_clips() {
    use burn_dataset::Dataset as _;
    use mixdata::integrations::burn::BurnDataset;
    let dir = TempDir::new("int-burn");
    let ds = dataset(&dir, 4);
    let reference = ds.clone();
    let burn = BurnDataset::new(ds);
    assert_eq!(burn.len(), 4);
    assert_eq!(burn.epoch(), 0);
    // In any fetch order, sample i is the dataset's (i, epoch), bit for bit.
    for epoch in [0, 3] {
        burn.set_epoch(epoch);
        for i in [2, 0, 3, 1] {
            let got = burn.get(i).unwrap();
            let want = reference.get(i, epoch).unwrap();
            assert!(same_bits(&got.data, &want.data), "sample {i} epoch {epoch}");
            assert_eq!(got.info, want.info);
        }
    }
    let e3 = burn.get(1).unwrap();
    burn.set_epoch(4);
    assert!(
        !same_bits(&burn.get(1).unwrap().data, &e3.data),
        "the epoch changed nothing"
    );
    assert_eq!(burn.iter().count(), 4);
    assert!(burn.get(4).is_none());
    assert!(
        burn.take_errors().is_empty(),
        "out of range is not a clip's error"
    );
    // A clip whose frames are gone: None, and its error names it.
    let gone = reference.entries()[2].path.clone();
    std::fs::remove_dir_all(&gone).unwrap();
    assert!(burn.get(2).is_none());
    assert!(burn.get(3).is_some());
    let errors = burn.take_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 2);
    let name = gone.file_name().unwrap().to_string_lossy().into_owned();
    assert!(errors[0].1.to_string().contains(&name), "{}", errors[0].1);
    assert!(burn.take_errors().is_empty());
}
