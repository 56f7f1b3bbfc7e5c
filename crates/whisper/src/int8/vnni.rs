//! Int8 products over many rows — the encoder's 1500 frames — with AVX-512 VNNI's `vpdpbusd`:
//! 64 multiply-adds per instruction, four times an f32 FMA's, from a register tile of 6 rows ×
//! 64 output channels over weights repacked once at load. Same quantisation as [`QMatrix`]
//! (weights per output channel, rows per row, symmetric, −127..127), so the same integers and
//! the same f32 results as its scalar path (a unit test holds it).
//!
//! The one module of the workspace with `unsafe` (an opt-out listed in the tidy test): calls into
//! functions compiled for AVX-512 (one per task), made only through a [`Vnni`] token, which only
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

use super::{LANE, Matrix, quantize_row};

/// Output channels per panel: four 16-lane registers.
const PANEL: usize = 64;

/// Rows per register tile: 6 × 4 accumulators, 4 weight registers and a broadcast fit AVX-512's
/// 32 registers.
const TILE: usize = 6;

/// Rows per parallel task (a multiple of [`TILE`]).
const TASK_ROWS: usize = 8 * TILE;

/// Panels per parallel task when there is only one tile of rows (512 output channels).
const PANELS_PER_TASK: usize = 8;

/// Multiply-adds below which a few-row product stays on the calling thread.
const PARALLEL_MIN: usize = 1 << 18;

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

/// An int8 matrix quantised as a [`super::QMatrix`] and laid out for `vpdpbusd`: per panel of 64 output channels and per group of 4
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
    /// Quantise a row-major `[out, inp]` f32 matrix as [`QMatrix::quantize`] does, straight
    /// into panels (no whole intermediate copy, which raised base's peak memory by 37 MB), with
    /// `bias` (per output channel).
    #[cfg(test)]
    pub fn quantize(w: &[f32], out: usize, inp: usize, bias: Option<&[f32]>) -> Packed {
        Self::quantize_matrix(Matrix::F32(w), out, inp, bias)
    }

    /// [`Packed::quantize`] of an f32 or f16 matrix (f16 rows converted one at a time).
    pub fn quantize_matrix(w: Matrix<'_>, out: usize, inp: usize, bias: Option<&[f32]>) -> Packed {
        let groups = inp.div_ceil(4);
        let panels = out.div_ceil(PANEL);
        let lanes = inp.div_ceil(LANE).max(1);
        let mut data = vec![[0i8; 64]; panels * groups * 4];
        let mut offsets = vec![[0i32; 16]; panels * 4];
        let mut scales = vec![[0f32; 16]; panels * 4];
        if groups > 0 {
            data.par_chunks_mut(groups * 4)
                .zip(offsets.par_chunks_mut(4))
                .zip(scales.par_chunks_mut(4))
                .enumerate()
                .for_each_init(
                    || (vec![[0i8; LANE]; lanes], Vec::new()),
                    |(q, buf), (p, ((panel, offsets), scales))| {
                        for c in 0..PANEL.min(out - p * PANEL) {
                            let scale = quantize_row(w.row(p * PANEL + c, inp, buf), q);
                            let row = q.as_flattened();
                            let (j, lane) = (c / 16, c % 16);
                            for (g, quad) in row.chunks(4).take(groups).enumerate() {
                                if let Some(block) = panel.get_mut(g * 4 + j) {
                                    block
                                        .get_mut(lane * 4..lane * 4 + quad.len())
                                        .unwrap_or(&mut [])
                                        .copy_from_slice(quad);
                                }
                            }
                            if let Some(o) = offsets.get_mut(j).and_then(|o| o.get_mut(lane)) {
                                *o = 128 * row.iter().map(|&v| i32::from(v)).sum::<i32>();
                            }
                            if let Some(s) = scales.get_mut(j).and_then(|s| s.get_mut(lane)) {
                                *s = scale;
                            }
                        }
                    },
                );
        }
        let bias = (0..panels * 4)
            .map(|c| {
                std::array::from_fn(|i| {
                    bias.and_then(|b| b.get(c * 16 + i)).copied().unwrap_or(0.0)
                })
            })
            .collect();
        Packed {
            out,
            inp,
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
        if rows <= TILE {
            self.few_rows(&xs, &sx, rows, &mut y);
            return y;
        }
        y.par_chunks_mut(TASK_ROWS * self.out)
            .zip(xs.par_chunks(TASK_ROWS * self.groups))
            .zip(sx.par_chunks(TASK_ROWS))
            .for_each(|((y, xs), sx)| {
                // SAFETY: `Vnni` exists only when the CPU has AVX-512 F, BW and VNNI, the
                // features `rows_avx512` is compiled for; it takes only slices.
                unsafe { rows_avx512(self, 0, &self.data, xs, sx, y, self.out) }
            });
        y
    }

    /// One tile of rows (the decoder's tokens and beams): the weights are what costs, so the
    /// panels are split across threads, each reading its share once; each task writes its
    /// channels to a buffer of its own, copied into `y` after.
    fn few_rows(&self, xs: &[i32], sx: &[f32], rows: usize, y: &mut [f32]) {
        let blocks = PANELS_PER_TASK * self.groups * 4;
        let width = PANELS_PER_TASK * PANEL;
        let task = |(t, panels): (usize, &[[i8; 64]])| -> Vec<f32> {
            let mut part = vec![0f32; rows * width];
            // SAFETY: as in `matmul`.
            unsafe { rows_avx512(self, t * PANELS_PER_TASK, panels, xs, sx, &mut part, width) };
            part
        };
        let parts: Vec<Vec<f32>> = if rows * self.out * self.inp < PARALLEL_MIN {
            self.data.chunks(blocks).enumerate().map(task).collect()
        } else {
            self.data.par_chunks(blocks).enumerate().map(task).collect()
        };
        for (t, part) in parts.iter().enumerate() {
            let first = t * width;
            for (dst, src) in y.chunks_mut(self.out).zip(part.chunks(width)) {
                let dst = dst
                    .get_mut(first..(first + width).min(self.out))
                    .unwrap_or(&mut []);
                dst.copy_from_slice(src.get(..dst.len()).unwrap_or(&[]));
            }
        }
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

/// The integer dot products of `R` rows of a tile with a panel's 64 channels.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn accumulate<const R: usize>(panel: &[[i8; 64]], x: &[i32]) -> [[__m512i; 4]; R] {
    let mut acc = [[_mm512_setzero_si512(); 4]; R];
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

/// Rows (whole tiles in `xs`; `y` holds as many rows as are real, `stride` apart) against
/// `panels`, the first of which is panel `first`: every panel, tile by tile. Output channel
/// `c` of panel `first + i` goes to column `i × 64 + c` of `y`'s rows.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn rows_avx512(
    m: &Packed,
    first: usize,
    panels: &[[i8; 64]],
    xs: &[i32],
    sx: &[f32],
    y: &mut [f32],
    stride: usize,
) {
    for (i, panel) in panels.chunks_exact(m.groups * 4).enumerate() {
        let place = Place {
            panel: first + i,
            column: i * PANEL,
            stride,
        };
        let tiles = xs
            .chunks_exact(TILE * m.groups)
            .zip(sx.chunks_exact(TILE))
            .zip(y.chunks_mut(TILE * stride));
        for ((x, s), y) in tiles {
            match y.len().div_ceil(stride) {
                1 => tile::<1>(m, &place, panel, x, s, y),
                2 => tile::<2>(m, &place, panel, x, s, y),
                3 => tile::<3>(m, &place, panel, x, s, y),
                4 => tile::<4>(m, &place, panel, x, s, y),
                5 => tile::<5>(m, &place, panel, x, s, y),
                _ => tile::<TILE>(m, &place, panel, x, s, y),
            }
        }
    }
}

/// Where a panel's results go: its index (for the scales, offsets and bias), its first column
/// in the output rows, and the output's row stride.
struct Place {
    panel: usize,
    column: usize,
    stride: usize,
}

/// `R` rows of a tile (`x`: `[group][row]`) against one panel: accumulate, subtract the offsets,
/// scale, add the bias, write the rows `y` holds.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn tile<const R: usize>(
    m: &Packed,
    place: &Place,
    panel: &[[i8; 64]],
    x: &[i32],
    sx: &[f32],
    y: &mut [f32],
) {
    let acc = accumulate::<R>(panel, x);
    for ((a, s), y) in acc.iter().zip(sx).zip(y.chunks_mut(place.stride)) {
        let s = _mm512_set1_ps(*s);
        for (j, a) in a.iter().enumerate() {
            let c = place.panel * 4 + j;
            let (Some(off), Some(sw), Some(b)) = (m.offsets.get(c), m.scales.get(c), m.bias.get(c))
            else {
                continue;
            };
            // In the scalar path's order: (dot · sx) · sw + b, each rounded.
            let dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(*a, cast(*off)));
            let v: __m512 =
                _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(dot, s), cast(*sw)), cast(*b));
            let v: [f32; 16] = cast(v);
            // Channels past `out` (a partial last panel) are not written.
            let real = m.out.saturating_sub(c * 16).min(16);
            let at = place.column + j * 16;
            if let Some(dst) = y.get_mut(at..(at + real).min(y.len())) {
                dst.copy_from_slice(v.get(..dst.len()).unwrap_or(&[]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::int8::{Kernel, QMatrix};
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
            // One tile of rows (the decoder's path): panels split across tasks, sequential
            // and parallel, a partial last task and a partial last panel.
            (1, 1100, 384),
            (5, 600, 200),
            (2, 520, 36),
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
            let packed = Packed::quantize(&w, out, inp, Some(&bias));
            // Bit for bit (`==` on floats would let −0 pass for 0).
            let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            assert_eq!(
                bits(packed.matmul(&x, rows, simd)),
                bits(reference),
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
        let packed = Packed::quantize(&w, 40, 70, None);
        assert_eq!(
            packed.matmul(&x, 3, simd),
            m.matmul(&x, 3, None, Kernel::Scalar)
        );
        assert!(packed.matmul(&[], 0, simd).is_empty());
    }
}
