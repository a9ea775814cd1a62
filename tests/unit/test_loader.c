/* test_loader.c: unit tests of the guest loader (vmm/load): Multiboot2 and Multiboot ELF kernels into guest RAM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/load/elf.h"
#include "vmm/load/multiboot.h"

#define KiB       1024ull
#define MiB       (1024ull * KiB)
#define RAM_SIZE  (64 * MiB)
#define POISON    0xcc       /* guest RAM before loading: what the loader did not write */
#define HDR_OFF   0x200      /* where the builder puts the Multiboot header in the file */
#define DATA_OFF  0x1000     /* where segment contents start in the file */
#define ENTRY     0x100040ull

#define MB2_MAGIC 0xe85250d6u
#define MB1_MAGIC 0x1badb002u
#define MB2_EAX   0x36d76289u
#define MB1_EAX   0x2badb002u

/* ---- guest RAM behind the callbacks ---- */

struct test_ram {
	uint8_t *mem;
	uint64_t backed;     /* bytes of mem; writes beyond are counted as outside */
	unsigned calls;      /* successful write and zero calls */
	unsigned outside;    /* calls that fell outside RAM: the loader must never make one */
	unsigned fail_after; /* with fail_with: calls allowed before failing */
	err_t fail_with;
};

static struct test_ram tr;
static struct guest_ram gr;

static err_t ram_access(struct test_ram *r, uint64_t gpa, uint64_t len)
{
	if (gpa > r->backed || len > r->backed - gpa) {
		r->outside++;
		return ERR_INVAL;
	}
	if (r->fail_with != ERR_OK && r->calls >= r->fail_after)
		return r->fail_with;
	r->calls++;
	return ERR_OK;
}

static err_t ram_write(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
	struct test_ram *r = ctx;
	err_t e = ram_access(r, gpa, len);
	if (e == ERR_OK)
		memcpy(r->mem + gpa, src, len);
	return e;
}

static err_t ram_zero(void *ctx, uint64_t gpa, uint64_t len)
{
	struct test_ram *r = ctx;
	err_t e = ram_access(r, gpa, len);
	if (e == ERR_OK)
		memset(r->mem + gpa, 0, len);
	return e;
}

/* Guest RAM of size bytes (backed by a buffer of `backed` bytes), poisoned. */
static void ram_init(uint64_t size, uint64_t backed)
{
	free(tr.mem);
	tr = (struct test_ram){ .mem = malloc(backed), .backed = backed };
	assert_non_null(tr.mem);
	memset(tr.mem, POISON, backed);
	gr = (struct guest_ram){ size, &tr, ram_write, ram_zero };
}

/* 64 MiB of guest RAM; no test loads above 16 MiB, so only that much is backed (and poisoned). */
static int setup_ram(void **state)
{
	(void)state;
	ram_init(RAM_SIZE, 16 * MiB);
	return 0;
}

static int teardown_ram(void **state)
{
	(void)state;
	free(tr.mem);
	tr.mem = NULL;
	return 0;
}

static uint32_t ram32(uint64_t gpa)
{
	uint32_t v;
	assert_true(gpa + 4 <= tr.backed);
	memcpy(&v, tr.mem + gpa, 4);
	return v;
}

static uint64_t ram64(uint64_t gpa)
{
	uint64_t v;
	assert_true(gpa + 8 <= tr.backed);
	memcpy(&v, tr.mem + gpa, 8);
	return v;
}

/* ---- capturing reports ---- */

struct capture {
	char last[512];
	unsigned n;
};

static struct capture cap;

static void capture_report(void *ctx, const char *msg)
{
	struct capture *c = ctx;
	assert_memory_equal(msg, "load: ", 6);
	assert_null(strchr(msg, '\n'));
	assert_true(strlen(msg) < 255); /* the loader's line buffer: nothing cut short */
	snprintf(c->last, sizeof(c->last), "%s", msg);
	c->n++;
}

/* ---- building ELF images in memory ---- */

struct tseg {
	uint32_t type;
	uint64_t vaddr, paddr, filesz, memsz;
};

struct timg {
	bool is64;
	uint8_t cls, data;          /* e_ident overrides; 0 = the right value */
	uint16_t machine, type;
	uint64_t entry;
	struct tseg seg[8];
	unsigned nseg;
	uint8_t hdr[1024];          /* the Multiboot header, copied to hdr_off */
	size_t hdr_len;
	uint64_t hdr_off;
};

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint8_t seg_byte(unsigned seg, uint64_t j)
{
	return (uint8_t)(0x31 * (seg + 1) + j * 7 + (j >> 8));
}

/* File offset of segment i's contents: after the header, 16-byte aligned one after another. */
static uint64_t seg_offset(const struct timg *t, unsigned i)
{
	uint64_t off = DATA_OFF;
	uint64_t hdr_end = (t->hdr_off + t->hdr_len + 0xfff) & ~0xfffull;
	if (t->hdr_len && hdr_end > off)
		off = hdr_end;
	for (unsigned k = 0; k < i; k++)
		off += (t->seg[k].filesz + 15) & ~15ull;
	return off;
}

/* The image, exactly sized on the heap so any overread trips ASan. */
static uint8_t *build(const struct timg *t, size_t *len)
{
	size_t ehsz = t->is64 ? sizeof(struct elf64_ehdr) : sizeof(struct elf32_ehdr);
	size_t phsz = t->is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr);
	size_t end = ehsz + t->nseg * phsz;

	if (t->hdr_len && t->hdr_off + t->hdr_len > end)
		end = t->hdr_off + t->hdr_len;
	for (unsigned i = 0; i < t->nseg; i++)
		if (t->seg[i].filesz && seg_offset(t, i) + t->seg[i].filesz > end)
			end = seg_offset(t, i) + t->seg[i].filesz;
	uint8_t *img = calloc(1, end);
	assert_non_null(img);

	uint8_t ident[EI_NIDENT] = { ELF_MAG0, ELF_MAG1, ELF_MAG2, ELF_MAG3,
				     t->cls ? t->cls : (t->is64 ? ELFCLASS64 : ELFCLASS32),
				     t->data ? t->data : ELFDATA2LSB, EV_CURRENT };
	if (t->is64) {
		struct elf64_ehdr h = { .e_type = t->type, .e_machine = t->machine, .e_version = EV_CURRENT,
					.e_entry = t->entry, .e_phoff = ehsz, .e_ehsize = (uint16_t)ehsz,
					.e_phentsize = (uint16_t)phsz, .e_phnum = (uint16_t)t->nseg };
		memcpy(h.e_ident, ident, EI_NIDENT);
		memcpy(img, &h, sizeof(h));
	} else {
		struct elf32_ehdr h = { .e_type = t->type, .e_machine = t->machine, .e_version = EV_CURRENT,
					.e_entry = (uint32_t)t->entry, .e_phoff = (uint32_t)ehsz,
					.e_ehsize = (uint16_t)ehsz, .e_phentsize = (uint16_t)phsz,
					.e_phnum = (uint16_t)t->nseg };
		memcpy(h.e_ident, ident, EI_NIDENT);
		memcpy(img, &h, sizeof(h));
	}
	for (unsigned i = 0; i < t->nseg; i++) {
		const struct tseg *s = &t->seg[i];
		uint64_t off = seg_offset(t, i);
		if (t->is64) {
			struct elf64_phdr p = { s->type, 5, off, s->vaddr, s->paddr, s->filesz, s->memsz, 4096 };
			memcpy(img + ehsz + i * phsz, &p, sizeof(p));
		} else {
			struct elf32_phdr p = { s->type, (uint32_t)off, (uint32_t)s->vaddr, (uint32_t)s->paddr,
						(uint32_t)s->filesz, (uint32_t)s->memsz, 5, 4096 };
			memcpy(img + ehsz + i * phsz, &p, sizeof(p));
		}
		if (off + s->filesz <= end)
			for (uint64_t j = 0; j < s->filesz; j++)
				img[off + j] = seg_byte(i, j);
	}
	if (t->hdr_len)
		memcpy(img + t->hdr_off, t->hdr, t->hdr_len);
	*len = end;
	return img;
}

/* An identity-linked kernel at 1 MiB: text, then data with bss; it ends at 0x105000. */
static void elf_default(struct timg *t, bool is64)
{
	memset(t, 0, sizeof(*t));
	t->is64 = is64;
	t->machine = is64 ? EM_X86_64 : EM_386;
	t->type = ET_EXEC;
	t->entry = ENTRY;
	t->seg[0] = (struct tseg){ PT_LOAD, 0x100000, 0x100000, 0x1800, 0x1800 };
	t->seg[1] = (struct tseg){ PT_LOAD, 0x102000, 0x102000, 0x234, 0x3000 };
	t->nseg = 2;
	t->hdr_off = HDR_OFF;
}

/* ---- Multiboot headers ---- */

static void mb2_begin(struct timg *t)
{
	memset(t->hdr, 0, sizeof(t->hdr));
	t->hdr_len = 16;
}

/* Appends a header tag whose size field says size while n payload bytes are copied. */
static void mb2_raw(struct timg *t, uint16_t type, uint16_t flags, uint32_t size, const void *payload, size_t n)
{
	uint8_t *p = t->hdr + t->hdr_len;
	assert_true(t->hdr_len + 8 + n + 8 <= sizeof(t->hdr));
	put16(p, type);
	put16(p + 2, flags);
	put32(p + 4, size);
	if (n)
		memcpy(p + 8, payload, n);
	t->hdr_len = (t->hdr_len + 8 + n + 7) & ~(size_t)7;
}

static void mb2_tag(struct timg *t, uint16_t type, uint16_t flags, const void *payload, size_t n)
{
	mb2_raw(t, type, flags, (uint32_t)(8 + n), payload, n);
}

static void mb2_tag32(struct timg *t, uint16_t type, uint16_t flags, uint32_t v)
{
	mb2_tag(t, type, flags, &v, 4);
}

static void mb2_request(struct timg *t, uint16_t flags, const uint32_t *types, size_t n)
{
	mb2_tag(t, 1, flags, types, n * 4);
}

/* Sets magic, architecture, header_length (= what was built) and the checksum. */
static void mb2_seal(struct timg *t, uint32_t arch)
{
	uint32_t len = (uint32_t)t->hdr_len;
	put32(t->hdr, MB2_MAGIC);
	put32(t->hdr + 4, arch);
	put32(t->hdr + 8, len);
	put32(t->hdr + 12, -(MB2_MAGIC + arch + len));
}

static void mb2_finish(struct timg *t)
{
	mb2_raw(t, 0, 0, 8, NULL, 0);
	mb2_seal(t, 0);
}

/* The header the memtest guest carries: a required request for what every kernel needs. */
static void mb2_default(struct timg *t)
{
	static const uint32_t want[] = { 1, 2, 4, 6 };
	mb2_begin(t);
	mb2_request(t, 0, want, 4);
	mb2_finish(t);
}

static void mb1_header(struct timg *t, uint32_t flags)
{
	memset(t->hdr, 0, sizeof(t->hdr));
	put32(t->hdr, MB1_MAGIC);
	put32(t->hdr + 4, flags);
	put32(t->hdr + 8, -(MB1_MAGIC + flags));
	t->hdr_len = flags & (1u << 2) ? 48 : flags & (1u << 16) ? 32 : 12;
}

/* ---- loading ---- */

static struct guest_entry ent;

static err_t load_image(const uint8_t *img, size_t len, const char *cmdline)
{
	memset(&cap, 0, sizeof(cap));
	memset(&ent, 0xee, sizeof(ent));
	tr.calls = 0;
	tr.outside = 0;
	return load_multiboot(img, len, cmdline, "hv", &gr, &ent, capture_report, &cap);
}

static err_t load_timg(const struct timg *t, const char *cmdline)
{
	size_t len;
	uint8_t *img = build(t, &len);
	err_t e = load_image(img, len, cmdline);
	free(img);
	return e;
}

/* A refusal: the error, exactly one report containing what, nothing written, no entry state. */
#define assert_refused(expr, err, what)                                                     \
	do {                                                                                \
		err_t e_ = (expr);                                                          \
		assert_int_equal(e_, (err));                                                \
		assert_int_equal(cap.n, 1);                                                 \
		if (!strstr(cap.last, (what)))                                              \
			fail_msg("report \"%s\" lacks \"%s\"", cap.last, (what));           \
		assert_int_equal(tr.calls, 0);                                              \
		assert_int_equal(tr.outside, 0);                                            \
		assert_int_equal(ent.eip, 0xeeeeeeeeu);                                     \
	} while (0)

#define assert_loaded(expr)                                                                 \
	do {                                                                                \
		err_t e_ = (expr);                                                          \
		if (e_ != ERR_OK)                                                           \
			fail_msg("load failed (%d): %s", e_, cap.last);                     \
		assert_int_equal(cap.n, 0);                                                 \
		assert_int_equal(tr.outside, 0);                                            \
	} while (0)

/* Segment i of t lies in RAM: its file bytes, then zeroes up to memsz. */
static void assert_segment(const struct timg *t, unsigned i)
{
	const struct tseg *s = &t->seg[i];
	for (uint64_t j = 0; j < s->memsz; j++) {
		uint8_t want = j < s->filesz ? seg_byte(i, j) : 0;
		if (tr.mem[s->paddr + j] != want)
			fail_msg("segment %u byte 0x%llx at 0x%llx is 0x%02x, not 0x%02x", i,
				 (unsigned long long)j, (unsigned long long)(s->paddr + j),
				 tr.mem[s->paddr + j], want);
	}
}

static void assert_poisoned(uint64_t from, uint64_t to)
{
	for (uint64_t a = from; a < to; a++)
		if (tr.mem[a] != POISON)
			fail_msg("byte at 0x%llx was written", (unsigned long long)a);
}

/* ---- Multiboot2: loading and boot information ---- */

static void mb2_elf64_loads_segments_zeroes_bss_and_returns_magic_and_info(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);

	assert_loaded(load_timg(&t, "console=com1"));
	assert_int_equal(ent.protocol, 2);
	assert_int_equal(ent.eip, ENTRY);
	assert_int_equal(ent.eax, MB2_EAX);
	assert_int_equal(ent.image_start, 0x100000);
	assert_int_equal(ent.image_end, 0x105000);
	assert_int_equal(ent.info_gpa, 0x105000);
	assert_int_equal(ent.ebx, 0x105000);
	assert_int_equal(ent.info_size, ram32(ent.info_gpa));
	assert_segment(&t, 0);
	assert_segment(&t, 1);
	/* Nothing else is touched: below, in the gap between segments, past the info. */
	assert_poisoned(0xff000, 0x100000);
	assert_poisoned(0x101800, 0x102000);
	assert_poisoned(ent.info_gpa + ent.info_size, ent.info_gpa + ent.info_size + 4096);
}

static void mb2_elf32_loads_segments_like_elf64(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb2_default(&t);

	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.protocol, 2);
	assert_int_equal(ent.eip, ENTRY);
	assert_int_equal(ent.eax, MB2_EAX);
	assert_int_equal(ent.ebx, 0x105000);
	assert_segment(&t, 0);
	assert_segment(&t, 1);
	assert_poisoned(0x101800, 0x102000);
}

static void mb2_info_has_cmdline_loader_meminfo_and_mmap_of_guest_ram(void **state)
{
	(void)state;
	struct timg t;
	const char *cmdline = "console=com1 memtest=quick x";
	elf_default(&t, true);
	mb2_default(&t);
	assert_loaded(load_timg(&t, cmdline));

	uint64_t info = ent.info_gpa, total = ram32(info);
	assert_int_equal(info % 4096, 0);
	assert_int_equal(total, ent.info_size);
	assert_int_equal(ram32(info + 4), 0);
	/* Every byte of the info is written (padding included): no poison left. */
	for (uint64_t a = info; a < info + total; a++)
		assert_int_not_equal(tr.mem[a], POISON);

	static const uint32_t order[] = { 1, 2, 4, 6, 0 };
	uint64_t tag = info + 8;
	for (unsigned k = 0; k < 5; k++) {
		assert_int_equal(tag % 8, 0);
		assert_true(tag + 8 <= info + total);
		uint32_t type = ram32(tag), size = ram32(tag + 4);
		assert_int_equal(type, order[k]);
		switch (type) {
		case 1:
			assert_int_equal(size, 8 + strlen(cmdline) + 1);
			assert_string_equal((char *)tr.mem + tag + 8, cmdline);
			break;
		case 2:
			assert_int_equal(size, 8 + 3);
			assert_string_equal((char *)tr.mem + tag + 8, "hv");
			break;
		case 4:
			assert_int_equal(size, 16);
			assert_int_equal(ram32(tag + 8), 639);
			assert_int_equal(ram32(tag + 12), (RAM_SIZE - MiB) / KiB);
			break;
		case 6:
			assert_int_equal(size, 16 + 3 * 24);
			assert_int_equal(ram32(tag + 8), 24);
			assert_int_equal(ram32(tag + 12), 0);
			assert_int_equal(ram64(tag + 16), 0);
			assert_int_equal(ram64(tag + 24), 0x9fc00);
			assert_int_equal(ram32(tag + 32), 1);
			assert_int_equal(ram32(tag + 36), 0);
			assert_int_equal(ram64(tag + 40), 0x9fc00);
			assert_int_equal(ram64(tag + 48), 0x100000 - 0x9fc00);
			assert_int_equal(ram32(tag + 56), 2);
			assert_int_equal(ram64(tag + 64), 0x100000);
			assert_int_equal(ram64(tag + 72), RAM_SIZE - 0x100000);
			assert_int_equal(ram32(tag + 80), 1);
			break;
		case 0:
			assert_int_equal(size, 8);
			assert_int_equal(tag + 8, info + total); /* the end tag closes the info */
			break;
		}
		tag += (size + 7) & ~7u;
	}
}

static void null_cmdline_and_loader_name_are_empty_strings(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	size_t len;
	uint8_t *img = build(&t, &len);
	memset(&cap, 0, sizeof(cap));
	assert_int_equal(load_multiboot(img, len, NULL, NULL, &gr, &ent, NULL, NULL), ERR_OK);
	free(img);
	uint64_t tag = ent.info_gpa + 8;
	assert_int_equal(ram32(tag), 1);
	assert_int_equal(ram32(tag + 4), 9);
	assert_int_equal(tr.mem[tag + 8], 0);
	assert_int_equal(ram32(tag + 16), 2);
	assert_int_equal(ram32(tag + 20), 9);
	assert_int_equal(tr.mem[tag + 24], 0);
}

static void mb2_entry_address_tag_overrides_elf_entry(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag32(&t, 3, 0, 0x100100);
	mb2_finish(&t);

	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.eip, 0x100100);
}

static void mb2_entry_address_tag_outside_segments_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag32(&t, 3, 1, 0x200000);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "entry address tag's 0x200000 is not inside any loaded segment");

	/* Between the two segments is no segment either. */
	mb2_begin(&t);
	mb2_tag32(&t, 3, 0, 0x101800);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "0x101800 is not inside");
}

static void mb2_duplicate_entry_address_tag_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag32(&t, 3, 0, 0x100100);
	mb2_tag32(&t, 3, 0, 0x100200);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "header tag 3 (entry address) at header offset 0x20: a second entry address tag");
}

/* ---- Multiboot2: the header ---- */

static void mb2_header_checksum_mismatch_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	put32(t.hdr + 12, get32(t.hdr + 12) + 1);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "Multiboot2 header at offset 0x200 has a bad checksum (magic, architecture, header_length and checksum sum to 0x1, not 0)");
}

static void mb2_header_for_another_architecture_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_raw(&t, 0, 0, 8, NULL, 0);
	mb2_seal(&t, 4); /* MIPS */
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "header at offset 0x200 is for architecture 4, not i386 (0)");
}

static void mb2_header_length_past_the_image_or_window_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	/* header_length 0x10000 with a matching checksum: beyond the 32 KiB window. */
	put32(t.hdr + 8, 0x10000);
	put32(t.hdr + 12, -(MB2_MAGIC + 0x10000));
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "has header_length 65536; it must be at least 24");

	/* Too short to hold an end tag. */
	put32(t.hdr + 8, 16);
	put32(t.hdr + 12, -(MB2_MAGIC + 16));
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "has header_length 16");

	/* Inside the window but past the image's end. */
	elf_default(&t, true);
	t.nseg = 1;
	t.seg[0].filesz = t.seg[0].memsz = 0x10;
	mb2_default(&t);
	put32(t.hdr + 8, 0x2000);
	put32(t.hdr + 12, -(MB2_MAGIC + 0x2000));
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "has header_length 8192");
}

static void mb2_header_without_end_tag_is_refused(void **state)
{
	(void)state;
	struct timg t;
	static const uint32_t want[] = { 1 };
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_request(&t, 0, want, 1);
	mb2_seal(&t, 0);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "has no end tag within its header_length 32");
}

static void mb2_end_tag_of_wrong_size_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_raw(&t, 0, 0, 16, "\0\0\0\0\0\0\0\0", 8);
	mb2_seal(&t, 0);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "header tag 0 (end) at header offset 0x10: size 16 is not 8");
}

static void mb2_tag_overrunning_header_length_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_raw(&t, 1, 0, 0x400, "\x01\0\0\0", 4);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "header tag 1 (information request) at header offset 0x10: size 1024 is not within 8 and the 24 bytes left of header_length 40");

	/* A size below the tag header would never advance. */
	mb2_begin(&t);
	mb2_raw(&t, 6, 0, 4, NULL, 0);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "size 4 is not within 8");
}

static void mb2_tag_smaller_than_its_fields_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag(&t, 3, 0, NULL, 0);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "header tag 3 (entry address) at header offset 0x10: size 8 is smaller than 12");

	mb2_begin(&t);
	mb2_tag(&t, 10, 1, "0123456789ab", 12);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "tag 10 (relocatable) at header offset 0x10: size 20 is smaller than 24");
}

static void mb2_required_unknown_info_request_is_refused_by_name(void **state)
{
	(void)state;
	struct timg t;
	static const uint32_t elf_syms[] = { 1, 6, 9 };
	static const uint32_t unknown[] = { 1, 2, 99 };
	static const uint32_t base[] = { 21 };

	elf_default(&t, true);
	mb2_begin(&t);
	mb2_request(&t, 0, elf_syms, 3);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "load: Multiboot2 information request (header tag 1) requires boot information tag 9 (ELF symbols), which this loader does not provide");

	mb2_begin(&t);
	mb2_request(&t, 0, unknown, 3);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "requires boot information tag 99 (unknown)");

	mb2_begin(&t);
	mb2_request(&t, 0, base, 1);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "tag 21 (image load base address)");
}

static void mb2_unavailable_or_optional_info_requests_are_accepted(void **state)
{
	(void)state;
	struct timg t;
	/* Understood, and absent from this VM: modules, boot device, VBE, framebuffer, APM, EFI, SMBIOS, ACPI, network. */
	static const uint32_t absent[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
	static const uint32_t optional[] = { 9, 21, 1234 };

	elf_default(&t, true);
	mb2_begin(&t);
	mb2_request(&t, 0, absent, sizeof(absent) / 4);
	mb2_request(&t, 1, optional, 3);
	mb2_finish(&t);
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.protocol, 2);
}

static void mb2_info_request_with_a_partial_entry_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag(&t, 1, 0, "\x01\0\0\0\x06\0", 6);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "size 14 is not 8 plus a whole number of u32 tag types");
}

static void mb2_required_address_tag_is_refused_and_optional_one_ignored(void **state)
{
	(void)state;
	struct timg t;
	uint32_t addr[4] = { 0x100000, 0x100000, 0x101800, 0x105000 };
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag(&t, 2, 0, addr, sizeof(addr));
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "header tag 2 (address) at header offset 0x10: a.out-kludge load addresses are not supported");

	mb2_begin(&t);
	mb2_tag(&t, 2, 1, addr, sizeof(addr));
	mb2_finish(&t);
	assert_loaded(load_timg(&t, ""));
	assert_segment(&t, 0);
}

static void mb2_required_framebuffer_tag_is_refused_and_optional_one_ignored(void **state)
{
	(void)state;
	struct timg t;
	uint32_t fb[3] = { 1024, 768, 32 };
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag(&t, 5, 0, fb, sizeof(fb));
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "header tag 5 (framebuffer) at header offset 0x10: required, and this VM has no display");

	mb2_begin(&t);
	mb2_tag(&t, 5, 1, fb, sizeof(fb));
	mb2_finish(&t);
	assert_loaded(load_timg(&t, ""));
}

static void mb2_console_required_flags_tag_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag32(&t, 4, 0, 3);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "header tag 4 (flags) at header offset 0x10: console_flags 0x3 require a console");

	/* EGA text support alone asks for nothing; an optional tag may be ignored. */
	mb2_begin(&t);
	mb2_tag32(&t, 4, 0, 2);
	mb2_tag32(&t, 4, 1, 1);
	mb2_finish(&t);
	assert_loaded(load_timg(&t, ""));
}

static void mb2_efi_module_alignment_and_optional_unknown_tags_are_ignored(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag(&t, 6, 0, NULL, 0);         /* module alignment: there are no modules */
	mb2_tag(&t, 7, 0, NULL, 0);         /* EFI boot services: not an EFI boot */
	mb2_tag32(&t, 8, 0, 0x100200);      /* EFI i386 entry: not an EFI boot */
	mb2_tag32(&t, 9, 0, 0x100300);      /* EFI amd64 entry: not an EFI boot */
	mb2_tag32(&t, 77, 1, 0xdeadbeef);   /* unknown but optional */
	mb2_finish(&t);
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.eip, ENTRY);
}

static void mb2_required_unknown_header_tag_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag32(&t, 6, 0, 0);
	mb2_tag32(&t, 77, 0, 0xdeadbeef);
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "header tag 77 (unknown) at header offset 0x20: not optional, and unknown to this loader");
}

static void mb2_relocatable_tag_range_must_hold_the_linked_image(void **state)
{
	(void)state;
	struct timg t;
	uint32_t fits[4] = { 0x100000, 0x105000, 4096, 0 };
	uint32_t above[4] = { 0x200000, 0x400000, 4096, 1 };
	elf_default(&t, true);
	mb2_begin(&t);
	mb2_tag(&t, 10, 0, fits, sizeof(fits));
	mb2_finish(&t);
	assert_loaded(load_timg(&t, ""));

	mb2_begin(&t);
	mb2_tag(&t, 10, 0, above, sizeof(above));
	mb2_finish(&t);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "relocatable tag allows 0x200000-0x400000, but this loader does not relocate and the image is linked at 0x100000-0x105000");

	/* Optional: the loader may ignore it altogether. */
	mb2_begin(&t);
	mb2_tag(&t, 10, 1, above, sizeof(above));
	mb2_finish(&t);
	assert_loaded(load_timg(&t, ""));
}

static void mb2_header_must_be_8_byte_aligned_and_within_32_kib(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.hdr_off = HDR_OFF + 4;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "no Multiboot or Multiboot2 header in the first 32 KiB");

	t.hdr_off = 0x8000;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "no Multiboot or Multiboot2 header");

	/* Starts inside the window, ends outside it. */
	t.hdr_off = 0x8000 - 16;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "at offset 0x7ff0 has header_length 48");

	t.hdr_off = 0x8000 - 48;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.protocol, 2);
}

static void mb2_header_is_preferred_over_mb1_unless_its_checksum_fails(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	/* A Multiboot header at 0x200, a Multiboot2 one at 0x210. */
	mb1_header(&t, 0);
	memset(t.hdr + 12, 0, 4);
	uint8_t *mb2 = t.hdr + 16;
	put32(mb2, MB2_MAGIC);
	put32(mb2 + 4, 0);
	put32(mb2 + 8, 24);
	put32(mb2 + 12, -(MB2_MAGIC + 24));
	put16(mb2 + 16, 0);
	put16(mb2 + 18, 0);
	put32(mb2 + 20, 8);
	t.hdr_len = 40;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.protocol, 2);
	assert_int_equal(ent.eax, MB2_EAX);

	put32(mb2 + 12, 0);
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.protocol, 1);
	assert_int_equal(ent.eax, MB1_EAX);
}

/* ---- Multiboot (v1) ---- */

static void mb1_elf32_loads_and_builds_mb1_info_with_mmap(void **state)
{
	(void)state;
	struct timg t;
	const char *cmdline = "quiet root=none";
	elf_default(&t, false);
	mb1_header(&t, 1u << 1 | 1u << 0);

	assert_loaded(load_timg(&t, cmdline));
	assert_int_equal(ent.protocol, 1);
	assert_int_equal(ent.eip, ENTRY);
	assert_int_equal(ent.eax, MB1_EAX);
	assert_int_equal(ent.ebx, 0x105000);
	assert_int_equal(ent.info_gpa, 0x105000);
	assert_int_equal(ent.image_start, 0x100000);
	assert_int_equal(ent.image_end, 0x105000);
	assert_segment(&t, 0);
	assert_segment(&t, 1);

	uint64_t info = ent.info_gpa;
	assert_int_equal(ram32(info + 0), 1u << 0 | 1u << 2 | 1u << 6 | 1u << 9);
	assert_int_equal(ram32(info + 4), 639);
	assert_int_equal(ram32(info + 8), (RAM_SIZE - MiB) / KiB);
	assert_int_equal(ram32(info + 12), 0); /* boot_device: not given */
	assert_int_equal(ram32(info + 20), 0); /* mods_count */

	uint32_t cmd = ram32(info + 16), name = ram32(info + 64);
	assert_true(cmd > info && cmd < info + ent.info_size);
	assert_string_equal((char *)tr.mem + cmd, cmdline);
	assert_true(name > info && name < info + ent.info_size);
	assert_string_equal((char *)tr.mem + name, "hv");

	uint32_t mlen = ram32(info + 44), maddr = ram32(info + 48);
	assert_int_equal(mlen, 3 * 24);
	assert_true(maddr >= info + 116 && maddr + mlen <= info + ent.info_size);
	static const uint64_t want[3][3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x100000 - 0x9fc00, 2 }, { 0x100000, RAM_SIZE - 0x100000, 1 },
	};
	uint64_t e = maddr;
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(ram32(e), 20);
		assert_int_equal(ram64(e + 4), want[i][0]);
		assert_int_equal(ram64(e + 12), want[i][1]);
		assert_int_equal(ram32(e + 20), want[i][2]);
		e += ram32(e) + 4;
	}
	assert_int_equal(e, maddr + mlen);
	/* The structure up to its framebuffer fields is written (zero where not given). */
	for (uint64_t a = info; a < info + ent.info_size; a++)
		assert_int_not_equal(tr.mem[a], POISON);
}

static void mb1_elf64_loads_like_elf32(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb1_header(&t, 1u << 1);
	assert_loaded(load_timg(&t, "x"));
	assert_int_equal(ent.protocol, 1);
	assert_int_equal(ent.eip, ENTRY);
	assert_int_equal(ent.eax, MB1_EAX);
	assert_segment(&t, 0);
	assert_segment(&t, 1);
}

static void mb1_aout_kludge_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 1u << 16 | 1u << 1);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "Multiboot header at offset 0x200 sets flag 16 (a.out-kludge load addresses), which is not supported");
}

static void mb1_unknown_required_flag_is_refused_by_bit(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 1u << 5 | 1u << 1 | 1u << 9);
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "sets flag 5 (flags 0x222), a requirement unknown to this loader");

	/* Bits 0-2 are understood (video mode: there is no display); bits 17-31 are optional. */
	mb1_header(&t, 1u << 0 | 1u << 1 | 1u << 2 | 1u << 20 | 1u << 31);
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.protocol, 1);
}

static void mb1_video_flag_needs_the_graphics_fields_in_the_window(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 1u << 2);
	t.hdr_len = 12;
	t.hdr_off = 0x2000 - 12;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "Multiboot header at offset 0x1ff4 sets flag 2, but its graphics fields do not fit");
}

static void mb1_header_checksum_mismatch_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 2);
	put32(t.hdr + 8, get32(t.hdr + 8) - 2);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "Multiboot header at offset 0x200 has a bad checksum (magic, flags and checksum sum to 0xfffffffe, not 0)");
}

static void mb1_header_must_be_4_byte_aligned_and_within_8_kib(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 2);
	t.hdr_off = HDR_OFF + 2;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "no Multiboot or Multiboot2 header");
	t.hdr_off = 0x2000 - 8;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "no Multiboot or Multiboot2 header");
	t.hdr_off = 0x2000 - 12;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.protocol, 1);
}

/* ---- ELF ---- */

static void no_header_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "load: no Multiboot or Multiboot2 header in the first 32 KiB");
	assert_refused(load_image((const uint8_t *)"", 0, ""), ERR_MALFORMED, "no Multiboot");
}

static void not_an_elf_image_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	size_t len;
	uint8_t *img = build(&t, &len);
	img[1] = 'e';
	assert_refused(load_image(img, len, ""), ERR_UNSUPPORTED,
		       "the image is not an ELF file (no 0x7f 'E' 'L' 'F' at its start) and a.out-kludge loading is not supported");
	free(img);
}

static void elf_of_the_wrong_class_encoding_machine_or_type_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.machine = EM_386;
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "ELF64 machine 3 is not x86-64 (62)");

	elf_default(&t, false);
	mb2_default(&t);
	t.machine = EM_X86_64;
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "ELF32 machine 62 is not i386 (3)");

	elf_default(&t, true);
	mb2_default(&t);
	t.type = 3; /* ET_DYN */
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "ELF type 3 is not an executable (ET_EXEC, 2)");

	elf_default(&t, true);
	mb2_default(&t);
	t.data = 2;
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "ELF data encoding 2 is not little-endian");

	elf_default(&t, true);
	mb2_default(&t);
	t.cls = 3;
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "ELF class 3 is neither ELF32 (1) nor ELF64 (2)");
}

static void segment_outside_guest_ram_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.seg[1].vaddr = t.seg[1].paddr = RAM_SIZE - 0x1000;
	t.entry = ENTRY;
	assert_refused(load_timg(&t, ""), ERR_NOMEM,
		       "load: segment at 0x3fff000 size 0x3000 does not fit in 64 MiB of guest RAM (ELF program header 1)");

	/* Ending exactly at the end of RAM fits, but then the boot information does not. */
	t.seg[1].vaddr = t.seg[1].paddr = RAM_SIZE - 0x3000;
	assert_refused(load_timg(&t, ""), ERR_NOMEM,
		       "the boot information (152 bytes) does not fit at 0x4000000, after the image, in the 64 MiB of guest RAM below 4 GiB");
}

static void segment_above_4gib_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.seg[1].paddr = 0xfffff000;
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "ELF program header 1: segment at 0xfffff000 size 0x3000 reaches beyond 4 GiB");

	/* paddr + memsz would wrap around 2^64. */
	t.seg[1].paddr = 0xfffffffffffff000ull;
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED, "segment at 0xfffffffffffff000 size 0x3000 reaches beyond 4 GiB");
}

static void segment_in_the_reserved_hole_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb2_default(&t);
	t.seg[1].paddr = t.seg[1].vaddr = 0x9f000;
	assert_refused(load_timg(&t, ""), ERR_UNSUPPORTED,
		       "ELF program header 1: segment at 0x9f000 size 0x3000 overlaps the reserved hole 0x9fc00-0xfffff");
}

static void overlapping_segments_are_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.seg[1].paddr = 0x101000;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "ELF program headers 0 and 1 overlap in guest-physical memory (0x100000-0x1017ff and 0x101000-0x103fff)");
}

static void segment_beyond_image_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	size_t len;
	uint8_t *img = build(&t, &len);
	/* Segment 1's file bytes grow by one past the image's end. */
	struct elf64_phdr p;
	memcpy(&p, img + 64 + 56, sizeof(p));
	p.p_filesz = len - p.p_offset + 1;
	memcpy(img + 64 + 56, &p, sizeof(p));
	char want[160];
	snprintf(want, sizeof(want), "ELF program header 1 ends beyond the image (offset 0x%llx size 0x%llx, image 0x%zx bytes)",
		 (unsigned long long)p.p_offset, (unsigned long long)p.p_filesz, len);
	assert_refused(load_image(img, len, ""), ERR_MALFORMED, want);
	free(img);
}

static void memsz_smaller_than_filesz_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb2_default(&t);
	t.seg[0].memsz = 0x17ff;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED,
		       "ELF program header 0: p_memsz 0x17ff is smaller than p_filesz 0x1800");
}

static void overflowing_program_header_is_not_overread(void **state)
{
	(void)state;
	struct timg t;
	size_t len;
	elf_default(&t, true);
	mb2_default(&t);
	uint8_t *img = build(&t, &len);

	/* 0xfffe headers of 56 bytes from offset 64: far past the exactly sized image. */
	put16(img + offsetof(struct elf64_ehdr, e_phnum), 0xfffe);
	char want[200];
	snprintf(want, sizeof(want), "the ELF program header table (offset 0x40, 65534 entries of 56 bytes) ends beyond the image (0x%zx bytes)", len);
	assert_refused(load_image(img, len, ""), ERR_MALFORMED, want);

	/* An offset that wraps when the table size is added. */
	put16(img + offsetof(struct elf64_ehdr, e_phnum), 2);
	put64(img + offsetof(struct elf64_ehdr, e_phoff), UINT64_MAX - 8);
	assert_refused(load_image(img, len, ""), ERR_MALFORMED, "the ELF program header table (offset 0xfffffffffffffff7");

	/* The last header's last byte one past the end. */
	put64(img + offsetof(struct elf64_ehdr, e_phoff), len - 2 * 56 + 1);
	assert_refused(load_image(img, len, ""), ERR_MALFORMED, "ends beyond the image");

	/* A segment whose file offset wraps. */
	put64(img + offsetof(struct elf64_ehdr, e_phoff), 64);
	put64(img + 64 + offsetof(struct elf64_phdr, p_offset), UINT64_MAX - 4);
	assert_refused(load_image(img, len, ""), ERR_MALFORMED, "ELF program header 0 ends beyond the image (offset 0xfffffffffffffffb");
	free(img);

	/* ELF32 with a header table cut short, and an image ending inside the file header. */
	elf_default(&t, false);
	mb1_header(&t, 0);
	img = build(&t, &len);
	put16(img + offsetof(struct elf32_ehdr, e_phnum), 600);
	assert_refused(load_image(img, len, ""), ERR_MALFORMED, "600 entries of 32 bytes");
	free(img);

	uint8_t *tiny = malloc(HDR_OFF + 12);
	memset(tiny, 0, HDR_OFF + 12);
	memcpy(tiny, "\x7f" "ELF\x02\x01\x01", 7);
	memcpy(tiny + HDR_OFF, t.hdr, 12);
	assert_refused(load_image(tiny, 40, ""), ERR_MALFORMED, "no Multiboot");
	assert_refused(load_image(tiny, HDR_OFF + 12, ""), ERR_UNSUPPORTED, "ELF type 0 is not an executable");
	free(tiny);

	/* A Multiboot header right after e_ident, in an image too short for the ELF32 file header. */
	tiny = malloc(28);
	memset(tiny, 0, 28);
	memcpy(tiny, "\x7f" "ELF\x01\x01\x01", 7);
	memcpy(tiny + 16, t.hdr, 12);
	assert_refused(load_image(tiny, 28, ""), ERR_MALFORMED,
		       "the image (28 bytes) is too small for an ELF32 file header (52 bytes)");
	free(tiny);
}

static void entry_outside_segments_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb2_default(&t);
	t.entry = 0x300000;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "ELF entry point 0x300000 is not inside any loaded segment");

	/* One past the end of the last segment's memory. */
	t.entry = 0x105000;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "ELF entry point 0x105000");
}

static void elf64_higher_half_entry_is_translated_to_physical(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.seg[0].vaddr = 0xffffffff80100000ull;
	t.seg[1].vaddr = 0xffffffff80102000ull;
	t.entry = 0xffffffff80102010ull;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.eip, 0x102010);
	assert_segment(&t, 0);
}

static void elf32_physical_entry_outside_virtual_ranges_is_taken_as_physical(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 2);
	t.seg[0].vaddr = 0xc0100000;
	t.seg[1].vaddr = 0xc0102000;
	t.entry = 0xc0100020;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.eip, 0x100020);
	t.entry = 0x100030;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.eip, 0x100030);
}

static void non_load_and_empty_segments_are_skipped(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.seg[2] = (struct tseg){ 4 /* PT_NOTE */, 0, 0xfffffffff0000000ull, 0x10, 0x10 };
	t.seg[3] = (struct tseg){ PT_LOAD, 0x7000000, 0x7000000, 0, 0 };
	t.seg[4] = (struct tseg){ PT_NULL, 0, 0x9fc00, 0, 0x1000 };
	t.nseg = 5;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.image_start, 0x100000);
	assert_int_equal(ent.image_end, 0x105000);
	assert_segment(&t, 0);
	assert_segment(&t, 1);
	assert_poisoned(0x9f000, 0xa1000);
}

static void no_loadable_segment_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	t.seg[0].type = 4;
	t.seg[1].memsz = t.seg[1].filesz = 0;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "the ELF image has no loadable segment (PT_LOAD with p_memsz > 0)");

	elf_default(&t, true);
	mb2_default(&t);
	t.nseg = 0;
	assert_refused(load_timg(&t, ""), ERR_MALFORMED, "the ELF image has no program headers");
}

static void too_many_segments_are_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	size_t len;
	uint8_t *img0 = build(&t, &len);
	/* 33 one-byte segments, program headers after the data. */
	size_t phoff = len, n = 33;
	uint8_t *img = calloc(1, len + n * 56);
	memcpy(img, img0, len);
	for (size_t i = 0; i < n; i++) {
		struct elf64_phdr p = { PT_LOAD, 5, DATA_OFF, 0x100000 + i * 16, 0x100000 + i * 16, 1, 1, 1 };
		memcpy(img + phoff + i * 56, &p, sizeof(p));
	}
	put64(img + offsetof(struct elf64_ehdr, e_phoff), phoff);
	put16(img + offsetof(struct elf64_ehdr, e_phnum), (uint16_t)n);
	assert_refused(load_image(img, len + n * 56, ""), ERR_UNSUPPORTED, "more than 32 loadable segments");
	put16(img + offsetof(struct elf64_ehdr, e_phnum), 32);
	assert_loaded(load_image(img, len + n * 56, ""));
	assert_int_equal(ent.image_end, 0x100000 + 31 * 16 + 1);
	free(img);
	free(img0);
}

/* ---- guest RAM and boot information placement ---- */

static void guest_ram_below_2mib_is_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	ram_init(2 * MiB - 4096, 2 * MiB);
	assert_refused(load_timg(&t, ""), ERR_NOMEM, "load: 2044 KiB of guest RAM is too little: guest RAM must be at least 2 MiB");
	ram_init(MiB, MiB);
	assert_refused(load_timg(&t, ""), ERR_NOMEM, "1 MiB of guest RAM is too little");
	ram_init(2 * MiB, 2 * MiB);
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.info_gpa, 0x105000);
}

static void boot_information_skips_the_reserved_hole_for_low_kernels(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 2);
	t.nseg = 1;
	t.seg[0] = (struct tseg){ PT_LOAD, 0x10000, 0x10000, 0x100, 0x8fb00 };
	t.entry = 0x10000;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.image_end, 0x9fb00);
	assert_int_equal(ent.info_gpa, 0x100000);
	assert_int_equal(ent.ebx, 0x100000);
	assert_segment(&t, 0);

	/* Room below the hole: the info stays there, page-aligned. */
	t.seg[0].memsz = 0x1234;
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ent.info_gpa, 0x12000);
	assert_true(ent.info_gpa + ent.info_size <= 0x9fc00);
}

static void mem_upper_of_huge_guest_ram_saturates(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, false);
	mb1_header(&t, 2);
	ram_init(8ull << 40, 2 * MiB); /* 8 TiB of RAM, of which the loader touches the first 2 MiB */
	assert_loaded(load_timg(&t, ""));
	assert_int_equal(ram32(ent.info_gpa + 8), UINT32_MAX);
	assert_int_equal(ram64(ram32(ent.info_gpa + 48) + 48 + 12), (8ull << 40) - MiB);
}

static void guest_ram_write_failure_fails_the_load(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	for (unsigned after = 0; after < 8; after++) {
		tr.fail_with = ERR_NOMEM;
		tr.fail_after = after;
		memset(&cap, 0, sizeof(cap));
		size_t len;
		uint8_t *img = build(&t, &len);
		tr.calls = 0;
		err_t e = load_multiboot(img, len, "", "hv", &gr, &ent, capture_report, &cap);
		free(img);
		assert_int_equal(e, ERR_NOMEM);
		assert_int_equal(cap.n, 1);
		assert_non_null(strstr(cap.last, "failed (out of memory)"));
	}
	tr.fail_with = ERR_OK;
}

static void bad_arguments_are_refused(void **state)
{
	(void)state;
	struct timg t;
	elf_default(&t, true);
	mb2_default(&t);
	size_t len;
	uint8_t *img = build(&t, &len);
	struct guest_ram no_zero = { RAM_SIZE, &tr, ram_write, NULL };
	memset(&cap, 0, sizeof(cap));
	assert_int_equal(load_multiboot(NULL, 0, "", "hv", &gr, &ent, capture_report, &cap), ERR_INVAL);
	assert_int_equal(load_multiboot(img, len, "", "hv", NULL, &ent, capture_report, &cap), ERR_INVAL);
	assert_int_equal(load_multiboot(img, len, "", "hv", &no_zero, &ent, capture_report, &cap), ERR_INVAL);
	assert_int_equal(load_multiboot(img, len, "", "hv", &gr, NULL, capture_report, &cap), ERR_INVAL);
	assert_int_equal(cap.n, 4);
	assert_non_null(strstr(cap.last, "called without"));

	char *long_cmdline = malloc(64 * 1024 + 2);
	memset(long_cmdline, 'a', 64 * 1024 + 1);
	long_cmdline[64 * 1024 + 1] = 0;
	assert_refused(load_image(img, len, long_cmdline), ERR_INVAL, "longer than 65536 bytes");
	long_cmdline[64 * 1024] = 0;
	assert_loaded(load_image(img, len, long_cmdline));
	assert_int_equal(ram32(ent.info_gpa + 12), 8 + 64 * 1024 + 1);
	free(long_cmdline);
	free(img);
}

/* ---- robustness ---- */

static void truncated_images_are_refused_at_every_length(void **state)
{
	(void)state;
	struct timg t;
	for (unsigned v = 0; v < 2; v++) {
		elf_default(&t, v == 0);
		if (v == 0)
			mb2_default(&t);
		else
			mb1_header(&t, 3);
		size_t len;
		uint8_t *img = build(&t, &len);
		for (size_t n = 0; n < len; n++) {
			uint8_t *cut = malloc(n ? n : 1);
			memcpy(cut, img, n);
			err_t e = load_image(cut, n, "");
			free(cut);
			assert_int_not_equal(e, ERR_OK);
			assert_int_equal(cap.n, 1);
			assert_int_equal(tr.calls, 0);
		}
		assert_loaded(load_image(img, len, ""));
		free(img);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Values that sit on the edges the loader checks. */
static uint64_t interesting(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, 12, 16, 24, 0x40, 0x9fc00, 0x100000, 0x100040, 0x105000,
		0x3fff000, 0x4000000, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff,
		0x100000000ull, 0xffffffff80100000ull, UINT64_MAX, UINT64_MAX - 7,
		0x1badb002, 0xe85250d6, 0x36d76289,
	};
	return v[rng() % (sizeof(v) / sizeof(v[0]))];
}

static void fix_checksums(uint8_t *img, size_t len)
{
	if (len >= HDR_OFF + 16 && get32(img + HDR_OFF) == MB2_MAGIC)
		put32(img + HDR_OFF + 12, -(MB2_MAGIC + get32(img + HDR_OFF + 4) + get32(img + HDR_OFF + 8)));
	if (len >= HDR_OFF + 12 && get32(img + HDR_OFF) == MB1_MAGIC)
		put32(img + HDR_OFF + 8, -(MB1_MAGIC + get32(img + HDR_OFF + 4)));
}

static void random_mutations_never_crash(void **state)
{
	(void)state;
	enum { VARIANTS = 4, ROUNDS = 24000 };
	struct timg t;
	uint8_t *base[VARIANTS];
	size_t blen[VARIANTS];
	static const uint32_t want[] = { 1, 2, 4, 6, 8 };
	uint32_t reloc[4] = { 0x1000, 0x200000, 4096, 0 };
	unsigned ok = 0;

	for (unsigned v = 0; v < VARIANTS; v++) {
		elf_default(&t, v % 2 == 0);
		if (v < 2) {
			mb2_begin(&t);
			mb2_request(&t, 0, want, 5);
			mb2_tag32(&t, 3, 0, 0x100080);
			mb2_tag32(&t, 4, 0, 2);
			mb2_tag(&t, 10, 0, reloc, sizeof(reloc));
			mb2_tag(&t, 6, 1, NULL, 0);
			mb2_finish(&t);
		} else {
			mb1_header(&t, 7);
		}
		t.seg[2] = (struct tseg){ PT_LOAD, 0x10000, 0x10000, 0x40, 0x2000 };
		t.nseg = 3;
		base[v] = build(&t, &blen[v]);
	}
	ram_init(4 * MiB, 4 * MiB);

	for (unsigned round = 0; round < ROUNDS; round++) {
		unsigned v = (unsigned)(rng() % VARIANTS);
		size_t len = blen[v];
		uint8_t *img = malloc(len);
		memcpy(img, base[v], len);
		unsigned nmut = 1 + (unsigned)(rng() % 6);
		for (unsigned m = 0; m < nmut; m++) {
			/* Mostly the headers: the ELF header, program headers and the Multiboot header. */
			size_t span = rng() % 4 ? HDR_OFF + 0x80 : len;
			size_t off = (size_t)(rng() % span);
			switch (rng() % 4) {
			case 0:
				img[off] = (uint8_t)rng();
				break;
			case 1:
				img[off] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 2:
				off &= ~(size_t)3;
				if (off + 4 <= len)
					put32(img + off, (uint32_t)interesting());
				break;
			default:
				off &= ~(size_t)7;
				if (off + 8 <= len)
					put64(img + off, interesting());
				break;
			}
		}
		if (rng() % 2)
			fix_checksums(img, len);
		if (rng() % 8 == 0) {
			size_t n = (size_t)(rng() % len);
			uint8_t *cut = malloc(n ? n : 1);
			memcpy(cut, img, n);
			free(img);
			img = cut;
			len = n;
		}

		err_t e = load_image(img, len, "fuzz");
		assert_int_equal(tr.outside, 0);
		if (e == ERR_OK) {
			ok++;
			assert_int_equal(cap.n, 0);
			assert_true(ent.protocol == 1 || ent.protocol == 2);
			assert_int_equal(ent.eax, ent.protocol == 2 ? MB2_EAX : MB1_EAX);
			assert_true(ent.image_start < ent.image_end && ent.image_end <= 4 * MiB);
			assert_true(ent.eip >= ent.image_start && ent.eip < ent.image_end);
			assert_true(ent.info_gpa >= ent.image_end && ent.info_gpa % 4096 == 0);
			assert_true(ent.info_gpa + ent.info_size <= 4 * MiB);
			assert_int_equal(ent.ebx, ent.info_gpa);
		} else {
			assert_true(e == ERR_MALFORMED || e == ERR_UNSUPPORTED || e == ERR_NOMEM);
			assert_int_equal(cap.n, 1);
			assert_int_equal(tr.calls, 0);
		}
		free(img);
	}
	for (unsigned v = 0; v < VARIANTS; v++)
		free(base[v]);
	/* The mutations must leave a fair share loadable, or the success path went untested. */
	assert_true(ok > ROUNDS / 20);
	assert_true(ok < ROUNDS - ROUNDS / 20);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_ram, teardown_ram)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(mb2_elf64_loads_segments_zeroes_bss_and_returns_magic_and_info),
		T(mb2_elf32_loads_segments_like_elf64),
		T(mb2_info_has_cmdline_loader_meminfo_and_mmap_of_guest_ram),
		T(null_cmdline_and_loader_name_are_empty_strings),
		T(mb2_entry_address_tag_overrides_elf_entry),
		T(mb2_entry_address_tag_outside_segments_is_refused),
		T(mb2_duplicate_entry_address_tag_is_refused),
		T(mb2_header_checksum_mismatch_is_refused),
		T(mb2_header_for_another_architecture_is_refused),
		T(mb2_header_length_past_the_image_or_window_is_refused),
		T(mb2_header_without_end_tag_is_refused),
		T(mb2_end_tag_of_wrong_size_is_refused),
		T(mb2_tag_overrunning_header_length_is_refused),
		T(mb2_tag_smaller_than_its_fields_is_refused),
		T(mb2_required_unknown_info_request_is_refused_by_name),
		T(mb2_unavailable_or_optional_info_requests_are_accepted),
		T(mb2_info_request_with_a_partial_entry_is_refused),
		T(mb2_required_address_tag_is_refused_and_optional_one_ignored),
		T(mb2_required_framebuffer_tag_is_refused_and_optional_one_ignored),
		T(mb2_console_required_flags_tag_is_refused),
		T(mb2_efi_module_alignment_and_optional_unknown_tags_are_ignored),
		T(mb2_required_unknown_header_tag_is_refused),
		T(mb2_relocatable_tag_range_must_hold_the_linked_image),
		T(mb2_header_must_be_8_byte_aligned_and_within_32_kib),
		T(mb2_header_is_preferred_over_mb1_unless_its_checksum_fails),
		T(mb1_elf32_loads_and_builds_mb1_info_with_mmap),
		T(mb1_elf64_loads_like_elf32),
		T(mb1_aout_kludge_is_refused),
		T(mb1_unknown_required_flag_is_refused_by_bit),
		T(mb1_video_flag_needs_the_graphics_fields_in_the_window),
		T(mb1_header_checksum_mismatch_is_refused),
		T(mb1_header_must_be_4_byte_aligned_and_within_8_kib),
		T(no_header_is_refused),
		T(not_an_elf_image_is_refused),
		T(elf_of_the_wrong_class_encoding_machine_or_type_is_refused),
		T(segment_outside_guest_ram_is_refused),
		T(segment_above_4gib_is_refused),
		T(segment_in_the_reserved_hole_is_refused),
		T(overlapping_segments_are_refused),
		T(segment_beyond_image_is_refused),
		T(memsz_smaller_than_filesz_is_refused),
		T(overflowing_program_header_is_not_overread),
		T(entry_outside_segments_is_refused),
		T(elf64_higher_half_entry_is_translated_to_physical),
		T(elf32_physical_entry_outside_virtual_ranges_is_taken_as_physical),
		T(non_load_and_empty_segments_are_skipped),
		T(no_loadable_segment_is_refused),
		T(too_many_segments_are_refused),
		T(guest_ram_below_2mib_is_refused),
		T(boot_information_skips_the_reserved_hole_for_low_kernels),
		T(mem_upper_of_huge_guest_ram_saturates),
		T(guest_ram_write_failure_fails_the_load),
		T(bad_arguments_are_refused),
		T(truncated_images_are_refused_at_every_length),
		T(random_mutations_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
