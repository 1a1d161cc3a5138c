//! Builds small objects at test time with the system assembler and compiler
//! (binutils `as`, `gcc`), so every rule is exercised on a real ELF file.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use objcheck::{check, AllowList, Config, Report, Rule};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under cargo's scratch space for tests (`target/tmp`).
pub fn scratch(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("objcheck-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run the system toolchain");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Assembles `asm` (GNU as, AT&T syntax) and returns the object's path.
pub fn assemble(name: &str, asm: &str) -> PathBuf {
    let dir = scratch(name);
    let src = dir.join(format!("{name}.s"));
    let obj = dir.join(format!("{name}.o"));
    std::fs::write(&src, asm).expect("write asm");
    run(Command::new("as").arg("--64").arg("-o").arg(&obj).arg(&src));
    obj
}

/// Compiles `c` with gcc and the given flags and returns the object's path.
pub fn compile_c(name: &str, c: &str, flags: &[&str]) -> PathBuf {
    let dir = scratch(name);
    let src = dir.join(format!("{name}.c"));
    let obj = dir.join(format!("{name}.o"));
    std::fs::write(&src, c).expect("write C");
    run(Command::new("gcc")
        .args(flags)
        .arg("-c")
        .arg("-o")
        .arg(&obj)
        .arg(&src));
    obj
}

/// The flags Xen 4.17 builds its own C with (xen/arch/x86/arch.mk, with
/// CONFIG_INDIRECT_THUNK), minus what needs Xen's tree.
pub const XEN_CFLAGS: &[&str] = &[
    "-O2",
    "-fno-builtin",
    "-mno-red-zone",
    "-fpic",
    "-mno-mmx",
    "-mno-sse",
    "-msoft-float",
    "-fno-asynchronous-unwind-tables",
    "-mindirect-branch=thunk-extern",
    "-mindirect-branch-register",
    "-fno-jump-tables",
    "-fcf-protection=none",
];

/// The allow-list the build uses, read from the repository.
pub fn build_allow_list() -> AllowList {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../mk/rust-obj.allow");
    let text = std::fs::read_to_string(path).expect("read mk/rust-obj.allow");
    AllowList::parse(&text).expect("parse mk/rust-obj.allow")
}

pub fn config(extra_allowed: &[&str]) -> Config {
    let mut allow = build_allow_list();
    for a in extra_allowed {
        allow.add(a).expect("valid allow entry");
    }
    Config {
        allow,
        ..Config::default()
    }
}

pub fn check_file(obj: &PathBuf, cfg: &Config) -> Report {
    let data = std::fs::read(obj).expect("read object");
    check(&data, cfg).expect("object parses")
}

fn dump(report: &Report) -> String {
    report
        .violations
        .iter()
        .map(|v| format!("  {v}\n"))
        .collect()
}

/// Asserts that `rule` is broken in each of `functions`, and that nothing
/// else is: the object breaks exactly the rule under test.
pub fn assert_only(report: &Report, rule: Rule, functions: &[&str]) {
    for f in functions {
        assert!(
            report.has(rule, f),
            "expected {rule} in `{f}`, got:\n{}",
            dump(report)
        );
    }
    for v in &report.violations {
        assert!(
            v.rule == rule && functions.contains(&v.function.as_str()),
            "unexpected violation {v}; all:\n{}",
            dump(report)
        );
    }
}

pub fn assert_clean(report: &Report) {
    assert!(
        report.is_clean(),
        "expected no violations, got:\n{}",
        dump(report)
    );
}
