//! A tiny deterministic generator (xorshift64*, seeded through splitmix64):
//! the same seed gives the same run on every host.

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64, so that small seeds still give well-mixed states.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0; 0 when n == 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `base` spread uniformly by +-`pct` percent.
    pub fn jitter(&mut self, base: i64, pct: u32) -> i64 {
        if pct == 0 || base <= 0 {
            return base;
        }
        let spread = i64::from(pct) * 2 + 1;
        let f = 100 - i64::from(pct) + self.below(spread as u64) as i64;
        (base * f / 100).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut r = Rng::new(3);
        for _ in 0..1000 {
            let x = r.jitter(1000, 10);
            assert!((900..=1100).contains(&x));
        }
        assert_eq!(r.jitter(1000, 0), 1000);
    }
}
