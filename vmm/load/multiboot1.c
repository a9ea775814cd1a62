/* multiboot1.c: the Multiboot (specification 0.6.96) side of the guest loader: the OS image header (3.1) and the boot information (3.3). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/load/loader.h"

#define MB1_HEADER_MAGIC    0x1badb002u
#define MB1_SEARCH          8192u  /* 3.1: the header lies wholly in the first 8 KiB */
#define MB1_HEADER_ALIGN    4u
#define MB1_HDR_FIXED       12u    /* magic, flags, checksum (3.1.2) */
#define MB1_HDR_VIDEO_END   48u    /* through the graphics fields at offsets 32-47 (3.1.4) */

/* Header flags (3.1.2): bits 0-15 are requirements a loader must refuse if it cannot meet them. */
#define MB1_FLAG_PAGE_ALIGN   (1u << 0)  /* modules page-aligned: there are none */
#define MB1_FLAG_MEMORY_INFO  (1u << 1)  /* mem_* fields: always given, with the map */
#define MB1_FLAG_VIDEO_MODE   (1u << 2)  /* video mode table: this VM has no display */
#define MB1_FLAG_AOUT_KLUDGE  (1u << 16) /* load addresses in the header (3.1.3) */
#define MB1_REQUIRED_BITS     0xffffu
#define MB1_UNDERSTOOD        (MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMORY_INFO | MB1_FLAG_VIDEO_MODE)

/* Boot information (3.3): field offsets, the flags written, and what follows it. */
#define MBI1_FLAGS          0u
#define MBI1_MEM_LOWER      4u
#define MBI1_MEM_UPPER      8u
#define MBI1_CMDLINE        16u
#define MBI1_MMAP_LENGTH    44u
#define MBI1_MMAP_ADDR      48u
#define MBI1_LOADER_NAME    64u
#define MBI1_SIZE           116u   /* through the framebuffer colour info */
#define MBI1_MMAP_OFF       120u   /* the memory map right after, 8-byte aligned */
#define MBI1_MMAP_ENTRY     24u    /* u32 size, u64 base_addr, u64 length, u32 type */
#define MBI1_MMAP_SIZE      20u    /* the size field does not count itself */
#define MBI1_INFO_MEMORY    (1u << 0)
#define MBI1_INFO_CMDLINE   (1u << 2)
#define MBI1_INFO_MMAP      (1u << 6)
#define MBI1_INFO_LOADER    (1u << 9)

_Static_assert(MBI1_MMAP_OFF >= MBI1_SIZE, "the memory map follows the structure");

/* 3.1: the header starts 4-byte aligned; magic + flags + checksum is 0 mod 2^32 (3.1.2). */
struct hdr_find load_mb1_find(const struct loader *l)
{
	struct hdr_find f = { HDR_NONE, 0, 0 };
	uint64_t window = l->size < MB1_SEARCH ? l->size : MB1_SEARCH;

	for (uint64_t off = 0; off + MB1_HDR_FIXED <= window; off += MB1_HEADER_ALIGN) {
		const uint8_t *p = l->image + off;
		if (load_rd32(p) != MB1_HEADER_MAGIC)
			continue;
		uint32_t sum = load_rd32(p) + load_rd32(p + 4) + load_rd32(p + 8);
		if (sum == 0)
			return (struct hdr_find){ HDR_FOUND, off, 0 };
		if (f.kind == HDR_NONE)
			f = (struct hdr_find){ HDR_BAD_CHECKSUM, off, sum };
	}
	return f;
}

/* 3.1.2: refuses the a.out kludge (not implemented) and any required bit not understood. */
err_t load_mb1_check_header(const struct loader *l, uint64_t off)
{
	uint32_t flags = load_rd32(l->image + off + 4);
	uint32_t unknown = flags & MB1_REQUIRED_BITS & ~MB1_UNDERSTOOD;
	uint64_t window = l->size < MB1_SEARCH ? l->size : MB1_SEARCH;

	if (flags & MB1_FLAG_AOUT_KLUDGE) {
		load_say(l, "load: the Multiboot header at offset 0x%llx sets flag 16 (a.out-kludge load addresses), which is not supported; build the kernel as ELF without it",
			 (unsigned long long)off);
		return ERR_UNSUPPORTED;
	}
	if (unknown) {
		unsigned bit = 0;
		while (!(unknown & (1u << bit)))
			bit++;
		load_say(l, "load: the Multiboot header at offset 0x%llx sets flag %u (flags 0x%x), a requirement unknown to this loader",
			 (unsigned long long)off, bit, flags);
		return ERR_UNSUPPORTED;
	}
	if ((flags & MB1_FLAG_VIDEO_MODE) && window - off < MB1_HDR_VIDEO_END) {
		load_say(l, "load: the Multiboot header at offset 0x%llx sets flag 2, but its graphics fields do not fit in the first 8 KiB and the image",
			 (unsigned long long)off);
		return ERR_MALFORMED;
	}
	return ERR_OK;
}

/* The structure, the memory map and both strings with their NULs. */
uint64_t load_mb1_info_size(const struct boot_strings *s)
{
	return MBI1_MMAP_OFF + GUEST_MMAP_ENTRIES * MBI1_MMAP_ENTRY + s->cmdline_len + 1 +
	       s->loader_name_len + 1;
}

/* 3.3: the structure, then the memory map, the command line and the loader name, addressed physically. */
err_t load_mb1_info_write(const struct loader *l, uint64_t gpa, uint64_t size, const struct boot_strings *s)
{
	struct info_writer w = { l, gpa, size, ERR_OK };
	struct guest_region map[GUEST_MMAP_ENTRIES];
	uint64_t cmdline = MBI1_MMAP_OFF + GUEST_MMAP_ENTRIES * MBI1_MMAP_ENTRY;
	uint64_t name = cmdline + s->cmdline_len + 1;

	/* The placement keeps gpa + size below 4 GiB, so every address fits 32 bits. */
	load_put32(&w, MBI1_FLAGS, MBI1_INFO_MEMORY | MBI1_INFO_CMDLINE | MBI1_INFO_MMAP | MBI1_INFO_LOADER);
	load_put32(&w, MBI1_MEM_LOWER, LOAD_MEM_LOWER_KIB);
	load_put32(&w, MBI1_MEM_UPPER, load_mem_upper_kib(l->ram->size));
	load_put32(&w, MBI1_CMDLINE, (uint32_t)(gpa + cmdline));
	load_put32(&w, MBI1_MMAP_LENGTH, GUEST_MMAP_ENTRIES * MBI1_MMAP_ENTRY);
	load_put32(&w, MBI1_MMAP_ADDR, (uint32_t)(gpa + MBI1_MMAP_OFF));
	load_put32(&w, MBI1_LOADER_NAME, (uint32_t)(gpa + name));

	load_guest_mmap(l->ram->size, map);
	for (unsigned i = 0; i < GUEST_MMAP_ENTRIES; i++) {
		uint64_t e = MBI1_MMAP_OFF + (uint64_t)i * MBI1_MMAP_ENTRY;
		load_put32(&w, e, MBI1_MMAP_SIZE);
		load_put64(&w, e + 4, map[i].base);
		load_put64(&w, e + 12, map[i].len);
		load_put32(&w, e + 20, map[i].type);
	}
	load_put(&w, cmdline, s->cmdline, s->cmdline_len + 1);
	load_put(&w, name, s->loader_name, s->loader_name_len + 1);
	return w.err;
}
