//! `objcheck` proves that a relocatable x86_64 ELF object obeys the rules for
//! code linked into the Xen hypervisor (see `docs/hardening.md` and
//! `/work/shared/rust-in-xen.md`).
//!
//! Rust's standard library for the host target is precompiled with SSE, the
//! red zone and jump tables, and rustc's flags only govern the code it
//! generates itself. So the object that goes into `xen-syms` is not trusted
//! because of how it was built: it is checked, after the partial link, for
//! every property Xen relies on. Each broken property is a [`Violation`] that
//! names the [`Rule`] and the function (or section) at fault; the checker
//! reports all of them rather than stopping at the first.
//!
//! The rules, and the exact condition each one tests, are listed on [`Rule`].

pub mod allow;
pub mod helpers;
mod object_model;
pub mod relax;
mod rules;

use std::fmt;

pub use allow::{AllowList, AllowListError};

/// One property Xen needs from the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// An instruction that reads or writes x87, MMX, SSE, AVX, AVX-512 or AMX
    /// state: any vector/x87/MMX/mask/tile register among its explicit or
    /// implicit operands, or a CPUID feature of those families. Fences,
    /// `pause`, prefetches, `movnti` and `crc32` (SSE-era, but on
    /// general-purpose registers only) are allowed.
    FloatSimd,
    /// A reference (call, jump or address) to a soft-float, libm or 128-bit
    /// integer helper such as `__addsf3`, `__floatundisf`, `fmod`, `__multi3`.
    FloatHelper,
    /// A store below the stack pointer: a write through `%rsp` with a
    /// negative displacement (with or without an index register; an indexed
    /// store at a displacement >= 0 is a local array above `%rsp`), or, in a
    /// function that sets `%rbp` from `%rsp`, a write through `%rbp` further
    /// below it than all the stack the function ever allocates.
    RedZone,
    /// A GOT or PLT relocation other than `R_X86_64_PLT32` (see
    /// `docs/hardening.md`), a dynamic relocation type, or a non-empty
    /// `.got`/`.plt` section.
    GotPlt,
    /// A 32-bit (or narrower) absolute relocation in an allocated section:
    /// Xen lives above the top 2 GiB, so these cannot be resolved.
    Abs32,
    /// A relocation type the checker does not know to be harmless.
    RelocType,
    /// An indirect `call` or `jmp`. Calls to Xen's `__x86_indirect_thunk_*`
    /// are direct calls and pass.
    IndirectBranch,
    /// A table of code addresses: a data relocation that points into the
    /// middle of a function, or a PC-relative data relocation into code.
    JumpTable,
    /// Bytes in executable code that Xen's `check-endbr.sh` rejects: an
    /// `endbr64` pattern that is not an `endbr64` instruction, any `endbr32`
    /// pattern, or the `nopw (%rcx)` poison.
    EndbrPattern,
    /// A plain `ret` in an object that must return through
    /// `__x86_return_thunk` (only with [`Config::require_return_thunk`]).
    ReturnThunk,
    /// Bytes in executable code that do not decode; the checker cannot prove
    /// anything about them.
    Undecodable,
    /// The panic handler's marker symbol is still referenced (or defined)
    /// after the partial link: some entry point can reach a panic.
    PanicReachable,
    /// An undefined symbol that is not on the allow-list.
    UndefinedSymbol,
    /// Thread-local storage: a TLS section, a TLS symbol or a TLS relocation.
    Tls,
    /// Static constructors or destructors (`.init_array`, `.ctors`, ...).
    InitArray,
    /// Embedded LLVM bitcode (`.llvmbc`, `.llvmcmd`).
    Bitcode,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 16] = [
        Rule::FloatSimd,
        Rule::FloatHelper,
        Rule::RedZone,
        Rule::GotPlt,
        Rule::Abs32,
        Rule::RelocType,
        Rule::IndirectBranch,
        Rule::JumpTable,
        Rule::EndbrPattern,
        Rule::ReturnThunk,
        Rule::Undecodable,
        Rule::PanicReachable,
        Rule::UndefinedSymbol,
        Rule::Tls,
        Rule::InitArray,
        Rule::Bitcode,
    ];

    /// The rule's name as printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::FloatSimd => "float-simd",
            Rule::FloatHelper => "float-helper",
            Rule::RedZone => "red-zone",
            Rule::GotPlt => "got-plt",
            Rule::Abs32 => "abs32",
            Rule::RelocType => "reloc-type",
            Rule::IndirectBranch => "indirect-branch",
            Rule::JumpTable => "jump-table",
            Rule::EndbrPattern => "endbr-pattern",
            Rule::ReturnThunk => "return-thunk",
            Rule::Undecodable => "undecodable",
            Rule::PanicReachable => "panic-reachable",
            Rule::UndefinedSymbol => "undefined-symbol",
            Rule::Tls => "tls",
            Rule::InitArray => "init-array",
            Rule::Bitcode => "bitcode",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule that is broken.
    pub rule: Rule,
    /// The (demangled) function or data symbol at fault, or a section name
    /// when no symbol covers the place.
    pub function: String,
    /// Offset of the offending instruction or relocation from the start of
    /// `function`, when there is one.
    pub offset: Option<u64>,
    /// What is wrong there.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: in `{}`", self.rule, self.function)?;
        if let Some(off) = self.offset {
            write!(f, " (+{off:#x})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// What the object is checked against.
#[derive(Debug, Clone)]
pub struct Config {
    /// Symbols that may stay undefined.
    pub allow: AllowList,
    /// The symbol the panic handler calls; it must not survive the link.
    pub panic_symbol: String,
    /// Whether every return must go through `__x86_return_thunk`.
    pub require_return_thunk: bool,
}

/// The name the commaware panic handler calls.
pub const DEFAULT_PANIC_SYMBOL: &str = "commaware_panic_is_reachable";

impl Default for Config {
    fn default() -> Self {
        Self {
            allow: AllowList::default(),
            panic_symbol: DEFAULT_PANIC_SYMBOL.to_owned(),
            require_return_thunk: false,
        }
    }
}

/// The outcome of checking one object.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every violation found, sorted by rule then place.
    pub violations: Vec<Violation>,
    /// Function symbols in executable sections.
    pub functions: usize,
    /// Instructions decoded.
    pub instructions: usize,
    /// Relocations examined.
    pub relocations: usize,
    /// Undefined symbols (allowed or not), sorted.
    pub undefined: Vec<String>,
}

impl Report {
    /// Whether the object passed every rule.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether some violation breaks `rule` in `function`.
    pub fn has(&self, rule: Rule, function: &str) -> bool {
        self.violations
            .iter()
            .any(|v| v.rule == rule && v.function == function)
    }
}

/// Why an object could not be checked at all.
#[derive(Debug)]
pub enum Error {
    /// The bytes are not an ELF object the `object` crate can read.
    Parse(object::Error),
    /// The object is not a 64-bit x86_64 relocatable ELF file.
    NotRelocatableX86_64(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse(e) => write!(f, "cannot parse the object: {e}"),
            Error::NotRelocatableX86_64(what) => write!(
                f,
                "not a relocatable x86_64 ELF object ({what}); pass the output of `ld -r`"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Parse(e) => Some(e),
            Error::NotRelocatableX86_64(_) => None,
        }
    }
}

impl From<object::Error> for Error {
    fn from(e: object::Error) -> Self {
        Error::Parse(e)
    }
}

/// Checks the relocatable object in `data` against every rule.
pub fn check(data: &[u8], config: &Config) -> Result<Report, Error> {
    let model = object_model::Model::parse(data)?;
    Ok(rules::run(&model, config))
}
