//! Names of the floating-point and 128-bit integer helper functions that
//! compilers call instead of inlining the operation (compiler-rt, libgcc,
//! `compiler_builtins`, libm).
//!
//! Float helpers expect their arguments in SSE registers, which Xen code must
//! not touch; 128-bit helpers are not provided by Xen. A reference to any of
//! them, defined or not, breaks the `float-helper` rule.

/// Floating-point mode suffixes used by the compiler-rt/libgcc names.
const FLOAT_MODES: &[&str] = &["hf", "bf", "sf", "df", "xf", "tf"];
/// Integer mode suffixes used by the conversion helpers.
const INT_MODES: &[&str] = &["si", "di", "ti"];

/// Float arithmetic and comparison stems: `__addsf3`, `__powidf2`, `__ltdf2`, ...
const FLOAT_OPS: &[&str] = &[
    "add", "sub", "mul", "div", "neg", "powi", "pow", "cmp", "eq", "ne", "ge", "gt", "le", "lt",
    "unord", "abs", "copysign", "mulc", "divc",
];

/// 128-bit integer stems: `__multi3`, `__udivti3`, `__udivmodti4`, `__muloti4`, ...
const TI_OPS: &[&str] = &[
    "mul", "div", "udiv", "mod", "umod", "udivmod", "divmod", "mulo", "ashl", "ashr", "lshr",
    "neg", "cmp", "ucmp", "popcount", "clz", "ctz", "ffs", "parity", "bswap", "abs", "absv",
    "addv", "subv", "mulv", "negv",
];

/// libm entry points (each also with `f` and `l` suffixes).
const LIBM: &[&str] = &[
    "fmod",
    "sqrt",
    "floor",
    "ceil",
    "trunc",
    "round",
    "rint",
    "nearbyint",
    "fabs",
    "pow",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "fma",
    "fmin",
    "fmax",
    "fdim",
    "copysign",
    "ldexp",
    "frexp",
    "cbrt",
    "hypot",
    "remainder",
    "remquo",
    "modf",
    "scalbn",
    "ilogb",
    "lround",
    "llround",
    "lrint",
    "llrint",
    "erf",
    "erfc",
    "tgamma",
    "lgamma",
    "sincos",
];

/// Whether `name` is a floating-point or 128-bit integer helper.
pub fn is_float_or_i128_helper(name: &str) -> bool {
    if LIBM
        .iter()
        .any(|m| name == *m || name.strip_prefix(m).is_some_and(|r| r == "f" || r == "l"))
    {
        return true;
    }
    if name.starts_with("__rust_u128_") || name.starts_with("__rust_i128_") {
        return true;
    }
    let Some(stem) = name.strip_prefix("__") else {
        return false;
    };
    if name.starts_with("__gnu_h2f") || name.starts_with("__gnu_f2h") {
        return true;
    }
    // __addsf3, __powidf2, __ltdf2, __unordsf2, __mulsc3 (complex).
    for op in FLOAT_OPS {
        if let Some(rest) = stem.strip_prefix(op) {
            if float_mode_then_digits(rest) || complex_mode_then_digits(rest) {
                return true;
            }
        }
    }
    // __fixdfsi, __fixunssfdi, __fixtfti.
    if let Some(rest) = stem
        .strip_prefix("fixuns")
        .or_else(|| stem.strip_prefix("fix"))
    {
        if FLOAT_MODES
            .iter()
            .any(|f| rest.strip_prefix(f).is_some_and(|r| INT_MODES.contains(&r)))
        {
            return true;
        }
    }
    // __floatsisf, __floatundidf, __floattitf.
    if let Some(rest) = stem
        .strip_prefix("floatun")
        .or_else(|| stem.strip_prefix("float"))
    {
        if INT_MODES.iter().any(|i| {
            rest.strip_prefix(i)
                .is_some_and(|r| FLOAT_MODES.contains(&r))
        }) {
            return true;
        }
    }
    // __extendsfdf2, __truncdfsf2.
    for conv in ["extend", "trunc"] {
        if let Some(rest) = stem.strip_prefix(conv) {
            if FLOAT_MODES.iter().any(|a| {
                rest.strip_prefix(a).is_some_and(|r| {
                    FLOAT_MODES
                        .iter()
                        .any(|b| r.strip_prefix(b).is_some_and(all_digits))
                })
            }) {
                return true;
            }
        }
    }
    // __multi3, __udivti3, __udivmodti4, __muloti4.
    TI_OPS.iter().any(|op| {
        stem.strip_prefix(op)
            .and_then(|r| r.strip_prefix("ti").or_else(|| r.strip_prefix("oti")))
            .is_some_and(all_digits)
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn float_mode_then_digits(rest: &str) -> bool {
    FLOAT_MODES
        .iter()
        .any(|f| rest.strip_prefix(f).is_some_and(all_digits))
}

fn complex_mode_then_digits(rest: &str) -> bool {
    ["sc", "dc", "xc", "tc", "hc"]
        .iter()
        .any(|f| rest.strip_prefix(f).is_some_and(all_digits))
}

#[cfg(test)]
mod tests {
    use super::is_float_or_i128_helper as h;

    #[test]
    fn float_helpers() {
        for n in [
            "__addsf3",
            "__muldf3",
            "__divtf3",
            "__negdf2",
            "__powidf2",
            "__ltdf2",
            "__unordsf2",
            "__floatundisf",
            "__floatsidf",
            "__floattitf",
            "__fixdfsi",
            "__fixunssfdi",
            "__extendsfdf2",
            "__truncdfsf2",
            "__mulsc3",
            "fmod",
            "fmodf",
            "sqrt",
            "floorl",
        ] {
            assert!(h(n), "{n}");
        }
    }

    #[test]
    fn int128_helpers() {
        for n in [
            "__multi3",
            "__udivti3",
            "__umodti3",
            "__divti3",
            "__modti3",
            "__udivmodti4",
            "__muloti4",
            "__ashlti3",
            "__lshrti3",
            "__rust_u128_mulo",
            "__rust_i128_addo",
        ] {
            assert!(h(n), "{n}");
        }
    }

    #[test]
    fn ordinary_names_pass() {
        for n in [
            "memcpy",
            "memset",
            "cw_cb_now",
            "__x86_indirect_thunk_rax",
            "__x86_return_thunk",
            "__udivdi3",
            "__muldi3",
            "floor_div",
            "addr",
            "__floatfoo",
            "logger",
            "cw_pick",
        ] {
            assert!(!h(n), "{n}");
        }
    }
}
