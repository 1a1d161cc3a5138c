//! A fixed-size set of pCPUs (Xen's `cpumask_t`, sized for [`MAX_PCPUS`]).

use bytemuck::Zeroable;

use crate::{Cpu, MAX_PCPUS};

const WORDS: usize = MAX_PCPUS / 64;

/// A set of pCPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Zeroable)]
pub struct CpuSet {
    bits: [u64; WORDS],
}

impl CpuSet {
    pub const EMPTY: CpuSet = CpuSet { bits: [0; WORDS] };
    pub const ALL: CpuSet = CpuSet { bits: [u64::MAX; WORDS] };

    /// The set holding only `cpu`.
    pub fn only(cpu: Cpu) -> CpuSet {
        let mut s = CpuSet::EMPTY;
        s.insert(cpu);
        s
    }

    /// Build from Xen's cpumask words (64 bits each, lowest CPU first).
    pub fn from_words(words: &[u64]) -> CpuSet {
        let mut s = CpuSet::EMPTY;
        for (dst, src) in s.bits.iter_mut().zip(words) {
            *dst = *src;
        }
        s
    }

    pub fn words(&self) -> &[u64] {
        &self.bits
    }

    pub fn insert(&mut self, cpu: Cpu) {
        let (w, b) = split(cpu);
        if let Some(word) = self.bits.get_mut(w) {
            *word |= 1 << b;
        }
    }

    pub fn remove(&mut self, cpu: Cpu) {
        let (w, b) = split(cpu);
        if let Some(word) = self.bits.get_mut(w) {
            *word &= !(1 << b);
        }
    }

    pub fn contains(&self, cpu: Cpu) -> bool {
        let (w, b) = split(cpu);
        self.bits.get(w).is_some_and(|word| word & (1 << b) != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    pub fn and(&self, other: &CpuSet) -> CpuSet {
        let mut s = *self;
        for (a, b) in s.bits.iter_mut().zip(other.bits.iter()) {
            *a &= *b;
        }
        s
    }

    pub fn or(&self, other: &CpuSet) -> CpuSet {
        let mut s = *self;
        for (a, b) in s.bits.iter_mut().zip(other.bits.iter()) {
            *a |= *b;
        }
        s
    }

    pub fn count(&self) -> u32 {
        self.bits.iter().map(|w| w.count_ones()).sum()
    }

    pub fn first(&self) -> Option<Cpu> {
        self.next_after(None)
    }

    /// The lowest member strictly above `after` (or the lowest at all).
    pub fn next_after(&self, after: Option<Cpu>) -> Option<Cpu> {
        let start = after.map_or(0, |c| usize::from(c) + 1);
        let mut i = start;
        while i < MAX_PCPUS {
            let (w, b) = (i / 64, i % 64);
            let word = self.bits.get(w).copied().unwrap_or(0) >> b;
            if word != 0 {
                let cpu = i + word.trailing_zeros() as usize;
                return Cpu::try_from(cpu).ok();
            }
            i = (w + 1) * 64;
        }
        None
    }

    /// Xen's `cpumask_cycle`: the next member after `cpu`, wrapping around.
    pub fn cycle(&self, cpu: Cpu) -> Option<Cpu> {
        self.next_after(Some(cpu)).or_else(|| self.first())
    }

    pub fn iter(&self) -> impl Iterator<Item = Cpu> + '_ {
        let mut cur = None;
        core::iter::from_fn(move || {
            let n = self.next_after(cur)?;
            cur = Some(n);
            Some(n)
        })
    }
}

fn split(cpu: Cpu) -> (usize, u32) {
    (usize::from(cpu) / 64, u32::from(cpu) % 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_wraps_around() {
        let mut s = CpuSet::EMPTY;
        s.insert(3);
        s.insert(70);
        assert_eq!(s.cycle(3), Some(70));
        assert_eq!(s.cycle(70), Some(3));
        assert_eq!(s.cycle(100), Some(3));
        assert_eq!(s.count(), 2);
        assert!(!s.contains(4));
        s.remove(3);
        assert_eq!(s.iter().collect::<std::vec::Vec<_>>(), [70]);
    }

    #[test]
    fn out_of_range_cpus_are_never_members() {
        let mut s = CpuSet::ALL;
        assert!(!s.contains(MAX_PCPUS as Cpu));
        s.insert(MAX_PCPUS as Cpu);
        assert_eq!(s.count(), MAX_PCPUS as u32);
    }
}
