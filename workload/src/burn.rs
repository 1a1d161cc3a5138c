//! Calibrated CPU work.
//!
//! The unit of work is one step of a xorshift64 chain: a data-dependent
//! sequence of ALU instructions that the compiler cannot fold. At start-up we
//! measure how many steps this CPU does per microsecond ([`Calibration`]);
//! "burn M µs" then means *do M µs worth of steps*, and, in addition, *take
//! at least M µs of wall time* (CLOCK_MONOTONIC through [`Instant`]).
//!
//! Why a fixed amount of work rather than "spin until M µs have passed": in a
//! guest, the vCPU may be descheduled in the middle of the work. A
//! wall-clock spin would count the time spent descheduled as work done and
//! hide exactly the scheduler delay the benchmark measures. Counting steps
//! keeps the work constant, so the delay shows up in the latency. The
//! wall-time floor makes `latency >= server work` hold even if the
//! calibration came out slightly optimistic.
//!
//! Calibration takes the *fastest* of several short rounds: a round that was
//! preempted only looks slower, never faster. To compare schedulers with
//! exactly the same work, measure once and pass `--iters-per-us` to every
//! run.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `steps` steps of the xorshift chain from `seed` and returns the
/// final state (return it or `black_box` it so the work is kept).
#[inline(never)]
pub fn spin(steps: u64, seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = black_box(x);
    }
    x
}

/// How fast this CPU does [`spin`] steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// Steps per microsecond.
    pub iters_per_us: f64,
    /// Whether it was measured here (`true`) or given on the command line.
    pub measured: bool,
}

impl Calibration {
    /// A calibration given by the user (`--iters-per-us`).
    pub fn given(iters_per_us: f64) -> Calibration {
        Calibration {
            iters_per_us,
            measured: false,
        }
    }

    /// Measures: `rounds` rounds of about `round` each; the fastest wins.
    pub fn measure(rounds: u32, round: Duration) -> Calibration {
        // A first rough estimate sizes the rounds.
        let mut steps: u64 = 1 << 12;
        loop {
            let t = Instant::now();
            black_box(spin(steps, 0x9e37_79b9_7f4a_7c15));
            let e = t.elapsed();
            if e >= Duration::from_micros(200) || steps >= 1 << 40 {
                let per_us = steps as f64 / e.as_secs_f64().max(1e-9) / 1e6;
                steps = ((per_us * round.as_secs_f64() * 1e6) as u64).max(1);
                break;
            }
            steps *= 2;
        }
        let mut best = Duration::MAX;
        for r in 0..rounds.max(1) {
            let t = Instant::now();
            black_box(spin(steps, u64::from(r) + 1));
            best = best.min(t.elapsed());
        }
        Calibration {
            iters_per_us: steps as f64 / best.as_secs_f64().max(1e-9) / 1e6,
            measured: true,
        }
    }

    /// The default measurement: 12 rounds of 2 ms (about 25 ms).
    pub fn measure_default() -> Calibration {
        Calibration::measure(12, Duration::from_millis(2))
    }

    /// Steps worth `us` microseconds.
    pub fn steps_for_us(&self, us: u64) -> u64 {
        (self.iters_per_us * us as f64).round() as u64
    }
}

/// Burns CPU according to a calibration.
#[derive(Clone, Copy, Debug)]
pub struct Burner {
    pub cal: Calibration,
}

impl Burner {
    pub fn new(cal: Calibration) -> Burner {
        Burner { cal }
    }

    /// Does `us` µs worth of steps, then keeps spinning until at least `us`
    /// µs of wall time have passed since the call. Returns the state.
    pub fn burn_us(&self, us: u64) -> u64 {
        if us == 0 {
            return 0;
        }
        let start = Instant::now();
        let target = Duration::from_micros(us);
        let mut x = spin(self.cal.steps_for_us(us), us);
        while start.elapsed() < target {
            x = spin(64, x);
        }
        black_box(x)
    }
}

/// Which CPU-time clock to read.
#[derive(Clone, Copy, Debug)]
pub enum CpuClock {
    /// CLOCK_PROCESS_CPUTIME_ID: all threads of this process.
    Process,
    /// CLOCK_THREAD_CPUTIME_ID: the calling thread.
    Thread,
}

/// Starts a thread that burns CPU for the rest of the process under Linux's
/// `SCHED_IDLE` policy, and returns its thread id once the policy is set.
///
/// A database does background work (checkpoints, vacuum) between queries:
/// its vCPU never blocks, so Xen sees a CPU-bound guest, and credit1 has
/// no wake-up to BOOST when a request arrives. Inside the guest the idle
/// thread runs only when no other thread wants the CPU, so the server
/// thread, woken by the request, preempts it at once: what the request
/// waits for is the vCPU.
pub fn spawn_background() -> std::io::Result<i32> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("background".into())
        .spawn(move || {
            let param = ffi::SchedParam { sched_priority: 0 };
            // SAFETY: pid 0 is the calling thread; `param` is a valid
            // `struct sched_param` for the duration of the call.
            let rc = unsafe { ffi::sched_setscheduler(0, ffi::SCHED_IDLE, &param) };
            let res = if rc == 0 {
                // SAFETY: gettid() has no preconditions.
                Ok(unsafe { ffi::gettid() })
            } else {
                Err(std::io::Error::last_os_error())
            };
            let ok = res.is_ok();
            let _ = tx.send(res);
            if ok {
                let mut seed = 1u64;
                loop {
                    seed = black_box(spin(1_000_000, seed));
                }
            }
        })?;
    rx.recv()
        .map_err(|_| std::io::Error::other("the background thread died before it started"))?
}

mod ffi {
    /// `struct sched_param`.
    #[repr(C)]
    pub struct SchedParam {
        pub sched_priority: i32,
    }
    pub const SCHED_IDLE: i32 = 5;
    /// `struct timespec` on x86_64 / aarch64 Linux.
    #[repr(C)]
    pub struct Timespec {
        pub tv_sec: i64,
        pub tv_nsec: i64,
    }
    pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    extern "C" {
        // From the C library std already links (static glibc here).
        pub fn clock_gettime(clk: i32, ts: *mut Timespec) -> i32;
        pub fn sched_setscheduler(pid: i32, policy: i32, param: *const SchedParam) -> i32;
        pub fn gettid() -> i32;
    }
}

/// CPU time consumed, as the guest kernel accounts it; `None` if the clock
/// cannot be read.
pub fn cpu_time(which: CpuClock) -> Option<Duration> {
    let clk = match which {
        CpuClock::Process => ffi::CLOCK_PROCESS_CPUTIME_ID,
        CpuClock::Thread => ffi::CLOCK_THREAD_CPUTIME_ID,
    };
    let mut ts = ffi::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `struct timespec` for the duration of
    // the call, and `clk` is one of the two CPU-time clock ids Linux defines.
    let rc = unsafe { ffi::clock_gettime(clk, &mut ts) };
    if rc != 0 || ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_positive_and_given_is_kept() {
        let c = Calibration::measure(3, Duration::from_millis(1));
        assert!(c.measured && c.iters_per_us > 0.0, "{c:?}");
        let g = Calibration::given(100.0);
        assert_eq!(g.steps_for_us(10), 1000);
        assert!(!g.measured);
    }

    #[test]
    fn burn_takes_at_least_the_wall_time() {
        // Even with an absurdly optimistic calibration, the floor holds.
        let b = Burner::new(Calibration::given(1e9_f64.recip()));
        let t = Instant::now();
        b.burn_us(3000);
        assert!(t.elapsed() >= Duration::from_micros(3000));
        assert_eq!(b.burn_us(0), 0);
    }

    #[test]
    fn thread_cpu_clock_advances() {
        let a = cpu_time(CpuClock::Thread).expect("thread CPU clock");
        black_box(spin(5_000_000, 7));
        let b = cpu_time(CpuClock::Thread).expect("thread CPU clock");
        assert!(b > a);
        assert!(cpu_time(CpuClock::Process).is_some());
    }
}
