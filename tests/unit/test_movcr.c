/* test_movcr.c: unit tests of the MOV-to/from-CR decoder (vmm/emul/movcr.c), against encodings from the SDM and objdump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "vmm/emul/movcr.h"

struct enc {
	uint8_t bytes[15];
	unsigned n;
	bool mode64;
	bool ok, to_cr, lock;
	uint8_t cr, gpr, len;
	enum movcr_kind kind;
};

static const struct enc encodings[] = {
	/* mov cr4, rax */
	{ { 0x0f, 0x22, 0xe0 }, 3, true, true, true, false, 4, 0, 3, MOVCR_TO },
	/* mov cr4, eax (32-bit code) */
	{ { 0x0f, 0x22, 0xe0 }, 3, false, true, true, false, 4, 0, 3, MOVCR_TO },
	/* mov cr4, r9: REX.B */
	{ { 0x41, 0x0f, 0x22, 0xe1 }, 4, true, true, true, false, 4, 9, 4, MOVCR_TO },
	/* mov rdi, cr4 */
	{ { 0x0f, 0x20, 0xe7 }, 3, true, true, false, false, 4, 7, 3, MOVCR_FROM },
	/* mov dr7, rax */
	{ { 0x0f, 0x23, 0xf8 }, 3, true, true, true, false, 7, 0, 3, MOVCR_DR_TO },
	/* mov r11, dr6 */
	{ { 0x41, 0x0f, 0x21, 0xf3 }, 4, true, true, false, false, 6, 11, 4, MOVCR_DR_FROM },
	/* clts */
	{ { 0x0f, 0x06 }, 2, false, true, true, false, 0, 0, 2, MOVCR_CLTS },
	/* lmsw ax */
	{ { 0x0f, 0x01, 0xf0 }, 3, false, true, true, false, 0, 0, 3, MOVCR_LMSW },
	/* lmsw r10w */
	{ { 0x41, 0x0f, 0x01, 0xf2 }, 4, true, true, true, false, 0, 10, 4, MOVCR_LMSW },
	/* lmsw [eax]: a memory operand is not decoded here */
	{ { 0x0f, 0x01, 0x30 }, 3, false, false, false, false, 0, 0, 0, MOVCR_LMSW },
	/* smsw eax (0F 01 /4) is not LMSW */
	{ { 0x0f, 0x01, 0xe0 }, 3, false, false, false, false, 0, 0, 0, MOVCR_LMSW },
	/* mov cr8, rbx: REX.R */
	{ { 0x44, 0x0f, 0x22, 0xc3 }, 4, true, true, true, false, 8, 3, 4, MOVCR_TO },
	/* 0x44 is INC ESP outside 64-bit mode: no REX there */
	{ { 0x44, 0x0f, 0x22, 0xc3 }, 4, false, false, false, false, 0, 0, 0, MOVCR_TO },
	/* lock mov cr0, eax: AMD's CR8 */
	{ { 0xf0, 0x0f, 0x22, 0xc0 }, 4, false, true, true, true, 0, 0, 4, MOVCR_TO },
	/* a segment override and an operand-size prefix are skipped; mod bits ignored */
	{ { 0x2e, 0x66, 0x0f, 0x22, 0x26 }, 5, false, true, true, false, 4, 6, 5, MOVCR_TO },
	/* a REX before the legacy prefix does not count */
	{ { 0x41, 0x66, 0x0f, 0x22, 0xe1 }, 5, true, false, false, false, 0, 0, 0, MOVCR_TO },
	/* not MOV CR: mov eax, ebx */
	{ { 0x89, 0xd8 }, 2, true, false, false, false, 0, 0, 0, MOVCR_TO },
	/* truncated */
	{ { 0x0f, 0x22 }, 2, true, false, false, false, 0, 0, 0, MOVCR_TO },
	/* fourteen prefixes and the opcode run past 15 bytes */
	{ { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x0f, 0x22 },
	  15, true, false, false, false, 0, 0, 0, MOVCR_TO },
};

static void encodings_decode_as_the_sdm_says(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		const struct enc *e = &encodings[i];
		struct movcr m = { 0 };
		bool ok = movcr_decode(e->bytes, e->n, e->mode64, &m);
		if (ok != e->ok)
			fail_msg("encoding %u: decoded %d, want %d", i, ok, e->ok);
		if (!ok)
			continue;
		if (m.to_cr != e->to_cr || m.cr != e->cr || m.gpr != e->gpr || m.lock != e->lock ||
		    m.len != e->len || m.kind != e->kind)
			fail_msg("encoding %u: to_cr %d cr %u gpr %u lock %d len %u", i, m.to_cr, m.cr,
				 m.gpr, m.lock, m.len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encodings_decode_as_the_sdm_says),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
