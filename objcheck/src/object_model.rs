//! The parts of an ELF relocatable object the rules look at: sections with
//! their bytes and relocations, symbols, and the mapping from a place in a
//! section to the symbol that contains it.

use std::collections::HashMap;

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{
    Endianness, Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SymbolKind,
    SymbolSection,
};

use crate::Error;

/// One section of the object.
pub(crate) struct Section<'a> {
    pub name: String,
    pub sh_type: u32,
    pub sh_flags: u64,
    pub size: u64,
    /// Empty for `SHT_NOBITS`.
    pub data: &'a [u8],
    pub relocs: Vec<Reloc>,
}

impl Section<'_> {
    pub fn is_exec(&self) -> bool {
        self.sh_flags & u64::from(elf::SHF_EXECINSTR) != 0
    }

    pub fn is_alloc(&self) -> bool {
        self.sh_flags & u64::from(elf::SHF_ALLOC) != 0
    }
}

/// One relocation, applied to the section that holds it.
pub(crate) struct Reloc {
    pub offset: u64,
    pub r_type: u32,
    /// Index into [`Model::syms`]; `None` for relocations without a symbol.
    pub sym: Option<usize>,
    pub addend: i64,
}

/// One symbol table entry.
pub(crate) struct Sym {
    pub name: String,
    /// Demangled, without the hash, for reports.
    pub display: String,
    /// Index into [`Model::sections`] for defined symbols.
    pub section: Option<usize>,
    pub value: u64,
    pub size: u64,
    pub kind: SymbolKind,
    pub global: bool,
    pub undefined: bool,
}

/// A place in a section, resolved to the symbol around it.
pub(crate) struct Location {
    /// Index into [`Model::syms`] of the containing symbol.
    pub sym: Option<usize>,
    /// The containing symbol's display name, or the section name.
    pub name: String,
    /// Offset from the symbol (or section) start.
    pub offset: u64,
}

pub(crate) struct Model<'a> {
    pub sections: Vec<Section<'a>>,
    pub syms: Vec<Sym>,
    /// Per section: `(start, sym)` of the symbols that can contain a place,
    /// sorted by start, preferring global and function symbols at one start.
    anchors: Vec<Vec<(u64, usize)>>,
}

impl<'a> Model<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        let file = ElfFile64::<Endianness>::parse(data)?;
        let endian = file.endian();
        let header = file.elf_header();
        if header.e_machine(endian) != elf::EM_X86_64 {
            return Err(Error::NotRelocatableX86_64(format!(
                "e_machine is {}",
                header.e_machine(endian)
            )));
        }
        if header.e_type(endian) != elf::ET_REL {
            return Err(Error::NotRelocatableX86_64(format!(
                "e_type is {}",
                header.e_type(endian)
            )));
        }

        let mut syms = Vec::new();
        let mut sym_index = HashMap::new();
        for s in file.symbols() {
            let name = s.name().unwrap_or("").to_owned();
            let section = match s.section() {
                SymbolSection::Section(i) => Some(i.0),
                _ => None,
            };
            let display = if name.is_empty() {
                String::new()
            } else {
                format!("{:#}", rustc_demangle::demangle(&name))
            };
            sym_index.insert(s.index().0, syms.len());
            syms.push(Sym {
                display,
                name,
                section,
                value: s.address(),
                size: s.size(),
                kind: s.kind(),
                global: s.is_global(),
                undefined: s.is_undefined(),
            });
        }

        let max_index = file.sections().map(|s| s.index().0).max().unwrap_or(0);
        let mut sections: Vec<Section<'a>> = (0..=max_index)
            .map(|_| Section {
                name: String::new(),
                sh_type: elf::SHT_NULL,
                sh_flags: 0,
                size: 0,
                data: &[],
                relocs: Vec::new(),
            })
            .collect();
        for s in file.sections() {
            let hdr = s.elf_section_header();
            let mut relocs = Vec::new();
            for (offset, r) in s.relocations() {
                let r_type = match r.flags() {
                    RelocationFlags::Elf { r_type } => r_type,
                    _ => u32::MAX,
                };
                let sym = match r.target() {
                    RelocationTarget::Symbol(i) => sym_index.get(&i.0).copied(),
                    _ => None,
                };
                relocs.push(Reloc {
                    offset,
                    r_type,
                    sym,
                    addend: r.addend(),
                });
            }
            relocs.sort_by_key(|r| r.offset);
            let sh_type = hdr.sh_type(endian);
            sections[s.index().0] = Section {
                name: s.name().unwrap_or("").to_owned(),
                sh_type,
                sh_flags: hdr.sh_flags(endian),
                size: hdr.sh_size(endian),
                data: if sh_type == elf::SHT_NOBITS {
                    &[]
                } else {
                    s.data()?
                },
                relocs,
            };
        }

        let mut anchors: Vec<Vec<(u64, usize)>> = vec![Vec::new(); sections.len()];
        for (i, s) in syms.iter().enumerate() {
            let usable = matches!(
                s.kind,
                SymbolKind::Text | SymbolKind::Data | SymbolKind::Unknown | SymbolKind::Tls
            ) && !s.name.is_empty()
                && !s.name.starts_with(".L");
            if let (true, Some(sec)) = (usable, s.section) {
                if let Some(list) = anchors.get_mut(sec) {
                    list.push((s.value, i));
                }
            }
        }
        for list in &mut anchors {
            // At one address prefer global, then function, symbols: they are
            // the names a reader looks for.
            list.sort_by_key(|&(start, i)| {
                let s = &syms[i];
                (start, !s.global, s.kind != SymbolKind::Text)
            });
            list.dedup_by_key(|&mut (start, _)| start);
        }

        Ok(Self {
            sections,
            syms,
            anchors,
        })
    }

    /// The symbol containing `offset` in `section`.
    pub fn locate(&self, section: usize, offset: u64) -> Location {
        let list = self.anchors.get(section).map(Vec::as_slice).unwrap_or(&[]);
        let pos = list.partition_point(|&(start, _)| start <= offset);
        if pos > 0 {
            let (start, sym) = list[pos - 1];
            return Location {
                sym: Some(sym),
                name: self.syms[sym].display.clone(),
                offset: offset - start,
            };
        }
        Location {
            sym: None,
            name: self.sections[section].name.clone(),
            offset,
        }
    }

    /// Whether a symbol of `section` starts exactly at `offset`.
    pub fn is_symbol_start(&self, section: usize, offset: u64) -> bool {
        self.anchors
            .get(section)
            .is_some_and(|l| l.binary_search_by_key(&offset, |&(s, _)| s).is_ok())
    }

    /// Offsets where code must be re-synchronised when decoding `section`:
    /// every symbol start and end, sorted, including 0 and the section end.
    pub fn boundaries(&self, section: usize) -> Vec<u64> {
        let len = self.sections[section].data.len() as u64;
        let mut b = vec![0, len];
        for s in &self.syms {
            if s.section == Some(section) && !s.name.is_empty() && s.kind != SymbolKind::Section {
                b.push(s.value.min(len));
                b.push(s.value.saturating_add(s.size).min(len));
            }
        }
        b.sort_unstable();
        b.dedup();
        b
    }

    /// Number of function symbols defined in executable sections.
    pub fn function_count(&self) -> usize {
        self.syms
            .iter()
            .filter(|s| {
                s.kind == SymbolKind::Text
                    && s.section
                        .is_some_and(|i| self.sections.get(i).is_some_and(Section::is_exec))
            })
            .count()
    }
}
