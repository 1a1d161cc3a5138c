//! `server --background`'s thread, in a process of its own: it burns a CPU
//! until the process exits, which would skew other tests' CPU clocks.

use commaware_workload::burn::spawn_background;
use std::time::Duration;

/// Linux's SCHED_IDLE.
const SCHED_IDLE: i32 = 5;

#[test]
fn background_thread_burns_at_idle_policy() {
    let tid = spawn_background().expect("SCHED_IDLE needs no privilege");
    // Field 41 of /proc/<tid>/stat is the policy: the 39th after the ')'
    // that ends the thread's name.
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let policy: i32 = after.split_whitespace().nth(38).unwrap().parse().unwrap();
    assert_eq!(policy, SCHED_IDLE, "{stat}");
    // It never sleeps: runnable whenever it is looked at, however little
    // CPU a loaded machine leaves an idle-class thread.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        let state = stat.rsplit_once(')').unwrap().1.split_whitespace().next().unwrap().to_string();
        assert_eq!(state, "R", "{stat}");
    }
}
