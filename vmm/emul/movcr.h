/* movcr.h: decodes MOV to/from a control or debug register, CLTS and LMSW from their bytes, for exits that do not say which register (SVM without decode assists). */
#ifndef VMM_EMUL_MOVCR_H
#define VMM_EMUL_MOVCR_H

#include <stdbool.h>
#include <stdint.h>

enum movcr_kind {
	MOVCR_TO,         /* MOV CRn, reg (0F 22) */
	MOVCR_FROM,       /* MOV reg, CRn (0F 20) */
	MOVCR_CLTS,       /* CLTS (0F 06): clears CR0.TS */
	MOVCR_LMSW,       /* LMSW reg16 (0F 01 /6, register form): loads CR0[3:0] */
	MOVCR_DR_TO,      /* MOV DRn, reg (0F 23) */
	MOVCR_DR_FROM,    /* MOV reg, DRn (0F 21) */
};

struct movcr {
	enum movcr_kind kind;
	bool to_cr;       /* the instruction writes a control (or debug) register */
	uint8_t cr;       /* ModRM.reg with REX.R: the CR or DR number, 0-15 (0 for CLTS and LMSW) */
	uint8_t gpr;      /* ModRM.rm with REX.B, in encoding order (MOV, LMSW) */
	bool lock;        /* a LOCK prefix (AMD's alternative encoding of CR8) */
	uint8_t len;      /* the instruction's length */
};

/*
 * Decodes the instruction at bytes[0..n) (n <= 15) as MOV to/from CR (SDM
 * vol. 2B "MOV—Move to/from Control Registers"): legacy prefixes, a REX
 * prefix in 64-bit mode, 0F 20 / 0F 22 and a ModRM byte whose mod field is
 * ignored; MOV to/from DR (0F 21 / 0F 23) likewise; or as CLTS, or LMSW with
 * a register operand.  False when the
 * bytes are anything else (LMSW from memory included).
 */
bool movcr_decode(const uint8_t *bytes, unsigned n, bool mode64, struct movcr *out);

#endif
