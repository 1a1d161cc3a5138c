//! Print the scenario a `core_events` input decodes to:
//! `cargo run --example decode -- FILE...`
fn main() {
    for f in std::env::args().skip(1) {
        let data = std::fs::read(&f).expect("read");
        println!("== {f}\n{}", commaware_fuzz::events::decode(&data));
    }
}
