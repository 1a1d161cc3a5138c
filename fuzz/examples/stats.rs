//! What a corpus reaches: `cargo run --release --example stats -- DIR...`
//! (picks, steals, boosts, donations, refused calls, summed over inputs).
fn main() {
    let mut total = commaware_fuzz::events::Stats::default();
    let mut n = 0;
    let mut with = [0u64; 3];
    for dir in std::env::args().skip(1) {
        for e in std::fs::read_dir(&dir).expect("dir").flatten() {
            let data = std::fs::read(e.path()).expect("read");
            let s = commaware_fuzz::events::stats(&data);
            n += 1;
            total.ops += s.ops;
            total.picks += s.picks;
            total.steals += s.steals;
            total.boosts += s.boosts;
            total.boosts_refused += s.boosts_refused;
            total.donations += s.donations;
            total.refusals += s.refusals;
            with[0] += u64::from(s.boosts > 0);
            with[1] += u64::from(s.donations > 0);
            with[2] += u64::from(s.steals > 0);
        }
    }
    println!("{n} inputs: {total:?}");
    println!("inputs with a boost: {}, a donation: {}, a steal: {}", with[0], with[1], with[2]);
}
