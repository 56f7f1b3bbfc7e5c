//! Int8 products over many rows — the encoder's 1500 frames — with AVX-512 VNNI's `vpdpbusd`:
//! 64 multiply-adds per instruction, four times an f32 FMA's, from a register tile of 6 rows ×
//! 64 output channels over weights repacked once at load. Same quantisation as [`QMatrix`]
//! (weights per output channel, rows per row, symmetric, −127..127), so the same integers and
//! the same f32 results as its scalar path (a unit test holds it).
//!
//! The one module of the workspace with `unsafe` (an opt-out listed in the tidy test): a single
//! call into functions compiled for AVX-512, made only through a [`Vnni`] token, which only
//! [`Vnni::detect`] hands out after the run-time check that the CPU has those instructions. The
//! intrinsics themselves are safe Rust inside such functions; memory is read through slices and
//! `bytemuck` casts, never raw pointers. `pulp`, which the other kernels use to stay free of
//! `unsafe`, has no VNNI intrinsic.

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m512, __m512i, _mm512_add_ps, _mm512_cvtepi32_ps, _mm512_dpbusd_epi32, _mm512_mul_ps,
    _mm512_set1_epi32, _mm512_set1_ps, _mm512_setzero_si512, _mm512_sub_epi32,
};

use bytemuck::cast;
use rayon::prelude::*;

use super::{LANE, QMatrix, quantize_row};

/// Output channels per panel: four 16-lane registers.
const PANEL: usize = 64;

/// Rows per register tile: 6 × 4 accumulators, 4 weight registers and a broadcast fit AVX-512's
/// 32 registers.
const TILE: usize = 6;

/// Rows per parallel task (a multiple of [`TILE`]).
const TASK_ROWS: usize = 8 * TILE;

/// Proof that this CPU runs AVX-512 F, BW and VNNI: the only way to reach the kernels.
#[derive(Debug, Clone, Copy)]
pub struct Vnni(());

impl Vnni {
    /// `Some` when the CPU has the instructions.
    pub fn detect() -> Option<Vnni> {
        (std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni"))
        .then_some(Vnni(()))
    }
}

/// A [`QMatrix`] repacked for `vpdpbusd`: per panel of 64 output channels and per group of 4
/// inputs, four 64-byte blocks whose lane `i` holds channel `i`'s 4 weights.
#[derive(Debug, Clone)]
pub struct Packed {
    out: usize,
    inp: usize,
    groups: usize,
    /// `[panel][group][4]` blocks; channels past `out` are zero.
    data: Vec<[i8; 64]>,
    /// Per output channel (padded to whole panels): the weight scale, 128 × the sum of its
    /// int8 weights (activations are stored as `q + 128`, unsigned), and the bias.
    scales: Vec<[f32; 16]>,
    offsets: Vec<[i32; 16]>,
    bias: Vec<[f32; 16]>,
}

impl Packed {
    /// Repack `m` with `bias` (per output channel).
    pub fn new(m: &QMatrix, bias: Option<&[f32]>) -> Packed {
        let groups = m.inp.div_ceil(4);
        let panels = m.out.div_ceil(PANEL);
        let lanes = m.stride / LANE;
        let weight = |n: usize, k: usize| -> i8 {
            if n >= m.out || k >= m.inp {
                return 0;
            }
            m.data
                .get(n * lanes + k / LANE)
                .and_then(|l| l.get(k % LANE))
                .copied()
                .unwrap_or(0)
        };
        let mut data = vec![[0i8; 64]; panels * groups * 4];
        for (i, block) in data.iter_mut().enumerate() {
            let (p, rest) = (i / (groups * 4), i % (groups * 4));
            let (g, j) = (rest / 4, rest % 4);
            for (lane, quad) in block.chunks_exact_mut(4).enumerate() {
                let n = p * PANEL + j * 16 + lane;
                for (b, v) in quad.iter_mut().enumerate() {
                    *v = weight(n, g * 4 + b);
                }
            }
        }
        let per_channel = |f: &dyn Fn(usize) -> f32| -> Vec<[f32; 16]> {
            (0..panels * 4)
                .map(|c| std::array::from_fn(|i| f(c * 16 + i)))
                .collect()
        };
        let scales = per_channel(&|n| m.scales.get(n).copied().unwrap_or(0.0));
        let bias = per_channel(&|n| bias.and_then(|b| b.get(n)).copied().unwrap_or(0.0));
        let offsets = (0..panels * 4)
            .map(|c| {
                std::array::from_fn(|i| {
                    let n = c * 16 + i;
                    128 * (0..m.inp).map(|k| i32::from(weight(n, k))).sum::<i32>()
                })
            })
            .collect();
        Packed {
            out: m.out,
            inp: m.inp,
            groups,
            data,
            scales,
            offsets,
            bias,
        }
    }

    /// `y = x Wᵀ + bias` for `rows` rows of `x` (row-major `[rows, inp]`); returns `[rows, out]`.
    pub fn matmul(&self, x: &[f32], rows: usize, simd: Vnni) -> Vec<f32> {
        let Vnni(()) = simd;
        let mut y = vec![0f32; rows * self.out];
        if self.out == 0 || self.inp == 0 {
            // No inputs: every dot product is 0, so each row is the bias.
            for row in y.chunks_mut(self.out.max(1)) {
                for (n, v) in row.iter_mut().enumerate() {
                    *v = self.bias.get(n / 16).map_or(0.0, |b| b[n % 16]);
                }
            }
            return y;
        }
        let (xs, sx) = self.quantize_rows(x, rows);
        y.par_chunks_mut(TASK_ROWS * self.out)
            .zip(xs.par_chunks(TASK_ROWS * self.groups))
            .zip(sx.par_chunks(TASK_ROWS))
            .for_each(|((y, xs), sx)| {
                // SAFETY: `Vnni` exists only when the CPU has AVX-512 F, BW and VNNI, the
                // features `rows_avx512` is compiled for; it takes only slices.
                unsafe { rows_avx512(self, xs, sx, y) }
            });
        y
    }

    /// Each row quantised like a [`QMatrix`] row, stored as `q + 128` (unsigned, what
    /// `vpdpbusd` multiplies) four to an `i32`, and interleaved by tile (`[tile][group][row]`,
    /// so the kernel reads one tile's inputs in order; rows past the last are 128s, zeros),
    /// with its scale (1 past the last row).
    fn quantize_rows(&self, x: &[f32], rows: usize) -> (Vec<i32>, Vec<f32>) {
        let lanes = self.inp.div_ceil(LANE);
        let tiles = rows.div_ceil(TILE);
        let mut xs = vec![i32::from_le_bytes([128; 4]); tiles * self.groups * TILE];
        let mut sx = vec![1f32; tiles * TILE];
        xs.par_chunks_mut(self.groups * TILE)
            .zip(sx.par_chunks_mut(TILE))
            .zip(x.par_chunks(self.inp * TILE))
            .for_each_init(
                || vec![[0i8; LANE]; lanes],
                |q, ((dst, scales), tile)| {
                    for (r, (row, s)) in tile.chunks(self.inp).zip(scales).enumerate() {
                        *s = quantize_row(row, q);
                        let mut bytes = q.iter().flatten().map(|&v| (i16::from(v) + 128) as u8);
                        for d in dst.iter_mut().skip(r).step_by(TILE) {
                            let quad: [u8; 4] =
                                std::array::from_fn(|_| bytes.next().unwrap_or(128));
                            *d = i32::from_le_bytes(quad);
                        }
                    }
                },
            );
        (xs, sx)
    }
}

/// The integer dot products of a tile's rows with a panel's 64 channels.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn accumulate(panel: &[[i8; 64]], x: &[i32]) -> [[__m512i; 4]; TILE] {
    let mut acc = [[_mm512_setzero_si512(); 4]; TILE];
    for (w, v) in panel.chunks_exact(4).zip(x.chunks_exact(TILE)) {
        let w: [__m512i; 4] = std::array::from_fn(|j| cast(w[j]));
        for (a, &v) in acc.iter_mut().zip(v) {
            let v = _mm512_set1_epi32(v);
            for (a, w) in a.iter_mut().zip(&w) {
                *a = _mm512_dpbusd_epi32(*a, v, *w);
            }
        }
    }
    acc
}

/// One task's rows: every panel, tile by tile.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn rows_avx512(m: &Packed, xs: &[i32], sx: &[f32], y: &mut [f32]) {
    for (p, panel) in m.data.chunks_exact(m.groups * 4).enumerate() {
        let tiles = xs
            .chunks_exact(TILE * m.groups)
            .zip(sx.chunks_exact(TILE))
            .zip(y.chunks_mut(TILE * m.out));
        for ((x, s), y) in tiles {
            tile(m, p, panel, x, s, y);
        }
    }
}

/// [`TILE`] rows (`x`: `[group][row]`) against panel `p`: accumulate, subtract the offsets,
/// scale, add the bias; only the rows `y` holds are written.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn tile(m: &Packed, p: usize, panel: &[[i8; 64]], x: &[i32], sx: &[f32], y: &mut [f32]) {
    let acc = accumulate(panel, x);
    for ((a, s), y) in acc.iter().zip(sx).zip(y.chunks_mut(m.out)) {
        let s = _mm512_set1_ps(*s);
        for (j, a) in a.iter().enumerate() {
            let c = p * 4 + j;
            let (Some(off), Some(sw), Some(b)) = (m.offsets.get(c), m.scales.get(c), m.bias.get(c))
            else {
                continue;
            };
            // In the scalar path's order: (dot · sx) · sw + b, each rounded.
            let dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(*a, cast(*off)));
            let v: __m512 =
                _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(dot, s), cast(*sw)), cast(*b));
            let v: [f32; 16] = cast(v);
            let n = c * 16;
            if let Some(dst) = y.get_mut(n..(n + 16).min(m.out)) {
                dst.copy_from_slice(v.get(..dst.len()).unwrap_or(&[]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::int8::Kernel;
    use crate::testing::pseudo_random;

    /// The token, or `None` on a CPU that lacks one of the features (nothing to compare there;
    /// the scalar and AVX2 paths are tested in the parent module).
    fn vnni() -> Option<Vnni> {
        let simd = Vnni::detect();
        if simd.is_none() {
            assert!(
                !std::arch::is_x86_feature_detected!("avx512vnni")
                    || !std::arch::is_x86_feature_detected!("avx512bw")
            );
        }
        simd
    }

    #[test]
    fn vnni_gives_the_scalar_results() {
        let Some(simd) = vnni() else { return };
        // Ragged inputs (not a multiple of 4 or 32), outputs that leave a partial panel and a
        // partial register, row counts that leave a partial tile and a partial task.
        for &(rows, out, inp) in &[
            (1, 3, 5),
            (7, 130, 384),
            (13, 67, 101),
            (50, 200, 1536),
            (97, 64, 2048),
            (6, 16, 4),
        ] {
            let x = pseudo_random(rows * inp, 7);
            let mut w = pseudo_random(out * inp, 11);
            w.iter_mut().take(inp).for_each(|v| *v = 1.0);
            // A row at the extremes: ±max quantises to ±127 (and to 1 or 255 unsigned).
            let mut x = x;
            x.iter_mut()
                .take(inp)
                .enumerate()
                .for_each(|(i, v)| *v = if i % 2 == 0 { 2.0 } else { -2.0 });
            let m = QMatrix::quantize(&w, out, inp);
            let bias = pseudo_random(out, 3);
            let reference = m.matmul(&x, rows, Some(&bias), Kernel::Scalar);
            let packed = Packed::new(&m, Some(&bias));
            assert_eq!(
                packed.matmul(&x, rows, simd),
                reference,
                "{rows}×{inp} · {out}"
            );
        }
    }

    #[test]
    fn no_bias_and_zero_rows() {
        let Some(simd) = vnni() else { return };
        let w = pseudo_random(40 * 70, 5);
        let m = QMatrix::quantize(&w, 40, 70);
        let x = vec![0f32; 3 * 70];
        assert_eq!(
            Packed::new(&m, None).matmul(&x, 3, simd),
            m.matmul(&x, 3, None, Kernel::Scalar)
        );
        assert!(Packed::new(&m, None).matmul(&[], 0, simd).is_empty());
    }
}
