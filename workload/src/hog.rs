//! `hog`: burn CPU for a fixed time and report how much work got done.
//!
//! Work is counted in [`spin`](crate::burn::spin) steps; `iters_per_s`
//! compares directly between schedulers when the same `--iters-per-us`
//! calibration (or the same machine) is used. `cpu_share_est` is the work
//! rate over the calibrated full-speed rate: about 1.0 on an idle CPU, 0.5
//! when sharing a pCPU evenly with another busy vCPU.
//!
//! Starvation: the burn loop reads the monotonic clock after every chunk of
//! ~50 µs of work; time between two reads beyond the chunk's own (calibrated)
//! duration is time the hog did not run ([`GapTracker`]). The longest such
//! gap and the number of gaps over 30 ms (credit1's accounting period, one
//! time slice) and over 100 ms are in every interval record and the report:
//! the share says how much CPU a hog got, the gaps say whether it got it
//! regularly.

use crate::burn::{cpu_time, spin, Calibration, CpuClock};
use crate::json::Json;
use crate::server::cal_json;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct HogConfig {
    pub duration: Duration,
    /// Interval of the progress records.
    pub report_every: Duration,
    pub cal: Calibration,
}

/// Gap thresholds (ms) that [`GapTracker`] counts gaps over: 30 ms is
/// credit1's time slice and accounting period, 60 ms two of them (what a
/// vCPU may wait behind two others on its pCPU), 100 ms the bound.
pub const GAP_THRESHOLDS_MS: [u64; 6] = [1, 10, 30, 60, 100, 300];

/// Records how long, and how often, the hog did not run: fed the wall time
/// between consecutive clock reads, each read taken after a chunk of work
/// that takes `chunk` when the vCPU runs uninterrupted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GapTracker {
    chunk: Duration,
    /// Longest gap seen.
    pub max: Duration,
    /// Sum of all gaps (time not running, as far as the reads can tell).
    pub total: Duration,
    /// `over[i]`: gaps longer than `GAP_THRESHOLDS_MS[i]`.
    pub over: [u64; GAP_THRESHOLDS_MS.len()],
}

impl GapTracker {
    pub fn new(chunk: Duration) -> GapTracker {
        GapTracker {
            chunk,
            max: Duration::ZERO,
            total: Duration::ZERO,
            over: [0; GAP_THRESHOLDS_MS.len()],
        }
    }

    /// Feeds the wall time between two consecutive reads; returns the gap
    /// (that time beyond the chunk's own duration, zero if none).
    pub fn observe(&mut self, between_reads: Duration) -> Duration {
        let gap = between_reads.saturating_sub(self.chunk);
        if gap.is_zero() {
            return gap;
        }
        self.max = self.max.max(gap);
        self.total += gap;
        for (n, &ms) in self.over.iter_mut().zip(GAP_THRESHOLDS_MS.iter()) {
            if gap > Duration::from_millis(ms) {
                *n += 1;
            }
        }
        gap
    }

    /// Gaps longer than `ms` (one of [`GAP_THRESHOLDS_MS`]; 0 otherwise).
    pub fn over_ms(&self, ms: u64) -> u64 {
        GAP_THRESHOLDS_MS
            .iter()
            .position(|&t| t == ms)
            .and_then(|i| self.over.get(i).copied())
            .unwrap_or(0)
    }

    /// The same tracker with nothing recorded (the next interval's).
    pub fn reset(&self) -> GapTracker {
        GapTracker::new(self.chunk)
    }

    /// Adds the tracker's fields to a report.
    pub fn add_json(&self, j: Json) -> Json {
        j.with("gap_max_ms", self.max.as_secs_f64() * 1e3)
            .with("gap_total_ms", self.total.as_secs_f64() * 1e3)
            .with("gaps_over_30ms", self.over_ms(30))
            .with("gaps_over_100ms", self.over_ms(100))
            .with("gap_thresholds_ms", GAP_THRESHOLDS_MS.to_vec())
            .with("gaps_over", self.over.to_vec())
            .with("gap_chunk_us", self.chunk.as_secs_f64() * 1e6)
    }
}

/// One progress interval.
#[derive(Clone, Copy, Debug)]
pub struct Interval {
    /// End of the interval, seconds since start.
    pub t_s: f64,
    pub iters_per_s: f64,
    /// The gaps seen in this interval.
    pub gaps: GapTracker,
}

impl Interval {
    pub fn to_json(&self, cal: &Calibration) -> Json {
        self.gaps.add_json(
            Json::obj()
                .with("tool", "cw-workload")
                .with("mode", "hog")
                .with("event", "interval")
                .with("t_s", self.t_s)
                .with("iters_per_s", self.iters_per_s)
                .with("cpu_share_est", share(self.iters_per_s, cal)),
        )
    }
}

fn share(iters_per_s: f64, cal: &Calibration) -> f64 {
    iters_per_s / (cal.iters_per_us * 1e6)
}

#[derive(Clone, Debug)]
pub struct HogReport {
    pub elapsed: Duration,
    pub iterations: u64,
    pub intervals: Vec<Interval>,
    pub report_every: Duration,
    pub cpu: Option<Duration>,
    pub cal: Calibration,
    /// The gaps of the whole run.
    pub gaps: GapTracker,
}

impl HogReport {
    pub fn iters_per_s(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.iterations as f64 / s
        } else {
            0.0
        }
    }

    pub fn to_json(&self) -> Json {
        let rates: Vec<f64> = self.intervals.iter().map(|i| i.iters_per_s).collect();
        let min = rates.iter().copied().reduce(f64::min);
        let max = rates.iter().copied().reduce(f64::max);
        let j = Json::obj()
            .with("tool", "cw-workload")
            .with("mode", "hog")
            .with("duration_s", self.elapsed.as_secs_f64())
            .with("iterations", self.iterations)
            .with("iters_per_s", self.iters_per_s())
            .with("cpu_share_est", share(self.iters_per_s(), &self.cal))
            .with("interval_s", self.report_every.as_secs_f64())
            .with("interval_iters_per_s", rates)
            .with("interval_min", min)
            .with("interval_max", max)
            .with("cpu_s", self.cpu.map(|c| c.as_secs_f64()))
            .with("calibration", cal_json(&self.cal));
        self.gaps.add_json(j)
    }
}

/// Burns for `cfg.duration`, calling `progress` at the end of each interval.
pub fn run(cfg: &HogConfig, mut progress: impl FnMut(&Interval)) -> HogReport {
    // About 50 µs of work between clock reads: short enough that a gap of a
    // millisecond stands out, long enough that the reads cost little.
    let chunk = cfg.cal.steps_for_us(50).max(1_000);
    let chunk_dur = Duration::from_secs_f64(chunk as f64 / cfg.cal.iters_per_us.max(1e-9) / 1e6);
    let mut gaps = GapTracker::new(chunk_dur);
    let mut iv_gaps = gaps.reset();
    let every = cfg.report_every.max(Duration::from_millis(10));
    let cpu0 = cpu_time(CpuClock::Process);
    let start = Instant::now();
    let end = start + cfg.duration;
    let mut next = start + every;
    let mut last_t = start;
    let mut last_iters = 0u64;
    let mut iterations = 0u64;
    let mut intervals = Vec::new();
    let mut x = 1u64;
    let mut now = start;
    while now < end {
        let before = now;
        x = spin(chunk, x);
        iterations += chunk;
        now = Instant::now();
        let between = now - before;
        gaps.observe(between);
        iv_gaps.observe(between);
        if now >= next || now >= end {
            let dt = (now - last_t).as_secs_f64();
            // A last sliver shorter than half an interval is not reported.
            if now >= next || dt * 2.0 >= every.as_secs_f64() {
                let iv = Interval {
                    t_s: (now - start).as_secs_f64(),
                    iters_per_s: (iterations - last_iters) as f64 / dt.max(1e-9),
                    gaps: iv_gaps,
                };
                progress(&iv);
                intervals.push(iv);
            }
            last_t = now;
            last_iters = iterations;
            iv_gaps = iv_gaps.reset();
            while next <= now {
                next += every;
            }
        }
    }
    black_box(x);
    HogReport {
        elapsed: now - start,
        iterations,
        intervals,
        report_every: every,
        cpu: cpu0.and_then(|c0| cpu_time(CpuClock::Process).map(|c1| c1.saturating_sub(c0))),
        cal: cfg.cal,
        gaps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: Duration = Duration::from_micros(50);

    /// Feeds the tracker the differences of a list of read times (µs).
    fn feed(reads_us: &[u64]) -> GapTracker {
        let mut g = GapTracker::new(CHUNK);
        for w in reads_us.windows(2) {
            g.observe(Duration::from_micros(w[1] - w[0]));
        }
        g
    }

    #[test]
    fn reads_a_chunk_apart_are_no_gap() {
        let g = feed(&[0, 50, 100, 150, 200]);
        assert_eq!(g.max, Duration::ZERO);
        assert_eq!(g.total, Duration::ZERO);
        assert_eq!(g.over, [0; GAP_THRESHOLDS_MS.len()]);
        // A chunk that ran faster than calibrated is not a negative gap.
        assert_eq!(feed(&[0, 20, 40]).total, Duration::ZERO);
    }

    #[test]
    fn the_gap_is_the_time_beyond_the_chunk() {
        let mut g = GapTracker::new(CHUNK);
        assert_eq!(g.observe(Duration::from_micros(30_050)), Duration::from_millis(30));
        assert_eq!(g.max, Duration::from_millis(30));
        // Exactly 30 ms is not *over* 30 ms; over 10 ms it is.
        assert_eq!(g.over_ms(30), 0);
        assert_eq!(g.over_ms(10), 1);
        assert_eq!(g.over_ms(1), 1);
    }

    #[test]
    fn counts_each_threshold_and_keeps_the_longest() {
        // Gaps: 5 ms, 31 ms, 150 ms, 2 ms, 61 ms (plus the chunk each).
        let g = feed(&[0, 5_050, 36_100, 186_150, 188_200, 249_250]);
        assert_eq!(g.max, Duration::from_millis(150));
        assert_eq!(g.total, Duration::from_millis(5 + 31 + 150 + 2 + 61));
        assert_eq!(g.over, [5, 3, 3, 2, 1, 0]);
        assert_eq!(g.over_ms(30), 3);
        assert_eq!(g.over_ms(100), 1);
        assert_eq!(g.over_ms(7), 0, "not a threshold");
        let r = g.reset();
        assert_eq!((r.max, r.total, r.over), (Duration::ZERO, Duration::ZERO, [0; 6]));
    }

    #[test]
    fn json_carries_the_gaps() {
        let g = feed(&[0, 120_050]);
        let j = g.add_json(Json::obj());
        assert_eq!(j.get("gap_max_ms").and_then(Json::as_f64), Some(120.0));
        assert_eq!(j.get("gaps_over_30ms").and_then(Json::as_f64), Some(1.0));
        assert_eq!(j.get("gaps_over_100ms").and_then(Json::as_f64), Some(1.0));
        assert_eq!(j.get("gaps_over").and_then(Json::as_array).map(<[Json]>::len), Some(6));
    }

    #[test]
    fn a_descheduled_hog_reports_its_gap() {
        // The real loop: a progress callback that sleeps stands in for the
        // vCPU not running (the loop cannot tell the difference).
        let cfg = HogConfig {
            duration: Duration::from_millis(300),
            report_every: Duration::from_millis(50),
            cal: Calibration::measure(3, Duration::from_millis(1)),
        };
        let mut slept = false;
        let r = run(&cfg, |_| {
            if !slept {
                slept = true;
                std::thread::sleep(Duration::from_millis(120));
            }
        });
        assert!(r.gaps.max >= Duration::from_millis(115), "{:?}", r.gaps);
        assert!(r.gaps.over_ms(100) >= 1, "{:?}", r.gaps);
        let worst = r.intervals.iter().map(|i| i.gaps.max).max().unwrap_or_default();
        assert!(worst >= Duration::from_millis(115), "{:?}", r.intervals);
    }
}
