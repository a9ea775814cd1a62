/* test_strio.c: unit tests of the INS/OUTS decoder (vmm/emul/strio.c), against encodings from the SDM and objdump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "vmm/emul/strio.h"

struct enc {
	const char *what;
	uint8_t bytes[15];
	unsigned n;
	bool mode64, cs_d;
	bool ok, in, rep;
	enum seg_reg seg;
	unsigned addr_size, len;
};

static const struct enc encodings[] = {
	{ "insb (64-bit)", { 0x6c }, 1, true, false, true, true, false, SEG_DS, 8, 1 },
	{ "rep insd", { 0xf3, 0x6d }, 2, true, false, true, true, true, SEG_DS, 8, 2 },
	{ "rep insw: 66 is operand size only", { 0x66, 0xf3, 0x6d }, 3, true, false, true, true,
	  true, SEG_DS, 8, 3 },
	{ "addr32 rep insl in 64-bit mode", { 0x67, 0xf3, 0x6d }, 3, true, false, true, true, true,
	  SEG_DS, 4, 3 },
	{ "rep outsb %fs:(%rsi)", { 0xf3, 0x64, 0x6e }, 3, true, false, true, false, true, SEG_FS,
	  8, 3 },
	{ "outsw in 32-bit code", { 0x66, 0x6f }, 2, false, true, true, false, false, SEG_DS, 4, 2 },
	{ "addr16 outsb in 32-bit code", { 0x67, 0x6e }, 2, false, true, true, false, false, SEG_DS,
	  2, 2 },
	{ "outsb in 16-bit code", { 0x6e }, 1, false, false, true, false, false, SEG_DS, 2, 1 },
	{ "addr32 outsb in 16-bit code", { 0x67, 0x6e }, 2, false, false, true, false, false,
	  SEG_DS, 4, 2 },
	{ "rep outsb with a REX prefix", { 0xf3, 0x48, 0x6e }, 3, true, false, true, false, true,
	  SEG_DS, 8, 3 },
	{ "es: override of outs", { 0x26, 0x6e }, 2, true, false, true, false, false, SEG_ES, 8, 2 },
	{ "in al, dx is not string I/O", { 0xec }, 1, true, false, false, false, false, SEG_DS, 0, 0 },
	{ "prefixes only", { 0xf3, 0x66 }, 2, true, false, false, false, false, SEG_DS, 0, 0 },
};

static void encodings_decode_as_the_sdm_says(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		const struct enc *e = &encodings[i];
		struct strio d = { 0 };
		bool ok = strio_decode(e->bytes, e->n, e->mode64, e->cs_d, &d);
		if (ok != e->ok)
			fail_msg("%s: decoded %d, want %d", e->what, ok, e->ok);
		if (ok && (d.in != e->in || d.rep != e->rep || d.seg != e->seg ||
			   d.addr_size != e->addr_size || d.len != e->len))
			fail_msg("%s: in %d rep %d seg %d size %u len %u", e->what, d.in, d.rep, d.seg,
				 d.addr_size, d.len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encodings_decode_as_the_sdm_says),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
