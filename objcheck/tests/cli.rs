//! The `objcheck` and `objrelax` binaries: exit status, output naming rule
//! and function, every violation printed, and relaxation of LLVM's GOT calls.

mod common;

use std::process::Command;

use common::{assemble, check_file, config, scratch};
use objcheck::Rule;

const OBJCHECK: &str = env!("CARGO_BIN_EXE_objcheck");
const OBJRELAX: &str = env!("CARGO_BIN_EXE_objrelax");
const ALLOW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../mk/rust-obj.allow");

fn func(name: &str, body: &str) -> String {
    format!("\t.text\n\t.globl {name}\n\t.type {name},@function\n{name}:\n{body}\n\t.size {name}, .-{name}\n")
}

#[test]
fn failing_object_exits_1_and_names_every_violation() {
    let obj = assemble(
        "cli_bad",
        &[
            func("cw_sse", "\tmovaps %xmm0, %xmm1\n\tret"),
            func("cw_red", "\tmovq %rdi, -8(%rsp)\n\tret"),
            func("cw_ext", "\tcall bcmp@PLT\n\tret"),
        ]
        .concat(),
    );
    let out = Command::new(OBJCHECK)
        .arg("--allow")
        .arg(ALLOW)
        .arg(&obj)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("float-simd: in `cw_sse`"), "{text}");
    assert!(text.contains("red-zone: in `cw_red`"), "{text}");
    assert!(text.contains("undefined-symbol: in `cw_ext`"), "{text}");
    assert!(text.contains("FAILED, 3 violation(s)"), "{text}");
}

#[test]
fn clean_object_exits_0() {
    let obj = assemble("cli_good", &func("cw_ok", "\tcall cw_cb_now@PLT\n\tret"));
    let out = Command::new(OBJCHECK)
        .arg("--allow")
        .arg(ALLOW)
        .arg(&obj)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(": OK"), "{text}");
}

#[test]
fn non_objects_and_bad_usage_exit_2() {
    let dir = scratch("cli_junk");
    let junk = dir.join("junk.o");
    std::fs::write(&junk, b"not an ELF file").unwrap();
    let out = Command::new(OBJCHECK).arg(&junk).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(OBJCHECK).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let bad_allow = dir.join("bad.allow");
    std::fs::write(&bad_allow, "memcpy\nnot a symbol\n").unwrap();
    let out = Command::new(OBJCHECK)
        .arg("--allow")
        .arg(&bad_allow)
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}

#[test]
fn objrelax_makes_libcall_got_uses_direct() {
    // What LLVM emits for memcpy/memset libcalls once `core`'s RtLibUseGOT
    // flag is linked in, plus one GOT use no linker would relax.
    let asm = [
        func("cw_copy", "\tcall *memcpy@GOTPCREL(%rip)\n\tret"),
        func("cw_tail", "\tjmp *memset@GOTPCREL(%rip)"),
        func("cw_addr", "\tmovq memmove@GOTPCREL(%rip), %rax\n\tret"),
    ]
    .concat();
    let before = assemble("relax_in", &asm);
    let r = check_file(&before, &config(&[]));
    for f in ["cw_copy", "cw_tail", "cw_addr"] {
        assert!(r.has(Rule::GotPlt, f), "{f}: {:?}", r.violations);
    }
    assert!(r.has(Rule::IndirectBranch, "cw_copy") && r.has(Rule::IndirectBranch, "cw_tail"));

    let after = before.with_file_name("relaxed.o");
    let out = Command::new(OBJRELAX)
        .arg(&before)
        .arg(&after)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 GOT use(s) relaxed"));
    let r = check_file(&after, &config(&[]));
    // Only gas's `_GLOBAL_OFFSET_TABLE_` reference remains.
    assert!(
        r.violations
            .iter()
            .all(|v| v.rule == Rule::GotPlt && v.function == "_GLOBAL_OFFSET_TABLE_"),
        "{:?}",
        r.violations
    );
    let dis = Command::new("objdump")
        .arg("-dr")
        .arg(&after)
        .output()
        .unwrap();
    let dis = String::from_utf8_lossy(&dis.stdout);
    assert!(dis.contains("addr32 call"), "{dis}");
    assert!(dis.contains("R_X86_64_PLT32\tmemcpy-0x4"), "{dis}");
    assert!(dis.contains("R_X86_64_PLT32\tmemset-0x4"), "{dis}");
    assert!(dis.contains("lea    0x0(%rip),%rax"), "{dis}");
    assert!(dis.contains("R_X86_64_PC32\tmemmove-0x4"), "{dis}");
}

#[test]
fn objrelax_leaves_other_got_uses_for_the_checker() {
    let obj = assemble(
        "relax_other",
        &func("cw_sum", "\taddq memcpy@GOTPCREL(%rip), %rax\n\tret"),
    );
    let out_path = obj.with_file_name("out.o");
    let out = Command::new(OBJRELAX)
        .arg(&obj)
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(check_file(&out_path, &config(&[])).has(Rule::GotPlt, "cw_sum"));
}
