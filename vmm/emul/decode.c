/* decode.c: insn_decode() over Zydis (Debian's zydis, built by scripts/zydis.sh), the one file that sees Zydis' types. */
#include <hv_zydis_config.h>
#include <Zydis/Zydis.h>
#include "vmm/emul/decode.h"

_Static_assert(INSN_MAX_OPS == ZYDIS_MAX_OPERAND_COUNT, "room for every operand Zydis gives");
_Static_assert(INSN_MAX_LEN == ZYDIS_MAX_INSTRUCTION_LENGTH, "the architectural limit");
/* Zydis lists the segment registers in Sreg encoding order, as enum seg_reg does. */
_Static_assert(ZYDIS_REGISTER_CS - ZYDIS_REGISTER_ES == SEG_CS, "segment order");
_Static_assert(ZYDIS_REGISTER_SS - ZYDIS_REGISTER_ES == SEG_SS, "segment order");
_Static_assert(ZYDIS_REGISTER_DS - ZYDIS_REGISTER_ES == SEG_DS, "segment order");
_Static_assert(ZYDIS_REGISTER_FS - ZYDIS_REGISTER_ES == SEG_FS, "segment order");
_Static_assert(ZYDIS_REGISTER_GS - ZYDIS_REGISTER_ES == SEG_GS, "segment order");

static const struct {
	ZydisMnemonic zydis;
	enum insn_mnemonic ours;
} mnemonics[] = {
	{ ZYDIS_MNEMONIC_MOV, INSN_MOV },
	{ ZYDIS_MNEMONIC_XCHG, INSN_XCHG },
	{ ZYDIS_MNEMONIC_CMPXCHG, INSN_CMPXCHG },
	{ ZYDIS_MNEMONIC_CMPXCHG8B, INSN_CMPXCHG8B },
	{ ZYDIS_MNEMONIC_CMPXCHG16B, INSN_CMPXCHG16B },
	{ ZYDIS_MNEMONIC_AND, INSN_AND },
	{ ZYDIS_MNEMONIC_OR, INSN_OR },
	{ ZYDIS_MNEMONIC_XOR, INSN_XOR },
	{ ZYDIS_MNEMONIC_ADD, INSN_ADD },
	{ ZYDIS_MNEMONIC_SUB, INSN_SUB },
	{ ZYDIS_MNEMONIC_BTS, INSN_BTS },
	{ ZYDIS_MNEMONIC_BTR, INSN_BTR },
	{ ZYDIS_MNEMONIC_BTC, INSN_BTC },
	{ ZYDIS_MNEMONIC_INC, INSN_INC },
	{ ZYDIS_MNEMONIC_DEC, INSN_DEC },
	{ ZYDIS_MNEMONIC_STOSB, INSN_STOS },
	{ ZYDIS_MNEMONIC_STOSW, INSN_STOS },
	{ ZYDIS_MNEMONIC_STOSD, INSN_STOS },
	{ ZYDIS_MNEMONIC_STOSQ, INSN_STOS },
	{ ZYDIS_MNEMONIC_MOVSB, INSN_MOVS },
	{ ZYDIS_MNEMONIC_MOVSW, INSN_MOVS },
	{ ZYDIS_MNEMONIC_MOVSD, INSN_MOVS },   /* also SSE2's (F2 0F 10/11): told apart below */
	{ ZYDIS_MNEMONIC_MOVSQ, INSN_MOVS },
	{ ZYDIS_MNEMONIC_MOVZX, INSN_MOVZX },
	{ ZYDIS_MNEMONIC_MOVSX, INSN_MOVSX },
	{ ZYDIS_MNEMONIC_MOVSXD, INSN_MOVSX },
	{ ZYDIS_MNEMONIC_TEST, INSN_TEST },
	{ ZYDIS_MNEMONIC_CMP, INSN_CMP },
};

static enum insn_mnemonic our_mnemonic(const ZydisDecodedInstruction *zi)
{
	for (unsigned i = 0; i < sizeof(mnemonics) / sizeof(mnemonics[0]); i++) {
		if (mnemonics[i].zydis != zi->mnemonic)
			continue;
		/* The string instructions are one-byte opcodes (A4/A5, AA/AB). */
		if (mnemonics[i].ours == INSN_MOVS && zi->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
			return INSN_OTHER;
		return mnemonics[i].ours;
	}
	return INSN_OTHER;
}

static bool in_range(ZydisRegister r, ZydisRegister first, ZydisRegister last)
{
	return r >= first && r <= last;
}

/*
 * A general register's number in encoding order (SDM vol. 2A, 2.1.5 and
 * 2.2.1.2): Zydis lists each size's registers in that order, the byte
 * registers as AL..BL, AH..BH (numbers 4-7 without REX), SPL..DIL (4-7 with
 * REX), R8B..R15B.
 */
static bool gpr_number(ZydisRegister r, uint8_t *num, bool *high8)
{
	*high8 = false;
	if (in_range(r, ZYDIS_REGISTER_AL, ZYDIS_REGISTER_BL))
		*num = (uint8_t)(r - ZYDIS_REGISTER_AL);
	else if (in_range(r, ZYDIS_REGISTER_AH, ZYDIS_REGISTER_BH)) {
		*num = (uint8_t)(r - ZYDIS_REGISTER_AH);
		*high8 = true;
	} else if (in_range(r, ZYDIS_REGISTER_SPL, ZYDIS_REGISTER_DIL))
		*num = (uint8_t)(4 + r - ZYDIS_REGISTER_SPL);
	else if (in_range(r, ZYDIS_REGISTER_R8B, ZYDIS_REGISTER_R15B))
		*num = (uint8_t)(8 + r - ZYDIS_REGISTER_R8B);
	else if (in_range(r, ZYDIS_REGISTER_AX, ZYDIS_REGISTER_R15W))
		*num = (uint8_t)(r - ZYDIS_REGISTER_AX);
	else if (in_range(r, ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_R15D))
		*num = (uint8_t)(r - ZYDIS_REGISTER_EAX);
	else if (in_range(r, ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_R15))
		*num = (uint8_t)(r - ZYDIS_REGISTER_RAX);
	else
		return false;
	return true;
}

static struct insn_reg our_reg(ZydisRegister r)
{
	struct insn_reg out = { .cls = INSN_REG_OTHER, .num = 0, .high8 = false };
	if (gpr_number(r, &out.num, &out.high8))
		out.cls = INSN_REG_GPR;
	else if (in_range(r, ZYDIS_REGISTER_ES, ZYDIS_REGISTER_GS)) {
		out.cls = INSN_REG_SEG;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_ES);
	} else if (in_range(r, ZYDIS_REGISTER_CR0, ZYDIS_REGISTER_CR15)) {
		out.cls = INSN_REG_CR;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_CR0);
	} else if (in_range(r, ZYDIS_REGISTER_DR0, ZYDIS_REGISTER_DR15)) {
		out.cls = INSN_REG_DR;
		out.num = (uint8_t)(r - ZYDIS_REGISTER_DR0);
	} else if (in_range(r, ZYDIS_REGISTER_IP, ZYDIS_REGISTER_RIP))
		out.cls = INSN_REG_IP;
	return out;
}

/* A base or index register: a GPR, none, or (false) anything else (vector indices). */
static bool address_reg(ZydisRegister r, uint8_t *num)
{
	bool high8;
	if (r == ZYDIS_REGISTER_NONE) {
		*num = INSN_NO_REG;
		return true;
	}
	return gpr_number(r, num, &high8) && !high8;
}

static enum insn_op_kind our_mem(const ZydisDecodedOperandMem *zm, struct insn_mem *m)
{
	enum insn_op_kind kind = zm->type == ZYDIS_MEMOP_TYPE_MEM  ? INSN_OP_MEM
				 : zm->type == ZYDIS_MEMOP_TYPE_AGEN ? INSN_OP_ADDR
								     : INSN_OP_OTHER;
	m->seg = in_range(zm->segment, ZYDIS_REGISTER_ES, ZYDIS_REGISTER_GS)
			 ? (enum seg_reg)(zm->segment - ZYDIS_REGISTER_ES)
			 : SEG_DS;
	m->rip_relative = zm->base == ZYDIS_REGISTER_RIP || zm->base == ZYDIS_REGISTER_EIP;
	m->scale = zm->scale ? zm->scale : 1;
	m->disp = zm->disp.value;
	if (m->rip_relative)
		m->base = INSN_NO_REG;
	else if (!address_reg(zm->base, &m->base))
		kind = INSN_OP_OTHER;
	if (!address_reg(zm->index, &m->index))
		kind = INSN_OP_OTHER;
	return kind;
}

static void our_op(const ZydisDecodedOperand *zo, struct insn_op *op)
{
	op->size = (uint16_t)(zo->size / 8);
	op->access = (uint8_t)(((zo->actions & ZYDIS_OPERAND_ACTION_MASK_READ) ? INSN_ACC_READ : 0) |
			       ((zo->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) ? INSN_ACC_WRITE : 0));
	op->hidden = zo->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN;
	switch (zo->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		op->kind = INSN_OP_REG;
		op->reg = our_reg(zo->reg.value);
		break;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		op->kind = INSN_OP_IMM;
		op->imm = zo->imm.value.u; /* Zydis sign-extends signed immediates into all 64 bits */
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		op->kind = our_mem(&zo->mem, &op->mem);
		break;
	default:
		op->kind = INSN_OP_OTHER;
		break;
	}
}

static unsigned our_prefixes(ZydisInstructionAttributes a, enum seg_reg *seg)
{
	static const struct {
		ZydisInstructionAttributes attr;
		enum seg_reg seg;
	} overrides[] = {
		{ ZYDIS_ATTRIB_HAS_SEGMENT_ES, SEG_ES }, { ZYDIS_ATTRIB_HAS_SEGMENT_CS, SEG_CS },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_SS, SEG_SS }, { ZYDIS_ATTRIB_HAS_SEGMENT_DS, SEG_DS },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_FS, SEG_FS }, { ZYDIS_ATTRIB_HAS_SEGMENT_GS, SEG_GS },
	};
	unsigned p = 0;
	if (a & ZYDIS_ATTRIB_HAS_LOCK)
		p |= INSN_PFX_LOCK;
	if (a & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		p |= INSN_PFX_REP;
	if (a & ZYDIS_ATTRIB_HAS_REPNE)
		p |= INSN_PFX_REPNE;
	if (a & ZYDIS_ATTRIB_HAS_OPERANDSIZE)
		p |= INSN_PFX_OPSIZE;
	if (a & ZYDIS_ATTRIB_HAS_ADDRESSSIZE)
		p |= INSN_PFX_ADDRSIZE;
	if (a & ZYDIS_ATTRIB_HAS_REX)
		p |= INSN_PFX_REX;
	*seg = SEG_DS;
	for (unsigned i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
		if (a & overrides[i].attr) {
			p |= INSN_PFX_SEG;
			*seg = overrides[i].seg;
		}
	}
	return p;
}

/* Zydis decodes with the stack width too (PUSH, POP); it is taken equal to the code's. */
static err_t zydis_decode(const uint8_t *bytes, unsigned n, enum cpu_mode mode,
			  ZydisDecodedInstruction *zi, ZydisDecodedOperand *zops)
{
	ZydisDecoder dec;
	ZyanStatus s;
	switch (mode) {
	case CPU_MODE_64:
		s = ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		break;
	case CPU_MODE_32:
		s = ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
		break;
	case CPU_MODE_16:
		s = ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
		break;
	default:
		return ERR_INVAL;
	}
	if (!ZYAN_SUCCESS(s))
		return ERR_INVAL;
	if (n > INSN_MAX_LEN)
		n = INSN_MAX_LEN;
	s = ZydisDecoderDecodeFull(&dec, bytes, n, zi, zops);
	if (s == ZYDIS_STATUS_NO_MORE_DATA)
		return ERR_MISSING;
	return ZYAN_SUCCESS(s) ? ERR_OK : ERR_MALFORMED;
}

err_t insn_decode(const uint8_t *bytes, unsigned n, enum cpu_mode mode, struct insn *out)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zops[ZYDIS_MAX_OPERAND_COUNT];
	err_t e = zydis_decode(bytes, n, mode, &zi, zops);
	if (e != ERR_OK)
		return e;
	*out = (struct insn){
		.len = zi.length,
		.mnemonic = our_mnemonic(&zi),
		.name = ZydisMnemonicGetString(zi.mnemonic),
		.op_size = (uint8_t)(zi.operand_width / 8),
		.addr_size = (uint8_t)(zi.address_width / 8),
		.mode = mode,
	};
	out->prefixes = our_prefixes(zi.attributes, &out->seg_override);
	for (unsigned i = 0; i < zi.length; i++)
		out->bytes[i] = bytes[i];
	for (unsigned i = 0; i < zi.operand_count; i++) {
		const ZydisDecodedOperand *zo = &zops[i];
		/* RFLAGS is what every emulated instruction computes; it is left out. */
		if (zo->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ZydisRegisterGetClass(zo->reg.value) == ZYDIS_REGCLASS_FLAGS)
			continue;
		our_op(zo, &out->ops[out->op_count++]);
	}
	return ERR_OK;
}

static uint64_t wrap(uint64_t v, unsigned size)
{
	return size == 8 ? v : size == 4 ? (uint32_t)v : (uint16_t)v;
}

uint64_t insn_mem_offset(const struct insn *in, const struct insn_mem *m, const struct insn_regs *r)
{
	uint64_t ea = (uint64_t)m->disp;
	if (m->rip_relative)
		ea += r->rip + in->len;
	if (m->base != INSN_NO_REG)
		ea += r->read_gpr(r->ctx, m->base);
	if (m->index != INSN_NO_REG)
		ea += r->read_gpr(r->ctx, m->index) * m->scale;
	return wrap(ea, in->addr_size);
}

uint64_t insn_mem_address(const struct insn *in, const struct insn_mem *m, const struct insn_regs *r)
{
	uint64_t offset = insn_mem_offset(in, m, r);
	if (in->mode == CPU_MODE_64)
		return (m->seg == SEG_FS || m->seg == SEG_GS) ? r->seg_base[m->seg] + offset : offset;
	return (uint32_t)(r->seg_base[m->seg] + offset);
}

err_t insn_format(const struct insn *in, uint64_t rip, char *buf, size_t size)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisFormatter f;
	char text[256]; /* Zydis' documented ample size */
	if (!size)
		return ERR_INVAL;
	buf[0] = '\0';
	err_t e = zydis_decode(in->bytes, in->len, in->mode, &zi, zops);
	if (e != ERR_OK)
		return e;
	if (!ZYAN_SUCCESS(ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_INTEL)) ||
	    !ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&f, &zi, zops, zi.operand_count_visible, text,
							  sizeof(text), rip, NULL)))
		return ERR_MALFORMED;
	size_t i = 0;
	for (; i + 1 < size && text[i]; i++)
		buf[i] = text[i];
	buf[i] = '\0';
	return ERR_OK;
}
