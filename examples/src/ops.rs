//! Three candle custom operations with hand-written CPU forward and backward passes: the 3x3
//! unfold (`im2col`) of a convolution, 2x2 max pooling, and batch normalisation fused with
//! the ReLU after it, all channels last.
//!
//! Each replaces a chain of generic tensor operations (padding, nine slices, a concatenation
//! and their gradients; strided reductions) by one pass over memory each way. On this
//! project's 2-core machine that makes the example's training several times faster; the
//! tests check every forward and backward pass against candle's own operations.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};

/// The contiguous `f32` data of a CPU storage.
fn slice<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: input is not contiguous"),
    }
}

fn host(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

/// The dimensions of a non-empty `[N, H, W, C]` input.
fn dims4(layout: &Layout, op: &str) -> candle_core::Result<(usize, usize, usize, usize)> {
    match *layout.dims() {
        [n, h, w, c] if n > 0 && h > 0 && w > 0 && c > 0 => Ok((n, h, w, c)),
        ref d => candle_core::bail!("{op}: expected a non-empty [N, H, W, C], got {d:?}"),
    }
}

/// `[N, H, W, C]` to the rows `[N * H * W, 9 * C]` of a 3x3 convolution with zero padding 1:
/// row `(n, y, x)` holds taps `(dy, dx)` in row-major order, channels innermost.
#[derive(Clone, Copy, Debug)]
pub struct Unfold3x3;

impl CustomOp1 for Unfold3x3 {
    fn name(&self) -> &'static str {
        "unfold3x3"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, h, w, c) = dims4(layout, self.name())?;
        let src = slice(storage, layout, self.name())?;
        let mut out = vec![0.0f32; n * h * w * 9 * c];
        for (row, dst) in out.chunks_exact_mut(9 * c).enumerate() {
            let (img, y, x) = (row / (h * w), row / w % h, row % w);
            for dy in 0..3 {
                let sy = y + dy;
                if sy < 1 || sy > h {
                    continue;
                }
                for dx in 0..3 {
                    let sx = x + dx;
                    if sx < 1 || sx > w {
                        continue;
                    }
                    let from = ((img * h + sy - 1) * w + sx - 1) * c;
                    let tap = (dy * 3 + dx) * c;
                    dst[tap..tap + c].copy_from_slice(&src[from..from + c]);
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((n * h * w, 9 * c))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (n, h, w, c) = arg.dims4()?;
        let g = host(grad)?;
        let mut out = vec![0.0f32; n * h * w * c];
        for (row, src) in g.chunks_exact(9 * c).enumerate() {
            let (img, y, x) = (row / (h * w), row / w % h, row % w);
            for dy in 0..3 {
                let sy = y + dy;
                if sy < 1 || sy > h {
                    continue;
                }
                for dx in 0..3 {
                    let sx = x + dx;
                    if sx < 1 || sx > w {
                        continue;
                    }
                    let to = ((img * h + sy - 1) * w + sx - 1) * c;
                    let tap = (dy * 3 + dx) * c;
                    for (o, v) in out[to..to + c].iter_mut().zip(&src[tap..tap + c]) {
                        *o += v;
                    }
                }
            }
        }
        Tensor::from_vec(out, (n, h, w, c), arg.device()).map(Some)
    }
}

/// 2x2 max pooling with stride 2, `[N, H, W, C]` to `[N, H/2, W/2, C]` (odd edges dropped).
/// The gradient goes to the first maximum of each window.
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2;

impl MaxPool2 {
    /// Index (into the input) of the first maximum of output element `(img, oy, ox, ch)`.
    fn argmax(
        src: &[f32],
        (h, w, c): (usize, usize, usize),
        img: usize,
        oy: usize,
        ox: usize,
        ch: usize,
    ) -> usize {
        let at = |y: usize, x: usize| ((img * h + y) * w + x) * c + ch;
        let mut best = at(2 * oy, 2 * ox);
        for i in [
            at(2 * oy, 2 * ox + 1),
            at(2 * oy + 1, 2 * ox),
            at(2 * oy + 1, 2 * ox + 1),
        ] {
            if src[i] > src[best] {
                best = i;
            }
        }
        best
    }
}

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "maxpool2"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, h, w, c) = dims4(layout, self.name())?;
        let src = slice(storage, layout, self.name())?;
        let (oh, ow) = (h / 2, w / 2);
        if oh == 0 || ow == 0 {
            candle_core::bail!("maxpool2: {h}x{w} is smaller than one 2x2 window");
        }
        let mut out = vec![0.0f32; n * oh * ow * c];
        for (row, dst) in out.chunks_exact_mut(ow * c).enumerate() {
            let (img, oy) = (row / oh, row % oh);
            let top = &src[((img * h + 2 * oy) * w) * c..][..w * c];
            let bottom = &src[((img * h + 2 * oy + 1) * w) * c..][..w * c];
            for (ox, d) in dst.chunks_exact_mut(c).enumerate() {
                let i = 2 * ox * c;
                for (ch, o) in d.iter_mut().enumerate() {
                    *o = top[i + ch]
                        .max(top[i + c + ch])
                        .max(bottom[i + ch])
                        .max(bottom[i + c + ch]);
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((n, oh, ow, c))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (n, h, w, c) = arg.dims4()?;
        let src = host(arg)?;
        let g = host(grad)?;
        let (oh, ow) = (h / 2, w / 2);
        let mut out = vec![0.0f32; n * h * w * c];
        let mut k = 0;
        for img in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..c {
                        out[Self::argmax(&src, (h, w, c), img, oy, ox, ch)] += g[k];
                        k += 1;
                    }
                }
            }
        }
        Tensor::from_vec(out, (n, h, w, c), arg.device()).map(Some)
    }
}

/// Per-channel mean and biased variance of the rows of `x` (`[M, C]`), accumulated in
/// `f64`.
///
/// # Errors
/// candle's errors; a tensor that is not two-dimensional or has no rows.
pub fn batch_stats(x: &Tensor) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
    let (m, c) = x.dims2()?;
    if m == 0 || c == 0 {
        candle_core::bail!("batch statistics of an empty [{m}, {c}] tensor");
    }
    let v = host(x)?;
    let mut sum = vec![0.0f64; c];
    let mut sq = vec![0.0f64; c];
    for row in v.chunks_exact(c) {
        for ((s, q), &x) in sum.iter_mut().zip(sq.iter_mut()).zip(row) {
            let x = f64::from(x);
            *s += x;
            *q += x * x;
        }
    }
    let mf = m as f64;
    let mean = sum.iter().map(|s| (s / mf) as f32).collect();
    let var = sum
        .iter()
        .zip(&sq)
        .map(|(s, q)| ((q / mf) - (s / mf).powi(2)).max(0.0) as f32)
        .collect();
    Ok((mean, var))
}

/// Batch normalisation and ReLU of `[M, C]` rows in one operation:
/// `y = max(0, gamma_c * (x - mean_c) * inv_std_c + beta_c)`.
///
/// With `batch_stats`, `mean` and `inv_std` are the batch's own statistics and the backward
/// pass includes their dependence on `x` (training); without, they are constants (the moving
/// averages, evaluation).
#[derive(Clone, Debug)]
pub struct BatchNormRelu {
    /// Per-channel mean.
    pub mean: Vec<f32>,
    /// Per-channel `1 / sqrt(var + eps)`.
    pub inv_std: Vec<f32>,
    /// Whether `mean` and `inv_std` are the statistics of this very batch.
    pub batch_stats: bool,
}

impl CustomOp3 for BatchNormRelu {
    fn name(&self) -> &'static str {
        "batchnorm-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s1, l1, self.name())?;
        let gamma = slice(s2, l2, self.name())?;
        let beta = slice(s3, l3, self.name())?;
        let c = self.mean.len();
        if c == 0
            || l1.dims() != [x.len() / c, c]
            || gamma.len() != c
            || beta.len() != c
            || self.inv_std.len() != c
        {
            candle_core::bail!(
                "batchnorm-relu: expected [M, {c}] and [{c}], got {:?}",
                l1.dims()
            );
        }
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&self.inv_std)
            .map(|(g, s)| g * s)
            .collect();
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(c) {
            for ch in 0..c {
                out.push(((row[ch] - self.mean[ch]) * scale[ch] + beta[ch]).max(0.0));
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (m, c) = x.dims2()?;
        let xv = host(x)?;
        let yv = host(res)?;
        let gv = host(grad)?;
        let gamma = host(gamma)?;
        // g' = grad where the ReLU passed, x̂ = (x - mean) * inv_std. Sums in f32 over
        // blocks of rows, then in f64.
        let (mean, inv_std) = (&self.mean[..], &self.inv_std[..]);
        let mut dbeta = vec![0.0f64; c];
        let mut dgamma = vec![0.0f64; c];
        let mut block_b = vec![0.0f32; c];
        let mut block_g = vec![0.0f32; c];
        let rows = xv
            .chunks_exact(c)
            .zip(yv.chunks_exact(c))
            .zip(gv.chunks_exact(c));
        for (i, ((xr, yr), gr)) in rows.enumerate() {
            for (ch, ((&x, &y), &g)) in xr.iter().zip(yr).zip(gr).enumerate() {
                let g = if y > 0.0 { g } else { 0.0 };
                block_b[ch] += g;
                block_g[ch] += g * (x - mean[ch]) * inv_std[ch];
            }
            if i % 256 == 255 || i + 1 == m {
                for ch in 0..c {
                    dbeta[ch] += f64::from(block_b[ch]);
                    dgamma[ch] += f64::from(block_g[ch]);
                }
                block_b.fill(0.0);
                block_g.fill(0.0);
            }
        }
        // dx̂ = g' * gamma; with batch statistics
        // dx = inv_std * (dx̂ - mean(dx̂) - x̂ * mean(dx̂ * x̂)), where
        // mean(dx̂) = gamma * dbeta / M and mean(dx̂ * x̂) = gamma * dgamma / M.
        let mf = m as f64;
        let (mean_d, mean_dx): (Vec<f32>, Vec<f32>) = if self.batch_stats {
            (
                (0..c)
                    .map(|ch| (f64::from(gamma[ch]) * dbeta[ch] / mf) as f32)
                    .collect(),
                (0..c)
                    .map(|ch| (f64::from(gamma[ch]) * dgamma[ch] / mf) as f32)
                    .collect(),
            )
        } else {
            (vec![0.0; c], vec![0.0; c])
        };
        let mut dx = vec![0.0f32; m * c];
        let rows = xv
            .chunks_exact(c)
            .zip(yv.chunks_exact(c))
            .zip(gv.chunks_exact(c));
        for (out, ((xr, yr), gr)) in dx.chunks_exact_mut(c).zip(rows) {
            for (ch, (o, ((&x, &y), &g))) in
                out.iter_mut().zip(xr.iter().zip(yr).zip(gr)).enumerate()
            {
                let xhat = (x - mean[ch]) * inv_std[ch];
                let d = if y > 0.0 { g * gamma[ch] } else { 0.0 };
                *o = inv_std[ch] * (d - mean_d[ch] - xhat * mean_dx[ch]);
            }
        }
        let dev = x.device();
        let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        Ok((
            Some(Tensor::from_vec(dx, (m, c), dev)?),
            Some(Tensor::from_vec(to_f32(dgamma), c, dev)?),
            Some(Tensor::from_vec(to_f32(dbeta), c, dev)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use candle_core::{Device, Var};

    fn random(shape: &[usize], seed: u64) -> Var {
        let mut rng = Rng::new(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
        Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap()).unwrap()
    }

    fn close(a: &Tensor, b: &Tensor) {
        let (a, b) = (host(a).unwrap(), host(b).unwrap());
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    /// The same unfold from candle's generic operations.
    fn unfold_generic(x: &Tensor) -> Tensor {
        let (n, h, w, c) = x.dims4().unwrap();
        let p = x
            .pad_with_zeros(1, 1, 1)
            .unwrap()
            .pad_with_zeros(2, 1, 1)
            .unwrap();
        let mut taps = Vec::new();
        for dy in 0..3 {
            for dx in 0..3 {
                taps.push(
                    p.narrow(1, dy, h)
                        .unwrap()
                        .narrow(2, dx, w)
                        .unwrap()
                        .contiguous()
                        .unwrap(),
                );
            }
        }
        Tensor::cat(&taps, 3)
            .unwrap()
            .reshape((n * h * w, 9 * c))
            .unwrap()
    }

    /// Forward and gradient (of a random weighting of the output) of `op` and `generic`.
    fn check(x: &Var, op: impl Fn(&Tensor) -> Tensor, generic: impl Fn(&Tensor) -> Tensor) {
        let a = op(x.as_tensor());
        let b = generic(x.as_tensor());
        close(&a, &b);
        let weights = random(a.dims(), 99);
        let ga = (a * weights.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gb = (b * weights.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        close(ga.get(x).unwrap(), gb.get(x).unwrap());
    }

    #[test]
    fn unfold3x3_matches_generic_ops_forward_and_backward() {
        let x = random(&[2, 5, 4, 3], 1);
        check(&x, |t| t.apply_op1(Unfold3x3).unwrap(), unfold_generic);
    }

    #[test]
    fn maxpool2_matches_generic_ops_forward_and_backward() {
        let x = random(&[2, 6, 4, 3], 2);
        check(
            &x,
            |t| t.apply_op1(MaxPool2).unwrap(),
            |t| {
                t.reshape((2, 3, 2, 2, 2, 3))
                    .unwrap()
                    .max(4)
                    .unwrap()
                    .max(2)
                    .unwrap()
            },
        );
    }

    #[test]
    fn batchnorm_relu_matches_generic_ops_forward_and_backward() {
        let x = random(&[9, 3], 3);
        let gamma = random(&[3], 5);
        let beta = random(&[3], 6);
        let eps = 1e-5f64;
        for batch_stats in [true, false] {
            let (mean, var) = batch_stats_of(&x, batch_stats);
            let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps as f32).sqrt()).collect();
            let op = BatchNormRelu {
                mean: mean.clone(),
                inv_std: inv_std.clone(),
                batch_stats,
            };
            let a = x
                .as_tensor()
                .apply_op3(gamma.as_tensor(), beta.as_tensor(), op)
                .unwrap();
            let normed = if batch_stats {
                let m = x.as_tensor().mean_keepdim(0).unwrap();
                let c = x.as_tensor().broadcast_sub(&m).unwrap();
                let v = c.sqr().unwrap().mean_keepdim(0).unwrap();
                c.broadcast_div(&(v + eps).unwrap().sqrt().unwrap())
                    .unwrap()
            } else {
                let m = Tensor::from_slice(&mean, 3, &Device::Cpu).unwrap();
                let s = Tensor::from_slice(&inv_std, 3, &Device::Cpu).unwrap();
                x.as_tensor()
                    .broadcast_sub(&m)
                    .unwrap()
                    .broadcast_mul(&s)
                    .unwrap()
            };
            let b = normed
                .broadcast_mul(gamma.as_tensor())
                .unwrap()
                .broadcast_add(beta.as_tensor())
                .unwrap()
                .relu()
                .unwrap();
            close(&a, &b);
            let w = random(a.dims(), 98);
            let ga = (a * w.as_tensor())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gb = (b * w.as_tensor())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&x, &gamma, &beta] {
                close(ga.get(v).unwrap(), gb.get(v).unwrap());
            }
        }
    }

    /// The batch's statistics, or fixed made-up ones.
    fn batch_stats_of(x: &Var, batch: bool) -> (Vec<f32>, Vec<f32>) {
        if batch {
            batch_stats(x.as_tensor()).unwrap()
        } else {
            (vec![0.1, -0.2, 0.3], vec![0.5, 1.5, 0.8])
        }
    }

    #[test]
    fn batch_stats_mean_and_biased_variance() {
        let x = Tensor::from_vec(vec![1.0f32, 10.0, 3.0, 30.0], (2, 2), &Device::Cpu).unwrap();
        let (m, v) = batch_stats(&x).unwrap();
        assert_eq!(m, [2.0, 20.0]);
        assert_eq!(v, [1.0, 100.0]);
    }

    #[test]
    fn ops_reject_wrong_shapes() {
        let x = random(&[4, 3], 4);
        assert!(x.as_tensor().apply_op1(Unfold3x3).is_err());
        assert!(x.as_tensor().apply_op1(MaxPool2).is_err());
        let empty = Tensor::zeros((2, 3, 0, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(empty.apply_op1(Unfold3x3).is_err());
        let thin = random(&[1, 1, 5, 2], 7);
        assert!(thin.as_tensor().apply_op1(MaxPool2).is_err());
        let no_channels = Tensor::zeros((3, 0), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(batch_stats(&no_channels).is_err());
    }
}
