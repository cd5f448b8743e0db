//! Checked conversions from floating point to whole numbers.
//!
//! The standard library has `TryFrom` between integer types but none from
//! `f64`; `as` saturates silently. These check the range first, so a caller
//! decides what an out-of-range value means.

/// 2⁶³, exactly representable as an `f64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// `x` rounded towards zero, when it is finite and within `i64`.
pub fn trunc_i64(x: f64) -> Option<i64> {
    if !x.is_finite() || !(-TWO_POW_63..TWO_POW_63).contains(&x) {
        return None;
    }
    // The range is checked just above and `as` is std's only float→integer conversion.
    #[allow(clippy::cast_possible_truncation)]
    Some(x.trunc() as i64)
}

/// `x` rounded down, when it is finite and within `i64`.
pub fn floor_i64(x: f64) -> Option<i64> {
    trunc_i64(x.floor())
}

/// `x` rounded up, when it is finite and within `i64`.
pub fn ceil_i64(x: f64) -> Option<i64> {
    trunc_i64(x.ceil())
}

/// `x` rounded towards zero, when it is finite, not negative and within `usize`.
pub fn trunc_usize(x: f64) -> Option<usize> {
    trunc_i64(x).and_then(|v| usize::try_from(v).ok())
}

/// A count of things held in memory (a `len()`), as the `i64` the API and
/// the database count in. A collection never holds more than `isize::MAX`
/// elements, so on the targets we build for the conversion cannot fail; it
/// saturates rather than panic if it ever did.
pub fn count_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{ceil_i64, count_i64, floor_i64, trunc_i64, trunc_usize};

    /// (x, truncated, floored, ceiled, as usize)
    type Case = (f64, Option<i64>, Option<i64>, Option<i64>, Option<usize>);

    #[test]
    fn conversions_check_their_range() {
        let cases: [Case; 8] = [
            (0.0, Some(0), Some(0), Some(0), Some(0)),
            (2.7, Some(2), Some(2), Some(3), Some(2)),
            (-2.7, Some(-2), Some(-3), Some(-2), None),
            (
                2_451_545.5,
                Some(2_451_545),
                Some(2_451_545),
                Some(2_451_546),
                Some(2_451_545),
            ),
            (f64::NAN, None, None, None, None),
            (f64::INFINITY, None, None, None, None),
            (1e19, None, None, None, None),
            (-2.0, Some(-2), Some(-2), Some(-2), None),
        ];
        for (x, trunc, floor, ceil, unsigned) in cases {
            assert_eq!(trunc_i64(x), trunc, "trunc {x}");
            assert_eq!(floor_i64(x), floor, "floor {x}");
            assert_eq!(ceil_i64(x), ceil, "ceil {x}");
            assert_eq!(trunc_usize(x), unsigned, "usize {x}");
        }
        assert_eq!(trunc_i64(-super::TWO_POW_63), Some(i64::MIN));
        assert_eq!(trunc_i64(super::TWO_POW_63), None);
        assert_eq!(count_i64(0), 0);
        assert_eq!(count_i64(1200), 1200);
        assert_eq!(count_i64(usize::MAX), i64::MAX);
    }
}
