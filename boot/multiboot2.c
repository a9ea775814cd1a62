/* multiboot2.c: validates the Multiboot2 boot information (spec 1.0, section 3.6) into struct boot_info. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot/multiboot2.h"
#include "lib/printf.h"

#define TAG_HDR   8u  /* u32 type, u32 size (section 3.6.2) */
#define MMAP_HDR  16u /* tag header, u32 entry_size, u32 entry_version (3.6.8) */
#define MMAP_MIN  24u /* u64 base_addr, u64 length, u32 type, u32 reserved */
#define FB_MIN    30u /* tag header up to framebuffer_type (3.6.12) */
#define RSDP1_LEN 20u /* ACPI 6.x, table 5.3: the part covered by the v1 checksum */
#define RSDP2_LEN 36u

struct parser {
	struct boot_info *out;
	mb2_report_fn report;
	void *ctx;
	uint32_t seen;  /* bit per tag type < 32 already met, for duplicates */
	err_t mmap_err; /* the memory map's verdict, returned after every tag is parsed */
};

/* Bytewise little-endian reads: no alignment or aliasing assumptions about hostile data. */
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static const char *tag_name(uint32_t type)
{
	static const char *const names[] = {
		"end", "command line", "boot loader name", "module", "basic memory info",
		"BIOS boot device", "memory map", "VBE info", "framebuffer", "ELF sections",
		"APM table", "EFI 32-bit system table", "EFI 64-bit system table", "SMBIOS",
		"ACPI old RSDP", "ACPI new RSDP", "networking", "EFI memory map",
		"EFI boot services not terminated", "EFI 32-bit image handle",
		"EFI 64-bit image handle", "image load base address",
	};
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

static void PRINTF_LIKE(2, 3) say(struct parser *p, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (!p->report)
		return;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->report(p->ctx, msg);
}

/* Reports a problem in tag `type` with the standard "multiboot2: tag N (name): " prefix. */
#define tag_say(p, type, fmt, ...) \
	say(p, "multiboot2: tag %u (%s): " fmt, (unsigned)(type), tag_name(type), ##__VA_ARGS__)

/* The string at s if it ends inside the n bytes available, else NULL. */
static const char *bounded_string(const uint8_t *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[i] == 0)
			return (const char *)s;
	return NULL;
}

static bool checksum_ok(const uint8_t *s, uint32_t n)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + s[i]);
	return sum == 0;
}

/* Tags 1 and 2 (3.6.5, 3.6.9): a NUL-terminated UTF-8 string. */
static void parse_string(struct parser *p, uint32_t type, const uint8_t *t, uint32_t size,
			 const char **dst)
{
	const char *s = bounded_string(t + TAG_HDR, size - TAG_HDR);
	if (!s) {
		tag_say(p, type, "string is not NUL-terminated within the tag's %u bytes; ignored",
			size);
		return;
	}
	*dst = s;
}

/* Tag 3 (3.6.6): mod_start, mod_end (exclusive, as GRUB writes it), then the module's string. */
static void parse_module(struct parser *p, const uint8_t *t, uint32_t size)
{
	struct boot_info *o = p->out;

	if (size < TAG_HDR + 9) {
		tag_say(p, MB2_TAG_MODULE, "size %u is too small for mod_start, mod_end and a string; ignored",
			size);
		return;
	}
	uint32_t start = rd32(t + 8), end = rd32(t + 12);
	const char *s = bounded_string(t + 16, size - 16);
	if (!s) {
		tag_say(p, MB2_TAG_MODULE, "module string is not NUL-terminated within the tag's %u bytes; module ignored",
			size);
	} else if (end < start) {
		tag_say(p, MB2_TAG_MODULE, "mod_end %#x is below mod_start %#x; module ignored",
			end, start);
	} else if (o->nmodules == MB2_MAX_MODULES) {
		tag_say(p, MB2_TAG_MODULE, "more than %u modules; module at %#x-%#x ignored",
			MB2_MAX_MODULES, start, end);
	} else {
		o->modules[o->nmodules++] = (struct mb2_module){ start, end, s };
	}
}

/* Tag 4 (3.6.3): KiB of lower and upper memory. */
static void parse_meminfo(struct parser *p, const uint8_t *t, uint32_t size)
{
	if (size < 16) {
		tag_say(p, MB2_TAG_BASIC_MEMINFO, "size %u is smaller than 16; ignored", size);
		return;
	}
	p->out->has_meminfo = true;
	p->out->mem_lower_kb = rd32(t + 8);
	p->out->mem_upper_kb = rd32(t + 12);
}

/* Tag 6 (3.6.8): the memory map; entry_size lets later versions grow the entries. */
static void parse_mmap(struct parser *p, const uint8_t *t, uint32_t size)
{
	struct boot_info *o = p->out;
	bool truncated = false;

	p->mmap_err = ERR_MALFORMED;
	if (size < MMAP_HDR) {
		tag_say(p, MB2_TAG_MMAP, "size %u is too small for entry_size and entry_version", size);
		return;
	}
	uint32_t esize = rd32(t + 8), bytes = size - MMAP_HDR;
	if (esize < MMAP_MIN) {
		tag_say(p, MB2_TAG_MMAP, "entry_size %u is smaller than %u", esize, MMAP_MIN);
		return;
	}
	if (esize % 8) {
		tag_say(p, MB2_TAG_MMAP, "entry_size %u is not a multiple of 8", esize);
		return;
	}
	if (bytes % esize) {
		tag_say(p, MB2_TAG_MMAP, "%u bytes of entries are not a whole number of %u-byte entries",
			bytes, esize);
		return;
	}
	p->mmap_err = ERR_OK;
	for (uint32_t off = MMAP_HDR; off < size; off += esize) {
		uint64_t addr = rd64(t + off), len = rd64(t + off + 8);
		uint32_t type = rd32(t + off + 16);
		if (len == 0)
			continue; /* says nothing; some firmware emits them */
		if (addr + len < addr) {
			tag_say(p, MB2_TAG_MMAP, "entry %u (%#llx + %#llx) runs past the end of the address space; ignored",
				(off - MMAP_HDR) / esize, (unsigned long long)addr, (unsigned long long)len);
			continue;
		}
		if (o->nmmap == MB2_MAX_MMAP) {
			truncated = true;
			break;
		}
		o->mmap[o->nmmap++] = (struct mb2_mmap_entry){ addr, len, type };
	}
	if (truncated)
		tag_say(p, MB2_TAG_MMAP, "%u entries, more than the %u kept; the rest are ignored",
			bytes / esize, MB2_MAX_MMAP);
}

/* Tag 8 (3.6.12): only the common part is used; the colour info that follows is not. */
static void parse_framebuffer(struct parser *p, const uint8_t *t, uint32_t size)
{
	if (size < FB_MIN) {
		tag_say(p, MB2_TAG_FRAMEBUFFER, "size %u is smaller than %u; ignored", size, FB_MIN);
		return;
	}
	struct mb2_framebuffer fb = {
		.addr = rd64(t + 8), .pitch = rd32(t + 16), .width = rd32(t + 20),
		.height = rd32(t + 24), .bpp = t[28], .type = t[29],
	};
	if (fb.type > 2) {
		tag_say(p, MB2_TAG_FRAMEBUFFER, "framebuffer_type %u is not 0, 1 or 2; ignored", fb.type);
		return;
	}
	/* A pitch shorter than a row would let a writer run off the framebuffer. */
	if (fb.bpp == 0 || (uint64_t)fb.width * fb.bpp > (uint64_t)fb.pitch * 8) {
		tag_say(p, MB2_TAG_FRAMEBUFFER, "pitch %u is too small for width %u at %u bpp; ignored",
			fb.pitch, fb.width, fb.bpp);
		return;
	}
	p->out->has_framebuffer = true;
	p->out->fb = fb;
}

/* Tags 11 and 12 (3.6.13, 3.6.14): only their presence matters (booted by UEFI). */
static void parse_efi(struct parser *p, uint32_t type, uint32_t size)
{
	uint32_t need = type == MB2_TAG_EFI32 ? 12 : 16;
	if (size < need) {
		tag_say(p, type, "size %u is smaller than %u; ignored", size, need);
		return;
	}
	p->out->efi_boot = true;
}

/* Tags 14 and 15 (3.6.16, 3.6.17): a copy of the RSDP, checked as ACPI 5.2.5.3 says. */
static void parse_rsdp(struct parser *p, uint32_t type, const uint8_t *t, uint32_t size)
{
	const uint8_t *r = t + TAG_HDR;
	uint32_t avail = size - TAG_HDR, len = RSDP1_LEN;
	bool v2 = type == MB2_TAG_ACPI_NEW;
	static const char sig[8] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };

	if (avail < (v2 ? RSDP2_LEN : RSDP1_LEN)) {
		tag_say(p, type, "%u bytes are too few for an RSDP v%u (%u); ignored", avail,
			v2 ? 2 : 1, v2 ? RSDP2_LEN : RSDP1_LEN);
		return;
	}
	for (unsigned i = 0; i < sizeof(sig); i++) {
		if (r[i] != (uint8_t)sig[i]) {
			tag_say(p, type, "RSDP signature is not \"RSD PTR \"; ignored");
			return;
		}
	}
	if (!checksum_ok(r, RSDP1_LEN)) {
		tag_say(p, type, "RSDP checksum over the first 20 bytes is wrong; ignored");
		return;
	}
	if (v2) {
		if (r[15] < 2) {
			tag_say(p, type, "RSDP revision %u is below 2; ignored", r[15]);
			return;
		}
		len = rd32(r + 20);
		if (len < RSDP2_LEN) {
			tag_say(p, type, "RSDP length %u is smaller than %u; ignored", len, RSDP2_LEN);
			return;
		}
		if (len > avail) {
			/* The copy is cut short: what the tag holds is kept, unchecked beyond. */
			tag_say(p, type, "RSDP length %u exceeds the %u bytes in the tag; extended checksum not checked",
				len, avail);
			len = avail;
		} else if (!checksum_ok(r, len)) {
			tag_say(p, type, "RSDP extended checksum over %u bytes is wrong; ignored", len);
			return;
		}
	}
	if (!v2 && p->out->acpi_revision == 2)
		return; /* the v2 copy, when valid, is preferred whatever the tag order */
	p->out->rsdp = r;
	p->out->rsdp_len = len;
	p->out->acpi_revision = v2 ? 2 : 1;
}

/* Tags that may appear once; a second copy is reported and the first kept. */
static bool duplicate(struct parser *p, uint32_t type)
{
	const uint32_t single = 1u << MB2_TAG_CMDLINE | 1u << MB2_TAG_LOADER_NAME |
		1u << MB2_TAG_BASIC_MEMINFO | 1u << MB2_TAG_MMAP | 1u << MB2_TAG_FRAMEBUFFER |
		1u << MB2_TAG_ACPI_OLD | 1u << MB2_TAG_ACPI_NEW;

	if (type >= 32 || !(single & (1u << type)))
		return false;
	if (p->seen & (1u << type)) {
		tag_say(p, type, "duplicate tag; keeping the first");
		return true;
	}
	p->seen |= 1u << type;
	return false;
}

static void parse_tag(struct parser *p, uint32_t type, const uint8_t *t, uint32_t size)
{
	if (duplicate(p, type))
		return;
	switch (type) {
	case MB2_TAG_CMDLINE:       parse_string(p, type, t, size, &p->out->cmdline); break;
	case MB2_TAG_LOADER_NAME:   parse_string(p, type, t, size, &p->out->loader_name); break;
	case MB2_TAG_MODULE:        parse_module(p, t, size); break;
	case MB2_TAG_BASIC_MEMINFO: parse_meminfo(p, t, size); break;
	case MB2_TAG_MMAP:          parse_mmap(p, t, size); break;
	case MB2_TAG_FRAMEBUFFER:   parse_framebuffer(p, t, size); break;
	case MB2_TAG_EFI32:
	case MB2_TAG_EFI64:         parse_efi(p, type, size); break;
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW:      parse_rsdp(p, type, t, size); break;
	default:                    break; /* 3.6.1: the OS may ignore any part */
	}
}

err_t mb2_parse(const void *info, uint64_t info_phys, uint64_t limit,
		struct boot_info *out, mb2_report_fn report, void *ctx)
{
	struct parser p = { out, report, ctx, 0, ERR_MISSING };
	const uint8_t *base = info;

	*out = (struct boot_info){ .info_phys = info_phys, .cmdline = "", .loader_name = "" };
	if (!info) {
		say(&p, "multiboot2: no boot information (NULL pointer)");
		return ERR_MALFORMED;
	}
	if ((uintptr_t)info & 7) {
		say(&p, "multiboot2: boot information at %p is not 8-byte aligned (3.6.2)", info);
		return ERR_MALFORMED;
	}
	if (limit < 8) {
		say(&p, "multiboot2: only %llu bytes are readable; the header needs 8",
		    (unsigned long long)limit);
		return ERR_MALFORMED;
	}
	uint32_t total = rd32(base);
	if (total < 16) {
		say(&p, "multiboot2: total_size %u is smaller than 16 (header and end tag)", total);
		return ERR_MALFORMED;
	}
	if (total > limit) {
		say(&p, "multiboot2: total_size %u exceeds the %llu readable bytes", total,
		    (unsigned long long)limit);
		return ERR_MALFORMED;
	}
	out->info_size = total;

	/* 3.6.2: tags follow the 8-byte header, each starting 8-byte aligned. */
	for (uint64_t off = 8;; ) {
		if (off + TAG_HDR > total) {
			say(&p, "multiboot2: no end tag (type 0) within total_size %u", total);
			return ERR_MALFORMED;
		}
		const uint8_t *t = base + off;
		uint32_t type = rd32(t), size = rd32(t + 4);
		if (size < TAG_HDR) {
			tag_say(&p, type, "size %u at offset %llu is smaller than 8", size,
				(unsigned long long)off);
			return ERR_MALFORMED;
		}
		if (size > total - off) {
			tag_say(&p, type, "size %u at offset %llu runs past total_size %u", size,
				(unsigned long long)off, total);
			return ERR_MALFORMED;
		}
		if (type == MB2_TAG_END) {
			if (size != TAG_HDR) {
				tag_say(&p, type, "size %u is not 8", size);
				return ERR_MALFORMED;
			}
			break;
		}
		parse_tag(&p, type, t, size);
		off += ((uint64_t)size + 7) & ~(uint64_t)7;
	}

	if (p.mmap_err == ERR_MISSING)
		say(&p, "multiboot2: no memory map tag (type 6)");
	if (p.mmap_err != ERR_OK)
		out->nmmap = 0;
	return p.mmap_err;
}
