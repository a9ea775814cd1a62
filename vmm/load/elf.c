/* elf.c: validates an ELF32 (i386) or ELF64 (x86-64) executable and plans and copies its PT_LOAD segments into guest RAM. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/load/elf.h"
#include "vmm/load/loader.h"

/* The file header fields the loader uses, widened to 64 bits. */
struct ehdr {
	bool is64;
	uint16_t type, machine, phentsize, phnum;
	uint32_t version;
	uint64_t entry, phoff;
};

/* One program header, widened. */
struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

#define E32(f) offsetof(struct elf32_ehdr, f)
#define E64(f) offsetof(struct elf64_ehdr, f)
#define P32(f) offsetof(struct elf32_phdr, f)
#define P64(f) offsetof(struct elf64_phdr, f)

/* gABI "ELF Identification": the magic, then class, data encoding and version. */
static err_t read_ident(const struct loader *l, bool *is64)
{
	const uint8_t *p = l->image;

	if (l->size < EI_NIDENT || p[0] != ELF_MAG0 || p[1] != ELF_MAG1 || p[2] != ELF_MAG2 ||
	    p[3] != ELF_MAG3) {
		load_say(l, "load: the image is not an ELF file (no 0x7f 'E' 'L' 'F' at its start) and a.out-kludge loading is not supported");
		return ERR_UNSUPPORTED;
	}
	if (p[EI_CLASS] != ELFCLASS32 && p[EI_CLASS] != ELFCLASS64) {
		load_say(l, "load: ELF class %u is neither ELF32 (1) nor ELF64 (2)", p[EI_CLASS]);
		return ERR_UNSUPPORTED;
	}
	if (p[EI_DATA] != ELFDATA2LSB) {
		load_say(l, "load: ELF data encoding %u is not little-endian (1)", p[EI_DATA]);
		return ERR_UNSUPPORTED;
	}
	if (p[EI_VERSION] != EV_CURRENT) {
		load_say(l, "load: ELF identification version %u is not 1", p[EI_VERSION]);
		return ERR_MALFORMED;
	}
	*is64 = p[EI_CLASS] == ELFCLASS64;
	return ERR_OK;
}

/* gABI "ELF Header"; the psABIs pair ELF32 with EM_386 and ELF64 with EM_X86_64. */
static err_t read_ehdr(const struct loader *l, struct ehdr *h)
{
	const uint8_t *p = l->image;
	err_t e = read_ident(l, &h->is64);
	if (e != ERR_OK)
		return e;

	uint64_t need = h->is64 ? sizeof(struct elf64_ehdr) : sizeof(struct elf32_ehdr);
	uint16_t phdr_size = h->is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);
	uint16_t machine = h->is64 ? EM_X86_64 : EM_386;
	const char *cls = h->is64 ? "ELF64" : "ELF32";

	if (l->size < need) {
		load_say(l, "load: the image (%llu bytes) is too small for an %s file header (%llu bytes)",
			 (unsigned long long)l->size, cls, (unsigned long long)need);
		return ERR_MALFORMED;
	}
	if (h->is64) {
		h->type = load_rd16(p + E64(e_type));
		h->machine = load_rd16(p + E64(e_machine));
		h->version = load_rd32(p + E64(e_version));
		h->entry = load_rd64(p + E64(e_entry));
		h->phoff = load_rd64(p + E64(e_phoff));
		h->phentsize = load_rd16(p + E64(e_phentsize));
		h->phnum = load_rd16(p + E64(e_phnum));
	} else {
		h->type = load_rd16(p + E32(e_type));
		h->machine = load_rd16(p + E32(e_machine));
		h->version = load_rd32(p + E32(e_version));
		h->entry = load_rd32(p + E32(e_entry));
		h->phoff = load_rd32(p + E32(e_phoff));
		h->phentsize = load_rd16(p + E32(e_phentsize));
		h->phnum = load_rd16(p + E32(e_phnum));
	}
	if (h->type != ET_EXEC) {
		load_say(l, "load: ELF type %u is not an executable (ET_EXEC, 2)", h->type);
		return ERR_UNSUPPORTED;
	}
	if (h->machine != machine) {
		load_say(l, "load: %s machine %u is not %s (%u)", cls, h->machine,
			 h->is64 ? "x86-64" : "i386", machine);
		return ERR_UNSUPPORTED;
	}
	if (h->version != EV_CURRENT) {
		load_say(l, "load: ELF version %u is not 1", h->version);
		return ERR_MALFORMED;
	}
	if (h->phnum == 0) {
		load_say(l, "load: the ELF image has no program headers");
		return ERR_MALFORMED;
	}
	if (h->phnum == PN_XNUM) {
		load_say(l, "load: extended ELF program header numbering (e_phnum 0xffff) is not supported");
		return ERR_UNSUPPORTED;
	}
	if (h->phentsize < phdr_size) {
		load_say(l, "load: ELF program header size %u is smaller than %u", h->phentsize, phdr_size);
		return ERR_MALFORMED;
	}
	uint64_t table = (uint64_t)h->phnum * h->phentsize; /* at most 0xfffe * 0xffff: no overflow */
	if (h->phoff > l->size || table > l->size - h->phoff) {
		load_say(l, "load: the ELF program header table (offset 0x%llx, %u entries of %u bytes) ends beyond the image (0x%llx bytes)",
			 (unsigned long long)h->phoff, h->phnum, h->phentsize,
			 (unsigned long long)l->size);
		return ERR_MALFORMED;
	}
	return ERR_OK;
}

/* Program header i, inside the image as read_ehdr checked (gABI "Program Header"). */
static void read_phdr(const struct loader *l, const struct ehdr *h, unsigned i, struct phdr *ph)
{
	const uint8_t *p = l->image + h->phoff + (uint64_t)i * h->phentsize;

	if (h->is64) {
		ph->type = load_rd32(p + P64(p_type));
		ph->offset = load_rd64(p + P64(p_offset));
		ph->vaddr = load_rd64(p + P64(p_vaddr));
		ph->paddr = load_rd64(p + P64(p_paddr));
		ph->filesz = load_rd64(p + P64(p_filesz));
		ph->memsz = load_rd64(p + P64(p_memsz));
	} else {
		ph->type = load_rd32(p + P32(p_type));
		ph->offset = load_rd32(p + P32(p_offset));
		ph->vaddr = load_rd32(p + P32(p_vaddr));
		ph->paddr = load_rd32(p + P32(p_paddr));
		ph->filesz = load_rd32(p + P32(p_filesz));
		ph->memsz = load_rd32(p + P32(p_memsz));
	}
}

/* A PT_LOAD segment must lie in the file, below 4 GiB (the guest starts with
 * paging off), in guest RAM and outside the reserved hole of its memory map. */
static err_t check_segment(const struct loader *l, unsigned i, const struct phdr *ph)
{
	char ram[32];
	unsigned long long paddr = ph->paddr, memsz = ph->memsz;

	if (ph->memsz < ph->filesz) {
		load_say(l, "load: ELF program header %u: p_memsz 0x%llx is smaller than p_filesz 0x%llx",
			 i, memsz, (unsigned long long)ph->filesz);
		return ERR_MALFORMED;
	}
	if (ph->offset > l->size || ph->filesz > l->size - ph->offset) {
		load_say(l, "load: ELF program header %u ends beyond the image (offset 0x%llx size 0x%llx, image 0x%llx bytes)",
			 i, (unsigned long long)ph->offset, (unsigned long long)ph->filesz,
			 (unsigned long long)l->size);
		return ERR_MALFORMED;
	}
	if (ph->memsz == 0)
		return ERR_OK;
	if (ph->paddr >= LOAD_4GIB || ph->memsz > LOAD_4GIB - ph->paddr) {
		load_say(l, "load: ELF program header %u: segment at 0x%llx size 0x%llx reaches beyond 4 GiB, out of reach of a guest entered with paging off",
			 i, paddr, memsz);
		return ERR_UNSUPPORTED;
	}
	if (ph->paddr >= l->ram->size || ph->memsz > l->ram->size - ph->paddr) {
		load_fmt_size(ram, sizeof(ram), l->ram->size);
		load_say(l, "load: segment at 0x%llx size 0x%llx does not fit in %s of guest RAM (ELF program header %u)",
			 paddr, memsz, ram, i);
		return ERR_NOMEM;
	}
	if (ph->paddr < HIGH_RAM_START && ph->paddr + ph->memsz > LOW_RAM_END) {
		load_say(l, "load: ELF program header %u: segment at 0x%llx size 0x%llx overlaps the reserved hole 0x%llx-0x%llx of the guest's memory map",
			 i, paddr, memsz, LOW_RAM_END, HIGH_RAM_START - 1);
		return ERR_UNSUPPORTED;
	}
	return ERR_OK;
}

/* Adds a checked segment; overlapping segments would make the result depend on the load order. */
static err_t add_segment(const struct loader *l, struct load_plan *plan, unsigned i, const struct phdr *ph)
{
	for (unsigned k = 0; k < plan->nseg; k++) {
		const struct load_segment *s = &plan->seg[k];
		if (ph->paddr < s->paddr + s->memsz && s->paddr < ph->paddr + ph->memsz) {
			load_say(l, "load: ELF program headers %u and %u overlap in guest-physical memory (0x%llx-0x%llx and 0x%llx-0x%llx)",
				 s->index, i, (unsigned long long)s->paddr,
				 (unsigned long long)(s->paddr + s->memsz - 1),
				 (unsigned long long)ph->paddr,
				 (unsigned long long)(ph->paddr + ph->memsz - 1));
			return ERR_MALFORMED;
		}
	}
	if (plan->nseg == LOAD_MAX_SEGMENTS) {
		load_say(l, "load: the ELF image has more than %u loadable segments", LOAD_MAX_SEGMENTS);
		return ERR_UNSUPPORTED;
	}
	plan->seg[plan->nseg++] = (struct load_segment){
		.index = i, .offset = ph->offset, .filesz = ph->filesz, .vaddr = ph->vaddr,
		.paddr = ph->paddr, .memsz = ph->memsz,
	};
	if (ph->paddr < plan->start)
		plan->start = ph->paddr;
	if (ph->paddr + ph->memsz > plan->end)
		plan->end = ph->paddr + ph->memsz;
	return ERR_OK;
}

/*
 * The entry point as GRUB computes it: e_entry is a virtual address, turned
 * physical through the segment whose virtual range holds it.  An e_entry that
 * no virtual range holds but a physical one does is taken as physical (what a
 * kernel with an identity-mapped entry stub writes).
 */
static err_t find_entry(const struct loader *l, struct load_plan *plan, uint64_t e_entry)
{
	for (unsigned k = 0; k < plan->nseg; k++) {
		const struct load_segment *s = &plan->seg[k];
		if (e_entry >= s->vaddr && e_entry - s->vaddr < s->memsz) {
			plan->entry = s->paddr + (e_entry - s->vaddr);
			return ERR_OK;
		}
	}
	if (load_plan_contains(plan, e_entry)) {
		plan->entry = e_entry;
		return ERR_OK;
	}
	load_say(l, "load: ELF entry point 0x%llx is not inside any loaded segment",
		 (unsigned long long)e_entry);
	return ERR_MALFORMED;
}

/* Every PT_LOAD segment with contents is checked and recorded; other types are not loaded. */
err_t load_elf_plan(const struct loader *l, struct load_plan *plan)
{
	struct ehdr h;
	err_t e = read_ehdr(l, &h);
	if (e != ERR_OK)
		return e;

	plan->nseg = 0;
	plan->start = UINT64_MAX;
	plan->end = 0;
	for (unsigned i = 0; i < h.phnum; i++) {
		struct phdr ph;
		read_phdr(l, &h, i, &ph);
		if (ph.type != PT_LOAD)
			continue;
		e = check_segment(l, i, &ph);
		if (e == ERR_OK && ph.memsz != 0)
			e = add_segment(l, plan, i, &ph);
		if (e != ERR_OK)
			return e;
	}
	if (plan->nseg == 0) {
		load_say(l, "load: the ELF image has no loadable segment (PT_LOAD with p_memsz > 0)");
		return ERR_MALFORMED;
	}
	return find_entry(l, plan, h.entry);
}

/* Overflow-free: addr - paddr is compared, never paddr + memsz. */
bool load_plan_contains(const struct load_plan *plan, uint64_t addr)
{
	for (unsigned k = 0; k < plan->nseg; k++)
		if (addr >= plan->seg[k].paddr && addr - plan->seg[k].paddr < plan->seg[k].memsz)
			return true;
	return false;
}

/* p_filesz bytes from the file, then zeroes up to p_memsz (gABI: the rest of memory is bss). */
err_t load_plan_apply(const struct loader *l, const struct load_plan *plan)
{
	const struct guest_ram *ram = l->ram;

	for (unsigned k = 0; k < plan->nseg; k++) {
		const struct load_segment *s = &plan->seg[k];
		err_t e = ERR_OK;
		if (s->filesz)
			e = ram->write(ram->ctx, s->paddr, l->image + s->offset, s->filesz);
		if (e == ERR_OK && s->memsz > s->filesz)
			e = ram->zero(ram->ctx, s->paddr + s->filesz, s->memsz - s->filesz);
		if (e != ERR_OK) {
			load_say(l, "load: copying ELF program header %u to guest RAM at 0x%llx size 0x%llx failed (%s)",
				 s->index, (unsigned long long)s->paddr,
				 (unsigned long long)s->memsz, err_str(e));
			return e;
		}
	}
	return ERR_OK;
}
