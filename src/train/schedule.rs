//! Learning-rate schedule: linear warmup, then cosine decay to a floor.

/// The learning rate for 0-based `step` of `total`: rises linearly from `max/warmup`
/// to `max` over `warmup` steps, then follows a half cosine down to `min` at the end.
pub fn lr_at(step: usize, total: usize, warmup: usize, max: f32, min: f32) -> f32 {
    if step < warmup {
        return max * (step + 1) as f32 / warmup as f32;
    }
    let span = total.saturating_sub(warmup).max(1);
    let progress = ((step - warmup) as f32 / span as f32).min(1.0);
    // `detmath`: no libm, so the schedule has the same bits in wasm.
    min + 0.5 * (max - min) * (1.0 + crate::detmath::cos_pi(progress as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        assert!((lr_at(0, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-6);
        assert!((lr_at(9, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-6);
        assert!((lr_at(10, 100, 10, 1.0, 0.1) - 1.0).abs() < 1e-6);
        assert!((lr_at(55, 100, 10, 1.0, 0.1) - 0.55).abs() < 1e-5);
        assert!((lr_at(100, 100, 10, 1.0, 0.1) - 0.1).abs() < 1e-6);
        for s in 10..99 {
            assert!(lr_at(s + 1, 100, 10, 1.0, 0.1) <= lr_at(s, 100, 10, 1.0, 0.1));
        }
    }
}
