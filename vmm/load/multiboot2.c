/* multiboot2.c: the Multiboot2 (specification 1.0) side of the guest loader: the OS image header (3.1) and the boot information (3.6). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/load/loader.h"

#define MB2_HEADER_MAGIC  0xe85250d6u
#define MB2_SEARCH        32768u /* 3.1: the header lies wholly in the first 32 KiB */
#define MB2_HEADER_ALIGN  8u
#define MB2_ARCH_I386     0u
#define MB2_HDR_FIXED     16u    /* magic, architecture, header_length, checksum (3.1.2) */
#define HTAG_HDR          8u     /* u16 type, u16 flags, u32 size (3.1.3) */
#define HTAG_ALIGN        8u
#define HTAG_OPTIONAL     1u     /* flags bit 0 */
#define CONSOLE_REQUIRED  1u     /* console_flags bit 0 (3.1.9) */

/* Header tag types (3.1.3-3.1.13). */
enum htag {
	HTAG_END, HTAG_INFO_REQUEST, HTAG_ADDRESS, HTAG_ENTRY, HTAG_FLAGS, HTAG_FRAMEBUFFER,
	HTAG_MODULE_ALIGN, HTAG_EFI_BS, HTAG_ENTRY_EFI32, HTAG_ENTRY_EFI64, HTAG_RELOCATABLE,
	HTAG_COUNT
};

static const struct {
	const char *name;
	uint32_t min_size;  /* the fixed fields the spec lays out */
} htags[HTAG_COUNT] = {
	[HTAG_END]          = { "end", 8 },
	[HTAG_INFO_REQUEST] = { "information request", 8 },
	[HTAG_ADDRESS]      = { "address", 24 },
	[HTAG_ENTRY]        = { "entry address", 12 },
	[HTAG_FLAGS]        = { "flags", 12 },
	[HTAG_FRAMEBUFFER]  = { "framebuffer", 20 },
	[HTAG_MODULE_ALIGN] = { "module alignment", 8 },
	[HTAG_EFI_BS]       = { "EFI boot services", 8 },
	[HTAG_ENTRY_EFI32]  = { "EFI i386 entry address", 12 },
	[HTAG_ENTRY_EFI64]  = { "EFI amd64 entry address", 12 },
	[HTAG_RELOCATABLE]  = { "relocatable", 24 },
};

/* Boot information tag types (3.6) the loader writes. */
#define ITAG_END           0u
#define ITAG_CMDLINE       1u
#define ITAG_LOADER_NAME   2u
#define ITAG_BASIC_MEMINFO 4u
#define ITAG_MMAP          6u

/*
 * What an information request (3.1.4) for each boot information tag gets.
 * A loader must refuse a required request only for a tag it does not
 * support; one it supports whose information does not exist is simply left
 * out.  This VM has no modules, BIOS boot disk, video, APM, EFI, SMBIOS,
 * ACPI tables or network, so those tags are understood and never present.
 * ELF sections (9) and the load base address (21) exist but are not written.
 */
enum supply { NOT_WRITTEN, WRITTEN, ABSENT_HERE };

static const struct {
	const char *name;
	enum supply supply;
} itags[] = {
	{ "end", WRITTEN },                      { "command line", WRITTEN },
	{ "boot loader name", WRITTEN },         { "modules", ABSENT_HERE },
	{ "basic memory info", WRITTEN },        { "BIOS boot device", ABSENT_HERE },
	{ "memory map", WRITTEN },               { "VBE info", ABSENT_HERE },
	{ "framebuffer info", ABSENT_HERE },     { "ELF symbols", NOT_WRITTEN },
	{ "APM table", ABSENT_HERE },            { "EFI 32-bit system table", ABSENT_HERE },
	{ "EFI 64-bit system table", ABSENT_HERE }, { "SMBIOS tables", ABSENT_HERE },
	{ "ACPI old RSDP", ABSENT_HERE },        { "ACPI new RSDP", ABSENT_HERE },
	{ "networking information", ABSENT_HERE }, { "EFI memory map", ABSENT_HERE },
	{ "EFI boot services not terminated", ABSENT_HERE },
	{ "EFI 32-bit image handle", ABSENT_HERE }, { "EFI 64-bit image handle", ABSENT_HERE },
	{ "image load base address", NOT_WRITTEN },
};
#define NITAGS (sizeof(itags) / sizeof(itags[0]))

/* Boot information layout (3.6.2-3.6.8). */
#define MBI_FIXED        8u      /* total_size, reserved */
#define MBI_TAG_HDR      8u      /* u32 type, u32 size */
#define MBI_ALIGN        8u
#define MBI_MEMINFO_SIZE 16u     /* header, mem_lower, mem_upper */
#define MBI_MMAP_HDR     16u     /* header, entry_size, entry_version */
#define MBI_MMAP_ENTRY   24u     /* u64 base_addr, u64 length, u32 type, u32 reserved */
#define MBI_MMAP_VERSION 0u
#define MBI_END_SIZE     8u

/* 3.1: the header starts 8-byte aligned; the four magic fields sum to 0 mod 2^32 (3.1.2). */
struct hdr_find load_mb2_find(const struct loader *l)
{
	struct hdr_find f = { HDR_NONE, 0, 0 };
	uint64_t window = l->size < MB2_SEARCH ? l->size : MB2_SEARCH;

	for (uint64_t off = 0; off + MB2_HDR_FIXED <= window; off += MB2_HEADER_ALIGN) {
		const uint8_t *p = l->image + off;
		if (load_rd32(p) != MB2_HEADER_MAGIC)
			continue;
		uint32_t sum = load_rd32(p) + load_rd32(p + 4) + load_rd32(p + 8) + load_rd32(p + 12);
		if (sum == 0)
			return (struct hdr_find){ HDR_FOUND, off, 0 };
		if (f.kind == HDR_NONE)
			f = (struct hdr_find){ HDR_BAD_CHECKSUM, off, sum };
	}
	return f;
}

/* Names for messages. */
static const char *htag_name(uint32_t type)
{
	return type < HTAG_COUNT ? htags[type].name : "unknown";
}

static const char *itag_name(uint32_t type)
{
	return type < NITAGS ? itags[type].name : "unknown";
}

/* Reports a problem with the header tag at header offset pos. */
#define tag_say(l, type, pos, fmt, ...)                                                  \
	load_say(l, "load: Multiboot2 header tag %u (%s) at header offset 0x%llx: " fmt, \
		 (unsigned)(type), htag_name(type), (unsigned long long)(pos), ##__VA_ARGS__)

/* 3.1.4: every required request must name a tag this loader supports. */
static err_t check_requests(const struct loader *l, const uint8_t *t, uint64_t pos, uint32_t size,
			    bool optional)
{
	if ((size - HTAG_HDR) % 4) {
		tag_say(l, HTAG_INFO_REQUEST, pos, "size %u is not 8 plus a whole number of u32 tag types", size);
		return ERR_MALFORMED;
	}
	for (uint32_t at = HTAG_HDR; at < size; at += 4) {
		uint32_t want = load_rd32(t + at);
		if (optional || (want < NITAGS && itags[want].supply != NOT_WRITTEN))
			continue;
		load_say(l, "load: Multiboot2 information request (header tag 1) requires boot information tag %u (%s), which this loader does not provide",
			 want, itag_name(want));
		return ERR_UNSUPPORTED;
	}
	return ERR_OK;
}

/* One header tag (3.1.3-3.1.13); its size is already known to lie within the header. */
static err_t check_tag(const struct loader *l, const uint8_t *t, uint64_t pos, struct mb_request *req)
{
	uint16_t type = load_rd16(t), flags = load_rd16(t + 2);
	uint32_t size = load_rd32(t + 4);
	bool optional = flags & HTAG_OPTIONAL;

	if (type < HTAG_COUNT && size < htags[type].min_size) {
		tag_say(l, type, pos, "size %u is smaller than %u", size, htags[type].min_size);
		return ERR_MALFORMED;
	}
	switch (type) {
	case HTAG_INFO_REQUEST:
		return check_requests(l, t, pos, size, optional);
	case HTAG_ADDRESS:
		if (optional)
			return ERR_OK; /* the image is loaded as ELF instead */
		tag_say(l, type, pos, "a.out-kludge load addresses are not supported; build the kernel as ELF without this tag");
		return ERR_UNSUPPORTED;
	case HTAG_ENTRY:
		if (req->has_entry) {
			tag_say(l, type, pos, "a second entry address tag");
			return ERR_MALFORMED;
		}
		req->has_entry = true;
		req->entry = load_rd32(t + 8);
		return ERR_OK;
	case HTAG_FLAGS:
		if (optional || !(load_rd32(t + 8) & CONSOLE_REQUIRED))
			return ERR_OK;
		tag_say(l, type, pos, "console_flags 0x%x require a console, and this VM has no framebuffer or EGA text console to describe",
			load_rd32(t + 8));
		return ERR_UNSUPPORTED;
	case HTAG_FRAMEBUFFER:
		if (optional)
			return ERR_OK;
		tag_say(l, type, pos, "required, and this VM has no display to set a video mode on");
		return ERR_UNSUPPORTED;
	case HTAG_MODULE_ALIGN:
		return ERR_OK; /* no modules are loaded */
	case HTAG_EFI_BS:
	case HTAG_ENTRY_EFI32:
	case HTAG_ENTRY_EFI64:
		return ERR_OK; /* 3.1.7, 3.1.8, 3.1.12: they matter only to images started by EFI, which this guest is not */
	case HTAG_RELOCATABLE:
		/* Not relocating is loading at the link addresses; checked against the range once known. */
		if (!optional) {
			req->has_reloc = true;
			req->reloc_min = load_rd32(t + 8);
			req->reloc_max = load_rd32(t + 12);
		}
		return ERR_OK;
	default:
		if (optional)
			return ERR_OK;
		tag_say(l, type, pos, "not optional, and unknown to this loader");
		return ERR_UNSUPPORTED;
	}
}

/* 3.1.2: the header fields, then 8-byte aligned tags up to an end tag, all within header_length. */
err_t load_mb2_check_header(const struct loader *l, uint64_t off, struct mb_request *req)
{
	const uint8_t *h = l->image + off;
	uint32_t arch = load_rd32(h + 4), len = load_rd32(h + 8);
	uint64_t room = (l->size < MB2_SEARCH ? l->size : MB2_SEARCH) - off;

	if (arch != MB2_ARCH_I386) {
		load_say(l, "load: the Multiboot2 header at offset 0x%llx is for architecture %u, not i386 (0)",
			 (unsigned long long)off, arch);
		return ERR_UNSUPPORTED;
	}
	if (len < MB2_HDR_FIXED + HTAG_HDR || len > room) {
		load_say(l, "load: the Multiboot2 header at offset 0x%llx has header_length %u; it must be at least %u and end within the first 32 KiB and the image",
			 (unsigned long long)off, len, MB2_HDR_FIXED + HTAG_HDR);
		return ERR_MALFORMED;
	}
	for (uint64_t pos = MB2_HDR_FIXED;;) {
		if (pos > len || len - pos < HTAG_HDR) {
			load_say(l, "load: the Multiboot2 header at offset 0x%llx has no end tag within its header_length %u",
				 (unsigned long long)off, len);
			return ERR_MALFORMED;
		}
		const uint8_t *t = h + pos;
		uint16_t type = load_rd16(t);
		uint32_t size = load_rd32(t + 4);
		if (size < HTAG_HDR || size > len - pos) {
			tag_say(l, type, pos, "size %u is not within 8 and the %llu bytes left of header_length %u",
				size, (unsigned long long)(len - pos), len);
			return ERR_MALFORMED;
		}
		if (type == HTAG_END) {
			if (size != HTAG_HDR) {
				tag_say(l, type, pos, "size %u is not 8", size);
				return ERR_MALFORMED;
			}
			return ERR_OK;
		}
		err_t e = check_tag(l, t, pos, req);
		if (e != ERR_OK)
			return e;
		pos += load_align_up(size, HTAG_ALIGN);
	}
}

/* Bytes a string tag of len characters takes, padded to the next tag (3.6.2). */
static uint64_t string_tag_span(uint64_t len)
{
	return load_align_up(MBI_TAG_HDR + len + 1, MBI_ALIGN);
}

/* The fixed part and every tag load_mb2_info_write writes, each 8-byte aligned. */
uint64_t load_mb2_info_size(const struct boot_strings *s)
{
	return MBI_FIXED + string_tag_span(s->cmdline_len) + string_tag_span(s->loader_name_len) +
	       MBI_MEMINFO_SIZE + MBI_MMAP_HDR + GUEST_MMAP_ENTRIES * MBI_MMAP_ENTRY + MBI_END_SIZE;
}

/* Tags 1 and 2 (3.6.5, 3.6.9): a NUL-terminated string; returns where the next tag starts. */
static uint64_t put_string_tag(struct info_writer *w, uint64_t off, uint32_t type, const char *s,
			       uint64_t len)
{
	load_put32(w, off, type);
	load_put32(w, off + 4, (uint32_t)(MBI_TAG_HDR + len + 1));
	load_put(w, off + MBI_TAG_HDR, s, len + 1);
	return off + string_tag_span(len);
}

/* 3.6: the fixed part, then command line, loader name, basic memory info (3.6.3), memory map (3.6.8), end. */
err_t load_mb2_info_write(const struct loader *l, uint64_t gpa, uint64_t size, const struct boot_strings *s)
{
	struct info_writer w = { l, gpa, size, ERR_OK };
	struct guest_region map[GUEST_MMAP_ENTRIES];
	uint64_t off = MBI_FIXED;

	load_put32(&w, 0, (uint32_t)size);
	load_put32(&w, 4, 0);
	off = put_string_tag(&w, off, ITAG_CMDLINE, s->cmdline, s->cmdline_len);
	off = put_string_tag(&w, off, ITAG_LOADER_NAME, s->loader_name, s->loader_name_len);

	load_put32(&w, off, ITAG_BASIC_MEMINFO);
	load_put32(&w, off + 4, MBI_MEMINFO_SIZE);
	load_put32(&w, off + 8, LOAD_MEM_LOWER_KIB);
	load_put32(&w, off + 12, load_mem_upper_kib(l->ram->size));
	off += MBI_MEMINFO_SIZE;

	load_guest_mmap(l->ram->size, map);
	load_put32(&w, off, ITAG_MMAP);
	load_put32(&w, off + 4, MBI_MMAP_HDR + GUEST_MMAP_ENTRIES * MBI_MMAP_ENTRY);
	load_put32(&w, off + 8, MBI_MMAP_ENTRY);
	load_put32(&w, off + 12, MBI_MMAP_VERSION);
	off += MBI_MMAP_HDR;
	for (unsigned i = 0; i < GUEST_MMAP_ENTRIES; i++, off += MBI_MMAP_ENTRY) {
		load_put64(&w, off, map[i].base);
		load_put64(&w, off + 8, map[i].len);
		load_put32(&w, off + 16, map[i].type);
	}

	load_put32(&w, off, ITAG_END);
	load_put32(&w, off + 4, MBI_END_SIZE);
	return w.err;
}
