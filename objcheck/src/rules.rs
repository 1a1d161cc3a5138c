//! The rules themselves: one pass over the code (instructions), one over the
//! relocations, one over sections and symbols, and the panic reachability
//! search over the reference graph the first two build.

use std::collections::{HashMap, HashSet, VecDeque};

use iced_x86::{
    CpuidFeature, Decoder, DecoderOptions, FlowControl, Formatter, GasFormatter, Instruction,
    InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register,
};
use object::{elf, SymbolKind};

use crate::helpers::is_float_or_i128_helper;
use crate::object_model::{Location, Model, Reloc, Section};
use crate::{Config, Report, Rule, Violation};

/// Who references what: edges between graph nodes. A node is a symbol index,
/// or `syms.len() + section` for a place no symbol covers.
#[derive(Default)]
struct Graph {
    /// `to -> [from]`.
    rev: HashMap<usize, Vec<usize>>,
}

impl Graph {
    fn edge(&mut self, from: usize, to: usize) {
        if from != to {
            let v = self.rev.entry(to).or_default();
            if !v.contains(&from) {
                v.push(from);
            }
        }
    }
}

struct Checker<'m, 'a> {
    m: &'m Model<'a>,
    cfg: &'m Config,
    out: Vec<Violation>,
    graph: Graph,
    /// Undefined symbol -> the places that reference it.
    undefined_refs: HashMap<usize, Vec<Location>>,
    instructions: usize,
    relocations: usize,
}

pub(crate) fn run(m: &Model<'_>, cfg: &Config) -> Report {
    let mut c = Checker {
        m,
        cfg,
        out: Vec::new(),
        graph: Graph::default(),
        undefined_refs: HashMap::new(),
        instructions: 0,
        relocations: 0,
    };
    for (si, sec) in m.sections.iter().enumerate() {
        c.section_rules(sec);
        let insn_ends = if sec.is_exec() {
            c.code_rules(si)
        } else {
            HashMap::new()
        };
        if sec.is_alloc() {
            c.reloc_rules(si, &insn_ends);
        }
    }
    c.symbol_rules();
    c.panic_rule();

    let mut undefined: Vec<String> = m
        .syms
        .iter()
        .filter(|s| s.undefined && !s.name.is_empty())
        .map(|s| s.name.clone())
        .collect();
    undefined.sort();
    undefined.dedup();
    let mut violations = c.out;
    violations.sort_by(|a, b| {
        (a.rule, &a.function, a.offset, &a.detail).cmp(&(b.rule, &b.function, b.offset, &b.detail))
    });
    violations.dedup();
    Report {
        violations,
        functions: m.function_count(),
        instructions: c.instructions,
        relocations: c.relocations,
        undefined,
    }
}

fn is_fp_or_vector_register(r: Register) -> bool {
    r.is_xmm() || r.is_ymm() || r.is_zmm() || r.is_mm() || r.is_st() || r.is_k() || r.is_tmm()
}

/// CPUID feature families whose instructions touch x87/MMX/SSE/AVX state.
fn is_fp_or_vector_feature(f: CpuidFeature) -> bool {
    use CpuidFeature as F;
    matches!(
        f,
        F::FPU
            | F::FPU287
            | F::FPU287XL_ONLY
            | F::FPU387
            | F::FPU387SL_ONLY
            | F::CYRIX_FPU
            | F::MMX
            | F::D3NOW
            | F::D3NOWEXT
            | F::CYRIX_D3NOW
            | F::SSE
            | F::SSE2
            | F::SSE3
            | F::SSSE3
            | F::SSE4_1
            | F::SSE4_2
            | F::SSE4A
            | F::AVX
            | F::AVX2
            | F::AVX512F
            | F::AVX512BW
            | F::AVX512CD
            | F::AVX512DQ
            | F::AVX512ER
            | F::AVX512PF
            | F::AVX512VL
            | F::AVX512_4FMAPS
            | F::AVX512_4VNNIW
            | F::AVX512_BF16
            | F::AVX512_BITALG
            | F::AVX512_IFMA
            | F::AVX512_VBMI
            | F::AVX512_VBMI2
            | F::AVX512_VNNI
            | F::AVX512_VP2INTERSECT
            | F::AVX512_VPOPCNTDQ
            | F::AVX512_FP16
            | F::AVX_VNNI
            | F::AVX_IFMA
            | F::AVX_NE_CONVERT
            | F::AVX_VNNI_INT8
            | F::AVX_VNNI_INT16
            | F::FMA
            | F::FMA4
            | F::F16C
            | F::XOP
            | F::AES
            | F::VAES
            | F::PCLMULQDQ
            | F::VPCLMULQDQ
            | F::GFNI
            | F::SHA
            | F::SHA512
            | F::SM3
            | F::SM4
            | F::KL
            | F::AESKLE
            | F::WIDE_KL
            | F::AMX_BF16
            | F::AMX_TILE
            | F::AMX_INT8
            | F::AMX_FP16
            | F::AMX_COMPLEX
            | F::KNC
            | F::FXSR
            | F::XSAVE
            | F::XSAVEC
            | F::XSAVEOPT
            | F::XSAVES
    )
}

/// Instructions of the SSE families that work on general-purpose registers
/// or memory only and leave the vector state alone.
fn is_gpr_only_sse_era(m: Mnemonic) -> bool {
    matches!(
        m,
        Mnemonic::Lfence
            | Mnemonic::Mfence
            | Mnemonic::Sfence
            | Mnemonic::Pause
            | Mnemonic::Prefetchnta
            | Mnemonic::Prefetcht0
            | Mnemonic::Prefetcht1
            | Mnemonic::Prefetcht2
            | Mnemonic::Movnti
            | Mnemonic::Crc32
            | Mnemonic::Clflush
    )
}

fn is_write(a: OpAccess) -> bool {
    matches!(
        a,
        OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
    )
}

fn reg_op(insn: &Instruction, op: u32, reg: Register) -> bool {
    insn.op_kind(op) == OpKind::Register && insn.op_register(op) == reg
}

fn imm_op(insn: &Instruction, op: u32) -> Option<u64> {
    match insn.op_kind(op) {
        OpKind::Immediate8
        | OpKind::Immediate16
        | OpKind::Immediate32
        | OpKind::Immediate64
        | OpKind::Immediate8to16
        | OpKind::Immediate8to32
        | OpKind::Immediate8to64
        | OpKind::Immediate32to64 => Some(insn.immediate(op)),
        _ => None,
    }
}

/// What a function has done to the stack since it set `%rbp` from `%rsp`,
/// in address order. `allocated` is an upper bound of the bytes below `%rbp`
/// the function reserves on any path.
#[derive(Default)]
struct Frame {
    set: bool,
    /// `%rbp - %rsp` at the moment the frame was set.
    below_rbp_at_set: i64,
    allocated: i64,
    unbounded: bool,
}

impl Frame {
    fn update(&mut self, insn: &Instruction) {
        match insn.mnemonic() {
            Mnemonic::Mov if reg_op(insn, 0, Register::RBP) && reg_op(insn, 1, Register::RSP) => {
                self.set = true;
            }
            Mnemonic::Lea
                if reg_op(insn, 0, Register::RBP)
                    && insn.memory_base() == Register::RSP
                    && insn.memory_index() == Register::None =>
            {
                self.set = true;
                self.below_rbp_at_set = insn.memory_displacement64() as i64;
            }
            _ if !self.set => {}
            Mnemonic::Push => self.allocated = self.allocated.saturating_add(8),
            Mnemonic::Sub if reg_op(insn, 0, Register::RSP) => match imm_op(insn, 1) {
                Some(n) => self.allocated = self.allocated.saturating_add(n as i64),
                None => self.unbounded = true,
            },
            Mnemonic::Add if reg_op(insn, 0, Register::RSP) => {
                if let Some(n) = imm_op(insn, 1) {
                    // `add $-n, %rsp` allocates.
                    if (n as i64) < 0 {
                        self.allocated = self.allocated.saturating_sub(n as i64);
                    }
                }
            }
            Mnemonic::Lea if reg_op(insn, 0, Register::RSP) => {
                let d = insn.memory_displacement64() as i64;
                match insn.memory_base() {
                    Register::RSP if d < 0 => self.allocated = self.allocated.saturating_sub(d),
                    Register::RBP if d < 0 => {
                        self.allocated = self.allocated.max(d.saturating_neg());
                    }
                    Register::RSP | Register::RBP => {}
                    _ => self.unbounded = true,
                }
            }
            _ => {}
        }
    }

    /// Whether a store at `%rbp - below` is inside the allocated frame.
    fn covers(&self, below: i64) -> bool {
        !self.set || self.unbounded || below <= self.allocated.saturating_add(self.below_rbp_at_set)
    }
}

const ENDBR_PATTERNS: [(&[u8; 4], &str); 3] = [
    (&[0xf3, 0x0f, 0x1e, 0xfa], "endbr64"),
    (&[0xf3, 0x0f, 0x1e, 0xfb], "endbr32"),
    (&[0x66, 0x0f, 0x1f, 0x01], "nopw (%rcx) poison"),
];

fn is_pc_relative(r_type: u32) -> bool {
    matches!(
        r_type,
        elf::R_X86_64_PC32
            | elf::R_X86_64_PLT32
            | elf::R_X86_64_PC64
            | elf::R_X86_64_PC16
            | elf::R_X86_64_PC8
            | elf::R_X86_64_GOTPCREL
            | elf::R_X86_64_GOTPCRELX
            | elf::R_X86_64_REX_GOTPCRELX
    )
}

/// The rule a relocation type breaks, if any.
fn reloc_type_rule(r_type: u32) -> Option<(Rule, &'static str)> {
    use object::elf::*;
    match r_type {
        R_X86_64_NONE | R_X86_64_64 | R_X86_64_PC32 | R_X86_64_PLT32 | R_X86_64_PC64
        | R_X86_64_PC16 | R_X86_64_PC8 => None,
        R_X86_64_32 => Some((Rule::Abs32, "R_X86_64_32")),
        R_X86_64_32S => Some((Rule::Abs32, "R_X86_64_32S")),
        R_X86_64_16 => Some((Rule::Abs32, "R_X86_64_16")),
        R_X86_64_8 => Some((Rule::Abs32, "R_X86_64_8")),
        R_X86_64_GOT32 => Some((Rule::GotPlt, "R_X86_64_GOT32")),
        R_X86_64_GOTPCREL => Some((Rule::GotPlt, "R_X86_64_GOTPCREL")),
        R_X86_64_GOTPCRELX => Some((Rule::GotPlt, "R_X86_64_GOTPCRELX")),
        R_X86_64_REX_GOTPCRELX => Some((Rule::GotPlt, "R_X86_64_REX_GOTPCRELX")),
        R_X86_64_GOTOFF64 => Some((Rule::GotPlt, "R_X86_64_GOTOFF64")),
        R_X86_64_GOTPC32 => Some((Rule::GotPlt, "R_X86_64_GOTPC32")),
        R_X86_64_GOT64 => Some((Rule::GotPlt, "R_X86_64_GOT64")),
        R_X86_64_GOTPCREL64 => Some((Rule::GotPlt, "R_X86_64_GOTPCREL64")),
        R_X86_64_GOTPC64 => Some((Rule::GotPlt, "R_X86_64_GOTPC64")),
        R_X86_64_GOTPLT64 => Some((Rule::GotPlt, "R_X86_64_GOTPLT64")),
        R_X86_64_PLTOFF64 => Some((Rule::GotPlt, "R_X86_64_PLTOFF64")),
        R_X86_64_COPY | R_X86_64_GLOB_DAT | R_X86_64_JUMP_SLOT | R_X86_64_RELATIVE
        | R_X86_64_IRELATIVE => Some((Rule::GotPlt, "a dynamic relocation")),
        R_X86_64_DTPMOD64
        | R_X86_64_DTPOFF64
        | R_X86_64_TPOFF64
        | R_X86_64_TLSGD
        | R_X86_64_TLSLD
        | R_X86_64_DTPOFF32
        | R_X86_64_GOTTPOFF
        | R_X86_64_TPOFF32
        | R_X86_64_GOTPC32_TLSDESC
        | R_X86_64_TLSDESC_CALL
        | R_X86_64_TLSDESC => Some((Rule::Tls, "a TLS relocation")),
        _ => Some((Rule::RelocType, "an unknown relocation type")),
    }
}

impl Checker<'_, '_> {
    fn push(&mut self, rule: Rule, loc: &Location, with_offset: bool, detail: String) {
        self.out.push(Violation {
            rule,
            function: loc.name.clone(),
            offset: with_offset.then_some(loc.offset),
            detail,
        });
    }

    fn node(&self, loc: &Location, section: usize) -> usize {
        loc.sym.unwrap_or(self.m.syms.len() + section)
    }

    fn node_name(&self, node: usize) -> String {
        match self.m.syms.get(node) {
            Some(s) => s.display.clone(),
            None => self.m.sections[node - self.m.syms.len()].name.clone(),
        }
    }

    fn section_rules(&mut self, sec: &Section<'_>) {
        let name = sec.name.as_str();
        let here = Location {
            sym: None,
            name: name.to_owned(),
            offset: 0,
        };
        if name == ".llvmbc" || name == ".llvmcmd" {
            self.push(
                Rule::Bitcode,
                &here,
                false,
                "embedded LLVM bitcode: precompiled sysroot code (compiler_builtins, core) was linked in; find what pulled it in (other violations usually name it)".into(),
            );
        }
        let ctor_names = [
            ".init_array",
            ".fini_array",
            ".preinit_array",
            ".ctors",
            ".dtors",
        ];
        if matches!(
            sec.sh_type,
            elf::SHT_INIT_ARRAY | elf::SHT_FINI_ARRAY | elf::SHT_PREINIT_ARRAY
        ) || ctor_names.iter().any(|p| name.starts_with(p))
        {
            self.push(
                Rule::InitArray,
                &here,
                false,
                "static constructors/destructors: Xen never runs them".into(),
            );
        }
        if sec.sh_flags & u64::from(elf::SHF_TLS) != 0
            || name.starts_with(".tdata")
            || name.starts_with(".tbss")
        {
            self.push(
                Rule::Tls,
                &here,
                false,
                "thread-local storage section: Xen has no TLS (use per-CPU data from the shim)"
                    .into(),
            );
        }
        let got_names = [".got", ".got.plt", ".plt", ".plt.got", ".igot.plt", ".iplt"];
        if got_names.contains(&name) && sec.size > 0 {
            self.push(
                Rule::GotPlt,
                &here,
                false,
                "non-empty GOT/PLT section: Xen's linker script asserts these are empty".into(),
            );
        }
    }

    /// Decodes the executable section `si` and applies the instruction
    /// rules. Returns, for each relocation inside an instruction, the end of
    /// that instruction (PC-relative targets are relative to it).
    fn code_rules(&mut self, si: usize) -> HashMap<u64, u64> {
        let m = self.m;
        let sec = &m.sections[si];
        let mut insn_ends = HashMap::new();
        let mut endbr64_at = HashSet::new();
        let mut factory = InstructionInfoFactory::new();
        let mut formatter = GasFormatter::new();
        let bounds = m.boundaries(si);
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1]);
            let bytes = &sec.data[start as usize..end as usize];
            // Alignment fill between functions (zeros from `ld -r`, int3 or
            // nop from the compiler) breaks no rule, but zeros of odd length
            // do not decode: skip it.
            if bytes.iter().all(|b| matches!(b, 0x00 | 0x90 | 0xcc)) {
                continue;
            }
            let mut decoder = Decoder::with_ip(64, bytes, start, DecoderOptions::NONE);
            let mut frame = Frame::default();
            let mut rbp_stores: Vec<(Location, i64, String)> = Vec::new();
            let mut insn = Instruction::default();
            while decoder.can_decode() {
                decoder.decode_out(&mut insn);
                self.instructions += 1;
                let (ip, next) = (insn.ip(), insn.next_ip());
                let first = sec.relocs.partition_point(|r| r.offset < ip);
                let mut has_reloc = false;
                for r in sec.relocs[first..].iter().take_while(|r| r.offset < next) {
                    insn_ends.insert(r.offset, next);
                    has_reloc = true;
                }
                let loc = m.locate(si, ip);
                if insn.is_invalid() {
                    let b = &sec.data[ip as usize..(next as usize).min(sec.data.len())];
                    self.push(
                        Rule::Undecodable,
                        &loc,
                        true,
                        format!("bytes {b:02x?} do not decode as x86_64 instructions"),
                    );
                    continue;
                }
                let mut text = String::new();
                formatter.format(&insn, &mut text);
                if insn.mnemonic() == Mnemonic::Endbr64 {
                    endbr64_at.insert(ip);
                }

                // float-simd
                let info = factory.info(&insn);
                let vreg = (0..insn.op_count())
                    .filter(|&i| insn.op_kind(i) == OpKind::Register)
                    .map(|i| insn.op_register(i))
                    .chain(info.used_registers().iter().map(|u| u.register()))
                    .chain([insn.memory_base(), insn.memory_index()])
                    .find(|&r| is_fp_or_vector_register(r));
                let feature = insn
                    .cpuid_features()
                    .iter()
                    .copied()
                    .find(|&f| is_fp_or_vector_feature(f));
                if let Some(r) = vreg {
                    self.push(
                        Rule::FloatSimd,
                        &loc,
                        true,
                        format!("`{text}` uses {r:?}: vector/x87 state belongs to the guest"),
                    );
                } else if let Some(f) = feature.filter(|_| !is_gpr_only_sse_era(insn.mnemonic())) {
                    self.push(
                        Rule::FloatSimd,
                        &loc,
                        true,
                        format!("`{text}` is a {f:?} instruction: vector/x87 state belongs to the guest"),
                    );
                }

                // red-zone
                for op in 0..insn.op_count() {
                    if insn.op_kind(op) != OpKind::Memory || !is_write(info.op_access(op)) {
                        continue;
                    }
                    let disp = insn.memory_displacement64() as i64;
                    let indexed = insn.memory_index() != Register::None;
                    match insn.memory_base() {
                        // The red zone is addressed with constant negative
                        // displacements. An indexed store with a displacement
                        // >= 0 is a local array above %rsp (its index is
                        // bounds-checked, hence non-negative).
                        Register::RSP if disp < 0 => self.push(
                            Rule::RedZone,
                            &loc,
                            true,
                            format!("`{text}` stores below %rsp (red zone, displacement {disp}); interrupts in Xen push onto this stack"),
                        ),
                        Register::RBP if !indexed && disp < 0 => {
                            rbp_stores.push((m.locate(si, ip), -disp, text.clone()));
                        }
                        _ => {}
                    }
                }
                frame.update(&insn);

                // indirect-branch, return-thunk
                match insn.flow_control() {
                    FlowControl::IndirectBranch | FlowControl::IndirectCall => self.push(
                        Rule::IndirectBranch,
                        &loc,
                        true,
                        format!("`{text}` is an indirect branch; Xen needs direct calls (or calls to __x86_indirect_thunk_*) and ENDBR at indirect targets"),
                    ),
                    FlowControl::Return if self.cfg.require_return_thunk => self.push(
                        Rule::ReturnThunk,
                        &loc,
                        true,
                        format!("`{text}`: with CONFIG_RETURN_THUNK every return must be `jmp __x86_return_thunk`"),
                    ),
                    FlowControl::Call
                    | FlowControl::UnconditionalBranch
                    | FlowControl::ConditionalBranch
                        if !has_reloc =>
                    {
                        // A branch the assembler resolved inside this section.
                        let target = insn.near_branch_target();
                        if target < sec.data.len() as u64 {
                            let from = self.node(&loc, si);
                            let to = self.node(&m.locate(si, target), si);
                            self.graph.edge(from, to);
                        }
                    }
                    _ => {}
                }
            }
            for (loc, below, text) in rbp_stores {
                if !frame.covers(below) {
                    self.push(
                        Rule::RedZone,
                        &loc,
                        true,
                        format!("`{text}` stores {below} bytes below the frame pointer, beyond the {} bytes this function reserves: red zone", frame.allocated.saturating_add(frame.below_rbp_at_set)),
                    );
                }
            }
        }

        for (pat, what) in ENDBR_PATTERNS {
            for at in sec
                .data
                .windows(4)
                .enumerate()
                .filter(|(_, w)| *w == pat)
                .map(|(i, _)| i as u64)
            {
                if what == "endbr64" && endbr64_at.contains(&at) {
                    continue;
                }
                let loc = m.locate(si, at);
                self.push(
                    Rule::EndbrPattern,
                    &loc,
                    true,
                    format!("the bytes of {what} appear inside other code; Xen's check-endbr.sh rejects the image"),
                );
            }
        }
        insn_ends
    }

    /// Where a relocation points: `(section, offset)` for defined targets.
    fn reloc_target(&self, r: &Reloc, insn_end: Option<u64>) -> Option<(usize, u64)> {
        let sym = &self.m.syms[r.sym?];
        let section = sym.section?;
        let mut target = (sym.value as i64).saturating_add(r.addend);
        if let (true, Some(end)) = (is_pc_relative(r.r_type), insn_end) {
            target = target.saturating_add((end - r.offset) as i64);
        }
        Some((section, target.max(0) as u64))
    }

    fn reloc_rules(&mut self, si: usize, insn_ends: &HashMap<u64, u64>) {
        let m = self.m;
        let sec = &m.sections[si];
        for r in &sec.relocs {
            self.relocations += 1;
            let loc = m.locate(si, r.offset);
            let sym = r.sym.map(|i| &m.syms[i]);
            let sym_name = sym.map_or("", |s| s.name.as_str());
            let shown = sym.map_or(String::new(), |s| {
                if s.kind == SymbolKind::Section {
                    s.section
                        .map_or(String::new(), |i| m.sections[i].name.clone())
                } else {
                    s.display.clone()
                }
            });

            if let Some((rule, what)) = reloc_type_rule(r.r_type) {
                let why = match rule {
                    Rule::Abs32 => "Xen is linked above the top 2 GiB, so a 32-bit absolute address cannot be resolved",
                    Rule::GotPlt => "Xen has no GOT or PLT (its linker script asserts they are empty)",
                    Rule::Tls => "Xen has no thread-local storage",
                    _ => "the checker cannot vouch for it",
                };
                let kind = if sec.is_exec() { "code" } else { "data" };
                self.push(
                    rule,
                    &loc,
                    true,
                    format!(
                        "{what} (type {}) against `{shown}` in {kind}: {why}",
                        r.r_type
                    ),
                );
            }

            if !sym_name.is_empty() && is_float_or_i128_helper(sym_name) {
                self.push(
                    Rule::FloatHelper,
                    &loc,
                    true,
                    format!("references `{sym_name}`, a floating-point or 128-bit helper: floats use SSE registers and Xen has no such helpers"),
                );
            }

            let from = self.node(&loc, si);
            if let Some(idx) = r.sym.filter(|&i| m.syms[i].undefined) {
                self.undefined_refs.entry(idx).or_default().push(Location {
                    sym: loc.sym,
                    name: loc.name.clone(),
                    offset: loc.offset,
                });
                self.graph.edge(from, idx);
                continue;
            }
            let Some((tsec, toff)) = self.reloc_target(r, insn_ends.get(&r.offset).copied()) else {
                continue;
            };
            let tloc = m.locate(tsec, toff);
            let to = self.node(&tloc, tsec);
            self.graph.edge(from, to);

            if !sec.is_exec() && m.sections.get(tsec).is_some_and(Section::is_exec) {
                let into_middle = if is_pc_relative(r.r_type) {
                    sym.is_some_and(|s| s.kind == SymbolKind::Section) || r.addend != 0
                } else {
                    !m.is_symbol_start(tsec, toff)
                };
                if into_middle {
                    self.push(
                        Rule::JumpTable,
                        &tloc,
                        false,
                        format!(
                            "`{}`+{:#x} holds a code address inside this function (a jump table); build with -Cjump-tables=n",
                            loc.name, loc.offset
                        ),
                    );
                }
            }
        }
    }

    fn symbol_rules(&mut self) {
        let m = self.m;
        for (i, s) in m.syms.iter().enumerate() {
            if s.kind == SymbolKind::Tls {
                let here = Location {
                    sym: Some(i),
                    name: s.display.clone(),
                    offset: 0,
                };
                self.push(
                    Rule::Tls,
                    &here,
                    false,
                    "thread-local symbol: Xen has no TLS".into(),
                );
            }
            if s.undefined && s.name == "_GLOBAL_OFFSET_TABLE_" {
                let here = Location {
                    sym: Some(i),
                    name: s.display.clone(),
                    offset: 0,
                };
                self.push(
                    Rule::GotPlt,
                    &here,
                    false,
                    "the object needs a GOT (`_GLOBAL_OFFSET_TABLE_` is referenced)".into(),
                );
                continue;
            }
            if !s.undefined
                || s.name.is_empty()
                || s.name == self.cfg.panic_symbol
                || self.cfg.allow.allows(&s.name)
            {
                continue;
            }
            let refs = self.undefined_refs.remove(&i).unwrap_or_default();
            if refs.is_empty() {
                let here = Location {
                    sym: Some(i),
                    name: s.display.clone(),
                    offset: 0,
                };
                self.push(
                    Rule::UndefinedSymbol,
                    &here,
                    false,
                    format!("`{}` is undefined and not on the allow-list", s.name),
                );
            }
            for l in refs {
                self.push(
                    Rule::UndefinedSymbol,
                    &l,
                    true,
                    format!(
                        "references `{}`, which is undefined and not on the allow-list",
                        s.name
                    ),
                );
            }
        }
    }

    /// The panic handler calls the marker symbol, so the marker survives
    /// `ld -r --gc-sections` exactly when some kept code can panic. Name the
    /// entry points that reach it, with one path each.
    fn panic_rule(&mut self) {
        let m = self.m;
        let markers: Vec<usize> = m
            .syms
            .iter()
            .enumerate()
            .filter(|(_, s)| s.name == self.cfg.panic_symbol)
            .map(|(i, _)| i)
            .collect();
        if markers.is_empty() {
            return;
        }
        // Breadth-first over "is referenced by", from the marker outwards;
        // `next[n]` is the node n references on its shortest way to a marker.
        let mut next: HashMap<usize, usize> = HashMap::new();
        let mut queue: VecDeque<usize> = markers.iter().copied().collect();
        let mut seen: HashSet<usize> = markers.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            for &from in self.graph.rev.get(&n).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(from) {
                    next.insert(from, n);
                    queue.push_back(from);
                }
            }
        }
        let path = |start: usize| -> String {
            let mut names = vec![self.node_name(start)];
            let mut n = start;
            while let Some(&to) = next.get(&n) {
                names.push(self.node_name(to));
                n = to;
            }
            names.join(" -> ")
        };
        let entries: Vec<usize> = next
            .keys()
            .copied()
            .filter(|&n| {
                m.syms
                    .get(n)
                    .is_some_and(|s| s.global && !s.undefined && s.kind == SymbolKind::Text)
            })
            .collect();
        let culprits: Vec<usize> = if entries.is_empty() {
            // Nothing exported reaches it: name whatever references it.
            next.keys().copied().collect()
        } else {
            entries
        };
        let marker = &self.cfg.panic_symbol;
        let found: Vec<Violation> = culprits
            .into_iter()
            .map(|n| Violation {
                rule: Rule::PanicReachable,
                function: self.node_name(n),
                offset: None,
                detail: format!("can reach a panic: {}", path(n)),
            })
            .collect();
        if found.is_empty() {
            let s = &m.syms[markers[0]];
            let state = if s.undefined { "undefined" } else { "defined" };
            self.push(
                Rule::PanicReachable,
                &Location {
                    sym: Some(markers[0]),
                    name: s.display.clone(),
                    offset: 0,
                },
                false,
                format!(
                    "`{marker}` is still in the object ({state}), so the panic handler was kept"
                ),
            );
        }
        self.out.extend(found);
    }
}
