//! Build script of cw-workload. Without the `xen` feature it does nothing:
//! the crate is std only and builds anywhere (host `cargo test`).
//!
//! With `xen` (enabled by scripts/build-workload.sh when the Xen tools have
//! been built), it links Xen's static tool libraries (libxenvchan and what it
//! needs) from the tools build tree, and compiles the one-function C shim
//! (csrc/vchan_shim.c) against Xen's headers.
//!
//! Where: `CW_XEN_LIBS` (default `<repo>/build/xen-work/tools/libs`, holding
//! `<name>/libxen<name>.a`) and `CW_XEN_INCLUDE` (default
//! `<repo>/build/xen-work/tools/include`).

use std::env;
use std::path::PathBuf;

/// In link order: every library before the ones it uses.
const LIBS: &[&str] = &["vchan", "store", "gnttab", "evtchn", "toolcore", "toollog"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/vchan_shim.c");
    println!("cargo:rerun-if-env-changed=CW_XEN_LIBS");
    println!("cargo:rerun-if-env-changed=CW_XEN_INCLUDE");
    if env::var_os("CARGO_FEATURE_XEN").is_none() {
        return;
    }
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let repo = manifest
        .parent()
        .expect("workload/ is inside the repository")
        .to_path_buf();
    let libs = env::var_os("CW_XEN_LIBS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("build/xen-work/tools/libs"));
    let include = env::var_os("CW_XEN_INCLUDE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("build/xen-work/tools/include"));

    for l in LIBS {
        let a = libs.join(l).join(format!("libxen{l}.a"));
        if !a.is_file() {
            panic!(
                "feature `xen`: {} is missing (build the Xen tools first: make xen; \
                 or set CW_XEN_LIBS to a directory holding <name>/libxen<name>.a)",
                a.display()
            );
        }
        println!("cargo:rerun-if-changed={}", a.display());
        println!("cargo:rustc-link-search=native={}", libs.join(l).display());
    }
    if !include.join("libxenvchan.h").is_file() {
        panic!(
            "feature `xen`: no libxenvchan.h in {} (set CW_XEN_INCLUDE)",
            include.display()
        );
    }

    // The shim, as a static library of its own (cc: the C compiler cargo
    // would use; no link directives from it, the order is set below).
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    cc::Build::new()
        .file(manifest.join("csrc/vchan_shim.c"))
        .include(&include)
        .warnings_into_errors(true)
        .cargo_metadata(false)
        .compile("cwvchanshim");
    println!("cargo:rustc-link-search=native={}", out.display());

    // Not bundled into the rlib: passed to the final link in this order, so
    // the archives resolve each other's symbols left to right.
    println!("cargo:rustc-link-lib=static:-bundle=cwvchanshim");
    for l in LIBS {
        println!("cargo:rustc-link-lib=static:-bundle=xen{l}");
    }
}
