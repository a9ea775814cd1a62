/* emulate.c: the instruction emulator: MOV, XCHG, CMPXCHG*, ALU, bit-string, INC/DEC and string writes, over emu_ops. */
#include <stddef.h>
#include "vmm/emul/emulate.h"

/* RFLAGS bits (SDM vol. 1, 3.4.3). */
#define FL_CF (1ull << 0)
#define FL_PF (1ull << 2)
#define FL_AF (1ull << 4)
#define FL_ZF (1ull << 6)
#define FL_SF (1ull << 7)
#define FL_DF (1ull << 10)
#define FL_OF (1ull << 11)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

enum { GPR_RAX = 0, GPR_RCX = 1, GPR_RDX = 2, GPR_RBX = 3, GPR_RSI = 6, GPR_RDI = 7 };

/* One instruction in progress. */
struct emu {
	const struct insn *in;
	const struct insn_regs *ar;
	const struct emu_ops *ops;
	struct emu_result *res;
};

/* A memory operand's value: up to 16 bytes (CMPXCHG16B), little-endian words. */
struct val {
	uint64_t w[2];
};

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t sign_bit(unsigned size)
{
	return 1ull << (size * 8 - 1);
}

/* ---- registers ---- */

static uint64_t gpr_get(const struct emu *e, unsigned n)
{
	return e->ops->get_gpr(e->ops->ctx, n);
}

/* A register operand's value, zero-extended. */
static uint64_t reg_value(const struct emu *e, const struct insn_reg *r, unsigned size)
{
	uint64_t v = gpr_get(e, r->num);
	return r->high8 ? (v >> 8) & 0xff : v & size_mask(size);
}

/*
 * Writes size bytes of GPR n as the CPU does (SDM vol. 1, 3.4.1.1): 8- and
 * 16-bit writes keep the other bits, a 32-bit write zero-extends.
 */
static void gpr_put(const struct emu *e, unsigned n, bool high8, unsigned size, uint64_t v)
{
	uint64_t old = gpr_get(e, n), nv;
	if (high8)
		nv = (old & ~0xff00ull) | ((v & 0xff) << 8);
	else if (size == 4)
		nv = (uint32_t)v;
	else if (size == 8)
		nv = v;
	else
		nv = (old & ~size_mask(size)) | (v & size_mask(size));
	e->ops->set_gpr(e->ops->ctx, n, nv);
}

static void reg_put(const struct emu *e, const struct insn_reg *r, unsigned size, uint64_t v)
{
	gpr_put(e, r->num, r->high8, size, v);
}

static void flags_put(const struct emu *e, uint64_t flags, uint64_t which)
{
	uint64_t old = e->ops->get_rflags(e->ops->ctx);
	e->ops->set_rflags(e->ops->ctx, (old & ~which) | (flags & which));
}

/* ---- results ---- */

static enum emu_status unsupported(const struct emu *e, const char *why)
{
	e->res->why = why;
	return EMU_UNSUPPORTED;
}

static enum emu_status raise(const struct emu *e, enum emu_vector v)
{
	e->res->fault = (struct emu_fault){ .vector = (uint8_t)v, .has_error_code = v != EMU_VEC_UD };
	return EMU_FAULT;
}

static enum emu_status done(const struct emu *e)
{
	e->res->rip_delta = e->in->len;
	return EMU_DONE;
}

/* ---- memory ---- */

static enum emu_status mem_status(const struct emu *e, enum emu_mem m, uint64_t la, unsigned len,
				  bool write)
{
	switch (m) {
	case EMU_MEM_OK:
		return EMU_DONE;
	case EMU_MEM_FAULT:
		return EMU_FAULT;
	case EMU_MEM_NOT_RAM:
		break;
	}
	e->res->la = la;
	e->res->len = len;
	e->res->write = write;
	return EMU_NOT_RAM;
}

static enum emu_status mem_read(const struct emu *e, uint64_t la, struct val *v, unsigned len)
{
	*v = (struct val){ { 0, 0 } };
	return mem_status(e, e->ops->read(e->ops->ctx, la, v->w, len, &e->res->fault), la, len, false);
}

static enum emu_status mem_write(const struct emu *e, uint64_t la, const struct val *v, unsigned len)
{
	return mem_status(e, e->ops->write(e->ops->ctx, la, v->w, len, &e->res->fault), la, len, true);
}

static enum emu_status mem_cmpxchg(const struct emu *e, uint64_t la, const struct val *old,
				   const struct val *nv, unsigned len, bool *swapped)
{
	*swapped = false;
	return mem_status(e, e->ops->cmpxchg(e->ops->ctx, la, old->w, nv->w, len, swapped, &e->res->fault),
			  la, len, true);
}

/* The linear address of memory operand m moved by delta bytes within its segment (bit strings). */
static uint64_t mem_address(const struct emu *e, const struct insn_mem *m, int64_t delta)
{
	struct insn_mem moved = *m;
	moved.disp = (int64_t)((uint64_t)m->disp + (uint64_t)delta);
	return insn_mem_address(e->in, &moved, e->ar);
}

/* ---- flags (SDM vol. 1, 3.4.3.1 and appendix A) ---- */

static uint64_t flags_szp(uint64_t r, unsigned size)
{
	uint64_t f = 0;
	unsigned low = (unsigned)(r & 0xff);
	low ^= low >> 4;
	if (!((0x6996u >> (low & 0xf)) & 1)) /* an even number of set bits in the low byte */
		f |= FL_PF;
	if (!(r & size_mask(size)))
		f |= FL_ZF;
	if (r & sign_bit(size))
		f |= FL_SF;
	return f;
}

static uint64_t flags_add(uint64_t a, uint64_t b, uint64_t r, unsigned size)
{
	uint64_t m = size_mask(size);
	uint64_t f = flags_szp(r, size) | ((a ^ b ^ r) & FL_AF);
	if ((r & m) < (a & m))
		f |= FL_CF;
	if ((a ^ r) & (b ^ r) & sign_bit(size))
		f |= FL_OF;
	return f;
}

static uint64_t flags_sub(uint64_t a, uint64_t b, uint64_t r, unsigned size)
{
	uint64_t m = size_mask(size);
	uint64_t f = flags_szp(r, size) | ((a ^ b ^ r) & FL_AF);
	if ((a & m) < (b & m))
		f |= FL_CF;
	if ((a ^ b) & (a ^ r) & sign_bit(size))
		f |= FL_OF;
	return f;
}

/* ---- read-modify-write ---- */

/* What an instruction makes of the memory operand's old value. */
struct rmw {
	struct val old, nv;
	uint64_t flags;        /* new values of the bits in flags_mask */
	uint64_t flags_mask;
};

/*
 * The new value and flags of a one-word RMW instruction; src is the
 * register or immediate source (the bit offset for BTx, already reduced).
 */
static void rmw_compute(const struct emu *e, unsigned size, uint64_t src, struct rmw *r)
{
	uint64_t a = r->old.w[0], m = size_mask(size), v = 0;
	const struct insn *in = e->in;
	r->flags_mask = FL_ARITH;
	switch (in->mnemonic) {
	case INSN_ADD: v = a + src; r->flags = flags_add(a, src, v, size); break;
	case INSN_SUB: v = a - src; r->flags = flags_sub(a, src, v, size); break;
	case INSN_AND: v = a & src; r->flags = flags_szp(v, size); break;
	case INSN_OR:  v = a | src; r->flags = flags_szp(v, size); break;
	case INSN_XOR: v = a ^ src; r->flags = flags_szp(v, size); break;
	case INSN_INC:
		v = a + 1;
		r->flags = flags_add(a, 1, v, size);
		r->flags_mask = FL_ARITH & ~FL_CF;
		break;
	case INSN_DEC:
		v = a - 1;
		r->flags = flags_sub(a, 1, v, size);
		r->flags_mask = FL_ARITH & ~FL_CF;
		break;
	case INSN_BTS: case INSN_BTR: case INSN_BTC:
		r->flags = (a >> src) & 1 ? FL_CF : 0;
		r->flags_mask = FL_CF;
		v = in->mnemonic == INSN_BTS ? a | (1ull << src)
		  : in->mnemonic == INSN_BTR ? a & ~(1ull << src) : a ^ (1ull << src);
		break;
	case INSN_XCHG:
		v = src;
		r->flags_mask = 0;
		break;
	case INSN_CMPXCHG: {
		/* Flags as CMP accumulator, destination (SDM vol. 2A, "CMPXCHG"). */
		uint64_t acc = gpr_get(e, GPR_RAX) & m;
		r->flags = flags_sub(acc, a, acc - a, size);
		v = acc == a ? src : a;
		break;
	}
	default:
		break;
	}
	r->nv.w[0] = v & m;
}

/* CMPXCHG8B/16B: compare rDX:rAX with memory, store rCX:rBX if equal; only ZF changes. */
static void rmw_compute_wide(const struct emu *e, unsigned half, struct rmw *r)
{
	uint64_t m = size_mask(half);
	uint64_t lo = gpr_get(e, GPR_RAX) & m, hi = gpr_get(e, GPR_RDX) & m;
	uint64_t old_lo = half == 8 ? r->old.w[0] : r->old.w[0] & m;
	uint64_t old_hi = half == 8 ? r->old.w[1] : r->old.w[0] >> 32;
	bool eq = lo == old_lo && hi == old_hi;
	r->flags = eq ? FL_ZF : 0;
	r->flags_mask = FL_ZF;
	if (!eq) {
		r->nv = r->old;
	} else if (half == 8) {
		r->nv.w[0] = gpr_get(e, GPR_RBX);
		r->nv.w[1] = gpr_get(e, GPR_RCX);
	} else {
		r->nv.w[0] = (gpr_get(e, GPR_RBX) & m) | ((gpr_get(e, GPR_RCX) & m) << 32);
		r->nv.w[1] = 0;
	}
}

/*
 * Reads the operand at la, computes, and writes the result: with write(),
 * or for a locked instruction with cmpxchg() against the value read,
 * recomputing when another vCPU changed it in between.  The CMPXCHG
 * family writes the old value back on a mismatch, as the CPU does (so a
 * read-only page faults either way).
 */
static enum emu_status rmw_run(const struct emu *e, uint64_t la, unsigned len, uint64_t src,
			       struct rmw *r)
{
	bool locked = (e->in->prefixes & INSN_PFX_LOCK) || e->in->mnemonic == INSN_XCHG;
	for (unsigned tries = 0; tries < EMU_CMPXCHG_TRIES; tries++) {
		enum emu_status st = mem_read(e, la, &r->old, len);
		if (st != EMU_DONE)
			return st;
		r->nv = (struct val){ { 0, 0 } };
		if (e->in->mnemonic == INSN_CMPXCHG8B || e->in->mnemonic == INSN_CMPXCHG16B)
			rmw_compute_wide(e, len / 2, r);
		else
			rmw_compute(e, len, src, r);
		if (!locked)
			return mem_write(e, la, &r->nv, len);
		bool swapped;
		st = mem_cmpxchg(e, la, &r->old, &r->nv, len, &swapped);
		if (st != EMU_DONE || swapped)
			return st;
	}
	return EMU_RETRY;
}

static bool lockable(enum insn_mnemonic mn)
{
	switch (mn) {
	case INSN_ADD: case INSN_SUB: case INSN_AND: case INSN_OR: case INSN_XOR:
	case INSN_BTS: case INSN_BTR: case INSN_BTC: case INSN_INC: case INSN_DEC:
	case INSN_XCHG: case INSN_CMPXCHG: case INSN_CMPXCHG8B: case INSN_CMPXCHG16B:
		return true;
	default:
		return false;
	}
}

/* The source operand (register or immediate) reduced to size bytes. */
static bool source_value(const struct emu *e, const struct insn_op *o, unsigned size, uint64_t *v)
{
	if (o->kind == INSN_OP_IMM) {
		*v = o->imm & size_mask(size);
		return true;
	}
	if (o->kind == INSN_OP_REG && o->reg.cls == INSN_REG_GPR) {
		*v = reg_value(e, &o->reg, size);
		return true;
	}
	return false;
}

/* ADD ... DEC, BTx, XCHG, CMPXCHG: one memory operand read, modified and written. */
static enum emu_status run_rmw(const struct emu *e)
{
	const struct insn *in = e->in;
	unsigned mi = 0, si = 1;
	if (in->mnemonic == INSN_XCHG && in->op_count >= 2 && in->ops[1].kind == INSN_OP_MEM) {
		mi = 1;
		si = 0;
	}
	const struct insn_op *mo = &in->ops[mi];
	if (in->op_count < 1 || mo->kind != INSN_OP_MEM)
		return (in->prefixes & INSN_PFX_LOCK) ? raise(e, EMU_VEC_UD)
						      : unsupported(e, "register destination");
	unsigned size = mo->size;
	bool one_op = in->mnemonic == INSN_INC || in->mnemonic == INSN_DEC ||
		      in->mnemonic == INSN_CMPXCHG8B || in->mnemonic == INSN_CMPXCHG16B;
	uint64_t src = 0;
	if (!one_op && (in->op_count <= si || !source_value(e, &in->ops[si], size, &src)))
		return unsupported(e, "source operand");

	int64_t delta = 0;
	bool bt = in->mnemonic == INSN_BTS || in->mnemonic == INSN_BTR || in->mnemonic == INSN_BTC;
	if (bt) {
		/*
		 * SDM vol. 2A, "BT": an immediate offset is taken modulo the
		 * operand width; a register offset is a signed bit index into the
		 * string starting at the operand, reaching the word that holds it.
		 */
		unsigned bits = size * 8;
		if (in->ops[si].kind == INSN_OP_REG) {
			uint64_t sb = sign_bit(size);
			int64_t off = (int64_t)((src ^ sb) - sb); /* sign-extended */
			/* floor(off / bits): gcc shifts signed values arithmetically */
			delta = (off >> __builtin_ctz(bits)) * (int64_t)size;
		}
		src &= bits - 1;
	}
	uint64_t la = mem_address(e, &mo->mem, delta);
	if (in->mnemonic == INSN_CMPXCHG16B && (la & 15))
		return raise(e, EMU_VEC_GP); /* SDM vol. 2A, "CMPXCHG8B/CMPXCHG16B": #GP(0) */

	struct rmw r;
	enum emu_status st = rmw_run(e, la, size, src, &r);
	if (st != EMU_DONE)
		return st;

	flags_put(e, r.flags, r.flags_mask);
	switch (in->mnemonic) {
	case INSN_XCHG:
		reg_put(e, &in->ops[si].reg, size, r.old.w[0]);
		break;
	case INSN_CMPXCHG:
		if (!(r.flags & FL_ZF))
			gpr_put(e, GPR_RAX, false, size, r.old.w[0]);
		break;
	case INSN_CMPXCHG8B:
		if (!(r.flags & FL_ZF)) {
			gpr_put(e, GPR_RAX, false, 4, r.old.w[0]);
			gpr_put(e, GPR_RDX, false, 4, r.old.w[0] >> 32);
		}
		break;
	case INSN_CMPXCHG16B:
		if (!(r.flags & FL_ZF)) {
			gpr_put(e, GPR_RAX, false, 8, r.old.w[0]);
			gpr_put(e, GPR_RDX, false, 8, r.old.w[1]);
		}
		break;
	default:
		break;
	}
	return done(e);
}

/* MOV to memory from a register or immediate, or to a register from memory. */
static enum emu_status run_mov(const struct emu *e)
{
	const struct insn *in = e->in;
	if (in->op_count < 2)
		return unsupported(e, "mov form");
	const struct insn_op *d = &in->ops[0], *s = &in->ops[1];
	struct val v = { { 0, 0 } };
	if (d->kind == INSN_OP_MEM) {
		if (!source_value(e, s, d->size, &v.w[0]))
			return unsupported(e, "mov from a segment or system register");
		enum emu_status st = mem_write(e, insn_mem_address(in, &d->mem, e->ar), &v, d->size);
		return st == EMU_DONE ? done(e) : st;
	}
	if (d->kind == INSN_OP_REG && d->reg.cls == INSN_REG_GPR && s->kind == INSN_OP_MEM) {
		enum emu_status st = mem_read(e, insn_mem_address(in, &s->mem, e->ar), &v, s->size);
		if (st != EMU_DONE)
			return st;
		reg_put(e, &d->reg, d->size, v.w[0]);
		return done(e);
	}
	return unsupported(e, "mov without memory");
}

/*
 * STOS and MOVS, one element (SDM vol. 2B, "STOS", "MOVS", "REP"): rDI (and
 * rSI) step by the element size, down with DF; with REP, rCX counts and a
 * zero count does nothing.  Pointers and count are address-size wide.
 * While iterations remain RIP stays, and the guest re-executes the rest
 * (natively when it no longer touches a trapped page).
 */
static enum emu_status run_string(const struct emu *e)
{
	const struct insn *in = e->in;
	bool movs = in->mnemonic == INSN_MOVS;
	bool rep = (in->prefixes & (INSN_PFX_REP | INSN_PFX_REPNE)) != 0;
	unsigned as = in->addr_size, size = in->op_size;
	uint64_t am = size_mask(as);
	if (in->op_count < 2 || in->ops[0].kind != INSN_OP_MEM ||
	    (movs && in->ops[1].kind != INSN_OP_MEM) ||
	    (!movs && in->ops[1].kind != INSN_OP_REG))
		return unsupported(e, "string operands");
	uint64_t count = gpr_get(e, GPR_RCX) & am;
	if (rep && !count)
		return done(e);

	struct val v = { { 0, 0 } };
	enum emu_status st;
	uint64_t src_la = 0;
	if (movs) {
		src_la = insn_mem_address(in, &in->ops[1].mem, e->ar);
		st = mem_read(e, src_la, &v, size);
		if (st != EMU_DONE)
			return st;
	} else {
		v.w[0] = reg_value(e, &in->ops[1].reg, size);
	}
	st = mem_write(e, insn_mem_address(in, &in->ops[0].mem, e->ar), &v, size);
	if (st != EMU_DONE)
		return st;

	uint64_t step = (e->ops->get_rflags(e->ops->ctx) & FL_DF) ? 0 - (uint64_t)size : size;
	gpr_put(e, GPR_RDI, false, as, gpr_get(e, GPR_RDI) + step);
	if (movs)
		gpr_put(e, GPR_RSI, false, as, gpr_get(e, GPR_RSI) + step);
	if (!rep)
		return done(e);
	gpr_put(e, GPR_RCX, false, as, count - 1);
	if (count - 1)
		e->res->rip_delta = 0;
	else
		e->res->rip_delta = in->len;
	return EMU_DONE;
}

enum emu_status emu_run(const struct insn *in, const struct insn_regs *addr_regs,
			const struct emu_ops *ops, struct emu_result *res)
{
	const struct emu e = { .in = in, .ar = addr_regs, .ops = ops, .res = res };
	*res = (struct emu_result){ .why = NULL };
	if ((in->prefixes & INSN_PFX_LOCK) && !lockable(in->mnemonic))
		return raise(&e, EMU_VEC_UD); /* SDM vol. 2A, "LOCK" */
	switch (in->mnemonic) {
	case INSN_MOV:
		return run_mov(&e);
	case INSN_ADD: case INSN_SUB: case INSN_AND: case INSN_OR: case INSN_XOR:
	case INSN_BTS: case INSN_BTR: case INSN_BTC: case INSN_INC: case INSN_DEC:
	case INSN_XCHG: case INSN_CMPXCHG: case INSN_CMPXCHG8B: case INSN_CMPXCHG16B:
		return run_rmw(&e);
	case INSN_STOS: case INSN_MOVS:
		return run_string(&e);
	default:
		return unsupported(&e, in->name ? in->name : "instruction");
	}
}
