//! Exhaustive checks of the single-precision split-reciprocal division route
//! (`round::FMA_DIVISOR_LIMIT`): the AVX2 sequence the kernels use, and the same two
//! operations on sixteen AVX-512 lanes where the CPU has AVX-512, equal the `f64` reciprocal
//! route (itself proved exact for `D < 2^17`) and the integer reference.
//!
//! - Every `D <= 257` (every denominator the one-pass kernel sees) and every `N <= 255*D`:
//!   8.5 million quotients, on every test run.
//! - Every `D < 2^16` and every `N <= 255*D`: about 5.5e11 quotients, ignored by default; run
//!   with `cargo test --release -p mixcore --features std,unstable-internals --test markstein --
//!   --ignored --nocapture`.

#[cfg(target_arch = "x86_64")]
#[test]
fn split_route_is_exact_for_every_one_pass_denominator() {
    if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
        eprintln!("skipped: this CPU has no AVX2+FMA");
        return;
    }
    let avx512 = has_avx512();
    if !avx512 {
        eprintln!("SKIPPED: this CPU has no AVX-512 BW/VL: its division sequence was NOT tested");
    }
    for d in 1..=257u32 {
        // SAFETY: AVX2 and FMA were detected above.
        let bad = unsafe { check_denominator(d) };
        assert_eq!(
            bad, None,
            "split route differs from the f64 route for D = {d}"
        );
        if avx512 {
            // SAFETY: AVX-512 F and FMA were detected just above.
            let bad = unsafe { check_denominator_avx512(d) };
            assert_eq!(bad, None, "AVX-512 split route differs for D = {d}");
        }
        // The scalar form against the integer reference, on a spread of numerators.
        let y = mixcore::round::split_reciprocal(d);
        for n in (0..=255 * d).step_by(7) {
            assert_eq!(
                mixcore::round::round_ratio_fma(n, y).to_bits(),
                mixcore::round::round_ratio(u64::from(n), u64::from(d)).to_bits(),
                "N = {n}, D = {d}"
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
#[ignore = "exhaustive: about two minutes on two cores"]
fn fma_route_equals_recip_route_for_every_small_denominator() {
    if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
        eprintln!("skipped: this CPU has no AVX2+FMA");
        return;
    }
    let limit = mixcore::round::FMA_DIVISOR_LIMIT as u32;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    let bad: Vec<(u32, u32)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    let mut bad = Vec::new();
                    let mut d = 1 + k;
                    while d < limit {
                        // SAFETY: AVX2 and FMA were detected above.
                        if let Some(n) = unsafe { check_denominator(d) } {
                            bad.push((n, d));
                        }
                        // SAFETY: AVX-512 F and FMA were detected (`has_avx512`).
                        if has_avx512()
                            && let Some(n) = unsafe { check_denominator_avx512(d) }
                        {
                            bad.push((n, d));
                        }
                        d += threads;
                    }
                    bad
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        bad.is_empty(),
        "split route differs for (N, D): {:?}",
        &bad[..bad.len().min(10)]
    );
    eprintln!("checked every N <= 255*D for every D < {limit}: no difference");
}

/// The first `N` whose split-route quotient differs from the reciprocal route, if any.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn check_denominator(d: u32) -> Option<u32> {
    use std::arch::x86_64::*;
    let (y_hi, y_lo) = mixcore::round::split_reciprocal(d);
    let (hv, lv) = (_mm256_set1_ps(y_hi), _mm256_set1_ps(y_lo));
    let rv = _mm256_set1_pd(1.0 / f64::from(d));
    let top = 255 * d;
    let mut base = 0u32;
    let step = _mm256_set1_epi32(8);
    let mut nv = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    while base <= top {
        let n = _mm256_cvtepi32_ps(nv);
        let v = _mm256_fmadd_ps(n, hv, _mm256_mul_ps(n, lv));
        let lo = _mm256_cvtpd_ps(_mm256_mul_pd(
            _mm256_cvtepi32_pd(_mm256_castsi256_si128(nv)),
            rv,
        ));
        let hi = _mm256_cvtpd_ps(_mm256_mul_pd(
            _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(nv)),
            rv,
        ));
        let w = _mm256_set_m128(hi, lo);
        let eq = _mm256_cmpeq_epi32(_mm256_castps_si256(v), _mm256_castps_si256(w));
        let mask = _mm256_movemask_ps(_mm256_castsi256_ps(eq)) as u32;
        if mask != 0xFF {
            let lane = (!mask).trailing_zeros();
            if base + lane <= top {
                return Some(base + lane);
            }
        }
        nv = _mm256_add_epi32(nv, step);
        base += 8;
    }
    None
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("fma")
}

/// As [`check_denominator`], with the AVX-512 kernels' sixteen-lane sequence
/// (`kernel/avx512.rs`, `divide`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn check_denominator_avx512(d: u32) -> Option<u32> {
    use std::arch::x86_64::*;
    let (y_hi, y_lo) = mixcore::round::split_reciprocal(d);
    let (hv, lv) = (_mm512_set1_ps(y_hi), _mm512_set1_ps(y_lo));
    let rv = _mm512_set1_pd(1.0 / f64::from(d));
    let top = 255 * d;
    let mut base = 0u32;
    let step = _mm512_set1_epi32(16);
    let mut nv = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    while base <= top {
        let n = _mm512_cvtepi32_ps(nv);
        let v = _mm512_fmadd_ps(n, hv, _mm512_mul_ps(n, lv));
        let lo = _mm512_cvtpd_ps(_mm512_mul_pd(
            _mm512_cvtepi32_pd(_mm512_castsi512_si256(nv)),
            rv,
        ));
        let hi = _mm512_cvtpd_ps(_mm512_mul_pd(
            _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64::<1>(nv)),
            rv,
        ));
        let w = _mm512_insertf32x8::<1>(_mm512_castps256_ps512(lo), hi);
        let mask = _mm512_cmpeq_epi32_mask(_mm512_castps_si512(v), _mm512_castps_si512(w));
        if mask != 0xFFFF {
            let lane = (!mask).trailing_zeros();
            if base + lane <= top {
                return Some(base + lane);
            }
        }
        nv = _mm512_add_epi32(nv, step);
        base += 16;
    }
    None
}
