//! The kernel tables themselves (`mixcore::kernel`): every backend's accumulate, finish and
//! one-pass kernels give the scalar reference's bits for any tile length, channel count,
//! layout, epilogue, numerators and destination alignment.

use framemix_tests::{arbitrary_epilogue, backends};
use mixcore::TILE_ELEMENTS;
use mixcore::kernel::{Backend, Finish, Kernels};
use proptest::prelude::*;

/// A group of rows and its numerators.
#[derive(Clone, Debug)]
struct Group {
    rows: Vec<Vec<u8>>,
    nums: Vec<u32>,
    channels: usize,
}

fn arbitrary_group() -> impl Strategy<Value = Group> {
    // Tiles hold at most TILE_ELEMENTS elements (the kernels' contract).
    (
        1usize..=4,
        1usize..=TILE_ELEMENTS,
        1usize..=16,
        any::<bool>(),
    )
        .prop_flat_map(|(channels, pixels, m, small)| {
            let len = (pixels.min(TILE_ELEMENTS / channels)) * channels;
            // Small numerators keep the 16-bit pair route in play; large ones force the
            // 32-bit route.
            let hi = if small { 16u32 } else { 4000 };
            (
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), len), m),
                proptest::collection::vec(1..=hi, m),
            )
                .prop_map(move |(rows, nums)| Group {
                    rows,
                    nums,
                    channels,
                })
        })
}

/// Destination runs for `n` elements: one interleaved run, or one per channel, each starting
/// `offset` floats into its own buffer (to vary the alignment the kernels see).
fn runs(n: usize, fin: &Finish, offset: usize) -> Vec<Vec<f32>> {
    let (count, per) = if fin.planar {
        (fin.channels, n / fin.channels)
    } else {
        (1, n)
    };
    vec![vec![f32::NAN; offset + per]; count]
}

fn finish_into(k: &Kernels, acc: &[u32], d: u64, fin: &Finish, offset: usize) -> Vec<Vec<f32>> {
    let mut bufs = runs(acc.len(), fin, offset);
    let mut dst: Vec<&mut [f32]> = bufs.iter_mut().map(|b| &mut b[offset..]).collect();
    (k.finish_u32)(acc, d, fin, &mut dst);
    bufs.into_iter().map(|b| b[offset..].to_vec()).collect()
}

fn bits(runs: &[Vec<f32>]) -> Vec<Vec<u32>> {
    runs.iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

proptest! {
    #![proptest_config(framemix_tests::cases(384))]

    #[test]
    fn kernels_match_reference(
        g in arbitrary_group(),
        epilogue in arbitrary_epilogue(),
        planar in any::<bool>(),
        offset in 0usize..8,
    ) {
        let len = g.rows[0].len();
        let d: u64 = g.nums.iter().map(|&n| u64::from(n)).sum();
        let planar = planar && g.channels > 1;
        let fin = Finish { epilogue, channels: g.channels, planar };
        let rows: Vec<&[u8]> = g.rows.iter().map(Vec::as_slice).collect();
        let reference = Kernels::for_backend(Backend::Reference);
        let mut want_acc = vec![0u32; len];
        (reference.accumulate_u32)(&mut want_acc, &rows, &g.nums, true);
        let want = bits(&finish_into(&reference, &want_acc, d, &fin, 0));
        for backend in backends().into_iter().filter(|b| *b != Backend::Reference) {
            let k = Kernels::for_backend(backend);
            // Accumulate in two groups (init, then add), as the engine does for long windows.
            let split = (rows.len() / 2).max(1);
            let mut acc = vec![0xDEAD_BEEF_u32; len];
            (k.accumulate_u32)(&mut acc, &rows[..split], &g.nums[..split], true);
            if split < rows.len() {
                (k.accumulate_u32)(&mut acc, &rows[split..], &g.nums[split..], false);
            }
            prop_assert_eq!(&acc, &want_acc, "{:?} accumulate_u32", backend);
            let got = bits(&finish_into(&k, &acc, d, &fin, offset));
            prop_assert_eq!(&got, &want, "{:?} finish_u32 (offset {})", backend, offset);
            if let Some(fused) = k.mix_fused {
                let mut bufs = runs(len, &fin, offset);
                let mut dst: Vec<&mut [f32]> = bufs.iter_mut().map(|b| &mut b[offset..]).collect();
                let done = fused(&rows, &g.nums, d, &fin, &mut dst);
                prop_assert!(done <= len && done % g.channels == 0);
                let per = if planar { done / g.channels } else { done };
                for (c, (b, w)) in bufs.iter().zip(&want).enumerate() {
                    let got: Vec<u32> = b[offset..offset + per].iter().map(|v| v.to_bits()).collect();
                    prop_assert_eq!(&got[..], &w[..per], "{:?} mix_fused run {} (offset {})", backend, c, offset);
                    // Nothing past what it says it did.
                    prop_assert!(b[offset + per..].iter().all(|v| v.is_nan()));
                }
            }
        }
    }
}
