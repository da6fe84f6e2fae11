//! Half-precision values of samples and batches: each value is the `f32` value rounded once to
//! nearest, ties to even (docs/contract.md section 10), checked against the `half` crate, an
//! implementation independent of mixcore's; a batch's halves are its samples' halves in order,
//! also for a recycled (longer) buffer and with the ImageNet scale's negative values.

mod common;

use std::sync::Arc;

use common::{TempDir, png_clips};
use framemix_testkit::{bf16_of, f16_of, half};
use mixcore::{Epilogue, FramesPerSegment, Mode};
use mixdata::{Dataset, DatasetConfig, Dtype, Half, Loader, LoaderConfig, Values};

#[test]
fn samples_and_batches_hand_out_the_contracts_halves() {
    let dir = TempDir::new("half-values");
    let (entries, _) = png_clips(dir.path(), 5, |c| 10 + c, |_| (10, 6));
    for epilogue in [Epilogue::Raw, Epilogue::IMAGENET] {
        let config = DatasetConfig {
            segments: 3,
            k: FramesPerSegment::Fixed(3),
            mode: Mode::Train { seed: 5 },
            epilogue,
            ..DatasetConfig::default()
        };
        let ds = Arc::new(Dataset::new(entries.clone(), config).unwrap());
        let samples: Vec<_> = (0..ds.len()).map(|i| ds.get(i, 2).unwrap()).collect();
        for s in &samples {
            // The test means something only where rounding changes values.
            assert!(s.data.iter().any(|&x| half::f16::from_f32(x).to_f32() != x));
            assert_eq!(s.to_half(Half::F16), f16_of(&s.data));
            assert_eq!(s.to_half(Half::Bf16), bf16_of(&s.data));
            assert_eq!(s.values(Dtype::F16), Values::F16(f16_of(&s.data)));
            assert_eq!(s.values(Dtype::Bf16), Values::Bf16(bf16_of(&s.data)));
            assert_eq!(s.values(Dtype::F32), Values::F32(s.data.clone()));
        }
        let loader = Loader::new(
            Arc::clone(&ds),
            LoaderConfig {
                batch_size: 2,
                workers: 2,
                ..LoaderConfig::default()
            },
        )
        .unwrap();
        for round in 0..2 {
            for batch in loader.epoch(2) {
                let mut batch = batch.unwrap();
                if round == 1 {
                    // A recycled buffer may be longer than the batch: only the shape counts.
                    batch.data.extend([1.5f32; 7]);
                }
                let want: Vec<f32> = batch
                    .indices
                    .iter()
                    .flat_map(|&i| samples[i].data.clone())
                    .collect();
                assert_eq!(batch.to_half(Half::F16), f16_of(&want));
                let Values::Bf16(bits) = batch.values(Dtype::Bf16) else {
                    panic!("bf16 values are Values::Bf16")
                };
                assert_eq!(bits, bf16_of(&want));
                assert_eq!(batch.values(Dtype::F32).len(), want.len());
                batch.data.truncate(want.len());
                loader.recycle(batch);
            }
        }
    }
}
