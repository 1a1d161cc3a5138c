//! The client and server loops over the in-process transport (the code the
//! vchan transport runs, without Xen), and the command line of the Xen modes
//! (which must parse, and fail clearly, on a machine without Xen).

use commaware_workload::burn::{Burner, Calibration};
use commaware_workload::client::{self, ClientConfig};
use commaware_workload::proto::{self, MSG_LEN};
use commaware_workload::server;
use commaware_workload::transport::{pipe, Endpoint, MsgConn, Transport, VchanTarget};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn cfg(duration_ms: u64, warmup_ms: u64) -> ClientConfig {
    ClientConfig {
        connect: Endpoint::Vchan(VchanTarget {
            peer: Some(7),
            path: None,
            peer_timeout: Duration::from_secs(1),
        }),
        work_us: 5,
        think_us: 0,
        duration: Duration::from_millis(duration_ms),
        warmup: Duration::from_millis(warmup_ms),
        connect_timeout: Duration::from_secs(1),
        io_timeout: Duration::from_secs(2),
        cal: Calibration::given(50.0),
    }
}

#[test]
fn client_and_server_loops_over_a_pipe() {
    let (mut a, mut b) = pipe(Duration::from_secs(5));
    let served = Arc::new(AtomicU64::new(0));
    let s2 = served.clone();
    let srv = thread::spawn(move || {
        server::serve(&mut b, Burner::new(Calibration::given(50.0)), 20, &s2)
    });
    let c = cfg(300, 50);
    let r = client::measure(&c, &mut a, Transport::Vchan, "vchan:dom7:/x".into(), 1).unwrap();
    a.close();
    drop(a);
    srv.join().unwrap().expect("the server sees a clean close");
    assert!(r.requests > 0 && r.warmup_requests > 0, "{r:?}");
    assert_eq!(served.load(Ordering::Acquire), r.requests + r.warmup_requests);
    assert_eq!(r.server_work_us, Some(20));
    assert!(r.elapsed >= Duration::from_millis(300) && r.warmup >= Duration::from_millis(50));
    let j = r.to_json().to_line();
    assert!(j.contains(r#""transport":"vchan""#) && j.contains(r#""connect":"vchan:dom7:/x""#), "{j}");
}

/// A thinking client sleeps between requests: its rate is bounded by the
/// think time, and the sleep is not part of any latency.
#[test]
fn think_time_paces_the_loop_and_is_not_latency() {
    const THINK_US: u64 = 20_000;
    let (mut a, mut b) = pipe(Duration::from_secs(5));
    let served = Arc::new(AtomicU64::new(0));
    let s2 = served.clone();
    let srv = thread::spawn(move || {
        server::serve(&mut b, Burner::new(Calibration::given(50.0)), 0, &s2)
    });
    let c = ClientConfig {
        think_us: THINK_US,
        ..cfg(400, 0)
    };
    let r = client::measure(&c, &mut a, Transport::Vchan, "vchan:dom7:/x".into(), 1).unwrap();
    a.close();
    drop(a);
    srv.join().unwrap().expect("the server sees a clean close");
    // At most one request per think time (+1 for the first, unslept one).
    let max = 400_000 / THINK_US + 1;
    assert!(r.requests >= 1 && r.requests <= max, "{} requests in 400 ms", r.requests);
    // Latency is send -> reply only: a sleep counted in would put even the
    // fastest request above the think time.
    assert!(r.hist.min().unwrap() < THINK_US * 1000, "min latency {:?} ns", r.hist.min());
    assert!(r.to_json().to_line().contains(r#""think_us":20000"#));
}

/// A peer that answers the wrong request is a protocol error, not a hang.
#[test]
fn wrong_reply_is_a_protocol_error() {
    let (mut a, mut b) = pipe(Duration::from_secs(5));
    let peer = thread::spawn(move || {
        let mut m = [0u8; MSG_LEN];
        if b.recv_msg(&mut m).unwrap() {
            b.send_msg(&proto::reply(999, 0)).unwrap();
        }
    });
    let e = client::measure(&cfg(100, 0), &mut a, Transport::Vchan, "p".into(), 1).unwrap_err();
    peer.join().unwrap();
    assert!(e.to_string().contains("reply for request 999, expected 1"), "{e}");
}

/// A silent peer: the client gives up after its io timeout with a message.
#[test]
fn silent_server_times_out() {
    let (mut a, _b) = pipe(Duration::from_millis(100));
    let e = client::measure(&cfg(100, 0), &mut a, Transport::Vchan, "p".into(), 1).unwrap_err();
    assert!(e.to_string().contains("no reply to request 1"), "{e}");
}

/// A server whose client leaves between requests is done, without error.
#[test]
fn server_ends_cleanly_when_the_client_leaves() {
    let (mut a, mut b) = pipe(Duration::from_secs(5));
    a.send_msg(&proto::request(1)).unwrap();
    a.close();
    let n = AtomicU64::new(0);
    server::serve(&mut b, Burner::new(Calibration::given(50.0)), 0, &n).unwrap();
    assert_eq!(n.load(Ordering::Acquire), 1);
    let mut m = [0u8; MSG_LEN];
    assert!(a.recv_msg(&mut m).unwrap());
    assert_eq!(proto::parse_reply(&m), Ok((1, 0)));
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cw-workload"))
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn xen_mode_arguments_are_checked() {
    let cases: &[(&[&str], &str)] = &[
        (&["client", "--transport", "vchan", "--connect", "10.0.0.2:7000"], "--connect is for --transport tcp"),
        (&["server", "--transport", "vchan", "--listen", "0.0.0.0:1"], "--listen is for --transport tcp"),
        (&["server", "--transport", "vchan", "--clients", "2"], "exactly one client"),
        (&["server", "--peer", "3"], "--peer needs --transport vchan"),
        (&["client", "--transport", "carrier-pigeon"], "neither tcp nor vchan"),
        (&["client", "--transport", "vchan", "--peer", "40000"], "not a domain id"),
        (&["client", "--transport", "vchan", "--vchan-path", "rel/path"], "not an absolute xenstore path"),
        (&["evring", "--next", "x"], "not a non-negative integer"),
        (&["evstorm", "--bogus"], "unknown option"),
        (&["evsink", "--lead"], "unknown option"),
    ];
    for (args, want) in cases {
        let (code, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: wanted `{want}` in: {err}");
    }
}

/// On a machine without Xen every Xen mode fails at once, saying why.
#[test]
fn xen_modes_fail_clearly_without_xen() {
    for args in [
        &["evsink", "--peer", "1", "--peer-timeout", "0"][..],
        &["evstorm", "--peer", "1", "--peer-timeout", "0"],
        &["evring", "--next", "1", "--prev", "2", "--peer-timeout", "0"],
        &["client", "--transport", "vchan", "--peer", "1", "--iters-per-us", "10"],
        &["server", "--transport", "vchan", "--peer", "1", "--iters-per-us", "10"],
    ] {
        let (code, err) = run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("without Xen support") || err.contains("xenstore: cannot connect"),
            "{args:?}: {err}"
        );
    }
}
