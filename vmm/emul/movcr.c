/* movcr.c: decodes MOV to/from a control register from its bytes (SDM vol. 2A ch. 2 instruction format; vol. 2B "MOV CRn"). */
#include "vmm/emul/movcr.h"

#define INSN_MAX 15

static bool legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: /* segment overrides */
	case 0x66: case 0x67:                                             /* operand, address size */
	case 0xf0: case 0xf2: case 0xf3:                                  /* LOCK, REPNE, REP */
		return true;
	default:
		return false;
	}
}

bool movcr_decode(const uint8_t *bytes, unsigned n, bool mode64, struct movcr *out)
{
	unsigned i = 0;
	uint8_t rex = 0;
	bool lock = false;
	if (n > INSN_MAX)
		n = INSN_MAX;
	while (i < n && legacy_prefix(bytes[i])) {
		lock |= bytes[i] == 0xf0;
		i++;
	}
	/* REX counts only right before the opcode, and only in 64-bit mode. */
	if (mode64 && i < n && (bytes[i] & 0xf0) == 0x40)
		rex = bytes[i++];
	if (i + 2 > n || bytes[i] != 0x0f)
		return false;
	if (bytes[i + 1] == 0x06) {
		*out = (struct movcr){ .kind = MOVCR_CLTS, .to_cr = true, .lock = lock,
				       .len = (uint8_t)(i + 2) };
		return true;
	}
	if (i + 3 > n)
		return false;
	uint8_t modrm = bytes[i + 2];
	if (bytes[i + 1] == 0x01) {
		/* Group 7: /6 with mod = 11 is LMSW from a register. */
		if ((modrm >> 6) != 3 || ((modrm >> 3) & 7) != 6)
			return false;
		*out = (struct movcr){ .kind = MOVCR_LMSW, .to_cr = true,
				       .gpr = (uint8_t)((modrm & 7) | ((rex & 0x1) << 3)),
				       .lock = lock, .len = (uint8_t)(i + 3) };
		return true;
	}
	static const enum movcr_kind kinds[4] = { MOVCR_FROM, MOVCR_DR_FROM, MOVCR_TO, MOVCR_DR_TO };
	if (bytes[i + 1] < 0x20 || bytes[i + 1] > 0x23)
		return false;
	*out = (struct movcr){
		.kind = kinds[bytes[i + 1] - 0x20],
		.to_cr = bytes[i + 1] >= 0x22,
		.cr = (uint8_t)(((modrm >> 3) & 7) | ((rex & 0x4) << 1)),
		.gpr = (uint8_t)((modrm & 7) | ((rex & 0x1) << 3)),
		.lock = lock,
		.len = (uint8_t)(i + 3),
	};
	return true;
}
