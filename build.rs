//! Generate Rust definitions of the C ABI from its headers, so the shim, the
//! public interface and the Rust crate share one definition:
//! `include/public/sched_commaware.h` (hypercall payloads) and
//! `include/commaware.h` (the shim's calls into Rust and its callbacks).

use std::env;
use std::path::PathBuf;

fn main() {
    let inc = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("include");
    println!("cargo:rerun-if-changed={}", inc.join("commaware.h").display());
    println!("cargo:rerun-if-changed={}", inc.join("public/sched_commaware.h").display());

    let bindings = bindgen::Builder::default()
        .header_contents("wrapper.h", "#include <stdint.h>\n#include <stddef.h>\n#include <commaware.h>\n")
        .clang_arg(format!("-I{}", inc.display()))
        .use_core()
        .allowlist_type("xen_.*|cw_.*")
        .allowlist_function("cw_.*")
        .allowlist_var("XEN_.*|CW_.*")
        .derive_default(true)
        .derive_debug(true)
        .derive_eq(true)
        .layout_tests(false)
        .generate()
        .expect("bindgen failed on include/commaware.h (is libclang installed? apt-get install libclang-dev)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("abi.rs");
    bindings.write_to_file(&out).expect("cannot write the generated bindings");

    // Outside the hypervisor build, compile a C caller of the ABI with the
    // system C compiler (the one that builds Xen): tests compare its view of
    // the structs with bindgen's and drive the core through it as the shim
    // would (tests/c/shim_harness.c).
    if env::var_os("CARGO_FEATURE_HYPERVISOR").is_none() {
        let c = PathBuf::from("tests/c/shim_harness.c");
        println!("cargo:rerun-if-changed={}", c.display());
        cc::Build::new().file(&c).include(&inc).warnings(true).extra_warnings(true).compile("cw_shim_harness");
    }
}
