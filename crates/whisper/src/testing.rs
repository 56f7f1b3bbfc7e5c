//! Deterministic test inputs shared by the crate's unit tests.

/// The next value in −1..1 of a linear congruential generator (Numerical Recipes' constants).
pub(crate) fn lcg(state: &mut u32) -> f32 {
    *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    (*state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
}

/// `n` values of [`lcg`] from `seed`.
pub(crate) fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed;
    (0..n).map(|_| lcg(&mut state)).collect()
}
