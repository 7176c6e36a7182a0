//! Value parsers for options with a valid range: a bad value is a usage error that
//! names the option and the range, never a silent default or a NaN in a figure.

/// A whole number ≥ 1 (tokens, runs, steps, batch).
pub fn count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number ≥ 1".into()),
    }
}

/// A whole number ≥ 0 (where 0 turns something off).
pub fn whole(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .map_err(|_| "expected a whole number ≥ 0".into())
}

fn finite(s: &str) -> Option<f32> {
    s.trim().parse::<f32>().ok().filter(|x| x.is_finite())
}

/// A finite number ≥ 0 (temperature, weight decay).
pub fn non_negative(s: &str) -> Result<f32, String> {
    finite(s)
        .filter(|&x| x >= 0.0)
        .ok_or_else(|| "expected a finite number ≥ 0".into())
}

/// A finite number > 0 (learning rate).
pub fn positive(s: &str) -> Result<f32, String> {
    finite(s)
        .filter(|&x| x > 0.0)
        .ok_or_else(|| "expected a finite number > 0".into())
}

/// A TCP port to listen on, 1..=65535.
pub fn port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err("expected a port in 1..=65535".into()),
    }
}

/// A number in `min..=max` (the recipe's bounds, compared as the core compares them:
/// in f32). Returns the text, for `Recipe::set`.
pub fn number_in(s: &str, min: f64, max: f64) -> Result<String, String> {
    match finite(s) {
        Some(x) if (min..=max).contains(&(x as f64)) => Ok(s.trim().to_string()),
        _ => Err(format!(
            "expected a number in {}..={}",
            min as f32, max as f32
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reject_what_would_be_silently_wrong() {
        assert_eq!(count("3"), Ok(3));
        for bad in ["0", "-1", "x", ""] {
            assert!(count(bad).is_err(), "{bad}");
        }
        assert_eq!(whole("0"), Ok(0));
        assert!(whole("-1").is_err());
        assert_eq!(non_negative("0"), Ok(0.0));
        for bad in ["NaN", "inf", "-0.5", "-inf"] {
            assert!(non_negative(bad).is_err(), "{bad}");
        }
        assert!(positive("0").is_err() && positive("NaN").is_err());
        assert_eq!(positive("5e-4"), Ok(5e-4));
        assert!(port("0").is_err() && port("65536").is_err());
        // 0.95 is in 0..=0.95 although 0.95 (f64) > 0.95f32 as f64.
        let hi = 0.95f32 as f64;
        assert_eq!(number_in("0.95", 0.0, hi).as_deref(), Ok("0.95"));
        assert!(number_in("0.96", 0.0, hi).unwrap_err().contains("0..=0.95"));
        assert!(number_in("NaN", 0.0, hi).is_err());
    }
}
