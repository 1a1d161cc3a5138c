//! `objrelax IN OUT`: rewrites the GOT uses GNU ld would relax in a static
//! link (`call/jmp *sym@GOTPCREL(%rip)`, `mov sym@GOTPCREL(%rip), %reg`) into
//! their direct forms, writes OUT and lists each change. See
//! `objcheck::relax`. Run `objcheck` on OUT afterwards: it still rejects any
//! GOT use this could not rewrite.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: objrelax IN OUT");
        return ExitCode::from(2);
    };
    let mut data = match std::fs::read(input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("objrelax: cannot read {input}: {e}");
            return ExitCode::from(2);
        }
    };
    let done = match objcheck::relax::relax_got(&mut data) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("objrelax: {input}: {e}");
            return ExitCode::from(2);
        }
    };
    for r in &done {
        println!(
            "objrelax: {input}: {}+{:#x}: {} through the GOT for `{}` made direct",
            r.section, r.offset, r.form, r.symbol
        );
    }
    if let Err(e) = std::fs::write(output, &data) {
        eprintln!("objrelax: cannot write {output}: {e}");
        return ExitCode::from(2);
    }
    println!("objrelax: {input}: {} GOT use(s) relaxed", done.len());
    ExitCode::SUCCESS
}
