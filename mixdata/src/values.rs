//! Output values in a chosen element type: `f32` as mixed, or `f16`/`bf16`.
//!
//! Every mix is computed in `f32`; a half-precision output is that `f32` result rounded once
//! to the half format, to nearest, ties to even (docs/contract.md, section 10), with
//! [`mixcore::half::convert`]. The rounding is therefore exact by definition: the half of a
//! sample is the half of its `f32` values, whichever device mixed it.
//!
//! [`Sample`](crate::Sample) and [`Batch`](crate::Batch) keep their `f32` buffers (`data`);
//! [`Sample::values`](crate::Sample::values) / [`Batch::values`](crate::Batch::values) hand the
//! values out in a [`Dtype`], and [`Sample::to_half`](crate::Sample::to_half) /
//! [`Batch::to_half`](crate::Batch::to_half) give the bit patterns of a [`Half`] format
//! directly.
//!
//! ```
//! use mixdata::values::{Dtype, Values};
//! let v = Values::from_f32(&[1.0, 0.1, 255.0], Dtype::F16);
//! assert_eq!(v.dtype(), Dtype::F16);
//! // 0.1 rounds to the nearest binary16, 0x2E66; 1.0 and 255.0 are exact.
//! assert_eq!(v, Values::F16(vec![0x3C00, 0x2E66, 0x5BF8]));
//! assert_eq!(v.to_le_bytes(), [0x00, 0x3C, 0x66, 0x2E, 0xF8, 0x5B]);
//! ```

pub use mixcore::{Dtype, Half};

/// Values in one of the output element types; halves are stored as their bit patterns.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// IEEE binary32, as mixed.
    F32(Vec<f32>),
    /// IEEE binary16 bit patterns.
    F16(Vec<u16>),
    /// bfloat16 bit patterns.
    Bf16(Vec<u16>),
}

impl Values {
    /// `data` in `dtype`: copied for [`Dtype::F32`], else each value rounded to the half
    /// format (nearest, ties to even).
    #[must_use]
    pub fn from_f32(data: &[f32], dtype: Dtype) -> Values {
        match dtype.half() {
            None => Values::F32(data.to_vec()),
            Some(half) => Values::from_half(half, to_half(data, half)),
        }
    }

    /// `data` moved in as they are ([`Dtype::F32`]) or rounded to the half format (the
    /// `f32` buffer is then dropped).
    #[must_use]
    pub fn from_vec(data: Vec<f32>, dtype: Dtype) -> Values {
        match dtype.half() {
            None => Values::F32(data),
            Some(half) => Values::from_half(half, to_half(&data, half)),
        }
    }

    /// Bit patterns of `half` as values.
    #[must_use]
    pub fn from_half(half: Half, bits: Vec<u16>) -> Values {
        match half {
            Half::F16 => Values::F16(bits),
            Half::Bf16 => Values::Bf16(bits),
        }
    }

    /// The element type.
    #[must_use]
    pub fn dtype(&self) -> Dtype {
        match self {
            Values::F32(_) => Dtype::F32,
            Values::F16(_) => Dtype::F16,
            Values::Bf16(_) => Dtype::Bf16,
        }
    }

    /// The number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F16(v) | Values::Bf16(v) => v.len(),
        }
    }

    /// True when there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as little-endian bytes (the layout of `.npy` `<f4`/`<f2` and safetensors'
    /// data), [`Dtype::size`] bytes each.
    #[must_use]
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Values::F16(v) | Values::Bf16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Every value of `data` rounded to `half` (nearest, ties to even), as bit patterns.
#[must_use]
pub fn to_half(data: &[f32], half: Half) -> Vec<u16> {
    let mut out = vec![0u16; data.len()];
    mixcore::half::convert(data, &mut out, half);
    out
}

/// Writes `data` as little-endian values of `dtype` to `w`: `f32` straight from `data` on a
/// little-endian machine (one `write_all` of its bytes, which a `BufWriter` passes through
/// without copying), else through a 16 KiB buffer, rounding (halves) or byte-swapping chunk
/// by chunk; no copy of the whole buffer is made.
///
/// # Errors
/// `w`'s errors.
pub fn write_le(w: &mut impl std::io::Write, data: &[f32], dtype: Dtype) -> std::io::Result<()> {
    const CHUNK: usize = 4096;
    match dtype.half() {
        None if cfg!(target_endian = "little") => w.write_all(bytemuck::cast_slice(data)),
        None => {
            let mut bytes = vec![0u8; CHUNK * 4];
            for chunk in data.chunks(CHUNK) {
                for (dst, v) in bytes.chunks_exact_mut(4).zip(chunk) {
                    dst.copy_from_slice(&v.to_le_bytes());
                }
                w.write_all(&bytes[..chunk.len() * 4])?;
            }
            Ok(())
        }
        Some(half) => {
            let mut bits = vec![0u16; CHUNK];
            for chunk in data.chunks(CHUNK) {
                let bits = &mut bits[..chunk.len()];
                mixcore::half::convert(chunk, bits, half);
                if cfg!(target_endian = "big") {
                    bits.iter_mut().for_each(|b| *b = b.to_le());
                }
                w.write_all(bytemuck::cast_slice(bits))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_each_element_once() {
        let data = [0.0f32, -0.0, 1.0 / 3.0, 255.0, 1e-8, -70000.0, f32::NAN];
        for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
            let v = Values::from_f32(&data, dtype);
            assert_eq!(v.dtype(), dtype);
            assert_eq!(v.len(), data.len());
            assert_eq!(v.to_le_bytes().len(), data.len() * dtype.size());
            let mut written = Vec::new();
            write_le(&mut written, &data, dtype).unwrap();
            assert_eq!(written, v.to_le_bytes());
            match (&v, dtype.half()) {
                (Values::F32(x), None) => {
                    assert!(x.iter().zip(&data).all(|(a, b)| a.to_bits() == b.to_bits()))
                }
                (Values::F16(x) | Values::Bf16(x), Some(h)) => {
                    let want: Vec<u16> = data.iter().map(|&y| h.bits(y)).collect();
                    assert_eq!(*x, want);
                }
                _ => panic!("{v:?} is not {dtype}"),
            }
        }
        // Known roundings: bf16 of 1/3 is 0x3EAB (0x3EAAAAAB rounds up), f16 of -70000 is -inf.
        assert_eq!(to_half(&[1.0 / 3.0], Half::Bf16), [0x3EAB]);
        assert_eq!(to_half(&[-70000.0], Half::F16), [0xFC00]);
        assert!(Values::from_vec(Vec::new(), Dtype::Bf16).is_empty());
    }

    #[test]
    fn write_le_streams_long_buffers() {
        let data: Vec<f32> = (0..10_000).map(|i| i as f32 / 7.0).collect();
        let mut written = Vec::new();
        write_le(&mut written, &data, Dtype::F16).unwrap();
        assert_eq!(written, Values::from_f32(&data, Dtype::F16).to_le_bytes());
        written.clear();
        write_le(&mut written, &data, Dtype::F32).unwrap();
        assert_eq!(written.len(), data.len() * 4);
        assert_eq!(&written[4 * 9999..], &data[9999].to_le_bytes());
    }
}
