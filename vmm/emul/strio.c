/* strio.c: decodes INS and OUTS with their prefixes (SDM vol. 2A 2.1.1, vol. 2B INS/OUTS/REP). */
#include "vmm/emul/strio.h"

#define INSN_MAX 15

static bool segment_prefix(uint8_t b, enum seg_reg *seg)
{
	switch (b) {
	case 0x26: *seg = SEG_ES; return true;
	case 0x2e: *seg = SEG_CS; return true;
	case 0x36: *seg = SEG_SS; return true;
	case 0x3e: *seg = SEG_DS; return true;
	case 0x64: *seg = SEG_FS; return true;
	case 0x65: *seg = SEG_GS; return true;
	default: return false;
	}
}

bool strio_decode(const uint8_t *bytes, unsigned n, bool mode64, bool cs_d, struct strio *out)
{
	enum seg_reg seg = SEG_DS;
	bool addr_override = false, rep = false;
	unsigned i = 0;
	if (n > INSN_MAX)
		n = INSN_MAX;
	for (; i < n; i++) {
		uint8_t b = bytes[i];
		if (segment_prefix(b, &seg))
			continue;
		if (b == 0x67)
			addr_override = true;
		else if (b == 0xf3 || b == 0xf2)
			rep = true;
		else if (b != 0x66 && b != 0xf0)
			break;
	}
	/* A REX prefix (64-bit mode) changes nothing here: operand size comes from the opcode and 66. */
	if (mode64 && i < n && (bytes[i] & 0xf0) == 0x40)
		i++;
	if (i >= n || bytes[i] < 0x6c || bytes[i] > 0x6f)
		return false;
	unsigned size = mode64 ? 8 : cs_d ? 4 : 2;
	if (addr_override)
		size = mode64 ? 4 : size == 4 ? 2 : 4;
	*out = (struct strio){
		.in = bytes[i] <= 0x6d,
		.rep = rep,
		.seg = seg,
		.addr_size = size,
		.len = (uint8_t)(i + 1),
	};
	return true;
}
