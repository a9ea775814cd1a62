/* elf.h: the ELF32/ELF64 file and program headers the guest loader reads (System V gABI, i386 and x86-64 psABIs). */
#ifndef VMM_LOAD_ELF_H
#define VMM_LOAD_ELF_H

#include <stdint.h>

/* e_ident (gABI, "ELF Identification"). */
#define ELF_MAG0       0x7f
#define ELF_MAG1       'E'
#define ELF_MAG2       'L'
#define ELF_MAG3       'F'
#define EI_CLASS       4
#define EI_DATA        5
#define EI_VERSION     6
#define EI_NIDENT      16
#define ELFCLASS32     1
#define ELFCLASS64     2
#define ELFDATA2LSB    1
#define EV_CURRENT     1

#define ET_EXEC        2       /* e_type: executable file */
#define EM_386         3       /* e_machine: Intel 80386 (i386 psABI) */
#define EM_X86_64      62      /* e_machine: AMD x86-64 (x86-64 psABI) */
#define PN_XNUM        0xffff  /* e_phnum: the real count is in section header 0 */

#define PT_NULL        0
#define PT_LOAD        1       /* p_type: loadable segment */

/* Fields are at their natural offsets; the loader reads them bytewise through offsetof. */
struct elf32_ehdr {
	uint8_t  e_ident[EI_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint32_t e_entry;
	uint32_t e_phoff;
	uint32_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_ehdr {
	uint8_t  e_ident[EI_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf32_phdr {
	uint32_t p_type;
	uint32_t p_offset;
	uint32_t p_vaddr;
	uint32_t p_paddr;
	uint32_t p_filesz;
	uint32_t p_memsz;
	uint32_t p_flags;
	uint32_t p_align;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 file header is 52 bytes");
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 file header is 64 bytes");
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 program header is 32 bytes");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header is 56 bytes");

#endif
