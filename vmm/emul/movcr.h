/* movcr.h: decodes MOV to/from a control register from its bytes, for exits that do not say which register (SVM without decode assists). */
#ifndef VMM_EMUL_MOVCR_H
#define VMM_EMUL_MOVCR_H

#include <stdbool.h>
#include <stdint.h>

struct movcr {
	bool to_cr;       /* MOV CRn, reg (0F 22); else MOV reg, CRn (0F 20) */
	uint8_t cr;       /* ModRM.reg with REX.R: 0-15 */
	uint8_t gpr;      /* ModRM.rm with REX.B, in encoding order */
	bool lock;        /* a LOCK prefix (AMD's alternative encoding of CR8) */
	uint8_t len;      /* the instruction's length */
};

/*
 * Decodes the instruction at bytes[0..n) (n <= 15) as MOV to/from CR (SDM
 * vol. 2B "MOV—Move to/from Control Registers"): legacy prefixes, a REX
 * prefix in 64-bit mode, 0F 20 / 0F 22 and a ModRM byte whose mod field is
 * ignored.  False when the bytes are anything else.
 */
bool movcr_decode(const uint8_t *bytes, unsigned n, bool mode64, struct movcr *out);

#endif
