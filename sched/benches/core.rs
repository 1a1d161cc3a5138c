//! The core's cost per call against the number of runnable units queued on
//! each pCPU (8, 64, 256, 1024): `wake` (with the `sleep` that undoes it)
//! and `do_schedule` (a runnable unit descheduled at the end of its slice,
//! the next one picked). The run queues are FIFOs per priority, so both
//! should stay flat as the queues grow.
//!
//! `cargo bench -p commaware-sched --bench core`

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::Duration;

use commaware_sched::{Core, DomId, GlobalParams, NullSink, PrevState, Time, UnitId};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const NCPUS: u16 = 2;
const MS: Time = 1_000_000;

/// A core with `per_cpu` runnable units queued on each of two pCPUs (one
/// more running on each), spread over up to 128 domains, plus one blocked
/// unit `w` to wake.
fn setup(per_cpu: usize) -> (Box<Core>, UnitId, UnitId, Time) {
    let mut core: Box<Core> = bytemuck::zeroed_box();
    core.init(GlobalParams::DEFAULT).unwrap();
    for c in 0..NCPUS {
        core.pcpu_add(c).unwrap();
    }
    let total = (per_cpu + 1) * usize::from(NCPUS);
    let ndoms = total.min(128);
    let doms: Vec<DomId> = (0..ndoms).map(|d| core.dom_add(d as u16 + 1).unwrap()).collect();
    let mut sink = NullSink;
    for i in 0..total {
        let u = core.unit_add(doms[i % ndoms], (i / ndoms) as u16).unwrap();
        core.unit_insert(u, true, 0, &mut sink).unwrap();
        core.migrate(u, (i % usize::from(NCPUS)) as u16).unwrap();
    }
    let extra = core.dom_add(1000).unwrap();
    let w = core.unit_add(extra, 0).unwrap();
    core.unit_insert(w, false, 0, &mut sink).unwrap();
    let peer = core.unit_add(doms[0], 999).unwrap();
    let mut now = 0;
    // Run a few periods so that credits and priorities are mixed.
    for step in 0..200 {
        now += MS;
        for c in 0..NCPUS {
            core.tick(c, now, &mut sink);
            core.do_schedule(c, now, PrevState::Runnable, false, &mut sink);
        }
        if step % 30 == 29 {
            core.account(now, &mut sink);
        }
    }
    (core, w, peer, now)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("core");
    g.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for n in [8usize, 64, 256, 1024] {
        g.bench_with_input(BenchmarkId::new("wake+sleep", n), &n, |b, &n| {
            let (mut core, w, _, mut now) = setup(n);
            let mut sink = NullSink;
            b.iter(|| {
                now += 1000;
                core.wake(black_box(w), now, &mut sink);
                core.sleep(w, now, &mut sink);
            });
        });
        g.bench_with_input(BenchmarkId::new("notify+wake+sleep", n), &n, |b, &n| {
            let (mut core, w, peer, mut now) = setup(n);
            let mut sink = NullSink;
            b.iter(|| {
                now += 1000;
                core.notify(black_box(peer), w, now, &mut sink);
                core.wake(w, now, &mut sink);
                core.sleep(w, now, &mut sink);
            });
        });
        g.bench_with_input(BenchmarkId::new("do_schedule", n), &n, |b, &n| {
            let (mut core, _, _, mut now) = setup(n);
            let mut sink = NullSink;
            let mut cpu = 0;
            b.iter(|| {
                now += 1_100_000;
                cpu = (cpu + 1) % NCPUS;
                black_box(core.do_schedule(cpu, now, PrevState::Runnable, false, &mut sink));
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
