//! `hog`: burn CPU for a fixed time and report how much work got done.
//!
//! Work is counted in [`spin`](crate::burn::spin) steps; `iters_per_s`
//! compares directly between schedulers when the same `--iters-per-us`
//! calibration (or the same machine) is used. `cpu_share_est` is the work
//! rate over the calibrated full-speed rate: about 1.0 on an idle CPU, 0.5
//! when sharing a pCPU evenly with another busy vCPU.

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

/// One progress interval.
#[derive(Clone, Copy, Debug)]
pub struct Interval {
    /// End of the interval, seconds since start.
    pub t_s: f64,
    pub iters_per_s: f64,
}

impl Interval {
    pub fn to_json(&self, cal: &Calibration) -> Json {
        Json::obj()
            .with("tool", "cw-workload")
            .with("mode", "hog")
            .with("event", "interval")
            .with("t_s", self.t_s)
            .with("iters_per_s", self.iters_per_s)
            .with("cpu_share_est", share(self.iters_per_s, cal))
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
        Json::obj()
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
            .with("calibration", cal_json(&self.cal))
    }
}

/// Burns for `cfg.duration`, calling `progress` at the end of each interval.
pub fn run(cfg: &HogConfig, mut progress: impl FnMut(&Interval)) -> HogReport {
    // About 100 µs of work between clock reads.
    let chunk = cfg.cal.steps_for_us(100).max(1_000);
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
        x = spin(chunk, x);
        iterations += chunk;
        now = Instant::now();
        if now >= next || now >= end {
            let dt = (now - last_t).as_secs_f64();
            // A last sliver shorter than half an interval is not reported.
            if now >= next || dt * 2.0 >= every.as_secs_f64() {
                let iv = Interval {
                    t_s: (now - start).as_secs_f64(),
                    iters_per_s: (iterations - last_iters) as f64 / dt.max(1e-9),
                };
                progress(&iv);
                intervals.push(iv);
            }
            last_t = now;
            last_iters = iterations;
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
    }
}
