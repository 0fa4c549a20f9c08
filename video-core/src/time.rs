//! Typed time values: timestamps, rational rates.

use std::fmt;
use std::time::Duration;

/// A point on a video's presentation timeline, in nanoseconds.
///
/// Signed, because streams may start before zero (B-frame delay, audio priming). The timeline
/// is the one defined in the crate docs: the container's presentation time after edit lists.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Zero.
    pub const ZERO: Timestamp = Timestamp(0);

    /// From nanoseconds.
    pub const fn from_nanos(ns: i64) -> Self {
        Timestamp(ns)
    }

    /// In nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// From seconds; `None` when not finite or out of range.
    pub fn from_seconds(s: f64) -> Option<Self> {
        let ns = s * 1e9;
        (ns.is_finite() && ns.abs() < i64::MAX as f64).then(|| Timestamp(ns.round() as i64))
    }

    /// In seconds.
    pub fn as_seconds(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `value` ticks of a time base, rounded to the nearest nanosecond; `None` on overflow or a
    /// zero denominator.
    pub fn from_ticks(value: i64, time_base: Rational) -> Option<Self> {
        if time_base.den == 0 {
            return None;
        }
        let mut n = i128::from(value) * i128::from(time_base.num) * 1_000_000_000;
        let mut d = i128::from(time_base.den);
        if d < 0 {
            (n, d) = (-n, -d);
        }
        // Round half away from zero, symmetrically for negative values.
        let r = if n >= 0 {
            (2 * n + d) / (2 * d)
        } else {
            -((-2 * n + d) / (2 * d))
        };
        i64::try_from(r).ok().map(Timestamp)
    }

    /// This timestamp plus a duration; `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        i64::try_from(d.as_nanos())
            .ok()
            .and_then(|n| self.0.checked_add(n))
            .map(Timestamp)
    }

    /// The duration from `earlier` to `self`, `None` if `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Option<Duration> {
        u64::try_from(self.0.checked_sub(earlier.0)?)
            .ok()
            .map(Duration::from_nanos)
    }

    /// The absolute distance to another timestamp.
    pub fn abs_diff(self, other: Timestamp) -> Duration {
        Duration::from_nanos(self.0.abs_diff(other.0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}s", self.as_seconds())
    }
}

/// An exact rational number, used for frame rates and time bases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rational {
    /// Numerator.
    pub num: i64,
    /// Denominator.
    pub den: i64,
}

impl Rational {
    /// `num/den` as given.
    pub const fn new(num: i64, den: i64) -> Self {
        Rational { num, den }
    }

    /// The value as a float; `None` for a zero denominator.
    pub fn to_f64(self) -> Option<f64> {
        (self.den != 0).then(|| self.num as f64 / self.den as f64)
    }

    /// Whether the value is positive and finite.
    pub fn is_positive(self) -> bool {
        self.den != 0 && (self.num > 0) == (self.den > 0) && self.num != 0
    }

    /// The length of one frame at this rate; `None` unless the rate is positive.
    pub fn frame_duration(self) -> Option<Duration> {
        if !self.is_positive() {
            return None;
        }
        let ns = (u128::from(self.den.unsigned_abs()) * 1_000_000_000)
            / u128::from(self.num.unsigned_abs());
        u64::try_from(ns).ok().map(Duration::from_nanos)
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// A frame rate (frames per second) as an exact fraction.
pub type FrameRate = Rational;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_to_nearest() {
        let tb = Rational::new(1, 30000);
        assert_eq!(
            Timestamp::from_ticks(1001, tb),
            Some(Timestamp::from_nanos(33_366_667))
        );
        assert_eq!(
            Timestamp::from_ticks(-1001, tb),
            Some(Timestamp::from_nanos(-33_366_667))
        );
        assert_eq!(Timestamp::from_ticks(1, Rational::new(1, 0)), None);
    }

    #[test]
    fn rates() {
        assert_eq!(
            Rational::new(30000, 1001).frame_duration(),
            Some(Duration::from_nanos(33_366_666))
        );
        assert!(!Rational::new(0, 1).is_positive());
        assert!(Rational::new(-1, -2).is_positive());
        assert_eq!(Rational::new(1, 0).frame_duration(), None);
    }
}
