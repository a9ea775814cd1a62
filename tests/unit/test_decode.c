/* test_decode.c: unit tests of the instruction decoder (vmm/emul/decode.c over Zydis): encodings from the SDM, effective addresses, and lengths against objdump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "vmm/emul/decode.h"

/* ---- a decoded instruction as one line of text, to compare with the tables ---- */

static const char *const mnemonic_names[INSN_MNEMONIC_COUNT] = {
	[INSN_OTHER] = "other", [INSN_MOV] = "mov", [INSN_XCHG] = "xchg",
	[INSN_CMPXCHG] = "cmpxchg", [INSN_CMPXCHG8B] = "cmpxchg8b", [INSN_CMPXCHG16B] = "cmpxchg16b",
	[INSN_AND] = "and", [INSN_OR] = "or", [INSN_XOR] = "xor", [INSN_ADD] = "add",
	[INSN_SUB] = "sub", [INSN_BTS] = "bts", [INSN_BTR] = "btr", [INSN_BTC] = "btc",
	[INSN_INC] = "inc", [INSN_DEC] = "dec", [INSN_STOS] = "stos", [INSN_MOVS] = "movs",
	[INSN_MOVZX] = "movzx", [INSN_MOVSX] = "movsx", [INSN_TEST] = "test", [INSN_CMP] = "cmp",
};

static const char *const seg_names[SEG_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };

struct text {
	char s[512];
	size_t n;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		t->n += (size_t)k;
	if (t->n >= sizeof(t->s))
		t->n = sizeof(t->s) - 1;
}

static void put_reg(struct text *t, const struct insn_reg *r)
{
	switch (r->cls) {
	case INSN_REG_GPR: put(t, "r%u%s", r->num, r->high8 ? "h" : ""); break;
	case INSN_REG_SEG: put(t, "%s", seg_names[r->num]); break;
	case INSN_REG_CR: put(t, "cr%u", r->num); break;
	case INSN_REG_DR: put(t, "dr%u", r->num); break;
	case INSN_REG_IP: put(t, "ip"); break;
	case INSN_REG_OTHER: put(t, "other"); break;
	}
}

/*
 * "mnemonic len L op O addr A [prefixes] [seg:]:" then the operands, each as
 * [h(idden)][r][w][addr|other].size:what, sizes in bytes; what is r3 (GPR 3),
 * r0h (AH), es, cr0, #imm, or seg:[base+index*scale+disp] (rip when
 * RIP-relative).
 */
static void describe(const struct insn *in, struct text *t)
{
	static const struct { unsigned bit; const char *name; } pfx[] = {
		{ INSN_PFX_LOCK, "lock" }, { INSN_PFX_REP, "rep" }, { INSN_PFX_REPNE, "repne" },
		{ INSN_PFX_OPSIZE, "opsize" }, { INSN_PFX_ADDRSIZE, "addrsize" }, { INSN_PFX_REX, "rex" },
	};
	t->n = 0;
	t->s[0] = '\0';
	put(t, "%s len %u op %u addr %u", mnemonic_names[in->mnemonic], in->len, in->op_size,
	    in->addr_size);
	for (unsigned i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (in->prefixes & pfx[i].bit)
			put(t, " %s", pfx[i].name);
	if (in->prefixes & INSN_PFX_SEG)
		put(t, " %s:", seg_names[in->seg_override]);
	put(t, ":");
	for (unsigned i = 0; i < in->op_count; i++) {
		const struct insn_op *o = &in->ops[i];
		put(t, "%s %s%s%s%s.%u:", i ? "," : "", o->hidden ? "h" : "",
		    (o->access & INSN_ACC_READ) ? "r" : "", (o->access & INSN_ACC_WRITE) ? "w" : "",
		    o->kind == INSN_OP_ADDR ? "addr" : o->kind == INSN_OP_OTHER ? "other" : "",
		    o->size);
		if (o->kind == INSN_OP_REG)
			put_reg(t, &o->reg);
		else if (o->kind == INSN_OP_IMM)
			put(t, "#%#llx", (unsigned long long)o->imm);
		else if (o->kind == INSN_OP_MEM || o->kind == INSN_OP_ADDR) {
			const struct insn_mem *m = &o->mem;
			put(t, "%s:[", seg_names[m->seg]);
			const char *sep = "";
			if (m->rip_relative) {
				put(t, "rip");
				sep = "+";
			} else if (m->base != INSN_NO_REG) {
				put(t, "r%u", m->base);
				sep = "+";
			}
			if (m->index != INSN_NO_REG) {
				put(t, "%sr%u*%u", sep, m->index, m->scale);
				sep = "+";
			}
			if (m->disp < 0)
				put(t, "-%#llx", 0 - (unsigned long long)m->disp);
			else if (m->disp || !*sep)
				put(t, "%s%#llx", sep, (unsigned long long)m->disp);
			put(t, "]");
		}
	}
}

static unsigned parse_hex(const char *hex, uint8_t *bytes)
{
	unsigned n = 0;
	for (const char *p = hex; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		if (sscanf(p, "%2x", &v) != 1)
			fail_msg("bad hex \"%s\"", hex);
		bytes[n++] = (uint8_t)v;
		p += 2;
	}
	return n;
}

/* ---- known encodings (SDM vol. 2 opcode tables), one line each ---- */

struct enc {
	enum cpu_mode mode;
	const char *hex;
	const char *want;
};

static const struct enc encodings[] = {
	/* MOV: every operand kind, REX, SIB, RIP-relative, overrides.  SS is the
	 * default for rSP and rBP bases only, not for R12 and R13 that share
	 * their encodings (SDM vol. 1, 3.7.4.1). */
	{ CPU_MODE_64, "89 18", "mov len 2 op 4 addr 8: w.4:ds:[r0], r.4:r3" },
	{ CPU_MODE_64, "48 89 18", "mov len 3 op 8 addr 8 rex: w.8:ds:[r0], r.8:r3" },
	{ CPU_MODE_64, "4c 89 04 8d 10 00 00 00", "mov len 8 op 8 addr 8 rex: w.8:ds:[r1*4+0x10], r.8:r8" },
	{ CPU_MODE_64, "4f 89 44 e5 f0", "mov len 5 op 8 addr 8 rex: w.8:ds:[r13+r12*8-0x10], r.8:r8" },
	{ CPU_MODE_64, "42 8b 04 20", "mov len 4 op 4 addr 8 rex: w.4:r0, r.4:ds:[r0+r12*1]" },
	{ CPU_MODE_64, "41 8b 04 24", "mov len 4 op 4 addr 8 rex: w.4:r0, r.4:ds:[r12]" },
	{ CPU_MODE_64, "88 e0", "mov len 2 op 1 addr 8: w.1:r0, r.1:r0h" },
	{ CPU_MODE_64, "88 fc", "mov len 2 op 1 addr 8: w.1:r0h, r.1:r3h" },
	{ CPU_MODE_64, "40 88 e0", "mov len 3 op 1 addr 8 rex: w.1:r0, r.1:r4" },
	{ CPU_MODE_64, "44 88 ff", "mov len 3 op 1 addr 8 rex: w.1:r7, r.1:r15" },
	{ CPU_MODE_64, "c6 00 7f", "mov len 3 op 1 addr 8: w.1:ds:[r0], r.1:#0x7f" },
	{ CPU_MODE_64, "48 c7 00 ff ff ff ff", "mov len 7 op 8 addr 8 rex: w.8:ds:[r0], r.4:#0xffffffffffffffff" },
	{ CPU_MODE_64, "66 c7 00 34 12", "mov len 5 op 2 addr 8 opsize: w.2:ds:[r0], r.2:#0x1234" },
	{ CPU_MODE_64, "b8 78 56 34 12", "mov len 5 op 4 addr 8: w.4:r0, r.4:#0x12345678" },
	{ CPU_MODE_64, "48 b8 ef cd ab 89 67 45 23 01", "mov len 10 op 8 addr 8 rex: w.8:r0, r.8:#0x123456789abcdef" },
	{ CPU_MODE_64, "a1 88 77 66 55 44 33 22 11", "mov len 9 op 4 addr 8: w.4:r0, r.4:ds:[0x1122334455667788]" },
	{ CPU_MODE_64, "8b 05 10 00 00 00", "mov len 6 op 4 addr 8: w.4:r0, r.4:ds:[rip+0x10]" },
	{ CPU_MODE_64, "48 89 0d f0 ff ff ff", "mov len 7 op 8 addr 8 rex: w.8:ds:[rip-0x10], r.8:r1" },
	{ CPU_MODE_64, "67 8b 05 10 00 00 00", "mov len 7 op 4 addr 4 addrsize: w.4:r0, r.4:ds:[rip+0x10]" },
	{ CPU_MODE_64, "67 8b 04 48", "mov len 4 op 4 addr 4 addrsize: w.4:r0, r.4:ds:[r0+r1*2]" },
	{ CPU_MODE_64, "8e d8", "mov len 2 op 4 addr 8: w.2:ds, r.2:r0" },
	{ CPU_MODE_64, "8c d8", "mov len 2 op 4 addr 8: w.4:r0, r.2:ds" },
	{ CPU_MODE_64, "0f 22 d8", "mov len 3 op 8 addr 8: w.8:cr3, r.8:r0" },
	{ CPU_MODE_64, "44 0f 20 c0", "mov len 4 op 8 addr 8 rex: w.8:r0, r.8:cr8" },
	{ CPU_MODE_64, "0f 23 f8", "mov len 3 op 8 addr 8: w.8:dr7, r.8:r0" },
	{ CPU_MODE_64, "64 48 8b 04 25 28 00 00 00", "mov len 9 op 8 addr 8 rex fs:: w.8:r0, r.8:fs:[0x28]" },
	{ CPU_MODE_64, "65 89 18", "mov len 3 op 4 addr 8 gs:: w.4:gs:[r0], r.4:r3" },
	/* In 64-bit mode ES, CS, SS and DS overrides do nothing (SDM vol. 1, 3.3.7.1). */
	{ CPU_MODE_64, "26 89 18", "mov len 3 op 4 addr 8: w.4:ds:[r0], r.4:r3" },
	/* A REX prefix counts only right before the opcode (SDM vol. 2A, 2.2.1). */
	{ CPU_MODE_64, "48 66 89 c0", "mov len 4 op 2 addr 8 opsize: w.2:r0, r.2:r0" },
	{ CPU_MODE_64, "66 48 89 c0", "mov len 4 op 8 addr 8 opsize rex: w.8:r0, r.8:r0" },
	{ CPU_MODE_32, "89 18", "mov len 2 op 4 addr 4: w.4:ds:[r0], r.4:r3" },
	{ CPU_MODE_32, "66 89 18", "mov len 3 op 2 addr 4 opsize: w.2:ds:[r0], r.2:r3" },
	{ CPU_MODE_32, "67 89 18", "mov len 3 op 4 addr 2 addrsize: w.4:ds:[r3+r6*1], r.4:r3" },
	{ CPU_MODE_32, "8b 04 24", "mov len 3 op 4 addr 4: w.4:r0, r.4:ss:[r4]" },
	{ CPU_MODE_32, "8b 45 fc", "mov len 3 op 4 addr 4: w.4:r0, r.4:ss:[r5-0x4]" },
	{ CPU_MODE_32, "89 04 8d 00 10 00 00", "mov len 7 op 4 addr 4: w.4:ds:[r1*4+0x1000], r.4:r0" },
	{ CPU_MODE_32, "a1 00 10 00 00", "mov len 5 op 4 addr 4: w.4:r0, r.4:ds:[0x1000]" },
	{ CPU_MODE_32, "c6 05 00 80 0b 00 41", "mov len 7 op 1 addr 4: w.1:ds:[0xb8000], r.1:#0x41" },
	{ CPU_MODE_32, "36 8b 00", "mov len 3 op 4 addr 4 ss:: w.4:r0, r.4:ss:[r0]" },
	{ CPU_MODE_32, "3e 8b 45 00", "mov len 4 op 4 addr 4 ds:: w.4:r0, r.4:ds:[r5]" },
	{ CPU_MODE_16, "89 18", "mov len 2 op 2 addr 2: w.2:ds:[r3+r6*1], r.2:r3" },
	{ CPU_MODE_16, "8b 02", "mov len 2 op 2 addr 2: w.2:r0, r.2:ss:[r5+r6*1]" },
	{ CPU_MODE_16, "8b 46 02", "mov len 3 op 2 addr 2: w.2:r0, r.2:ss:[r5+0x2]" },
	{ CPU_MODE_16, "89 1e 34 12", "mov len 4 op 2 addr 2: w.2:ds:[0x1234], r.2:r3" },
	{ CPU_MODE_16, "66 89 18", "mov len 3 op 4 addr 2 opsize: w.4:ds:[r3+r6*1], r.4:r3" },
	{ CPU_MODE_16, "67 8b 04 48", "mov len 4 op 2 addr 4 addrsize: w.2:r0, r.2:ds:[r0+r1*2]" },
	{ CPU_MODE_16, "67 66 8b 44 24 04", "mov len 6 op 4 addr 4 opsize addrsize: w.4:r0, r.4:ss:[r4+0x4]" },
	{ CPU_MODE_16, "26 88 07", "mov len 3 op 1 addr 2 es:: w.1:es:[r3], r.1:r0" },
	/* XCHG: with memory it locks by itself, LOCK or not */
	{ CPU_MODE_64, "86 00", "xchg len 2 op 1 addr 8: rw.1:ds:[r0], rw.1:r0" },
	{ CPU_MODE_64, "f0 87 08", "xchg len 3 op 4 addr 8 lock: rw.4:ds:[r0], rw.4:r1" },
	{ CPU_MODE_64, "48 87 c8", "xchg len 3 op 8 addr 8 rex: rw.8:r0, rw.8:r1" },
	{ CPU_MODE_64, "91", "xchg len 1 op 4 addr 8: rw.4:r1, rw.4:r0" },
	/* CMPXCHG family: the accumulator (and rDX:rAX, rCX:rBX) as hidden operands */
	{ CPU_MODE_64, "f0 0f b1 0b", "cmpxchg len 4 op 4 addr 8 lock: rw.4:ds:[r3], r.4:r1, hrw.4:r0" },
	{ CPU_MODE_64, "0f b1 0b", "cmpxchg len 3 op 4 addr 8: rw.4:ds:[r3], r.4:r1, hrw.4:r0" },
	{ CPU_MODE_64, "0f b0 0a", "cmpxchg len 3 op 1 addr 8: rw.1:ds:[r2], r.1:r1, hrw.1:r0" },
	{ CPU_MODE_64, "66 0f b1 0b", "cmpxchg len 4 op 2 addr 8 opsize: rw.2:ds:[r3], r.2:r1, hrw.2:r0" },
	{ CPU_MODE_64, "f0 4c 0f b1 03", "cmpxchg len 5 op 8 addr 8 lock rex: rw.8:ds:[r3], r.8:r8, hrw.8:r0" },
	{ CPU_MODE_32, "f0 0f b1 11", "cmpxchg len 4 op 4 addr 4 lock: rw.4:ds:[r1], r.4:r2, hrw.4:r0" },
	{ CPU_MODE_64, "0f c7 0e", "cmpxchg8b len 3 op 4 addr 8: rw.8:ds:[r6], hrw.4:r2, hrw.4:r0, hr.4:r1, hr.4:r3" },
	{ CPU_MODE_64, "f0 0f c7 0e", "cmpxchg8b len 4 op 4 addr 8 lock: rw.8:ds:[r6], hrw.4:r2, hrw.4:r0, hr.4:r1, hr.4:r3" },
	{ CPU_MODE_32, "f0 0f c7 0f", "cmpxchg8b len 4 op 4 addr 4 lock: rw.8:ds:[r7], hrw.4:r2, hrw.4:r0, hr.4:r1, hr.4:r3" },
	{ CPU_MODE_16, "f0 0f c7 0c", "cmpxchg8b len 4 op 4 addr 2 lock: rw.8:ds:[r6], hrw.4:r2, hrw.4:r0, hr.4:r1, hr.4:r3" },
	{ CPU_MODE_64, "48 0f c7 0e", "cmpxchg16b len 4 op 8 addr 8 rex: rw.16:ds:[r6], hrw.8:r2, hrw.8:r0, hr.8:r1, hr.8:r3" },
	{ CPU_MODE_64, "f0 48 0f c7 4d f8", "cmpxchg16b len 6 op 8 addr 8 lock rex: rw.16:ss:[r5-0x8], hrw.8:r2, hrw.8:r0, hr.8:r1, hr.8:r3" },
	{ CPU_MODE_64, "f0 49 0f c7 0c 24", "cmpxchg16b len 6 op 8 addr 8 lock rex: rw.16:ds:[r12], hrw.8:r2, hrw.8:r0, hr.8:r1, hr.8:r3" },
	/* logic and arithmetic: r/m with register or (sign-extended) immediate */
	{ CPU_MODE_64, "f0 21 08", "and len 3 op 4 addr 8 lock: rw.4:ds:[r0], r.4:r1" },
	{ CPU_MODE_64, "48 81 20 00 f0 ff ff", "and len 7 op 8 addr 8 rex: rw.8:ds:[r0], r.4:#0xfffffffffffff000" },
	{ CPU_MODE_64, "09 c8", "or len 2 op 4 addr 8: rw.4:r0, r.4:r1" },
	{ CPU_MODE_64, "f0 80 0c 24 01", "or len 5 op 1 addr 8 lock: rw.1:ss:[r4], r.1:#0x1" },
	{ CPU_MODE_32, "26 80 08 01", "or len 4 op 1 addr 4 es:: rw.1:es:[r0], r.1:#0x1" },
	{ CPU_MODE_64, "48 31 c0", "xor len 3 op 8 addr 8 rex: rw.8:r0, r.8:r0" },
	{ CPU_MODE_64, "f0 31 0d 00 01 00 00", "xor len 7 op 4 addr 8 lock: rw.4:ds:[rip+0x100], r.4:r1" },
	{ CPU_MODE_64, "f0 48 01 08", "add len 4 op 8 addr 8 lock rex: rw.8:ds:[r0], r.8:r1" },
	{ CPU_MODE_64, "66 83 00 ff", "add len 4 op 2 addr 8 opsize: rw.2:ds:[r0], r.1:#0xffffffffffffffff" },
	{ CPU_MODE_64, "04 7f", "add len 2 op 1 addr 8: rw.1:r0, r.1:#0x7f" },
	{ CPU_MODE_64, "48 2d 00 01 00 00", "sub len 6 op 8 addr 8 rex: rw.8:r0, r.4:#0x100" },
	{ CPU_MODE_64, "f0 29 07", "sub len 3 op 4 addr 8 lock: rw.4:ds:[r7], r.4:r0" },
	/* bit test and modify: register or imm8 bit offset */
	{ CPU_MODE_64, "0f ab 08", "bts len 3 op 4 addr 8: rw.4:ds:[r0], r.4:r1" },
	{ CPU_MODE_64, "f0 48 0f ab 08", "bts len 5 op 8 addr 8 lock rex: rw.8:ds:[r0], r.8:r1" },
	{ CPU_MODE_64, "0f ba 28 05", "bts len 4 op 4 addr 8: rw.4:ds:[r0], r.1:#0x5" },
	{ CPU_MODE_64, "0f b3 08", "btr len 3 op 4 addr 8: rw.4:ds:[r0], r.4:r1" },
	{ CPU_MODE_64, "f0 0f ba 30 3f", "btr len 5 op 4 addr 8 lock: rw.4:ds:[r0], r.1:#0x3f" },
	{ CPU_MODE_64, "0f bb 08", "btc len 3 op 4 addr 8: rw.4:ds:[r0], r.4:r1" },
	{ CPU_MODE_64, "66 0f ba 38 01", "btc len 5 op 2 addr 8 opsize: rw.2:ds:[r0], r.1:#0x1" },
	/* INC, DEC (40-4F are REX in 64-bit mode, INC/DEC elsewhere) */
	{ CPU_MODE_64, "ff 00", "inc len 2 op 4 addr 8: rw.4:ds:[r0]" },
	{ CPU_MODE_64, "48 ff c0", "inc len 3 op 8 addr 8 rex: rw.8:r0" },
	{ CPU_MODE_64, "f0 fe 08", "dec len 3 op 1 addr 8 lock: rw.1:ds:[r0]" },
	{ CPU_MODE_64, "f0 66 ff 0b", "dec len 4 op 2 addr 8 lock opsize: rw.2:ds:[r3]" },
	{ CPU_MODE_32, "40", "inc len 1 op 4 addr 4: rw.4:r0" },
	{ CPU_MODE_32, "4f", "dec len 1 op 4 addr 4: rw.4:r7" },
	/* STOS and MOVS: implicit memory operands, REP, address-size and segment overrides */
	{ CPU_MODE_64, "aa", "stos len 1 op 1 addr 8: hw.1:es:[r7], hr.1:r0, hrw.8:r7" },
	{ CPU_MODE_64, "f3 aa", "stos len 2 op 1 addr 8 rep: hw.1:es:[r7], hr.1:r0, hw.8:r7, hrw.8:r1" },
	{ CPU_MODE_64, "f3 48 ab", "stos len 3 op 8 addr 8 rep rex: hw.8:es:[r7], hr.8:r0, hw.8:r7, hrw.8:r1" },
	{ CPU_MODE_64, "66 ab", "stos len 2 op 2 addr 8 opsize: hw.2:es:[r7], hr.2:r0, hrw.8:r7" },
	{ CPU_MODE_32, "f3 ab", "stos len 2 op 4 addr 4 rep: hw.4:es:[r7], hr.4:r0, hw.4:r7, hrw.4:r1" },
	{ CPU_MODE_16, "aa", "stos len 1 op 1 addr 2: hw.1:es:[r7], hr.1:r0, hrw.2:r7" },
	{ CPU_MODE_64, "a4", "movs len 1 op 1 addr 8: hw.1:es:[r7], hr.1:ds:[r6], hrw.8:r7, hrw.8:r6" },
	{ CPU_MODE_64, "f3 a5", "movs len 2 op 4 addr 8 rep: hw.4:es:[r7], hr.4:ds:[r6], hrw.8:r1, hw.8:r7, hw.8:r6" },
	{ CPU_MODE_64, "f3 48 a5", "movs len 3 op 8 addr 8 rep rex: hw.8:es:[r7], hr.8:ds:[r6], hrw.8:r1, hw.8:r7, hw.8:r6" },
	{ CPU_MODE_64, "f2 a4", "movs len 2 op 1 addr 8 repne: hw.1:es:[r7], hr.1:ds:[r6], hrw.8:r1, hw.8:r7, hw.8:r6" },
	{ CPU_MODE_64, "64 a4", "movs len 2 op 1 addr 8 fs:: hw.1:es:[r7], hr.1:fs:[r6], hrw.8:r7, hrw.8:r6" },
	{ CPU_MODE_64, "67 f3 a4", "movs len 3 op 1 addr 4 rep addrsize: hw.1:es:[r7], hr.1:ds:[r6], hrw.4:r1, hw.4:r7, hw.4:r6" },
	{ CPU_MODE_32, "66 f3 a5", "movs len 3 op 2 addr 4 rep opsize: hw.2:es:[r7], hr.2:ds:[r6], hrw.4:r1, hw.4:r7, hw.4:r6" },
	{ CPU_MODE_32, "67 f3 a4", "movs len 3 op 1 addr 2 rep addrsize: hw.1:es:[r7], hr.1:ds:[r6], hrw.2:r1, hw.2:r7, hw.2:r6" },
	{ CPU_MODE_32, "2e a5", "movs len 2 op 4 addr 4 cs:: hw.4:es:[r7], hr.4:cs:[r6], hrw.4:r7, hrw.4:r6" },
	{ CPU_MODE_16, "f3 a5", "movs len 2 op 2 addr 2 rep: hw.2:es:[r7], hr.2:ds:[r6], hrw.2:r1, hw.2:r7, hw.2:r6" },
	{ CPU_MODE_16, "66 a5", "movs len 2 op 4 addr 2 opsize: hw.4:es:[r7], hr.4:ds:[r6], hrw.2:r7, hrw.2:r6" },
	/* SSE2's MOVSD shares Zydis' mnemonic; it is no string move */
	{ CPU_MODE_64, "f2 0f 10 00", "other len 4 op 4 addr 8: w.16:other, r.8:ds:[r0]" },
	/* MOVZX, MOVSX, MOVSXD: the source size is operand 1's */
	{ CPU_MODE_64, "0f b6 04 24", "movzx len 4 op 4 addr 8: w.4:r0, r.1:ss:[r4]" },
	{ CPU_MODE_64, "48 0f b7 c1", "movzx len 4 op 8 addr 8 rex: w.8:r0, r.2:r1" },
	{ CPU_MODE_32, "0f b7 00", "movzx len 3 op 4 addr 4: w.4:r0, r.2:ds:[r0]" },
	{ CPU_MODE_16, "0f b6 07", "movzx len 3 op 2 addr 2: w.2:r0, r.1:ds:[r3]" },
	{ CPU_MODE_64, "0f be c4", "movsx len 3 op 4 addr 8: w.4:r0, r.1:r0h" },
	{ CPU_MODE_64, "48 0f bf 46 08", "movsx len 5 op 8 addr 8 rex: w.8:r0, r.2:ds:[r6+0x8]" },
	{ CPU_MODE_64, "48 63 c1", "movsx len 3 op 8 addr 8 rex: w.8:r0, r.4:r1" },
	{ CPU_MODE_64, "4c 63 04 24", "movsx len 4 op 8 addr 8 rex: w.8:r8, r.4:ss:[r4]" },
	/* TEST, CMP: nothing written */
	{ CPU_MODE_64, "85 c0", "test len 2 op 4 addr 8: r.4:r0, r.4:r0" },
	{ CPU_MODE_64, "f6 00 01", "test len 3 op 1 addr 8: r.1:ds:[r0], r.1:#0x1" },
	{ CPU_MODE_64, "a9 00 10 00 00", "test len 5 op 4 addr 8: r.4:r0, r.4:#0x1000" },
	{ CPU_MODE_64, "48 f7 04 24 ff 00 00 00", "test len 8 op 8 addr 8 rex: r.8:ss:[r4], r.4:#0xff" },
	{ CPU_MODE_64, "39 d8", "cmp len 2 op 4 addr 8: r.4:r0, r.4:r3" },
	{ CPU_MODE_64, "3c 05", "cmp len 2 op 1 addr 8: r.1:r0, r.1:#0x5" },
	{ CPU_MODE_64, "48 83 3d 00 10 00 00 00", "cmp len 8 op 8 addr 8 rex: r.8:ds:[rip+0x1000], r.1:#0" },
	/* others are named, their operands still decoded */
	{ CPU_MODE_64, "48 8d 04 40", "other len 4 op 8 addr 8 rex: w.8:r0, addr.8:ds:[r0+r0*2]" },
	{ CPU_MODE_64, "90", "other len 1 op 4 addr 8:" },
	{ CPU_MODE_64, "0f 01 d9", "other len 3 op 4 addr 8:" },
	{ CPU_MODE_64, "e8 00 00 00 00", "other len 5 op 8 addr 8: r.4:#0, hrw.8:ip, hrw.8:r4, hw.8:ss:[r4]" },
};

static void encodings_decode_as_the_sdm_says(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		const struct enc *e = &encodings[i];
		uint8_t b[INSN_MAX_LEN];
		struct insn in;
		struct text t;
		unsigned n = parse_hex(e->hex, b);
		err_t err = insn_decode(b, n, e->mode, &in);
		if (err != ERR_OK)
			fail_msg("%s (mode %d): %s", e->hex, e->mode, err_str(err));
		describe(&in, &t);
		if (strcmp(t.s, e->want))
			fail_msg("%s (mode %d):\n  got  %s\n  want %s", e->hex, e->mode, t.s, e->want);
	}
}

static void every_encoding_cut_short_asks_for_more_bytes(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		const struct enc *e = &encodings[i];
		uint8_t b[INSN_MAX_LEN];
		struct insn in;
		unsigned n = parse_hex(e->hex, b);
		for (unsigned k = 0; k < n; k++) {
			err_t err = insn_decode(b, k, e->mode, &in);
			if (err != ERR_MISSING)
				fail_msg("%s cut to %u bytes: %s", e->hex, k, err_str(err));
		}
	}
}

static const struct bad {
	enum cpu_mode mode;
	const char *hex;
	const char *why;
} invalid[] = {
	{ CPU_MODE_64, "f0 89 00", "LOCK on MOV (#UD, SDM vol. 2B LOCK)" },
	{ CPU_MODE_64, "f0 01 c0", "LOCK with a register destination" },
	{ CPU_MODE_64, "0f c7 c8", "CMPXCHG8B with a register operand" },
	{ CPU_MODE_64, "0f 04", "an undefined two-byte opcode" },
	{ CPU_MODE_64, "06", "PUSH ES in 64-bit mode" },
	{ CPU_MODE_64, "f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 ff 00", "16 bytes (#GP)" },
	{ CPU_MODE_32, "8e c8", "MOV CS, r/m" },
};

static void invalid_encodings_are_malformed(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const struct bad *e = &invalid[i];
		uint8_t b[32];
		struct insn in;
		unsigned n = parse_hex(e->hex, b);
		err_t err = insn_decode(b, n, e->mode, &in);
		if (err != ERR_MALFORMED)
			fail_msg("%s (%s): %s", e->hex, e->why, err_str(err));
	}
}


static void an_unknown_mode_is_refused(void **state)
{
	(void)state;
	const uint8_t nop = 0x90;
	struct insn in;
	assert_int_equal(insn_decode(&nop, 1, (enum cpu_mode)7, &in), ERR_INVAL);
}

/* ---- effective and linear addresses ---- */

static uint64_t fake_gprs[16];

static uint64_t read_fake_gpr(void *ctx, unsigned gpr)
{
	(void)ctx;
	assert_true(gpr < 16);
	return fake_gprs[gpr];
}

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

struct addr_case {
	const char *what;
	enum cpu_mode mode;
	const char *hex;
	unsigned op;                 /* the memory operand */
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t seg_base[SEG_COUNT];
	uint64_t offset, linear;
};

static const struct addr_case addr_cases[] = {
	{ "base + index * 4 + disp8, SS by rBP; no SS base in 64-bit mode", CPU_MODE_64,
	  "89 44 8d 08", 0, { [RBP] = 0x1000, [RCX] = 3 }, 0, { [SEG_SS] = 0x50000 }, 0x1014, 0x1014 },
	{ "FS override adds FS.base in 64-bit mode", CPU_MODE_64, "64 48 8b 04 25 28 00 00 00", 1,
	  { 0 }, 0, { [SEG_FS] = 0x7fff00000000 }, 0x28, 0x7fff00000028 },
	{ "GS base with REX.B base register", CPU_MODE_64, "65 49 89 07", 0,
	  { [R15] = 0x10 }, 0, { [SEG_GS] = 0xffff888000000000 }, 0x10, 0xffff888000000010 },
	{ "RIP-relative counts from the next instruction", CPU_MODE_64, "8b 05 10 00 00 00", 1,
	  { 0 }, 0x401000, { 0 }, 0x401016, 0x401016 },
	{ "RIP-relative with a negative displacement", CPU_MODE_64, "48 89 0d f0 ff ff ff", 0,
	  { 0 }, 0x401000, { 0 }, 0x400ff7, 0x400ff7 },
	{ "EIP-relative (67) wraps at 4 GiB", CPU_MODE_64, "67 8b 05 10 00 00 00", 1,
	  { 0 }, 0xfffffff0, { 0 }, 0x7, 0x7 },
	{ "32-bit addressing in 64-bit mode wraps the sum", CPU_MODE_64, "67 8b 04 48", 1,
	  { [RAX] = 0xfffffff0, [RCX] = 0x8 }, 0, { 0 }, 0x0, 0x0 },
	{ "64-bit addressing wraps at 2^64", CPU_MODE_64, "48 8b 40 f8", 1,
	  { [RAX] = 4 }, 0, { 0 }, 0xfffffffffffffffc, 0xfffffffffffffffc },
	{ "index * 8 with no base", CPU_MODE_64, "4a 8b 04 e5 00 10 00 00", 1,
	  { [R12] = 2 }, 0, { 0 }, 0x1010, 0x1010 },
	{ "moffs: an absolute 64-bit offset", CPU_MODE_64, "a1 88 77 66 55 44 33 22 11", 1,
	  { 0 }, 0, { 0 }, 0x1122334455667788, 0x1122334455667788 },
	{ "32-bit: the upper halves of registers do not count", CPU_MODE_32, "8b 04 24", 1,
	  { [RSP] = 0xdead0000fffffffc }, 0, { [SEG_SS] = 0x10000 }, 0xfffffffc, 0xfffc },
	{ "32-bit: DS base plus disp32", CPU_MODE_32, "c6 05 00 80 0b 00 41", 0,
	  { 0 }, 0, { [SEG_DS] = 0x100000 }, 0xb8000, 0x1b8000 },
	{ "32-bit: an ES override", CPU_MODE_32, "26 80 08 01", 0,
	  { [RAX] = 0x20 }, 0, { [SEG_ES] = 0x3000, [SEG_DS] = 0x9000 }, 0x20, 0x3020 },
	{ "16-bit: [bp+si] wraps at 64 KiB, SS by rBP", CPU_MODE_16, "8b 02", 1,
	  { [RBP] = 0xfff0, [RSI] = 0x20 }, 0, { [SEG_SS] = 0x20000 }, 0x10, 0x20010 },
	{ "16-bit: a negative disp8 wraps", CPU_MODE_16, "8b 46 fe", 1,
	  { [RBP] = 0x1 }, 0, { [SEG_SS] = 0x1000 }, 0xffff, 0x10fff },
	{ "16-bit code with 67: 32-bit addressing", CPU_MODE_16, "67 8b 04 48", 1,
	  { [RAX] = 0x10000, [RCX] = 0x8000 }, 0, { [SEG_DS] = 0x100 }, 0x20000, 0x20100 },
	{ "MOVS source honours the override", CPU_MODE_64, "64 a4", 1,
	  { [RSI] = 0x40, [RDI] = 0x80 }, 0, { [SEG_FS] = 0x1000 }, 0x40, 0x1040 },
	{ "MOVS destination is always ES", CPU_MODE_32, "64 a4", 0,
	  { [RSI] = 0x40, [RDI] = 0x80 }, 0, { [SEG_ES] = 0x2000, [SEG_FS] = 0x1000 }, 0x80, 0x2080 },
	{ "STOS with 16-bit addresses uses DI", CPU_MODE_32, "67 aa", 0,
	  { [RDI] = 0x12345678 }, 0, { [SEG_ES] = 0x100000 }, 0x5678, 0x105678 },
	{ "CMPXCHG16B with base and disp", CPU_MODE_64, "f0 48 0f c7 4d f8", 0,
	  { [RBP] = 0x7ffffff0 }, 0, { 0 }, 0x7fffffe8, 0x7fffffe8 },
};

static void addresses_follow_the_address_size_and_segment(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		const struct addr_case *c = &addr_cases[i];
		uint8_t b[INSN_MAX_LEN];
		struct insn in;
		unsigned n = parse_hex(c->hex, b);
		if (insn_decode(b, n, c->mode, &in) != ERR_OK)
			fail_msg("%s: %s does not decode", c->what, c->hex);
		if (c->op >= in.op_count || in.ops[c->op].kind != INSN_OP_MEM)
			fail_msg("%s: operand %u is no memory operand", c->what, c->op);
		memcpy(fake_gprs, c->gpr, sizeof(fake_gprs));
		struct insn_regs r = { .read_gpr = read_fake_gpr, .ctx = NULL, .rip = c->rip };
		memcpy(r.seg_base, c->seg_base, sizeof(r.seg_base));
		uint64_t off = insn_mem_offset(&in, &in.ops[c->op].mem, &r);
		uint64_t lin = insn_mem_address(&in, &in.ops[c->op].mem, &r);
		if (off != c->offset || lin != c->linear)
			fail_msg("%s: offset %#llx linear %#llx, want %#llx %#llx", c->what,
				 (unsigned long long)off, (unsigned long long)lin,
				 (unsigned long long)c->offset, (unsigned long long)c->linear);
	}
}

/* ---- formatting for reports ---- */

static void format_writes_intel_syntax_and_truncates(void **state)
{
	(void)state;
	static const struct {
		enum cpu_mode mode;
		const char *hex;
		uint64_t rip;
		const char *want;
	} cases[] = {
		{ CPU_MODE_64, "f0 0f b1 0b", 0, "lock cmpxchg [rbx], ecx" },
		{ CPU_MODE_64, "8b 05 10 00 00 00", 0x1000, "mov eax, [0x0000000000001016]" },
		{ CPU_MODE_64, "f3 48 ab", 0, "rep stosq" },
		{ CPU_MODE_32, "66 89 18", 0, "mov [eax], bx" },
		{ CPU_MODE_16, "8b 46 02", 0, "mov ax, [bp+0x02]" },
	};
	char buf[96];
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[INSN_MAX_LEN];
		struct insn in;
		unsigned n = parse_hex(cases[i].hex, b);
		assert_int_equal(insn_decode(b, n, cases[i].mode, &in), ERR_OK);
		assert_int_equal(insn_format(&in, cases[i].rip, buf, sizeof(buf)), ERR_OK);
		assert_string_equal(buf, cases[i].want);
	}
	uint8_t b[INSN_MAX_LEN];
	struct insn in;
	unsigned n = parse_hex("f0 0f b1 0b", b);
	assert_int_equal(insn_decode(b, n, CPU_MODE_64, &in), ERR_OK);
	assert_int_equal(insn_format(&in, 0, buf, 5), ERR_OK);
	assert_string_equal(buf, "lock");
	assert_int_equal(insn_format(&in, 0, buf, 0), ERR_INVAL);
}

/* ---- lengths against objdump over generated instructions ---- */

#define DIFF_TRIES 4000
#define DIFF_SLOT  32 /* an instruction, then NOPs: objdump is back in step at each slot */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Opcodes of the emulated instructions, as [first, last] ranges (SDM vol. 2D, A.3). */
static const uint8_t one_byte[][2] = {
	{ 0x00, 0x05 }, { 0x08, 0x0d }, { 0x20, 0x25 }, { 0x28, 0x2d }, { 0x30, 0x35 },
	{ 0x38, 0x3d }, { 0x63, 0x63 }, { 0x80, 0x8c }, { 0x8e, 0x8e }, { 0x90, 0x97 },
	{ 0xa0, 0xa5 }, { 0xa8, 0xab }, { 0xb0, 0xbf }, { 0xc6, 0xc7 }, { 0xf6, 0xf7 },
	{ 0xfe, 0xff },
};
static const uint8_t two_byte[][2] = {
	{ 0x20, 0x23 }, { 0xab, 0xab }, { 0xb0, 0xb1 }, { 0xb3, 0xb3 }, { 0xb6, 0xb7 },
	{ 0xba, 0xbb }, { 0xbe, 0xbf }, { 0xc7, 0xc7 },
};

static uint8_t pick(const uint8_t (*ranges)[2], unsigned count)
{
	const uint8_t *r = ranges[rnd() % count];
	return (uint8_t)(r[0] + rnd() % (unsigned)(r[1] - r[0] + 1));
}

/*
 * Random bytes shaped like an instruction: at most one prefix of each group
 * (objdump prints a repeated group as a separate "instruction"), in any
 * order, a REX prefix in 64-bit mode, an opcode (mostly the emulated ones),
 * then random ModRM, SIB, displacement and immediate bytes.
 */
/* Prefixes, and FWAIT (9B), which objdump takes as a prefix of the x87 instruction after it. */
static bool prefix_to_objdump(enum cpu_mode mode, uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3: case 0x9b:
		return true;
	default:
		return mode == CPU_MODE_64 && (b & 0xf0) == 0x40;
	}
}

static void generate(enum cpu_mode mode, uint8_t *b)
{
	static const uint8_t segs[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
	static const uint8_t group1[] = { 0xf0, 0xf2, 0xf3 };
	uint8_t pfx[4];
	unsigned np = 0, i = 0;
	if (rnd() % 4 == 0)
		pfx[np++] = segs[rnd() % sizeof(segs)];
	if (rnd() % 4 == 0)
		pfx[np++] = 0x66;
	if (rnd() % 5 == 0)
		pfx[np++] = 0x67;
	if (rnd() % 5 == 0)
		pfx[np++] = group1[rnd() % sizeof(group1)];
	for (unsigned k = np; k > 1; k--) {
		unsigned j = rnd() % k;
		uint8_t t = pfx[k - 1];
		pfx[k - 1] = pfx[j];
		pfx[j] = t;
	}
	for (unsigned k = 0; k < np; k++)
		b[i++] = pfx[k];
	if (mode == CPU_MODE_64 && rnd() % 2)
		b[i++] = (uint8_t)(0x40 | (rnd() & 0xf));
	unsigned kind = rnd() % 20;
	if (kind < 12)
		b[i++] = pick(one_byte, sizeof(one_byte) / sizeof(one_byte[0]));
	else if (kind < 17) {
		b[i++] = 0x0f;
		b[i++] = pick(two_byte, sizeof(two_byte) / sizeof(two_byte[0]));
	} else {
		/* Any opcode but a prefix: objdump shows a REX before a prefix
		 * (one the CPU ignores) as an instruction of its own. */
		uint8_t op;
		do
			op = (uint8_t)rnd();
		while (prefix_to_objdump(mode, op));
		b[i++] = op;
	}
	while (i < INSN_MAX_LEN)
		b[i++] = (uint8_t)rnd();
}

#define TEXT_LEN 64

/* objdump's instruction lengths at each slot of the file, from its "addr:\tbytes\ttext" lines. */
static unsigned objdump_lengths(const char *path, const char *machine, const char *options,
				unsigned slots, uint8_t *len, char (*text)[TEXT_LEN])
{
	char cmd[512], line[512];
	snprintf(cmd, sizeof(cmd), "objdump -D -b binary -m %s %s --insn-width=16 -w %s", machine,
		 options, path);
	FILE *p = popen(cmd, "r");
	if (!p)
		fail_msg("cannot run %s", cmd);
	unsigned found = 0;
	while (fgets(line, sizeof(line), p)) {
		unsigned long addr;
		int at = 0;
		if (sscanf(line, " %lx:%n", &addr, &at) != 1 || !at || line[at] != '\t' ||
		    addr % DIFF_SLOT || addr / DIFF_SLOT >= slots)
			continue;
		unsigned n = 0, v;
		int used = 0;
		const char *q = line + at + 1;
		while (sscanf(q, "%2x%n", &v, &used) == 1 && (q[used] == ' ' || q[used] == '\t')) {
			n++;
			q += used;
			if (*q == '\t')
				break;
			q++;
		}
		size_t slot = addr / DIFF_SLOT;
		len[slot] = (uint8_t)n;
		const char *tab = strrchr(line, '\t');
		snprintf(text[slot], TEXT_LEN, "%s", tab ? tab + 1 : "");
		text[slot][strcspn(text[slot], "\n")] = '\0';
		found++;
	}
	if (pclose(p) != 0)
		fail_msg("%s failed", cmd);
	return found;
}

/*
 * Generated instructions Zydis accepts, one per slot, disassembled by
 * objdump in one run: the two must agree on every length.  What Zydis
 * refuses is not compared, as objdump accepts much the CPU does not (LOCK
 * anywhere, for one).
 */
static void differential(enum cpu_mode mode, const char *machine, const char *options)
{
	static uint8_t image[DIFF_TRIES * DIFF_SLOT];
	static uint8_t zlen[DIFF_TRIES], olen[DIFF_TRIES];
	static char otext[DIFF_TRIES][TEXT_LEN];
	unsigned slots = 0;
	for (unsigned t = 0; t < DIFF_TRIES; t++) {
		uint8_t b[INSN_MAX_LEN];
		struct insn in;
		generate(mode, b);
		if (insn_decode(b, INSN_MAX_LEN, mode, &in) != ERR_OK)
			continue;
		uint8_t *slot = image + slots * DIFF_SLOT;
		memset(slot, 0x90, DIFF_SLOT);
		memcpy(slot, b, in.len);
		zlen[slots++] = in.len;
	}
	char path[] = "/tmp/test_decode.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		fail_msg("mkstemp failed");
	size_t size = (size_t)slots * DIFF_SLOT;
	if (write(fd, image, size) != (ssize_t)size)
		fail_msg("cannot write %s", path);
	close(fd);
	memset(olen, 0, sizeof(olen));
	unsigned found = objdump_lengths(path, machine, options, slots, olen, otext);
	unlink(path);
	unsigned bad = 0;
	for (unsigned s = 0; s < slots; s++) {
		if (olen[s] == zlen[s])
			continue;
		struct insn in;
		char mine[96], hex[3 * INSN_MAX_LEN + 1] = "";
		insn_decode(image + s * DIFF_SLOT, zlen[s], mode, &in);
		insn_format(&in, 0, mine, sizeof(mine));
		for (unsigned k = 0; k < zlen[s]; k++)
			snprintf(hex + 3 * k, 4, "%02x ", image[s * DIFF_SLOT + k]);
		if (bad++ < 30)
			print_message("%s: %s: zydis %u \"%s\", objdump %u \"%s\"\n", machine, hex,
				      zlen[s], mine, olen[s], otext[s]);
	}
	print_message("%s: %u of %u generated instructions valid, %u found in objdump's output, %u lengths differ\n",
		      machine, slots, DIFF_TRIES, found, bad);
	assert_true(slots >= DIFF_TRIES / 2);
	assert_int_equal(found, slots);
	assert_int_equal(bad, 0);
}

static void lengths_agree_with_objdump_64(void **state)
{
	(void)state;
	/* Zydis decodes near branches as Intel CPUs do: 66 does not shorten their
	 * displacement in 64-bit mode (SDM vol. 2A, 2.2.1.3), where AMD's do. */
	differential(CPU_MODE_64, "i386:x86-64", "-M intel64");
}

static void lengths_agree_with_objdump_32(void **state)
{
	(void)state;
	differential(CPU_MODE_32, "i386", "");
}

static void lengths_agree_with_objdump_16(void **state)
{
	(void)state;
	differential(CPU_MODE_16, "i8086", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encodings_decode_as_the_sdm_says),
		cmocka_unit_test(every_encoding_cut_short_asks_for_more_bytes),
		cmocka_unit_test(invalid_encodings_are_malformed),
		cmocka_unit_test(an_unknown_mode_is_refused),
		cmocka_unit_test(addresses_follow_the_address_size_and_segment),
		cmocka_unit_test(format_writes_intel_syntax_and_truncates),
		cmocka_unit_test(lengths_agree_with_objdump_64),
		cmocka_unit_test(lengths_agree_with_objdump_32),
		cmocka_unit_test(lengths_agree_with_objdump_16),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
