//! A log-linear latency histogram (HDR-style) over nanoseconds.
//!
//! Values below 64 ns have a bucket each; above, every power of two is cut
//! into 32 equal buckets, so a bucket's width is at most 1/32 (3.1 %) of its
//! values. 1920 buckets cover all of `u64`. Percentiles are reported as the
//! upper bound of the bucket holding the rank (never below the true value),
//! clamped to the observed min and max; min, max and mean are exact.

/// log2 of the sub-buckets per power of two.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Total bucket count: exact values below `SUB`, then 32 per octave.
pub const BUCKETS: usize = (SUB as usize) + (64 - SUB_BITS as usize) * (SUB as usize);

/// The bucket that holds `v`.
pub fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let mant = (v >> shift) - SUB; // 0..SUB
    (SUB + u64::from(shift) * SUB + mant) as usize
}

/// The smallest and largest value bucket `i` holds (inclusive).
pub fn bucket_bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, i);
    }
    let k = i - SUB;
    let shift = k / SUB;
    let mant = k % SUB;
    let lo = (SUB + mant) << shift;
    (lo, lo + ((1u64 << shift) - 1))
}

/// A histogram of nanosecond values.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Records one value (nanoseconds).
    pub fn record(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
        self.count += 1;
        self.sum += u128::from(ns);
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// Adds all of `other`'s values.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The `q`-quantile (`0 <= q <= 1`): the smallest recorded bucket whose
    /// cumulative count reaches `ceil(q * count)` (at least rank 1), reported
    /// as that bucket's upper bound clamped to `[min, max]`.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut cum = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            cum += c;
            if cum >= rank {
                let (_, hi) = bucket_bounds(i);
                return Some(hi.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// A compact view for CDF plots: the non-empty buckets merged to
    /// `per_octave` buckets per power of two (a power of two, at most 32).
    /// Returns `(upper bound in ns, count)` pairs in increasing order; the
    /// last bound is clamped to the maximum.
    pub fn compact(&self, per_octave: u64) -> Vec<(u64, u64)> {
        let per = per_octave.clamp(1, SUB).next_power_of_two();
        let group = SUB / per; // fine buckets per coarse bucket
        let mut out: Vec<(u64, u64)> = Vec::new();
        let mut cur_key: Option<u64> = None;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let iu = i as u64;
            // Buckets below 2*SUB are exact values: group them as an octave.
            let key = if iu < SUB { iu } else { SUB + (iu - SUB) / group };
            let last_fine = if iu < SUB {
                iu
            } else {
                SUB + (iu - SUB) / group * group + group - 1
            };
            let hi = bucket_bounds(last_fine as usize).1.min(self.max);
            if cur_key == Some(key) {
                if let Some(last) = out.last_mut() {
                    last.1 += c;
                }
            } else {
                out.push((hi, c));
                cur_key = Some(key);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_partition_the_line() {
        // Every bucket's bounds map back to it, and consecutive buckets tile.
        let mut prev_hi: Option<u64> = None;
        for i in 0..BUCKETS {
            let (lo, hi) = bucket_bounds(i);
            assert!(lo <= hi);
            assert_eq!(bucket_of(lo), i, "lo of {i}");
            assert_eq!(bucket_of(hi), i, "hi of {i}");
            if let Some(p) = prev_hi {
                assert_eq!(p + 1, lo, "gap before bucket {i}");
            }
            prev_hi = Some(hi);
        }
        assert_eq!(prev_hi, Some(u64::MAX));
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(63), 63);
    }

    #[test]
    fn relative_error_is_bounded() {
        for v in [100u64, 1_000, 12_345, 999_999, 50_000_000, 1 << 40] {
            let (lo, hi) = bucket_bounds(bucket_of(v));
            assert!(lo <= v && v <= hi);
            assert!((hi - lo) as f64 <= lo as f64 / 32.0, "{v}: {lo}..{hi}");
        }
    }

    #[test]
    fn quantiles_of_exact_values() {
        // 1..=100 (all exact below 64, 2-wide buckets above).
        let mut h = Histogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.min(), Some(1));
        assert_eq!(h.max(), Some(100));
        assert_eq!(h.mean(), Some(50.5));
        assert_eq!(h.quantile(0.0), Some(1)); // rank 1
        assert_eq!(h.quantile(0.10), Some(10));
        assert_eq!(h.quantile(0.50), Some(50));
        assert_eq!(h.quantile(0.63), Some(63));
        // 90 lives in [90, 91]: reported as the bucket's upper bound.
        assert_eq!(h.quantile(0.90), Some(91));
        assert_eq!(h.quantile(0.99), Some(99));
        assert_eq!(h.quantile(1.0), Some(100)); // clamped to max
    }

    #[test]
    fn quantiles_of_a_skewed_distribution() {
        // 990 fast requests at 100 µs and 10 slow ones at 30 ms.
        let mut h = Histogram::new();
        for _ in 0..990 {
            h.record(100_000);
        }
        for _ in 0..10 {
            h.record(30_000_000);
        }
        let within = |got: u64, want: u64| got >= want && (got - want) as f64 <= want as f64 / 32.0;
        assert!(within(h.quantile(0.5).unwrap(), 100_000));
        assert!(within(h.quantile(0.99).unwrap(), 100_000)); // rank 990
        assert!(within(h.quantile(0.991).unwrap(), 30_000_000)); // rank 991
        assert_eq!(h.quantile(0.999), Some(30_000_000)); // clamped to max
        assert_eq!(h.min(), Some(100_000));
    }

    #[test]
    fn empty_and_merge() {
        let mut a = Histogram::new();
        assert_eq!(a.quantile(0.5), None);
        assert_eq!(a.min(), None);
        assert!(a.compact(8).is_empty());
        let mut b = Histogram::new();
        b.record(5);
        b.record(7_000);
        a.record(1_000_000);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.min(), Some(5));
        assert_eq!(a.max(), Some(1_000_000));
        assert_eq!(a.quantile(0.5), Some(bucket_bounds(bucket_of(7_000)).1));
    }

    #[test]
    fn compact_preserves_counts_and_order() {
        let mut h = Histogram::new();
        let mut x: u64 = 12345;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            h.record(50_000 + x % 5_000_000);
        }
        let c = h.compact(8);
        assert_eq!(c.iter().map(|p| p.1).sum::<u64>(), 10_000);
        assert!(c.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(c.last().unwrap().0, h.max().unwrap());
        // 50 µs .. 5 ms is under 7 octaves: at most 8 per octave (+1 edge).
        assert!(c.len() <= 8 * 7 + 1, "{}", c.len());
        assert!(c[0].0 >= h.min().unwrap());
    }
}
