/* test_multiboot2.c: unit tests of the Multiboot2 boot information parser (boot/multiboot2.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/multiboot2.h"

#define INFO_PHYS 0x9000ull

/* ---- building boot information in memory ---- */

struct builder {
	_Alignas(8) uint8_t buf[16384];
	size_t len;
};

static void b_begin(struct builder *b)
{
	memset(b->buf, 0, sizeof(b->buf));
	b->len = 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Appends a tag whose size field says `size` while n payload bytes are copied; returns its offset. */
static size_t b_raw(struct builder *b, uint32_t type, uint32_t size, const void *payload, size_t n)
{
	size_t off = b->len;
	assert_true(off + 8 + n + 8 <= sizeof(b->buf));
	put32(b->buf + off, type);
	put32(b->buf + off + 4, size);
	if (n)
		memcpy(b->buf + off + 8, payload, n);
	b->len = (off + 8 + n + 7) & ~(size_t)7;
	return off;
}

static size_t b_tag(struct builder *b, uint32_t type, const void *payload, size_t n)
{
	return b_raw(b, type, (uint32_t)(8 + n), payload, n);
}

static void b_string(struct builder *b, uint32_t type, const char *s)
{
	b_tag(b, type, s, strlen(s) + 1);
}

static void b_module(struct builder *b, uint32_t start, uint32_t end, const char *s)
{
	uint8_t p[256];
	size_t n = strlen(s) + 1;
	put32(p, start);
	put32(p + 4, end);
	memcpy(p + 8, s, n);
	b_tag(b, MB2_TAG_MODULE, p, 8 + n);
}

static void b_mmap(struct builder *b, uint32_t esize, const struct mb2_mmap_entry *e, unsigned n)
{
	static uint8_t p[8 + 64 * 200];
	assert_true(esize >= 24 && 8 + (size_t)esize * n <= sizeof(p));
	memset(p, 0xa5, sizeof(p)); /* junk in reserved bytes and in the tail of large entries */
	put32(p, esize);
	put32(p + 4, 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *q = p + 8 + (size_t)i * esize;
		put64(q, e[i].addr);
		put64(q + 8, e[i].len);
		put32(q + 16, e[i].type);
	}
	b_tag(b, MB2_TAG_MMAP, p, 8 + (size_t)esize * n);
}

static void b_framebuffer(struct builder *b, uint64_t addr, uint32_t pitch, uint32_t w, uint32_t h,
			  uint8_t bpp, uint8_t type)
{
	uint8_t p[30] = { 0 };
	put64(p, addr);
	put32(p + 8, pitch);
	put32(p + 12, w);
	put32(p + 16, h);
	p[20] = bpp;
	p[21] = type;
	/* RGB colour info: positions and mask sizes of red, green, blue. */
	uint8_t colour[6] = { 16, 8, 8, 8, 0, 8 };
	memcpy(p + 24, colour, 6);
	b_tag(b, MB2_TAG_FRAMEBUFFER, p, sizeof(p));
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A valid RSDP: revision 0 (20 bytes) or 2 (36 bytes) with both checksums set. */
static size_t make_rsdp(uint8_t *r, unsigned revision)
{
	size_t len = revision >= 2 ? 36 : 20;
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "TESTOE", 6);
	r[15] = (uint8_t)revision;
	put32(r + 16, 0x7fe1000);
	if (revision >= 2) {
		put32(r + 20, 36);
		put64(r + 24, 0x7fe2000);
	}
	r[8] = (uint8_t)-sum(r, 20);
	if (revision >= 2)
		r[32] = (uint8_t)-sum(r, 36);
	return len;
}

/* Ends the info and returns an exactly sized heap copy, so any overread trips ASan. */
static uint8_t *b_finish(struct builder *b, size_t *len)
{
	b_raw(b, MB2_TAG_END, 8, NULL, 0);
	put32(b->buf, (uint32_t)b->len);
	put32(b->buf + 4, 0);
	uint8_t *blob = malloc(b->len);
	assert_non_null(blob);
	memcpy(blob, b->buf, b->len);
	*len = b->len;
	return blob;
}

/* Like b_finish without an end tag: total_size covers exactly what was added. */
static uint8_t *b_finish_unterminated(struct builder *b, size_t *len)
{
	put32(b->buf, (uint32_t)b->len);
	uint8_t *blob = malloc(b->len);
	assert_non_null(blob);
	memcpy(blob, b->buf, b->len);
	*len = b->len;
	return blob;
}

/* ---- capturing reports ---- */

struct capture {
	char text[16384];
	size_t len;
	unsigned n;
};

static void capture_report(void *ctx, const char *msg)
{
	struct capture *c = ctx;
	size_t m = strlen(msg);
	assert_true(m > 0 && m < 160);
	assert_null(strchr(msg, '\n'));
	assert_memory_equal(msg, "multiboot2: ", 12);
	if (c->len + m + 2 < sizeof(c->text)) {
		memcpy(c->text + c->len, msg, m);
		c->len += m;
		c->text[c->len++] = '\n';
		c->text[c->len] = 0;
	}
	c->n++;
}

#define assert_reported(c, s)                                                      \
	do {                                                                       \
		if (!strstr((c)->text, (s)))                                       \
			fail_msg("report \"%s\" missing; got:\n%s", (s), (c)->text); \
	} while (0)

static struct boot_info bi;
static struct capture cap;

static err_t parse(const uint8_t *blob, size_t len)
{
	memset(&cap, 0, sizeof(cap));
	memset(&bi, 0xcc, sizeof(bi)); /* the parser must set every field */
	return mb2_parse(blob, INFO_PHYS, len, &bi, capture_report, &cap);
}

/* The last blob of build_and_parse stays alive so tests can read the strings bi points at. */
static uint8_t *held;

static int free_held(void **state)
{
	(void)state;
	free(held);
	held = NULL;
	return 0;
}

static err_t build_and_parse(struct builder *b)
{
	size_t len;
	free_held(NULL);
	held = b_finish(b, &len);
	return parse(held, len);
}

static const struct mb2_mmap_entry MMAP3[] = {
	{ 0x0, 0x9fc00, MB2_MEM_AVAILABLE },
	{ 0x100000, 0x7ee0000, MB2_MEM_AVAILABLE },
	{ 0xfffc0000, 0x40000, MB2_MEM_RESERVED },
};

static void b_minimal(struct builder *b)
{
	b_begin(b);
	b_mmap(b, 24, MMAP3, 3);
}

static bool inside(const void *p, const uint8_t *blob, size_t len)
{
	return (const uint8_t *)p >= blob && (const uint8_t *)p < blob + len;
}

/* ---- well-formed input ---- */

static void well_formed_info_parses_to_exact_values(void **state)
{
	(void)state;
	static struct builder b;
	uint8_t r1[36], r2[36];
	size_t n1 = make_rsdp(r1, 0), n2 = make_rsdp(r2, 2);
	uint8_t meminfo[8], efi64[8];
	put32(meminfo, 639);
	put32(meminfo + 4, 130048);
	put64(efi64, 0x7f9e018);

	b_begin(&b);
	b_string(&b, MB2_TAG_CMDLINE, "console=com1 loglevel=debug");
	b_string(&b, MB2_TAG_LOADER_NAME, "GRUB 2.06");
	b_module(&b, 0x200000, 0x201234, "initrd arg");
	b_module(&b, 0x300000, 0x300000, "");
	b_tag(&b, MB2_TAG_BASIC_MEMINFO, meminfo, 8);
	b_tag(&b, 99, "whatever", 8);               /* unknown: skipped */
	b_tag(&b, MB2_TAG_LOAD_BASE_ADDR, "\0\0\x20", 4); /* known but unused: skipped */
	b_mmap(&b, 24, MMAP3, 3);
	b_framebuffer(&b, 0xfd000000, 4096, 1024, 768, 32, 1);
	b_tag(&b, MB2_TAG_ACPI_OLD, r1, n1);
	b_tag(&b, MB2_TAG_ACPI_NEW, r2, n2);
	b_tag(&b, MB2_TAG_EFI64, efi64, 8);
	size_t len;
	uint8_t *blob = b_finish(&b, &len);

	assert_int_equal(parse(blob, len), ERR_OK);
	assert_int_equal(cap.n, 0);
	assert_int_equal(bi.info_phys, INFO_PHYS);
	assert_int_equal(bi.info_size, len);
	assert_string_equal(bi.cmdline, "console=com1 loglevel=debug");
	assert_true(inside(bi.cmdline, blob, len));
	assert_string_equal(bi.loader_name, "GRUB 2.06");
	assert_int_equal(bi.nmodules, 2);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x201234);
	assert_string_equal(bi.modules[0].cmdline, "initrd arg");
	assert_true(inside(bi.modules[0].cmdline, blob, len));
	assert_int_equal(bi.modules[1].start, 0x300000);
	assert_int_equal(bi.modules[1].end, 0x300000);
	assert_string_equal(bi.modules[1].cmdline, "");
	assert_true(bi.has_meminfo);
	assert_int_equal(bi.mem_lower_kb, 639);
	assert_int_equal(bi.mem_upper_kb, 130048);
	assert_int_equal(bi.nmmap, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(bi.mmap[i].addr, MMAP3[i].addr);
		assert_int_equal(bi.mmap[i].len, MMAP3[i].len);
		assert_int_equal(bi.mmap[i].type, MMAP3[i].type);
	}
	assert_true(bi.has_framebuffer);
	assert_int_equal(bi.fb.addr, 0xfd000000);
	assert_int_equal(bi.fb.pitch, 4096);
	assert_int_equal(bi.fb.width, 1024);
	assert_int_equal(bi.fb.height, 768);
	assert_int_equal(bi.fb.bpp, 32);
	assert_int_equal(bi.fb.type, 1);
	assert_non_null(bi.rsdp);
	assert_true(inside(bi.rsdp, blob, len));
	assert_int_equal(bi.acpi_revision, 2);
	assert_int_equal(bi.rsdp_len, 36);
	assert_memory_equal(bi.rsdp, r2, 36);
	assert_true(bi.efi_boot);
	free(blob);
}

static void absent_optional_tags_leave_empty_defaults(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 0);
	assert_string_equal(bi.cmdline, "");
	assert_string_equal(bi.loader_name, "");
	assert_int_equal(bi.nmodules, 0);
	assert_false(bi.has_meminfo);
	assert_false(bi.has_framebuffer);
	assert_null(bi.rsdp);
	assert_int_equal(bi.rsdp_len, 0);
	assert_int_equal(bi.acpi_revision, 0);
	assert_false(bi.efi_boot);
}

static void mmap_entries_are_stepped_by_entry_size(void **state)
{
	(void)state;
	static struct builder b;
	b_begin(&b);
	b_mmap(&b, 40, MMAP3, 3); /* 16 bytes of 0xa5 junk after each entry */
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 0);
	assert_int_equal(bi.nmmap, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(bi.mmap[i].addr, MMAP3[i].addr);
		assert_int_equal(bi.mmap[i].len, MMAP3[i].len);
		assert_int_equal(bi.mmap[i].type, MMAP3[i].type);
	}
}

static void mmap_drops_zero_length_entries_silently(void **state)
{
	(void)state;
	static struct builder b;
	const struct mb2_mmap_entry e[] = {
		{ 0x1000, 0, MB2_MEM_AVAILABLE }, { 0x100000, 0x100000, MB2_MEM_AVAILABLE },
	};
	b_begin(&b);
	b_mmap(&b, 24, e, 2);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 0);
	assert_int_equal(bi.nmmap, 1);
	assert_int_equal(bi.mmap[0].addr, 0x100000);
}

static void mmap_reports_and_ignores_entries_that_wrap_the_address_space(void **state)
{
	(void)state;
	static struct builder b;
	const struct mb2_mmap_entry e[] = {
		{ 0xfffffffffffff000ull, 0x1000, MB2_MEM_RESERVED },  /* ends at 2^64 exactly */
		{ 0x100000, 0x100000, MB2_MEM_AVAILABLE },
		{ 0xffffffffffff0000ull, 0xfffff, MB2_MEM_RESERVED },
		{ 0xfffffffffffff000ull, 0xfff, MB2_MEM_RESERVED },   /* ends at 2^64 - 1 */
	};
	b_begin(&b);
	b_mmap(&b, 24, e, 4);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 2);
	assert_reported(&cap, "multiboot2: tag 6 (memory map): entry 0 (0xfffffffffffff000 + 0x1000)");
	assert_reported(&cap, "multiboot2: tag 6 (memory map): entry 2 ");
	assert_int_equal(bi.nmmap, 2);
	assert_int_equal(bi.mmap[0].addr, 0x100000);
	assert_int_equal(bi.mmap[1].len, 0xfff);
}

static void mmap_keeps_the_first_entries_when_there_are_too_many(void **state)
{
	(void)state;
	static struct builder b;
	static struct mb2_mmap_entry e[MB2_MAX_MMAP + 5];
	for (unsigned i = 0; i < MB2_MAX_MMAP + 5; i++)
		e[i] = (struct mb2_mmap_entry){ (uint64_t)i << 20, 1u << 20, MB2_MEM_AVAILABLE };
	b_begin(&b);
	b_mmap(&b, 24, e, MB2_MAX_MMAP + 5);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 1);
	assert_reported(&cap, "tag 6 (memory map): 133 entries, more than the 128 kept");
	assert_int_equal(bi.nmmap, MB2_MAX_MMAP);
	assert_int_equal(bi.mmap[MB2_MAX_MMAP - 1].addr, (uint64_t)(MB2_MAX_MMAP - 1) << 20);
}

static void acpi_v2_is_preferred_over_v1_in_either_order(void **state)
{
	(void)state;
	static struct builder b;
	uint8_t r1[36], r2[36];
	size_t n1 = make_rsdp(r1, 0), n2 = make_rsdp(r2, 2);
	b_minimal(&b);
	b_tag(&b, MB2_TAG_ACPI_NEW, r2, n2);
	b_tag(&b, MB2_TAG_ACPI_OLD, r1, n1);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 0);
	assert_int_equal(bi.acpi_revision, 2);
	assert_int_equal(bi.rsdp_len, 36);
}

static void acpi_v1_alone_is_used(void **state)
{
	(void)state;
	static struct builder b;
	uint8_t r1[36];
	size_t n1 = make_rsdp(r1, 0);
	b_minimal(&b);
	b_tag(&b, MB2_TAG_ACPI_OLD, r1, n1);
	size_t len;
	uint8_t *blob = b_finish(&b, &len);
	assert_int_equal(parse(blob, len), ERR_OK);
	assert_int_equal(cap.n, 0);
	assert_int_equal(bi.acpi_revision, 1);
	assert_int_equal(bi.rsdp_len, 20);
	assert_memory_equal(bi.rsdp, r1, 20);
	free(blob);
}

static void efi32_tag_marks_an_efi_boot(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	b_tag(&b, MB2_TAG_EFI32, "\x18\xe0\xf9\x07", 4);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_true(bi.efi_boot);
}

static void parse_works_without_a_report_callback(void **state)
{
	(void)state;
	static struct builder b;
	b_begin(&b);
	b_raw(&b, MB2_TAG_CMDLINE, 12, "abcd", 4);
	size_t len;
	uint8_t *blob = b_finish(&b, &len);
	assert_int_equal(mb2_parse(blob, 0, len, &bi, NULL, NULL), ERR_MISSING);
	assert_string_equal(bi.cmdline, "");
	free(blob);
}

/* ---- malformed structure ---- */

static void misaligned_or_null_info_is_malformed(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	size_t len;
	uint8_t *blob = b_finish(&b, &len);
	uint8_t *shifted = malloc(len + 4);
	memcpy(shifted + 4, blob, len);
	assert_int_equal(parse(shifted + 4, len), ERR_MALFORMED);
	assert_reported(&cap, "not 8-byte aligned");
	assert_int_equal(parse(NULL, len), ERR_MALFORMED);
	assert_int_equal(cap.n, 1);
	free(shifted);
	free(blob);
}

static void total_size_below_16_or_beyond_limit_is_malformed(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	size_t len;
	uint8_t *blob = b_finish(&b, &len);

	assert_int_equal(parse(blob, len - 8), ERR_MALFORMED);
	char want[80];
	snprintf(want, sizeof(want), "multiboot2: total_size %zu exceeds the %zu readable bytes", len, len - 8);
	assert_reported(&cap, want);
	assert_int_equal(parse(blob, 4), ERR_MALFORMED);
	assert_reported(&cap, "only 4 bytes are readable");
	assert_int_equal(parse(blob, 0), ERR_MALFORMED);
	put32(blob, 8);
	assert_int_equal(parse(blob, len), ERR_MALFORMED);
	assert_reported(&cap, "total_size 8 is smaller than 16");
	put32(blob, 0xffffffff);
	assert_int_equal(parse(blob, len), ERR_MALFORMED);
	assert_reported(&cap, "total_size 4294967295 exceeds");
	free(blob);
}

static void tag_size_below_8_is_malformed(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 0, 1, 7 };
	for (unsigned i = 0; i < 3; i++) {
		static struct builder b;
		b_minimal(&b);
		b_raw(&b, MB2_TAG_CMDLINE, sizes[i], "x\0\0\0\0\0\0", 8);
		char want[96];
		snprintf(want, sizeof(want), "multiboot2: tag 1 (command line): size %u at offset ", sizes[i]);
		assert_int_equal(build_and_parse(&b), ERR_MALFORMED);
		assert_reported(&cap, want);
		assert_reported(&cap, "is smaller than 8");
	}
}

static void tag_running_past_total_size_is_malformed(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 0xffffffff, 0xfffffff8, 0x80000000, 4096 };
	for (unsigned i = 0; i < 4; i++) {
		static struct builder b;
		b_minimal(&b);
		b_raw(&b, 3, sizes[i], "\0\0\0\0\0\0\0\0", 8);
		assert_int_equal(build_and_parse(&b), ERR_MALFORMED);
		assert_reported(&cap, "multiboot2: tag 3 (module): size ");
		assert_reported(&cap, "runs past total_size");
	}
}

static void unknown_tag_with_bad_size_is_named_unknown(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	b_raw(&b, 0xdeadbeef, 3, NULL, 0);
	assert_int_equal(build_and_parse(&b), ERR_MALFORMED);
	assert_reported(&cap, "multiboot2: tag 3735928559 (unknown): size 3");
}

static void missing_end_tag_is_malformed(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	b_string(&b, MB2_TAG_CMDLINE, "abc");
	size_t len;
	uint8_t *blob = b_finish_unterminated(&b, &len);
	assert_int_equal(parse(blob, len), ERR_MALFORMED);
	assert_reported(&cap, "no end tag (type 0)");
	free(blob);
}

static void end_tag_of_wrong_size_is_malformed(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	b_raw(&b, MB2_TAG_END, 16, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(build_and_parse(&b), ERR_MALFORMED);
	assert_reported(&cap, "multiboot2: tag 0 (end): size 16 is not 8");
}

/* ---- memory map problems ---- */

static void missing_mmap_is_reported_after_parsing_the_rest(void **state)
{
	(void)state;
	static struct builder b;
	b_begin(&b);
	b_string(&b, MB2_TAG_CMDLINE, "loglevel=debug");
	b_module(&b, 0x1000, 0x2000, "m");
	assert_int_equal(build_and_parse(&b), ERR_MISSING);
	assert_int_equal(cap.n, 1);
	assert_reported(&cap, "multiboot2: no memory map tag (type 6)");
	assert_string_equal(bi.cmdline, "loglevel=debug");
	assert_int_equal(bi.nmodules, 1);
}

/* Builds a map tag with the given entry_size over `bytes` bytes of entries. */
static err_t parse_mmap_shape(uint32_t esize, uint32_t bytes)
{
	static struct builder b;
	static uint8_t p[8 + 256];
	memset(p, 0x11, sizeof(p));
	put32(p, esize);
	put32(p + 4, 0);
	b_begin(&b);
	b_tag(&b, MB2_TAG_MMAP, p, 8 + bytes);
	return build_and_parse(&b);
}

static void mmap_with_bad_entry_size_is_malformed(void **state)
{
	(void)state;
	assert_int_equal(parse_mmap_shape(16, 48), ERR_MALFORMED);
	assert_reported(&cap, "multiboot2: tag 6 (memory map): entry_size 16 is smaller than 24\n");
	assert_int_equal(bi.nmmap, 0);
	assert_int_equal(parse_mmap_shape(0, 48), ERR_MALFORMED);
	assert_reported(&cap, "multiboot2: tag 6 (memory map): entry_size 0 is smaller than 24");
	assert_int_equal(parse_mmap_shape(28, 56), ERR_MALFORMED);
	assert_reported(&cap, "multiboot2: tag 6 (memory map): entry_size 28 is not a multiple of 8");
	assert_int_equal(parse_mmap_shape(0xfffffff8, 48), ERR_MALFORMED);
	assert_reported(&cap, "tag 6 (memory map): 48 bytes of entries are not a whole number of 4294967288-byte entries");
}

static void mmap_with_entries_not_fitting_the_tag_is_malformed(void **state)
{
	(void)state;
	assert_int_equal(parse_mmap_shape(24, 40), ERR_MALFORMED);
	assert_reported(&cap, "multiboot2: tag 6 (memory map): 40 bytes of entries are not a whole number of 24-byte entries");
	assert_int_equal(bi.nmmap, 0);
	assert_int_equal(parse_mmap_shape(24, 0), ERR_OK); /* an empty map is well-formed */
	assert_int_equal(bi.nmmap, 0);
}

static void mmap_tag_too_short_for_its_header_is_malformed(void **state)
{
	(void)state;
	static struct builder b;
	b_begin(&b);
	b_raw(&b, MB2_TAG_MMAP, 12, "\x18\0\0\0", 4);
	assert_int_equal(build_and_parse(&b), ERR_MALFORMED);
	assert_reported(&cap, "multiboot2: tag 6 (memory map): size 12 is too small for entry_size and entry_version");
}

static void duplicate_mmap_and_cmdline_keep_the_first(void **state)
{
	(void)state;
	static struct builder b;
	b_begin(&b);
	b_string(&b, MB2_TAG_CMDLINE, "first");
	b_mmap(&b, 24, MMAP3, 3);
	b_string(&b, MB2_TAG_CMDLINE, "second");
	b_mmap(&b, 24, MMAP3, 1);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 2);
	assert_reported(&cap, "multiboot2: tag 1 (command line): duplicate tag; keeping the first");
	assert_reported(&cap, "multiboot2: tag 6 (memory map): duplicate tag; keeping the first");
	assert_string_equal(bi.cmdline, "first");
	assert_int_equal(bi.nmmap, 3);
}

/* ---- optional tags that are wrong ---- */

static void unterminated_cmdline_is_reported_and_empty(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	/* The padding after the tag is zero: a parser reading past the tag would find a NUL. */
	b_raw(&b, MB2_TAG_CMDLINE, 8 + 5, "abcde", 5);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 1 (command line): string is not NUL-terminated");
	assert_string_equal(bi.cmdline, "");
}

static void unterminated_loader_name_is_reported_and_empty(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	b_raw(&b, MB2_TAG_LOADER_NAME, 8, NULL, 0);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 2 (boot loader name): string is not NUL-terminated");
	assert_string_equal(bi.loader_name, "");
}

static void bad_modules_are_reported_and_ignored(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	b_module(&b, 0x2000, 0x1000, "backwards");
	b_raw(&b, MB2_TAG_MODULE, 8 + 8 + 3, "\0\x10\0\0\0\x20\0\0abc", 11);
	b_raw(&b, MB2_TAG_MODULE, 8 + 8, "\0\x10\0\0\0\x20\0\0", 8);
	b_module(&b, 0x1000, 0x2000, "good");
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 3);
	assert_reported(&cap, "multiboot2: tag 3 (module): mod_end 0x1000 is below mod_start 0x2000; module ignored");
	assert_reported(&cap, "multiboot2: tag 3 (module): module string is not NUL-terminated");
	assert_reported(&cap, "multiboot2: tag 3 (module): size 16 is too small");
	assert_int_equal(bi.nmodules, 1);
	assert_string_equal(bi.modules[0].cmdline, "good");
}

static void modules_beyond_the_maximum_are_reported_and_ignored(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	for (uint32_t i = 0; i < MB2_MAX_MODULES + 2; i++)
		b_module(&b, i << 16, (i << 16) + 0x100, "m");
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 2);
	assert_reported(&cap, "multiboot2: tag 3 (module): more than 32 modules; module at 0x200000-0x200100 ignored");
	assert_int_equal(bi.nmodules, MB2_MAX_MODULES);
	assert_int_equal(bi.modules[MB2_MAX_MODULES - 1].start, (MB2_MAX_MODULES - 1) << 16);
}

static void bad_framebuffers_are_reported_and_ignored(void **state)
{
	(void)state;
	static struct builder b;

	b_minimal(&b);
	b_raw(&b, MB2_TAG_FRAMEBUFFER, 8 + 21, "\0\0\0\xfd\0\0\0\0\0\x10\0\0\0\x04\0\0\0\x03\0\0\x20", 21);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 8 (framebuffer): size 29 is smaller than 30; ignored");
	assert_false(bi.has_framebuffer);

	b_minimal(&b);
	b_framebuffer(&b, 0xfd000000, 4096, 1024, 768, 32, 3);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 8 (framebuffer): framebuffer_type 3 is not 0, 1 or 2");
	assert_false(bi.has_framebuffer);

	b_minimal(&b);
	b_framebuffer(&b, 0xfd000000, 1024, 1024, 768, 32, 1);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 8 (framebuffer): pitch 1024 is too small for width 1024 at 32 bpp");
	assert_false(bi.has_framebuffer);

	b_minimal(&b);
	b_framebuffer(&b, 0xb8000, 160, 80, 25, 16, 2); /* EGA text is fine */
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_int_equal(cap.n, 0);
	assert_true(bi.has_framebuffer);
}

static void short_meminfo_and_efi_tags_are_reported_and_ignored(void **state)
{
	(void)state;
	static struct builder b;
	b_minimal(&b);
	b_raw(&b, MB2_TAG_BASIC_MEMINFO, 12, "\x7f\x02\0\0", 4);
	b_raw(&b, MB2_TAG_EFI64, 12, "\x7f\x02\0\0", 4);
	b_raw(&b, MB2_TAG_EFI32, 8, NULL, 0);
	assert_int_equal(build_and_parse(&b), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 4 (basic memory info): size 12 is smaller than 16");
	assert_reported(&cap, "multiboot2: tag 12 (EFI 64-bit system table): size 12 is smaller than 16");
	assert_reported(&cap, "multiboot2: tag 11 (EFI 32-bit system table): size 8 is smaller than 12");
	assert_false(bi.has_meminfo);
	assert_false(bi.efi_boot);
}

/* Parses a minimal info plus one RSDP tag holding the n bytes at r. */
static err_t parse_with_rsdp(uint32_t type, const uint8_t *r, size_t n)
{
	static struct builder b;
	b_minimal(&b);
	b_tag(&b, type, r, n);
	return build_and_parse(&b);
}

static void bad_rsdp_is_reported_and_ignored(void **state)
{
	(void)state;
	uint8_t r[48];

	make_rsdp(r, 0);
	r[0] = 'X';
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_OLD, r, 20), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 14 (ACPI old RSDP): RSDP signature is not \"RSD PTR \"");
	assert_null(bi.rsdp);

	make_rsdp(r, 0);
	r[19] ^= 1;
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_OLD, r, 20), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 14 (ACPI old RSDP): RSDP checksum over the first 20 bytes is wrong");
	assert_null(bi.rsdp);

	make_rsdp(r, 0);
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_OLD, r, 19), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 14 (ACPI old RSDP): 19 bytes are too few for an RSDP v1 (20)");
	assert_null(bi.rsdp);

	make_rsdp(r, 2);
	r[30] ^= 0x40; /* the XSDT address: only the extended checksum covers it */
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_NEW, r, 36), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 15 (ACPI new RSDP): RSDP extended checksum over 36 bytes is wrong");
	assert_null(bi.rsdp);

	make_rsdp(r, 2);
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_NEW, r, 35), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 15 (ACPI new RSDP): 35 bytes are too few for an RSDP v2 (36)");
	assert_null(bi.rsdp);

	make_rsdp(r, 0); /* a revision-0 RSDP in the v2 tag has no length field */
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_NEW, r, 36), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 15 (ACPI new RSDP): RSDP revision 0 is below 2");
	assert_null(bi.rsdp);

	make_rsdp(r, 2);
	put32(r + 20, 20);
	r[8] = 0;
	r[8] = (uint8_t)-sum(r, 20);
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_NEW, r, 36), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 15 (ACPI new RSDP): RSDP length 20 is smaller than 36");
	assert_null(bi.rsdp);
}

static void rsdp_v2_longer_than_its_tag_is_kept_with_a_report(void **state)
{
	(void)state;
	uint8_t r[48];
	make_rsdp(r, 2);
	put32(r + 20, 0xffffffff);
	r[8] = 0;
	r[8] = (uint8_t)-sum(r, 20);
	assert_int_equal(parse_with_rsdp(MB2_TAG_ACPI_NEW, r, 36), ERR_OK);
	assert_reported(&cap, "multiboot2: tag 15 (ACPI new RSDP): RSDP length 4294967295 exceeds the 36 bytes in the tag");
	assert_non_null(bi.rsdp);
	assert_int_equal(bi.rsdp_len, 36);
	assert_int_equal(bi.acpi_revision, 2);
}

/* ---- hostile input ---- */

/* Every tag here ends exactly at the end of the heap block: any read past it trips ASan. */
static void truncated_tags_at_the_end_of_the_info_are_not_overread(void **state)
{
	(void)state;
	static const struct {
		uint32_t type, n;
		const char *payload;
	} cases[] = {
		{ MB2_TAG_CMDLINE, 8, "abcdefgh" },
		{ MB2_TAG_LOADER_NAME, 8, "GRUB 2.x" },
		{ MB2_TAG_MODULE, 16, "\0\0\x10\0\0\0\x20\0modmodmo" },
		{ MB2_TAG_MODULE, 8, "\0\0\x10\0\0\0\x20\0" },
		{ MB2_TAG_MMAP, 8, "\x18\0\0\0\0\0\0\0" },
		{ MB2_TAG_MMAP, 32, "\x18\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x10\0\0\0\0\0\x01\0\0\0\0\0\0\0" },
		{ MB2_TAG_FRAMEBUFFER, 24, "\0\0\0\xfd\0\0\0\0\0\x10\0\0\0\x04\0\0\0\x03\0\0\0\0\0\0" },
		{ MB2_TAG_ACPI_OLD, 16, "RSD PTR \0\0\0\0\0\0\0\0" },
		{ MB2_TAG_ACPI_NEW, 24, "RSD PTR \0\0\0\0\0\0\0\x02\0\0\0\0\xff\xff\0\0" },
		{ MB2_TAG_EFI64, 0, "" },
		{ MB2_TAG_BASIC_MEMINFO, 0, "" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct builder b;
		b_begin(&b);
		b_tag(&b, cases[i].type, cases[i].payload, cases[i].n);
		size_t len;
		uint8_t *blob = b_finish_unterminated(&b, &len);
		assert_int_equal(parse(blob, len), ERR_MALFORMED);
		assert_reported(&cap, "no end tag");
		free(blob);
	}
}

static void header_only_info_is_not_overread(void **state)
{
	(void)state;
	for (uint32_t total = 0; total <= 24; total += 8) {
		uint8_t *blob = calloc(1, total ? total : 1);
		if (total >= 4)
			put32(blob, total);
		assert_int_equal(parse(blob, total), ERR_MALFORMED);
		assert_int_equal(cap.n, 1);
		free(blob);
	}
}

/* xorshift64: reproducible pseudo-random mutations. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void check_consistent(const uint8_t *blob, size_t len)
{
	assert_true(bi.nmmap <= MB2_MAX_MMAP);
	assert_true(bi.nmodules <= MB2_MAX_MODULES);
	for (unsigned i = 0; i < bi.nmmap; i++) {
		assert_true(bi.mmap[i].len != 0);
		assert_true(bi.mmap[i].addr + bi.mmap[i].len > bi.mmap[i].addr);
	}
	const char *strs[MB2_MAX_MODULES + 2] = { bi.cmdline, bi.loader_name };
	for (unsigned i = 0; i < bi.nmodules; i++) {
		strs[2 + i] = bi.modules[i].cmdline;
		assert_true(bi.modules[i].start <= bi.modules[i].end);
	}
	for (unsigned i = 0; i < 2 + bi.nmodules; i++) {
		if (!inside(strs[i], blob, len)) {
			assert_string_equal(strs[i], ""); /* the static default */
			continue;
		}
		assert_non_null(memchr(strs[i], 0, (size_t)(blob + len - (const uint8_t *)strs[i])));
	}
	if (bi.rsdp) {
		assert_true(inside(bi.rsdp, blob, len));
		assert_true((const uint8_t *)bi.rsdp + bi.rsdp_len <= blob + len);
		assert_memory_equal(bi.rsdp, "RSD PTR ", 8);
	}
}

static void random_mutations_never_crash_or_overread(void **state)
{
	(void)state;
	static struct builder b;
	static const uint32_t interesting[] = {
		0, 1, 7, 8, 9, 15, 16, 20, 24, 32, 36, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff,
	};
	uint8_t r1[36], r2[36];
	size_t n1 = make_rsdp(r1, 0), n2 = make_rsdp(r2, 2);

	b_begin(&b);
	b_string(&b, MB2_TAG_CMDLINE, "console=com1");
	b_string(&b, MB2_TAG_LOADER_NAME, "GRUB");
	b_module(&b, 0x200000, 0x300000, "mod");
	b_mmap(&b, 24, MMAP3, 3);
	b_framebuffer(&b, 0xfd000000, 4096, 1024, 768, 32, 1);
	b_tag(&b, MB2_TAG_ACPI_OLD, r1, n1);
	b_tag(&b, MB2_TAG_ACPI_NEW, r2, n2);
	size_t len;
	uint8_t *orig = b_finish(&b, &len);
	unsigned results[3] = { 0 };

	for (unsigned iter = 0; iter < 5000; iter++) {
		/* Sometimes cut the readable part short, keeping 8-byte alignment of the copy. */
		size_t limit = rng() % 4 ? len : (size_t)(rng() % (len + 1));
		uint8_t *blob = malloc(limit ? limit : 1);
		memcpy(blob, orig, limit);
		unsigned nmut = 1 + (unsigned)(rng() % 6);
		for (unsigned m = 0; m < nmut && limit >= 4; m++) {
			size_t at = (size_t)(rng() % (limit - 3));
			switch (rng() % 4) {
			case 0:
				blob[at] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 1:
				blob[at] = (uint8_t)rng();
				break;
			default: /* a whole aligned word: hits sizes, entry_size, lengths */
				at &= ~(size_t)3;
				put32(blob + at, rng() % 2 ? interesting[rng() % (sizeof(interesting) / sizeof(interesting[0]))] : (uint32_t)rng());
				break;
			}
		}
		if (rng() % 8 == 0 && limit >= 4)
			put32(blob, (uint32_t)limit);
		err_t e = parse(blob, limit);
		assert_true(e == ERR_OK || e == ERR_MALFORMED || e == ERR_MISSING);
		results[e == ERR_OK ? 0 : e == ERR_MALFORMED ? 1 : 2]++;
		if (e != ERR_MALFORMED)
			check_consistent(blob, limit);
		free(blob);
	}
	/* The mutations must exercise both acceptance and rejection. */
	assert_true(results[0] > 100);
	assert_true(results[1] > 100);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(well_formed_info_parses_to_exact_values),
		cmocka_unit_test(absent_optional_tags_leave_empty_defaults),
		cmocka_unit_test(mmap_entries_are_stepped_by_entry_size),
		cmocka_unit_test(mmap_drops_zero_length_entries_silently),
		cmocka_unit_test(mmap_reports_and_ignores_entries_that_wrap_the_address_space),
		cmocka_unit_test(mmap_keeps_the_first_entries_when_there_are_too_many),
		cmocka_unit_test(acpi_v2_is_preferred_over_v1_in_either_order),
		cmocka_unit_test(acpi_v1_alone_is_used),
		cmocka_unit_test(efi32_tag_marks_an_efi_boot),
		cmocka_unit_test(parse_works_without_a_report_callback),
		cmocka_unit_test(misaligned_or_null_info_is_malformed),
		cmocka_unit_test(total_size_below_16_or_beyond_limit_is_malformed),
		cmocka_unit_test(tag_size_below_8_is_malformed),
		cmocka_unit_test(tag_running_past_total_size_is_malformed),
		cmocka_unit_test(unknown_tag_with_bad_size_is_named_unknown),
		cmocka_unit_test(missing_end_tag_is_malformed),
		cmocka_unit_test(end_tag_of_wrong_size_is_malformed),
		cmocka_unit_test(missing_mmap_is_reported_after_parsing_the_rest),
		cmocka_unit_test(mmap_with_bad_entry_size_is_malformed),
		cmocka_unit_test(mmap_with_entries_not_fitting_the_tag_is_malformed),
		cmocka_unit_test(mmap_tag_too_short_for_its_header_is_malformed),
		cmocka_unit_test(duplicate_mmap_and_cmdline_keep_the_first),
		cmocka_unit_test(unterminated_cmdline_is_reported_and_empty),
		cmocka_unit_test(unterminated_loader_name_is_reported_and_empty),
		cmocka_unit_test(bad_modules_are_reported_and_ignored),
		cmocka_unit_test(modules_beyond_the_maximum_are_reported_and_ignored),
		cmocka_unit_test(bad_framebuffers_are_reported_and_ignored),
		cmocka_unit_test(short_meminfo_and_efi_tags_are_reported_and_ignored),
		cmocka_unit_test(bad_rsdp_is_reported_and_ignored),
		cmocka_unit_test(rsdp_v2_longer_than_its_tag_is_kept_with_a_report),
		cmocka_unit_test(truncated_tags_at_the_end_of_the_info_are_not_overread),
		cmocka_unit_test(header_only_info_is_not_overread),
		cmocka_unit_test(random_mutations_never_crash_or_overread),
	};
	return cmocka_run_group_tests(tests, NULL, free_held);
}
