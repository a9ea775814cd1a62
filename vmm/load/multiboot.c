/* multiboot.c: the guest loader's entry point: picks the protocol, plans the ELF load and the boot information, then writes guest RAM. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/load/loader.h"

/* Formats into a stack buffer: the report callback gets one finished line. */
void load_say(const struct loader *l, const char *fmt, ...)
{
	char msg[LOAD_MSG_MAX];
	va_list ap;

	if (!l->report)
		return;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->report(l->ctx, msg);
}

/* The largest unit that states bytes exactly. */
void load_fmt_size(char *buf, size_t n, uint64_t bytes)
{
	if (bytes && bytes % MIB == 0)
		ksnprintf(buf, n, "%llu MiB", (unsigned long long)(bytes / MIB));
	else if (bytes && bytes % KIB == 0)
		ksnprintf(buf, n, "%llu KiB", (unsigned long long)(bytes / KIB));
	else
		ksnprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
}

/* The map both protocols hand over (Multiboot 3.3 mmap_*, Multiboot2 3.6.8); ram_size >= 2 MiB. */
void load_guest_mmap(uint64_t ram_size, struct guest_region map[GUEST_MMAP_ENTRIES])
{
	map[0] = (struct guest_region){ 0, LOW_RAM_END, MMAP_AVAILABLE };
	map[1] = (struct guest_region){ LOW_RAM_END, HIGH_RAM_START - LOW_RAM_END, MMAP_RESERVED };
	map[2] = (struct guest_region){ HIGH_RAM_START, ram_size - HIGH_RAM_START, MMAP_AVAILABLE };
}

/* mem_upper counts KiB from 1 MiB to the first hole (Multiboot 3.3, Multiboot2 3.6.3); there is none above. */
uint32_t load_mem_upper_kib(uint64_t ram_size)
{
	uint64_t kib = (ram_size - HIGH_RAM_START) / KIB;
	return kib > UINT32_MAX ? UINT32_MAX : (uint32_t)kib;
}

/* Bounds-checked against the planned size, so a layout bug cannot write past the info. */
void load_put(struct info_writer *w, uint64_t off, const void *src, uint64_t len)
{
	const struct guest_ram *ram = w->l->ram;

	if (w->err != ERR_OK)
		return;
	if (off > w->size || len > w->size - off) {
		load_say(w->l, "load: internal error: boot information bytes 0x%llx+0x%llx lie outside its 0x%llx bytes",
			 (unsigned long long)off, (unsigned long long)len, (unsigned long long)w->size);
		w->err = ERR_INVAL;
		return;
	}
	err_t e = ram->write(ram->ctx, w->gpa + off, src, len);
	if (e != ERR_OK) {
		load_say(w->l, "load: writing the boot information to guest RAM at 0x%llx failed (%s)",
			 (unsigned long long)(w->gpa + off), err_str(e));
		w->err = e;
	}
}

/* Both specifications use the i386 byte order: little-endian. */
void load_put32(struct info_writer *w, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(v >> (8 * i));
	load_put(w, off, b, sizeof(b));
}

void load_put64(struct info_writer *w, uint64_t off, uint64_t v)
{
	uint8_t b[8];
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(v >> (8 * i));
	load_put(w, off, b, sizeof(b));
}

/* Length of s, or false when it is longer than LOAD_MAX_STRING. */
static bool bounded_strlen(const char *s, uint64_t *len)
{
	uint64_t n = 0;
	while (s[n]) {
		if (n == LOAD_MAX_STRING)
			return false;
		n++;
	}
	*len = n;
	return true;
}

/* A valid Multiboot2 header wins (GRUB's multiboot2 command); else a valid Multiboot one. */
static err_t find_header(const struct loader *l, unsigned *protocol, uint64_t *off)
{
	struct hdr_find f2 = load_mb2_find(l), f1;

	if (f2.kind == HDR_FOUND) {
		*protocol = 2;
		*off = f2.off;
		return ERR_OK;
	}
	f1 = load_mb1_find(l);
	if (f1.kind == HDR_FOUND) {
		*protocol = 1;
		*off = f1.off;
		return ERR_OK;
	}
	if (f2.kind == HDR_BAD_CHECKSUM)
		load_say(l, "load: the Multiboot2 header at offset 0x%llx has a bad checksum (magic, architecture, header_length and checksum sum to 0x%x, not 0)",
			 (unsigned long long)f2.off, f2.sum);
	else if (f1.kind == HDR_BAD_CHECKSUM)
		load_say(l, "load: the Multiboot header at offset 0x%llx has a bad checksum (magic, flags and checksum sum to 0x%x, not 0)",
			 (unsigned long long)f1.off, f1.sum);
	else
		load_say(l, "load: no Multiboot or Multiboot2 header in the first 32 KiB (Multiboot2: 8-byte aligned, Multiboot: 4-byte aligned in the first 8 KiB)");
	return ERR_MALFORMED;
}

/*
 * The boot information goes page-aligned after the highest loaded byte (moved
 * to 1 MiB if it would reach into the reserved hole), inside RAM and below
 * 4 GiB, where EBX can point at it.  Being above every segment it overlaps
 * none; the loop keeps that true should the placement ever change.
 */
static err_t place_info(const struct loader *l, const struct load_plan *plan, uint64_t size,
			uint64_t *gpa)
{
	uint64_t at = load_align_up(plan->end, LOAD_PAGE);
	uint64_t limit = l->ram->size < LOAD_4GIB ? l->ram->size : LOAD_4GIB;
	char room[32];

	if (at < HIGH_RAM_START && at + size > LOW_RAM_END)
		at = HIGH_RAM_START;
	if (at > limit || size > limit - at) {
		load_fmt_size(room, sizeof(room), limit);
		load_say(l, "load: the boot information (%llu bytes) does not fit at 0x%llx, after the image, in the %s of guest RAM below 4 GiB",
			 (unsigned long long)size, (unsigned long long)at, room);
		return ERR_NOMEM;
	}
	for (unsigned k = 0; k < plan->nseg; k++) {
		const struct load_segment *s = &plan->seg[k];
		if (at < s->paddr + s->memsz && s->paddr < at + size) {
			load_say(l, "load: the boot information at 0x%llx would overlap ELF program header %u",
				 (unsigned long long)at, s->index);
			return ERR_INVAL;
		}
	}
	*gpa = at;
	return ERR_OK;
}

/* The Multiboot2 entry address tag (3.1.6) and relocatable tag (3.1.13), checked against the plan. */
static err_t apply_request(const struct loader *l, const struct mb_request *req,
			   const struct load_plan *plan, uint64_t *eip)
{
	if (req->has_entry) {
		if (!load_plan_contains(plan, req->entry)) {
			load_say(l, "load: the Multiboot2 entry address tag's 0x%x is not inside any loaded segment",
				 req->entry);
			return ERR_MALFORMED;
		}
		*eip = req->entry;
	}
	if (req->has_reloc && (plan->start < req->reloc_min || plan->end > req->reloc_max)) {
		load_say(l, "load: the Multiboot2 relocatable tag allows 0x%x-0x%x, but this loader does not relocate and the image is linked at 0x%llx-0x%llx",
			 req->reloc_min, req->reloc_max, (unsigned long long)plan->start,
			 (unsigned long long)plan->end);
		return ERR_UNSUPPORTED;
	}
	return ERR_OK;
}

err_t load_multiboot(const uint8_t *image, uint64_t size, const char *cmdline, const char *loader_name,
		     const struct guest_ram *ram, struct guest_entry *entry,
		     void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct loader l = { image, size, ram, report, ctx };
	struct boot_strings s = { cmdline ? cmdline : "", loader_name ? loader_name : "", 0, 0 };
	struct mb_request req = { 0 };
	struct load_plan plan;
	unsigned protocol = 0;
	uint64_t hdr = 0, info = 0, eip;
	char ramsz[32];
	err_t e;

	if (!image || !ram || !ram->write || !ram->zero || !entry) {
		load_say(&l, "load: called without an image, guest RAM callbacks or an entry state to fill");
		return ERR_INVAL;
	}
	if (ram->size < LOAD_MIN_GUEST_RAM) {
		load_fmt_size(ramsz, sizeof(ramsz), ram->size);
		load_say(&l, "load: %s of guest RAM is too little: guest RAM must be at least 2 MiB", ramsz);
		return ERR_NOMEM;
	}
	if (!bounded_strlen(s.cmdline, &s.cmdline_len) ||
	    !bounded_strlen(s.loader_name, &s.loader_name_len)) {
		load_say(&l, "load: the command line or loader name is longer than %llu bytes", LOAD_MAX_STRING);
		return ERR_INVAL;
	}

	e = find_header(&l, &protocol, &hdr);
	if (e == ERR_OK)
		e = protocol == 2 ? load_mb2_check_header(&l, hdr, &req) : load_mb1_check_header(&l, hdr);
	if (e == ERR_OK)
		e = load_elf_plan(&l, &plan);
	if (e != ERR_OK)
		return e;
	eip = plan.entry;
	e = apply_request(&l, &req, &plan, &eip);
	uint64_t info_size = protocol == 2 ? load_mb2_info_size(&s) : load_mb1_info_size(&s);
	if (e == ERR_OK)
		e = place_info(&l, &plan, info_size, &info);
	if (e != ERR_OK)
		return e;

	/* Everything is checked: only now is guest RAM written. */
	e = load_plan_apply(&l, &plan);
	if (e == ERR_OK) {
		e = ram->zero(ram->ctx, info, info_size);
		if (e != ERR_OK)
			load_say(&l, "load: clearing the boot information in guest RAM at 0x%llx failed (%s)",
				 (unsigned long long)info, err_str(e));
	}
	if (e == ERR_OK)
		e = protocol == 2 ? load_mb2_info_write(&l, info, info_size, &s)
				  : load_mb1_info_write(&l, info, info_size, &s);
	if (e != ERR_OK)
		return e;

	*entry = (struct guest_entry){
		.eip = (uint32_t)eip,
		.eax = protocol == 2 ? MB2_BOOTLOADER_MAGIC_EAX : MB1_BOOTLOADER_MAGIC_EAX,
		.ebx = (uint32_t)info,
		.image_start = plan.start,
		.image_end = plan.end,
		.info_gpa = info,
		.info_size = info_size,
		.protocol = protocol,
	};
	return ERR_OK;
}
