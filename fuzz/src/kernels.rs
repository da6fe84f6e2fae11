//! The `kernels` target: small shapes, row padding and unaligned starts, 1 to 4 channels, every
//! schedule, layout, epilogue and path. Every backend this CPU runs gives the reference's bits
//! through `mix` and `mix_par` (tolerance 0), the reference gives the bits of an independent
//! implementation of docs/contract.md ([`crate::oracle`]), every output slot is written and nothing
//! past the output is touched. Every backend's `mix_half` (f16 and bf16) gives the reference's
//! `f32` bits rounded by the contract's scalar rounding (section 10), refuses what `mix` refuses,
//! and writes nothing past its output either. With mixcore's `check-ref` feature on, every fast tile is also
//! re-run on the reference inside mixcore.
//!
//! Panics when no backend besides the reference ran (zune-jpeg's habit): the target cannot
//! pass without comparing something.

use arbitrary::Arbitrary;
use mixcore::{
    Backend, Epilogue, FloatWeights, FrameView, Geometry, Half, Kernels, MixPath, MixSpec, Plan,
    mix, mix_half, mix_par, output_len,
};

use crate::inputs::{
    EpilogueGen, FrameLayoutGen, HALF_SENTINEL, LayoutGen, PaddedFrame, PathGen, PixelGen,
    SENTINEL, SmallPlanGen, WidthGen, fast_backends, sentinel_output,
};
use crate::oracle;

/// One input of the `kernels` target.
#[derive(Arbitrary, Clone, Debug)]
pub struct KernelsInput {
    /// The plan (F <= 48, S <= 12).
    pub plan: SmallPlanGen,
    /// Width.
    pub width: WidthGen,
    /// Height - 1, modulo 4.
    pub height: u8,
    /// Channels - 1, modulo 4.
    pub channels: u8,
    /// Output layout.
    pub layout: LayoutGen,
    /// Epilogue.
    pub epilogue: EpilogueGen,
    /// Exact or float path.
    pub path: PathGen,
    /// Extra output slots past the output's length, modulo 4.
    pub extra: u8,
    /// Frame content.
    pub pixels: PixelGen,
    /// Padding and offset of each frame (cycled; none: all packed).
    pub frame_layouts: Vec<FrameLayoutGen>,
}

/// Frame bytes per input, at most (the width shrinks to fit).
const MAX_BYTES: usize = 1 << 18;

/// Runs the checks on one input; panics on any violation. Returns true when the mix
/// succeeded and its bits were compared, false when it was refused (or the plan was).
pub fn check(input: &KernelsInput) -> bool {
    let req = input.plan.build();
    let cfg = req.config();
    let Ok(plan) = Plan::new(req.frames, &cfg) else {
        return false; // plan requests are the `plan` target's subject
    };
    let (h, ch) = (
        1 + u32::from(input.height % 4),
        1 + u32::from(input.channels % 4),
    );
    let per_column = (req.frames * h * ch) as usize;
    let w = input
        .width
        .get()
        .min((MAX_BYTES / per_column).max(1) as u32);
    let g = Geometry::new(w, h, ch).expect("small geometry");
    let row_bytes = (w * ch) as usize;
    let frames: Vec<PaddedFrame> = (0..req.frames)
        .map(|f| {
            let mut packed = vec![0u8; row_bytes * h as usize];
            input.pixels.fill(f, &mut packed);
            let layout = if input.frame_layouts.is_empty() {
                FrameLayoutGen::default()
            } else {
                input.frame_layouts[f as usize % input.frame_layouts.len()]
            };
            PaddedFrame::new(&packed, row_bytes, h as usize, layout)
        })
        .collect();
    let views: Vec<FrameView<'_>> = frames
        .iter()
        .map(|p| FrameView::new(p.data(), g, p.stride).expect("frame view"))
        .collect();
    let weights = input.path.weights(req.k);
    let spec = MixSpec {
        layout: input.layout.into(),
        epilogue: input.epilogue.get(),
        path: input.path.get(&weights),
        backend: Backend::Reference,
    };
    let len = output_len(&plan, g).expect("small output");
    let extra = usize::from(input.extra % 4);

    let mut reference = sentinel_output(len, extra);
    let result = mix(&plan, &views, &spec, &mut reference);
    let valid = spec_is_valid(&plan, &spec, ch);
    assert_eq!(
        result.is_ok(),
        valid,
        "reference mix returned {result:?}, expected {}: {input:?}",
        if valid { "Ok" } else { "an error" }
    );
    if let Err(e) = result {
        assert!(
            reference.iter().all(|v| v.to_bits() == SENTINEL),
            "a refused mix ({e:?}) wrote to the output"
        );
    } else {
        assert_untouched_tail(&reference, len, "reference");
        let expected = oracle_mix(&plan, &views, &spec, g);
        for (j, (a, b)) in reference[..len].iter().zip(&expected).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "reference differs from docs/contract.md at output {j}: {a:?} vs {b:?}"
            );
        }
    }

    // Too small an output buffer: refused, untouched.
    if len > 0 {
        let mut short = sentinel_output(len - 1, 0);
        let r = mix(&plan, &views, &spec, &mut short);
        assert!(r.is_err(), "mix into {} of {len} slots succeeded", len - 1);
        assert!(short.iter().all(|v| v.to_bits() == SENTINEL));
    }

    let mut ran = 0;
    for backend in fast_backends() {
        if backend != Backend::Auto {
            assert_eq!(Kernels::for_backend(backend).backend, backend);
        }
        let spec = MixSpec { backend, ..spec };
        for par in [false, true] {
            let mut out = sentinel_output(len, extra);
            let r = if par {
                mix_par(&plan, &views, &spec, &mut out)
            } else {
                mix(&plan, &views, &spec, &mut out)
            };
            assert_eq!(
                r, result,
                "{backend:?} (par {par}) returned {r:?}, reference {result:?}"
            );
            assert_same_bits(&out, &reference, backend, par);
            ran += 1;
        }
    }
    // The reference through rayon, too.
    let mut out = sentinel_output(len, extra);
    let r = mix_par(&plan, &views, &spec, &mut out);
    assert_eq!(
        r, result,
        "reference mix_par returned {r:?}, mix {result:?}"
    );
    assert_same_bits(&out, &reference, Backend::Reference, true);
    assert!(
        ran > 0,
        "no backend besides the reference ran: nothing was compared"
    );
    check_halves(
        &plan,
        &views,
        &spec,
        &reference[..len],
        result.is_ok(),
        extra,
    );
    result.is_ok()
}

/// `mix_half` on every backend (the reference included) against `reference` (the reference
/// backend's `f32` output) rounded value by value with `Half::bits`; `ok`: whether `mix`
/// accepted the spec.
fn check_halves(
    plan: &Plan<'_>,
    views: &[FrameView<'_>],
    spec: &MixSpec<'_>,
    reference: &[f32],
    ok: bool,
    extra: usize,
) {
    let len = reference.len();
    for half in [Half::F16, Half::Bf16] {
        for backend in fast_backends().into_iter().chain([Backend::Reference]) {
            let spec = MixSpec { backend, ..*spec };
            let mut out = vec![HALF_SENTINEL; len + extra];
            let r = mix_half(plan, views, &spec, half, &mut out);
            assert_eq!(
                r.is_ok(),
                ok,
                "{backend:?} mix_half({half:?}) returned {r:?}, mix {}",
                if ok { "Ok" } else { "an error" }
            );
            if r.is_err() {
                assert!(
                    out.iter().all(|&v| v == HALF_SENTINEL),
                    "a refused mix_half wrote to the output"
                );
                continue;
            }
            for (j, (&got, &y)) in out.iter().zip(reference).enumerate() {
                assert_eq!(
                    got,
                    half.bits(y),
                    "{backend:?} mix_half({half:?}) differs from the reference rounded at output {j} ({y:?})"
                );
            }
            assert!(
                out[len..].iter().all(|&v| v == HALF_SENTINEL),
                "{backend:?} mix_half({half:?}) wrote past the output"
            );
        }
    }
}

fn assert_same_bits(out: &[f32], reference: &[f32], backend: Backend, par: bool) {
    for (j, (a, b)) in out.iter().zip(reference).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{backend:?} (par {par}) differs from the reference at output {j}: {a:?} vs {b:?}"
        );
    }
}

fn assert_untouched_tail(out: &[f32], len: usize, what: &str) {
    for (j, v) in out.iter().enumerate() {
        if j < len {
            assert_ne!(
                v.to_bits(),
                SENTINEL,
                "{what}: output {j} of {len} never written"
            );
        } else {
            assert_eq!(
                v.to_bits(),
                SENTINEL,
                "{what}: wrote past the output, at {j}"
            );
        }
    }
}

/// docs/contract.md section 9 for a spec: the epilogue's std positive and finite (and mean finite) for
/// the frame's channels; given float weights one per mixed frame of a fixed k, each finite
/// and >= 0.
fn spec_is_valid(plan: &Plan<'_>, spec: &MixSpec<'_>, channels: u32) -> bool {
    if let Epilogue::Normalize { mean, std } = spec.epilogue {
        let bad = (0..channels as usize)
            .any(|c| !(std[c].is_finite() && std[c] > 0.0 && mean[c].is_finite()));
        if bad {
            return false;
        }
    }
    if let MixPath::Float(FloatWeights::Given(w)) = spec.path {
        let mixcore::FramesPerSegment::Fixed(k) = plan.config().k else {
            return false;
        };
        let smallest = plan.iter().map(|s| s.window().len()).min().unwrap_or(0);
        if w.len() != k as usize || smallest < k || w.iter().any(|x| !(x.is_finite() && *x >= 0.0))
        {
            return false;
        }
    }
    true
}

/// docs/contract.md sections 6 to 8, element by element.
fn oracle_mix(
    plan: &Plan<'_>,
    frames: &[FrameView<'_>],
    spec: &MixSpec<'_>,
    g: Geometry,
) -> Vec<f32> {
    let (w, h, ch) = (g.width as usize, g.height as usize, g.channels as usize);
    let s = plan.segments() as usize;
    let mut out = vec![0.0f32; s * h * w * ch];
    for seg in plan.iter() {
        let m = seg.mixed();
        let positions: Vec<u32> = seg.positions().collect();
        let nums: Vec<u64> = seg.numerators().map(u64::from).collect();
        let d: u64 = nums.iter().sum();
        let fweights: Vec<f32> = match spec.path {
            MixPath::Float(FloatWeights::Given(given)) => given[..m as usize].to_vec(),
            _ => nums.iter().map(|&n| oracle::round_ratio(n, d)).collect(),
        };
        for y in 0..h {
            for x in 0..w {
                for c in 0..ch {
                    let byte = |t: usize| {
                        let fr = &frames[positions[t] as usize];
                        fr.row(y as u32)[x * ch + c]
                    };
                    let v = match spec.path {
                        MixPath::Exact => {
                            let n: u64 =
                                (0..m as usize).map(|t| nums[t] * u64::from(byte(t))).sum();
                            oracle::round_ratio(n, d)
                        }
                        MixPath::Float(_) => {
                            let mut acc = 0.0f32;
                            for (t, wt) in fweights.iter().enumerate() {
                                acc += wt * f32::from(byte(t));
                            }
                            acc
                        }
                        other => unimplemented!("the fuzz oracle has no rule for {other:?}"),
                    };
                    let idx = oracle::output_index(
                        spec.layout,
                        s,
                        ch,
                        h,
                        w,
                        seg.index() as usize,
                        y,
                        x,
                        c,
                    );
                    out[idx] = oracle::epilogue(&spec.epilogue, v, c);
                }
            }
        }
    }
    out
}
