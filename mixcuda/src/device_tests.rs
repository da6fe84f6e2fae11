//! Device unit tests that need the crate's internals: the rounding probe kernels on the GPU
//! against `mixcore::round::round_ratio`, and the half-precision probes against
//! `mixcore::half::f16_bits` / `bf16_bits`. They print `skipped: ...` without a device (or
//! fail, with `FRAMEMIX_REQUIRE_GPU=1`).

use mixcore::{Half, SplitMix64};

use crate::backend::Queue;
use crate::launch::{half_probe_launch, probe_launch};
use crate::params::Store;
use crate::{Error, Gpu};

use crate::emulate::tests::cases;

#[path = "../tests/support/gpu.rs"]
mod support;

use support::gpu;

/// Runs a probe kernel over `pairs` on the device.
fn probe(gpu: &Gpu, exact: bool, pairs: &[(u64, u64)]) -> Result<Vec<f32>, Error> {
    let b = &*gpu.backend;
    let n: Vec<u8> = pairs.iter().flat_map(|p| p.0.to_le_bytes()).collect();
    let d: Vec<u8> = pairs.iter().flat_map(|p| p.1.to_le_bytes()).collect();
    let (nm, dm, out) = (
        b.alloc(n.len())?,
        b.alloc(d.len())?,
        b.alloc(pairs.len() * 4)?,
    );
    b.upload(&*nm, 0, &n)?;
    b.upload(&*dm, 0, &d)?;
    let launch = probe_launch(exact, nm.addr(), dm.addr(), out.addr(), pairs.len())?;
    // SAFETY: the three allocations hold `pairs.len()` u64, u64 and f32 values, the count the
    // probe reads and writes; they live until the synchronisation below.
    unsafe { b.launch(Queue::Compute, &launch)? };
    b.synchronize(Queue::Compute)?;
    let mut bytes = vec![0u8; pairs.len() * 4];
    b.download(&*out, 0, &mut bytes)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[test]
fn device_rounding_matches_mixcore_round_ratio() {
    let Some(gpu) = gpu("device_rounding_matches_mixcore_round_ratio") else {
        return;
    };
    let mut rng = SplitMix64::new(0xD1CE);
    let mut below = |n: u64| mixcore::select::uniform(rng.next_u64(), n);
    let mut pairs = Vec::new();
    for i in 0..2_000_000u64 {
        let d = match i % 3 {
            0 => 1 + below(300),
            1 => 1 + below((1 << 29) - 1),
            _ => (1 << 29) + below((1 << 48) - (1 << 29)),
        };
        pairs.push((below(255 * d + 1), d));
    }
    for _ in 0..200_000 {
        // Exact midpoints between neighbouring f32 and their neighbours (see the emulator test).
        let m = (1 << 23) + below(1 << 23);
        let j = 30 + below(18);
        let e1 = 18 + below(j - 17);
        let n = (2 * m + 1) << (j - e1);
        for n in [n - 1, n, n + 1] {
            pairs.push((n, 1 << j));
        }
    }
    for exact in [false, true] {
        let got = probe(&gpu, exact, &pairs).unwrap();
        for (&(n, d), g) in pairs.iter().zip(got) {
            let want = mixcore::round::round_ratio(n, d);
            assert_eq!(
                g.to_bits(),
                want.to_bits(),
                "exact={exact}: {n} / {d}: {g} vs {want}"
            );
        }
    }
}

/// Runs the half probe of `store` over the `f32` bit patterns `inputs` on the device.
fn half_probe(gpu: &Gpu, store: Store, inputs: &[u32]) -> Result<Vec<u16>, Error> {
    let b = &*gpu.backend;
    let bytes: Vec<u8> = inputs.iter().flat_map(|x| x.to_le_bytes()).collect();
    let (input, out) = (b.alloc(bytes.len())?, b.alloc(inputs.len() * 2)?);
    b.upload(&*input, 0, &bytes)?;
    let launch = half_probe_launch(store, input.addr(), out.addr(), inputs.len())?;
    // SAFETY: the allocations hold `inputs.len()` f32 and u16 values, the count the probe reads
    // and writes; they live until the synchronisation below.
    unsafe { b.launch(Queue::Compute, &launch)? };
    b.synchronize(Queue::Compute)?;
    let mut back = vec![0u8; inputs.len() * 2];
    b.download(&*out, 0, &mut back)?;
    Ok(back
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}

/// The device's half rounding (no conversion instruction, so no FTZ mode can touch it) is
/// `mixcore::half`'s, bit for bit, on every class of `f32` input.
#[test]
fn device_half_rounding_matches_mixcore_half_bits() {
    let Some(gpu) = gpu("device_half_rounding_matches_mixcore_half_bits") else {
        return;
    };
    let inputs = cases::half_probe_inputs(&mut cases::Rng::new(0x4A1F));
    for (store, half) in [(Store::F16, Half::F16), (Store::Bf16, Half::Bf16)] {
        let got = half_probe(&gpu, store, &inputs).unwrap();
        for (&b, g) in inputs.iter().zip(got) {
            let want = half.bits(f32::from_bits(b));
            assert_eq!(
                g, want,
                "{half:?} of {b:#010x}: device {g:#06x} vs mixcore {want:#06x}"
            );
        }
    }
}
