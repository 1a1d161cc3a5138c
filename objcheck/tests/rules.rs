//! One object per rule that breaks it, built at test time; each must fail
//! with that rule, naming the function, and nothing else. Next to each, the
//! allowed neighbour of the violation (the nearest thing that must pass).

mod common;

use common::{assemble, assert_clean, assert_only, check_file, compile_c, config, XEN_CFLAGS};
use objcheck::{Config, Rule};

/// A global function `name` in `.text` with the given body.
fn func(name: &str, body: &str) -> String {
    format!(
        "\t.text\n\t.globl {name}\n\t.type {name},@function\n{name}:\n{body}\n\t.size {name}, .-{name}\n"
    )
}

fn check_asm(name: &str, asm: &str, cfg: &Config) -> objcheck::Report {
    check_file(&assemble(name, asm), cfg)
}

// ---- float-simd -----------------------------------------------------------

#[test]
fn sse_avx_x87_mmx_instructions_are_rejected() {
    let asm = [
        func("uses_sse", "\tmovaps %xmm0, %xmm1\n\tret"),
        func("uses_avx", "\tvaddps %ymm0, %ymm1, %ymm2\n\tret"),
        func("uses_x87", "\tfldl (%rdi)\n\tfstpl (%rsi)\n\tret"),
        func("uses_mmx", "\tpaddb %mm0, %mm1\n\tret"),
        func("uses_ldmxcsr", "\tldmxcsr (%rdi)\n\tret"),
        func("uses_fxsave", "\tfxsave (%rdi)\n\tret"),
    ]
    .concat();
    let r = check_asm("float_simd", &asm, &config(&[]));
    assert_only(
        &r,
        Rule::FloatSimd,
        &[
            "uses_sse",
            "uses_avx",
            "uses_x87",
            "uses_mmx",
            "uses_ldmxcsr",
            "uses_fxsave",
        ],
    );
}

#[test]
fn gpr_only_sse_era_instructions_pass() {
    let asm = func(
        "barriers",
        "\tlfence\n\tmfence\n\tsfence\n\tpause\n\tprefetcht0 (%rdi)\n\tmovnti %rax, (%rdi)\n\tcrc32q %rsi, %rax\n\tret",
    );
    assert_clean(&check_asm("gpr_only", &asm, &config(&[])));
}

#[test]
fn float_c_code_is_rejected() {
    // What a `f64` in the policy would become with the host's defaults.
    let obj = compile_c(
        "float_c",
        "double cw_scale(double credit, double w) { return credit * w; }\n",
        &["-O2", "-mno-red-zone", "-fno-asynchronous-unwind-tables"],
    );
    assert_only(
        &check_file(&obj, &config(&[])),
        Rule::FloatSimd,
        &["cw_scale"],
    );
}

// ---- float-helper ---------------------------------------------------------

#[test]
fn float_and_int128_helper_calls_are_rejected() {
    // The helpers are allow-listed here so only float-helper can fire.
    let asm = [
        func("soft_mul", "\tcall __muldf3@PLT\n\tret"),
        func("soft_conv", "\tjmp __floatundisf@PLT"),
        func("wide_div", "\tcall __udivti3@PLT\n\tret"),
        func("wide_mul", "\tcall __multi3@PLT\n\tret"),
        func("libm", "\tcall fmod@PLT\n\tret"),
    ]
    .concat();
    let cfg = config(&["__muldf3", "__floatundisf", "__udivti3", "__multi3", "fmod"]);
    let r = check_asm("helpers", &asm, &cfg);
    assert_only(
        &r,
        Rule::FloatHelper,
        &["soft_mul", "soft_conv", "wide_div", "wide_mul", "libm"],
    );
}

#[test]
fn int128_division_in_c_is_rejected() {
    let obj = compile_c(
        "i128_c",
        "unsigned __int128 cw_div(unsigned __int128 a, unsigned __int128 b) { return a / b; }\n",
        XEN_CFLAGS,
    );
    let r = check_file(&obj, &config(&["__udivti3"]));
    assert_only(&r, Rule::FloatHelper, &["cw_div"]);
}

// ---- red-zone -------------------------------------------------------------

#[test]
fn stores_below_rsp_are_rejected() {
    let asm = [
        func("below_rsp", "\tmovq %rdi, -8(%rsp)\n\tmovq -8(%rsp), %rax\n\tret"),
        func("indexed_rsp", "\tmovq %rdi, -16(%rsp,%rsi,8)\n\tret"),
        func(
            "below_frame",
            "\tpushq %rbp\n\tmovq %rsp, %rbp\n\tmovl %edi, -4(%rbp)\n\tmovl -4(%rbp), %eax\n\tpopq %rbp\n\tret",
        ),
        func(
            "beyond_frame",
            "\tpushq %rbp\n\tmovq %rsp, %rbp\n\tsubq $16, %rsp\n\tmovq %rdi, -24(%rbp)\n\tleave\n\tret",
        ),
    ]
    .concat();
    let r = check_asm("red_zone", &asm, &config(&[]));
    assert_only(
        &r,
        Rule::RedZone,
        &["below_rsp", "indexed_rsp", "below_frame", "beyond_frame"],
    );
}

#[test]
fn stores_inside_the_allocated_frame_pass() {
    let asm = [
        func("above_rsp", "\tsubq $16, %rsp\n\tmovq %rdi, 8(%rsp)\n\taddq $16, %rsp\n\tret"),
        // A local array indexed from %rsp, as LLVM emits for `[u64; N]`.
        func(
            "local_array",
            "\tsubq $40, %rsp\n\torq %rsi, 8(%rsp,%rdx,8)\n\taddq $40, %rsp\n\tret",
        ),
        func(
            "in_frame",
            "\tpushq %rbp\n\tmovq %rsp, %rbp\n\tsubq $16, %rsp\n\tmovq %rdi, -16(%rbp)\n\tleave\n\tret",
        ),
        // %rbp as an ordinary register (no frame): negative offsets are fine.
        func("rbp_as_gpr", "\tmovq %rdi, %rbp\n\tmovq %rsi, -8(%rbp)\n\tret"),
    ]
    .concat();
    assert_clean(&check_asm("no_red_zone", &asm, &config(&[])));
}

#[test]
fn gcc_red_zone_code_is_rejected_and_mno_red_zone_passes() {
    // A leaf with locals at -O0: gcc keeps them below %rsp unless told not to.
    let c = "int cw_leaf(int a) { volatile int x = a; volatile int y = x + 1; return x + y; }\n";
    let base = [
        "-O0",
        "-fno-asynchronous-unwind-tables",
        "-fcf-protection=none",
    ];
    let with = compile_c("leaf_red_zone", c, &base);
    assert_only(
        &check_file(&with, &config(&[])),
        Rule::RedZone,
        &["cw_leaf"],
    );
    let without = compile_c(
        "leaf_no_red_zone",
        c,
        &[&base[..], &["-mno-red-zone"]].concat(),
    );
    assert_clean(&check_file(&without, &config(&[])));
}

// ---- got-plt --------------------------------------------------------------

#[test]
fn got_relocations_are_rejected() {
    let asm = [
        func("loads_got", "\tmovq cw_cb_data@GOTPCREL(%rip), %rax\n\tret"),
        func("adds_got", "\taddq cw_cb_other@GOTPCREL(%rip), %rax\n\tret"),
    ]
    .concat();
    let r = check_asm("got", &asm, &config(&[]));
    // gas also references _GLOBAL_OFFSET_TABLE_, itself a GOT use.
    assert_only(
        &r,
        Rule::GotPlt,
        &["loads_got", "adds_got", "_GLOBAL_OFFSET_TABLE_"],
    );
}

#[test]
fn c_without_hidden_visibility_uses_the_got() {
    let c = "extern int cw_cb_ticks; int cw_read(void) { return cw_cb_ticks; }\n";
    let r = check_file(&compile_c("got_c", c, XEN_CFLAGS), &config(&[]));
    assert!(r.has(Rule::GotPlt, "cw_read"), "{:?}", r.violations);
}

#[test]
fn plt32_direct_calls_pass() {
    let asm = func("calls_plt", "\tcall cw_cb_now@PLT\n\tjmp memcpy@PLT");
    assert_clean(&check_asm("plt32", &asm, &config(&[])));
}

// ---- abs32 ----------------------------------------------------------------

#[test]
fn absolute_32bit_relocations_are_rejected() {
    let asm = [
        func("abs32_code", "\tmovl $table, %eax\n\tret"),
        func("abs32s_code", "\tmovq table(,%rdi,8), %rax\n\tret"),
        "\t.data\n\t.globl table\n\t.type table,@object\ntable:\n\t.long abs32_code\n\t.size table, 4\n"
            .to_owned(),
    ]
    .concat();
    let r = check_asm("abs32", &asm, &config(&[]));
    assert_only(&r, Rule::Abs32, &["abs32_code", "abs32s_code", "table"]);
}

// ---- reloc-type -----------------------------------------------------------

#[test]
fn unknown_relocation_types_are_rejected() {
    let asm = [func("sized", "\tmovl $sized@SIZE, %eax\n\tret")].concat();
    assert_only(
        &check_asm("size_reloc", &asm, &config(&[])),
        Rule::RelocType,
        &["sized"],
    );
}

// ---- indirect-branch ------------------------------------------------------

#[test]
fn indirect_calls_and_jumps_are_rejected() {
    let asm = [
        func("calls_reg", "\tcall *%rax\n\tret"),
        func("jumps_reg", "\tjmp *%rax"),
        func("calls_mem", "\tcall *8(%rdi)\n\tret"),
    ]
    .concat();
    let r = check_asm("indirect", &asm, &config(&[]));
    assert_only(
        &r,
        Rule::IndirectBranch,
        &["calls_reg", "jumps_reg", "calls_mem"],
    );
}

#[test]
fn calls_through_xen_thunks_pass() {
    let asm = func(
        "thunked",
        "\tcall __x86_indirect_thunk_rax\n\tjmp __x86_indirect_thunk_r11",
    );
    assert_clean(&check_asm("thunks", &asm, &config(&[])));
}

#[test]
fn gcc_function_pointer_call_with_xen_flags_passes() {
    // The clean reference: Xen's own flags turn the indirect call into a
    // thunk call, and hidden visibility keeps the GOT away.
    let c = r#"
#pragma GCC visibility push(hidden)
struct unit { long credit; unsigned weight; unsigned prio; long hist[16]; };
extern unsigned long cw_cb_now(void);
extern int cw_cb_pick(int);
int cw_dispatch(int (*fn)(int), int x) { return fn(x) + cw_cb_pick(x); }
long cw_copy(struct unit *d, const struct unit *s) { *d = *s; return d->credit + (long)cw_cb_now(); }
static int lut(unsigned p) {
    switch (p) { case 0: return 17; case 1: return 42; case 2: return 99; case 3: return 7;
                 case 4: return 1000; case 5: return 3; case 6: return 12; default: return 0; }
}
int cw_prio(unsigned p, unsigned q) { return lut(p) * lut(q ^ 3); }
"#;
    let r = check_file(&compile_c("xen_clean", c, XEN_CFLAGS), &config(&[]));
    assert_clean(&r);
    assert!(r.functions >= 3 && r.instructions > 20, "{r:?}");
    assert!(
        r.undefined.iter().any(|u| u == "__x86_indirect_thunk_rax"),
        "{:?}",
        r.undefined
    );
}

// ---- jump-table -----------------------------------------------------------

#[test]
fn jump_tables_are_rejected() {
    // The shape LLVM and gcc emit for a dense `match`/`switch` in PIC code:
    // a .rodata table of 32-bit offsets into the function.
    let relative = func(
        "switch_rel",
        "\tcmpl $2, %edi\n\tja 9f\n\tleaq .Ltab(%rip), %rcx\n\tmovslq (%rcx,%rdi,4), %rax\n\taddq %rcx, %rax\n\tjmp *%rax\n\
1:\tmovl $10, %eax\n\tret\n2:\tmovl $20, %eax\n\tret\n3:\tmovl $30, %eax\n\tret\n9:\txorl %eax, %eax\n\tret\n\
\t.section .rodata\n\t.p2align 2\n.Ltab:\n\t.long 1b-.Ltab\n\t.long 2b-.Ltab\n\t.long 3b-.Ltab\n\t.text",
    );
    // Absolute 64-bit entries in .data.rel.ro (the non-PIC shape).
    let absolute = func(
        "switch_abs",
        "\tnop\n1:\tmovl $1, %eax\n\tret\n2:\tmovl $2, %eax\n\tret\n\
\t.section .data.rel.ro,\"aw\"\n\t.p2align 3\n.Ltab2:\n\t.quad 1b\n\t.quad 2b\n\t.text",
    );
    let r = check_asm("jump_tables", &[relative, absolute].concat(), &config(&[]));
    assert!(r.has(Rule::JumpTable, "switch_rel"), "{:?}", r.violations);
    assert!(r.has(Rule::JumpTable, "switch_abs"), "{:?}", r.violations);
    // The dispatch itself is an indirect jump, and nothing else is wrong.
    assert!(r.has(Rule::IndirectBranch, "switch_rel"));
    assert!(r
        .violations
        .iter()
        .all(|v| matches!(v.rule, Rule::JumpTable | Rule::IndirectBranch)));
}

#[test]
fn tables_of_function_addresses_pass() {
    let asm = [
        func("first", "\tret"),
        func("second", "\tret"),
        "\t.section .data.rel.ro,\"aw\"\n\t.p2align 3\nops:\n\t.quad first\n\t.quad second\n"
            .to_owned(),
    ]
    .concat();
    assert_clean(&check_asm("fn_table", &asm, &config(&[])));
}

// ---- endbr-pattern --------------------------------------------------------

#[test]
fn embedded_endbr_bytes_are_rejected() {
    let asm = [
        func("hides_endbr64", "\tmovl $0xfa1e0ff3, %eax\n\tret"),
        func("has_endbr32", "\tendbr32\n\tret"),
        func("has_poison", "\tnopw (%rcx)\n\tret"),
        func("real_endbr", "\tendbr64\n\tret"),
    ]
    .concat();
    let r = check_asm("endbr", &asm, &config(&[]));
    assert_only(
        &r,
        Rule::EndbrPattern,
        &["hides_endbr64", "has_endbr32", "has_poison"],
    );
}

// ---- return-thunk ---------------------------------------------------------

#[test]
fn plain_ret_is_rejected_only_when_return_thunks_are_required() {
    let asm = [
        func("plain_ret", "\tmovl $1, %eax\n\tret"),
        func("thunk_ret", "\tmovl $1, %eax\n\tjmp __x86_return_thunk"),
    ]
    .concat();
    let obj = assemble("return_thunk", &asm);
    let mut cfg = config(&["__x86_return_thunk"]);
    assert_clean(&check_file(&obj, &cfg));
    cfg.require_return_thunk = true;
    assert_only(&check_file(&obj, &cfg), Rule::ReturnThunk, &["plain_ret"]);
}

// ---- undecodable ----------------------------------------------------------

#[test]
fn zero_fill_between_functions_is_padding() {
    // `ld -r` pads .text with zeros; three zero bytes do not decode.
    let asm = [
        func("before", "\tret"),
        "\t.byte 0, 0, 0\n".to_owned(),
        func("after", "\tret"),
    ]
    .concat();
    assert_clean(&check_asm("zero_fill", &asm, &config(&[])));
}

#[test]
fn undecodable_bytes_are_rejected() {
    // 0x06 (push %es) does not exist in 64-bit mode.
    let asm = func("garbage", "\t.byte 0x06\n\tret");
    assert_only(
        &check_asm("undecodable", &asm, &config(&[])),
        Rule::Undecodable,
        &["garbage"],
    );
}

// ---- panic-reachable ------------------------------------------------------

#[test]
fn reachable_panic_names_the_entry_point_and_the_path() {
    let asm = [
        "\t.text\n\t.type bounds_fail,@function\nbounds_fail:\n\tcall commaware_panic_is_reachable@PLT\n\t.size bounds_fail, .-bounds_fail\n".to_owned(),
        func("cw_index", "\tcmpq $4, %rsi\n\tjae 1f\n\tmovq (%rdi,%rsi,8), %rax\n\tret\n1:\tcall bounds_fail"),
        func("cw_safe", "\tmovq (%rdi), %rax\n\tret"),
    ]
    .concat();
    let r = check_asm("panic", &asm, &config(&[]));
    assert_only(&r, Rule::PanicReachable, &["cw_index"]);
    let v = &r.violations[0];
    assert!(
        v.detail
            .contains("cw_index -> bounds_fail -> commaware_panic_is_reachable"),
        "{}",
        v.detail
    );
}

#[test]
fn panic_marker_alone_is_rejected() {
    // Kept but referenced by nothing that is left: still a failure.
    let asm = [
        func("cw_ok", "\tret"),
        "\t.globl commaware_panic_is_reachable\n\t.type commaware_panic_is_reachable,@function\ncommaware_panic_is_reachable:\n\tud2\n\t.size commaware_panic_is_reachable, .-commaware_panic_is_reachable\n".to_owned(),
    ]
    .concat();
    let r = check_asm("panic_marker", &asm, &config(&[]));
    assert_only(&r, Rule::PanicReachable, &["commaware_panic_is_reachable"]);
}

// ---- undefined-symbol -----------------------------------------------------

#[test]
fn undefined_symbols_off_the_allow_list_are_rejected() {
    let asm = [
        func("needs_bcmp", "\tcall bcmp@PLT\n\tret"),
        func("needs_printk", "\tjmp printk@PLT"),
        func(
            "needs_allowed",
            "\tcall cw_cb_tickle@PLT\n\tcall memset@PLT\n\tret",
        ),
    ]
    .concat();
    let r = check_asm("undefined", &asm, &config(&[]));
    assert_only(&r, Rule::UndefinedSymbol, &["needs_bcmp", "needs_printk"]);
    assert!(r.violations.iter().any(|v| v.detail.contains("`bcmp`")));
}

// ---- tls ------------------------------------------------------------------

#[test]
fn thread_local_storage_is_rejected() {
    let asm = [
        func("reads_tls", "\tmovq %fs:counter@tpoff, %rax\n\tret"),
        "\t.section .tbss,\"awT\",@nobits\n\t.type counter,@object\ncounter:\n\t.zero 8\n\t.size counter, 8\n".to_owned(),
    ]
    .concat();
    let r = check_asm("tls", &asm, &config(&[]));
    for f in ["reads_tls", ".tbss", "counter"] {
        assert!(r.has(Rule::Tls, f), "{f}: {:?}", r.violations);
    }
    // gas adds a `_GLOBAL_OFFSET_TABLE_` reference for TLS code; that is all
    // else there is.
    assert!(r.violations.iter().all(|v| v.rule == Rule::Tls
        || (v.rule == Rule::GotPlt && v.function == "_GLOBAL_OFFSET_TABLE_")));
}

// ---- init-array -----------------------------------------------------------

#[test]
fn static_constructors_are_rejected() {
    let asm = [
        func("ctor", "\tret"),
        "\t.section .init_array,\"aw\",@init_array\n\t.p2align 3\n\t.quad ctor\n".to_owned(),
    ]
    .concat();
    assert_only(
        &check_asm("ctors", &asm, &config(&[])),
        Rule::InitArray,
        &[".init_array"],
    );
}

// ---- bitcode --------------------------------------------------------------

#[test]
fn embedded_bitcode_is_rejected() {
    let asm = [
        func("plain", "\tret"),
        "\t.section .llvmbc,\"e\"\n\t.byte 0x42, 0x43, 0xc0, 0xde\n".to_owned(),
    ]
    .concat();
    assert_only(
        &check_asm("bitcode", &asm, &config(&[])),
        Rule::Bitcode,
        &[".llvmbc"],
    );
}

// ---- every rule has a test above ------------------------------------------

#[test]
fn rule_names_are_distinct() {
    let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Rule::ALL.len());
}
