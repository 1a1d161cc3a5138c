//! GOT relaxation ahead of time, for the three instruction forms GNU ld
//! itself relaxes when it links a non-PIC executable such as `xen-syms`.
//!
//! Why: with fat LTO the `RtLibUseGOT` module flag of the precompiled `core`
//! wins, so LLVM calls its own libcalls (`memcpy`, `memset`, ...) through the
//! GOT: `call *memcpy@GOTPCREL(%rip)`. No stable rustc flag changes that
//! (`-Zplt=yes` does not either: the flag comes from `core`'s bitcode). Xen
//! defines those functions itself, so the GOT slot would always hold a link
//! time constant; this pass rewrites each use into the direct form, exactly
//! as `ld` does for `R_X86_64_GOTPCRELX`:
//!
//! | before                              | after                          |
//! |-------------------------------------|--------------------------------|
//! | `ff 15` `call *sym@GOTPCREL(%rip)`  | `67 e8` `addr32 call sym` (PLT32) |
//! | `ff 25` `jmp *sym@GOTPCREL(%rip)`   | `90 e9` `nop; jmp sym` (PLT32) |
//! | `REX.W 8b /r` `mov sym@GOTPCREL(%rip), %r` | `REX.W 8d /r` `lea sym(%rip), %r` (PC32) |
//!
//! The displacement field, the relocation's offset and its addend stay where
//! they were; only opcode bytes and the relocation type change. Any other use
//! of the GOT is left alone, for the checker to reject.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, Rela, SectionHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, SymbolSection};

use crate::Error;

/// One rewritten instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relaxed {
    /// Section of the instruction.
    pub section: String,
    /// Offset of the relocated displacement in that section.
    pub offset: u64,
    /// The symbol the GOT slot was for.
    pub symbol: String,
    /// `call`, `jmp` or `mov->lea`.
    pub form: &'static str,
}

fn is_gotpcrel(r_type: u32) -> bool {
    matches!(
        r_type,
        elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX
    )
}

/// Rewrites, in place, every relaxable GOT use in the relocatable object
/// `data` and returns what it changed. Uses against TLS or absolute symbols
/// and every other instruction form are left for the checker to report.
pub fn relax_got(data: &mut [u8]) -> Result<Vec<Relaxed>, Error> {
    // (byte position, new bytes) patches, collected before mutating.
    let mut patches: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut done = Vec::new();
    {
        let file = ElfFile64::<Endianness>::parse(&*data)?;
        let endian = file.endian();
        let header = file.elf_header();
        if header.e_machine(endian) != elf::EM_X86_64 || header.e_type(endian) != elf::ET_REL {
            return Err(Error::NotRelocatableX86_64(
                "relaxation needs an ET_REL x86_64 object".into(),
            ));
        }
        let sections = header.sections(endian, &*data)?;
        for rela_hdr in sections.iter() {
            if rela_hdr.sh_type(endian) != elf::SHT_RELA {
                continue;
            }
            let target_index = rela_hdr.sh_info(endian) as usize;
            let Ok(target) = file.section_by_index(object::SectionIndex(target_index)) else {
                continue;
            };
            let Some((text_off, text_size)) = target.file_range() else {
                continue;
            };
            let Some(relas) = rela_hdr.rela(endian, &*data)? else {
                continue;
            };
            let rela_base = rela_hdr.sh_offset(endian) as usize;
            let entsize = std::mem::size_of::<elf::Rela64<Endianness>>();
            for (i, r) in relas.0.iter().enumerate() {
                let r_type = r.r_type(endian, false);
                if !is_gotpcrel(r_type) {
                    continue;
                }
                let off = r.r_offset(endian);
                if off < 2 || off + 4 > text_size {
                    continue;
                }
                let sym_index = r.r_sym(endian, false) as usize;
                let Ok(sym) = file.symbol_by_index(object::SymbolIndex(sym_index)) else {
                    continue;
                };
                let relaxable_target = matches!(
                    sym.section(),
                    SymbolSection::Undefined | SymbolSection::Section(_)
                ) && sym.kind() != object::SymbolKind::Tls;
                if !relaxable_target {
                    continue;
                }
                let at = (text_off + off) as usize;
                let (op1, op0) = (data[at - 2], data[at - 1]);
                let is_rip_modrm = |m: u8| m & 0xc7 == 0x05;
                let (new_bytes, new_type, form) = if op1 == 0xff && op0 == 0x15 {
                    (vec![0x67, 0xe8], elf::R_X86_64_PLT32, "call")
                } else if op1 == 0xff && op0 == 0x25 {
                    (vec![0x90, 0xe9], elf::R_X86_64_PLT32, "jmp")
                } else if op1 == 0x8b
                    && is_rip_modrm(op0)
                    && off >= 3
                    && data[at - 3] & 0xf8 == 0x48
                {
                    (vec![0x8d, op0], elf::R_X86_64_PC32, "mov->lea")
                } else {
                    continue;
                };
                patches.push((at - 2, new_bytes));
                let info_pos = rela_base + i * entsize + 8;
                patches.push((info_pos, new_type.to_le_bytes().to_vec()));
                done.push(Relaxed {
                    section: target.name().unwrap_or("").to_owned(),
                    offset: off,
                    symbol: sym.name().unwrap_or("").to_owned(),
                    form,
                });
            }
        }
        if endian != Endianness::Little && !patches.is_empty() {
            return Err(Error::NotRelocatableX86_64("big-endian x86_64?".into()));
        }
    }
    for (pos, bytes) in patches {
        data[pos..pos + bytes.len()].copy_from_slice(&bytes);
    }
    Ok(done)
}
