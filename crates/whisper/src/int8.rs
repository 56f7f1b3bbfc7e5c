//! Int8 matrix products for linear layers: weights quantised once at load to int8 with one f32
//! scale per output channel, activations quantised per row on the fly (symmetric, −127..127),
//! integer dot products accumulated in i32 and scaled back to f32. The dot products run on AVX2
//! when the CPU has it (detected at run time, through `pulp`'s safe intrinsics) and on a scalar
//! path everywhere else; both give the same integers. Output channels are split across rayon's
//! threads. Nothing here knows about tensors or the model.

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
pub mod vnni;

/// Bytes of one SIMD step; rows are zero-padded to a multiple of it.
const LANE: usize = 32;

/// Output channels per parallel task.
const CHUNK: usize = 64;

/// Multiply-adds below which a product stays on the calling thread.
const PARALLEL_MIN: usize = 1 << 18;

/// Which dot-product code runs.
#[derive(Debug, Clone, Copy)]
pub enum Kernel {
    /// Portable Rust, any CPU.
    Scalar,
    /// x86-64 AVX2 (`vpmaddubsw` on |x| and sign-adjusted weights, `vpmaddwd`).
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        Self::available().pop().unwrap_or(Kernel::Scalar)
    }

    /// Every kernel this CPU runs, slowest first (the scalar one always).
    pub fn available() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut out = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            out.push(Kernel::Avx2(v3));
        }
        out
    }
}

/// An `[out, inp]` matrix in int8 with one scale per row (output channel).
#[derive(Debug, Clone)]
pub struct QMatrix {
    out: usize,
    inp: usize,
    /// `inp` rounded up to [`LANE`]; each row is zero-padded to it.
    stride: usize,
    data: Vec<[i8; LANE]>,
    scales: Vec<f32>,
}

/// Rows quantised like [`QMatrix`] rows, plus their absolute values (the AVX2 kernel's unsigned
/// operand), computed once per product rather than once per output channel.
struct QRows {
    q: Vec<[i8; LANE]>,
    abs: Vec<[i8; LANE]>,
    scales: Vec<f32>,
}

/// Quantise `row` into `dst` (zero-padded): returns the scale (`max |x| / 127`, 1 for a zero
/// row) with `x ≈ q · scale`.
fn quantize_row(row: &[f32], dst: &mut [[i8; LANE]]) -> f32 {
    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 && max.is_finite() {
        max / 127.0
    } else {
        1.0
    };
    let inv = 1.0 / scale;
    for (chunk, lanes) in row.chunks(LANE).zip(dst.iter_mut()) {
        *lanes = [0; LANE];
        for (v, q) in chunk.iter().zip(lanes.iter_mut()) {
            // Round half away from zero with a truncating cast: `f32::round` is a libm call on
            // baseline x86-64, and this loop quantises every weight at load.
            let t = v * inv;
            let t = t + if t < 0.0 { -0.5 } else { 0.5 };
            *q = (t as i32).clamp(-127, 127) as i8;
        }
    }
    scale
}

/// A row-major `[out, inp]` weight matrix to quantise: f32, or f16 converted a row at a time
/// (an f16 checkpoint's matrix is never copied whole to f32: for base's 51865-row projection
/// that copy was the load's peak, 106 MB).
#[derive(Debug, Clone, Copy)]
pub enum Matrix<'a> {
    F32(&'a [f32]),
    F16(&'a [half::f16]),
}

impl Matrix<'_> {
    /// Row `r` of width `inp`, in f32 (converted into `buf` if need be; exact).
    pub(crate) fn row<'b>(&'b self, r: usize, inp: usize, buf: &'b mut Vec<f32>) -> &'b [f32] {
        match self {
            Matrix::F32(w) => &w[r * inp..(r + 1) * inp],
            Matrix::F16(w) => {
                buf.clear();
                buf.extend(w[r * inp..(r + 1) * inp].iter().map(|v| v.to_f32()));
                buf
            }
        }
    }
}

impl QMatrix {
    /// Quantise a row-major `[out, inp]` f32 matrix.
    #[cfg(test)]
    pub fn quantize(w: &[f32], out: usize, inp: usize) -> QMatrix {
        Self::quantize_matrix(Matrix::F32(w), out, inp)
    }

    /// Quantise a row-major `[out, inp]` matrix, f32 or f16.
    pub fn quantize_matrix(w: Matrix<'_>, out: usize, inp: usize) -> QMatrix {
        let lanes = inp.div_ceil(LANE);
        let mut data = vec![[0i8; LANE]; out * lanes];
        let scales = if inp == 0 {
            vec![1.0; out]
        } else {
            data.par_chunks_mut(lanes.max(1))
                .enumerate()
                .map_init(Vec::new, |buf, (r, dst)| {
                    quantize_row(w.row(r, inp, buf), dst)
                })
                .collect()
        };
        QMatrix {
            out,
            inp,
            stride: lanes * LANE,
            data,
            scales,
        }
    }

    /// `y = x Wᵀ (+ bias)` for `rows` rows of `x` (row-major `[rows, inp]`); returns
    /// `[rows, out]`.
    pub fn matmul(&self, x: &[f32], rows: usize, bias: Option<&[f32]>, kernel: Kernel) -> Vec<f32> {
        let lanes = self.stride / LANE;
        let mut xq = QRows {
            q: vec![[0i8; LANE]; rows * lanes],
            abs: Vec::new(),
            scales: Vec::with_capacity(rows),
        };
        if self.inp > 0 {
            for (row, dst) in x.chunks(self.inp).zip(xq.q.chunks_mut(lanes)) {
                xq.scales.push(quantize_row(row, dst));
            }
        }
        xq.scales.resize(rows, 1.0);
        xq.abs =
            xq.q.iter()
                .map(|l| l.map(|v| v.unsigned_abs() as i8))
                .collect();
        // Computed channel-major (`[out, rows]`) so that each task owns a contiguous slice.
        let mut yt = vec![0f32; self.out * rows];
        let task = |(c, dst): (usize, &mut [f32])| {
            let first = c * CHUNK;
            let n = dst.len() / rows.max(1);
            self.channels(&xq, rows, first, n, dst, kernel);
        };
        if rows * self.out * self.inp < PARALLEL_MIN || rows == 0 {
            yt.chunks_mut(CHUNK * rows.max(1))
                .enumerate()
                .for_each(task);
        } else {
            yt.par_chunks_mut(CHUNK * rows).enumerate().for_each(task);
        }
        let mut y = vec![0f32; rows * self.out];
        for (o, col) in yt.chunks(rows.max(1)).enumerate() {
            let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0.0);
            for (r, v) in col.iter().enumerate() {
                if let Some(dst) = y.get_mut(r * self.out + o) {
                    *dst = v + b;
                }
            }
        }
        y
    }

    /// Output channels `first..first + n` for every row, into `dst` (`[n, rows]`).
    fn channels(
        &self,
        xq: &QRows,
        rows: usize,
        first: usize,
        n: usize,
        dst: &mut [f32],
        kernel: Kernel,
    ) {
        let lanes = self.stride / LANE;
        let w = self
            .data
            .get(first * lanes..(first + n) * lanes)
            .unwrap_or(&[]);
        let sw = self.scales.get(first..first + n).unwrap_or(&[]);
        match kernel {
            Kernel::Scalar => channels_scalar(xq, lanes, w, sw, rows, dst),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(simd) => avx2::channels(simd, xq, lanes, w, sw, rows, dst),
        }
    }
}

fn channels_scalar(
    xq: &QRows,
    lanes: usize,
    w: &[[i8; LANE]],
    sw: &[f32],
    rows: usize,
    dst: &mut [f32],
) {
    for ((wrow, s), out) in w.chunks(lanes).zip(sw).zip(dst.chunks_mut(rows)) {
        for ((xrow, sx), y) in xq.q.chunks(lanes).zip(&xq.scales).zip(out.iter_mut()) {
            let dot: i32 = xrow
                .iter()
                .flatten()
                .zip(wrow.iter().flatten())
                .map(|(&a, &b)| i32::from(a) * i32::from(b))
                .sum();
            *y = dot as f32 * sx * s;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::__m256i;

    use pulp::bytemuck::cast;
    use pulp::x86::V3;

    use super::{LANE, QRows};

    /// Rows per block: each weight load feeds this many rows. Eight, so that five beams read
    /// each weight row once (with four, the 20 MB output projection streamed twice per step):
    /// eight accumulators and four temporaries fit AVX2's sixteen registers.
    const BLOCK: usize = 8;

    pub(super) fn channels(
        simd: V3,
        xq: &QRows,
        lanes: usize,
        w: &[[i8; LANE]],
        sw: &[f32],
        rows: usize,
        dst: &mut [f32],
    ) {
        simd.vectorize(
            #[inline(always)]
            || {
                for ((wrow, s), out) in w.chunks(lanes).zip(sw).zip(dst.chunks_mut(rows)) {
                    let blocks =
                        xq.q.chunks(lanes * BLOCK)
                            .zip(xq.abs.chunks(lanes * BLOCK))
                            .zip(xq.scales.chunks(BLOCK))
                            .zip(out.chunks_mut(BLOCK));
                    for (((q, abs), sx), y) in blocks {
                        match sx.len() {
                            8 => block::<8>(simd, q, abs, wrow, lanes, sx, *s, y),
                            7 => block::<7>(simd, q, abs, wrow, lanes, sx, *s, y),
                            6 => block::<6>(simd, q, abs, wrow, lanes, sx, *s, y),
                            5 => block::<5>(simd, q, abs, wrow, lanes, sx, *s, y),
                            4 => block::<4>(simd, q, abs, wrow, lanes, sx, *s, y),
                            3 => block::<3>(simd, q, abs, wrow, lanes, sx, *s, y),
                            2 => block::<2>(simd, q, abs, wrow, lanes, sx, *s, y),
                            _ => block::<1>(simd, q, abs, wrow, lanes, sx, *s, y),
                        }
                    }
                }
            },
        );
    }

    /// `R` rows (`q`, `abs`: `R × lanes`) against one weight row.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn block<const R: usize>(
        simd: V3,
        q: &[[i8; LANE]],
        abs: &[[i8; LANE]],
        wrow: &[[i8; LANE]],
        lanes: usize,
        sx: &[f32],
        sw: f32,
        y: &mut [f32],
    ) {
        let avx2 = simd.avx2;
        let ones = simd.avx._mm256_set1_epi16(1);
        let mut acc: [__m256i; R] = [simd.avx._mm256_setzero_si256(); R];
        for (k, wl) in wrow.iter().enumerate() {
            let wv: __m256i = cast(*wl);
            for (r, a) in acc.iter_mut().enumerate() {
                let i = r * lanes + k;
                let (Some(xl), Some(al)) = (q.get(i), abs.get(i)) else {
                    continue;
                };
                // |x| · (w · sign x) = x · w; |x|, |w| ≤ 127, so a pair sums to at most 32258
                // and `vpmaddubsw` never saturates.
                let signed = avx2._mm256_sign_epi8(wv, cast(*xl));
                let pairs = avx2._mm256_maddubs_epi16(cast(*al), signed);
                *a = avx2._mm256_add_epi32(*a, avx2._mm256_madd_epi16(pairs, ones));
            }
        }
        for ((a, s), out) in acc.iter().zip(sx).zip(y.iter_mut()) {
            let lanes: [i32; 8] = cast(*a);
            *out = lanes.iter().sum::<i32>() as f32 * s * sw;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pseudo_random;

    #[test]
    fn every_kernel_gives_the_scalar_integers() {
        // Shapes with a ragged input (not a multiple of 32), row counts that leave a partial
        // block, output counts that leave a partial chunk, and one big enough to go parallel.
        for &(rows, out, inp) in &[
            (1, 3, 5),
            (1, 130, 384),
            (5, 67, 100),
            (7, 200, 1536),
            (3, 1500, 384),
            (13, 90, 200),
        ] {
            let x = pseudo_random(rows * inp, 7);
            let mut w = pseudo_random(out * inp, 11);
            // Extremes: a weight row at ±max, which quantises to ±127.
            w.iter_mut().take(inp).for_each(|v| *v = 1.0);
            let m = QMatrix::quantize(&w, out, inp);
            let bias = pseudo_random(out, 3);
            let reference = m.matmul(&x, rows, Some(&bias), Kernel::Scalar);
            for kernel in Kernel::available() {
                let y = m.matmul(&x, rows, Some(&bias), kernel);
                assert_eq!(y, reference, "{kernel:?} on {rows}×{inp} · {out}");
            }
        }
    }

    #[test]
    fn int8_product_is_close_to_f32() {
        let (rows, out, inp) = (4, 50, 384);
        let x = pseudo_random(rows * inp, 1);
        let w = pseudo_random(out * inp, 2);
        let m = QMatrix::quantize(&w, out, inp);
        let y = m.matmul(&x, rows, None, Kernel::detect());
        for r in 0..rows {
            for o in 0..out {
                let exact: f32 = (0..inp).map(|k| x[r * inp + k] * w[o * inp + k]).sum();
                let got = y[r * out + o];
                // Two 8-bit roundings of values in −1..1 over 384 terms: well under 0.1.
                assert!((got - exact).abs() < 0.1, "{r},{o}: {got} vs {exact}");
            }
        }
    }

    #[test]
    fn zero_rows_give_zeros() {
        let w = vec![0.5, -1.0, 0.25, 0.0, 0.0, 0.0];
        let m = QMatrix::quantize(&w, 2, 3);
        assert_eq!(m.matmul(&[0.0; 3], 1, None, Kernel::detect()), vec![0.0; 2]);
    }
}
