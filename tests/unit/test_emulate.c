/* test_emulate.c: unit tests of the instruction emulator (vmm/emul/emulate.c): results and flags against the host CPU, faults, REP stepping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/emul/emulate.h"

#define FL_CF 0x001ull
#define FL_ZF 0x040ull
#define FL_DF 0x400ull
#define FL_ARITH 0x8d5ull /* CF PF AF ZF SF OF */
#define FL_FIXED 0x002ull /* bit 1 reads as one */

/* ---- a fake guest: a register file and flat linear memory at MEM_BASE ---- */

#define MEM_BASE 0x10000u
#define MEM_SIZE 0x20000u
#define DATA     (MEM_BASE + 0x1000u) /* where most tests put their operand */

struct guest {
	uint64_t gpr[16], rflags;
	uint8_t mem[MEM_SIZE];
	uint64_t fault_lo, fault_hi;    /* accesses touching [lo, hi) fault ... */
	bool fault_read, fault_write;   /* ... when reading / writing */
	uint64_t hole_lo, hole_hi;      /* not RAM */
	unsigned reads, writes, cmpxchgs;
	unsigned races;                 /* cmpxchg calls that first see another vCPU's store */
};

static struct guest g;

static uint64_t get_gpr(void *ctx, unsigned n) { (void)ctx; return g.gpr[n]; }
static void set_gpr(void *ctx, unsigned n, uint64_t v) { (void)ctx; g.gpr[n] = v; }
static uint64_t get_rflags(void *ctx) { (void)ctx; return g.rflags; }
static void set_rflags(void *ctx, uint64_t v) { (void)ctx; g.rflags = v; }

static uint8_t *at(uint64_t la) { return &g.mem[la - MEM_BASE]; }

static enum emu_mem check(uint64_t la, unsigned len, bool write, struct emu_fault *f)
{
	if (la < MEM_BASE || la + len > MEM_BASE + MEM_SIZE ||
	    (la < g.hole_hi && la + len > g.hole_lo))
		return EMU_MEM_NOT_RAM;
	if ((write ? g.fault_write : g.fault_read) && la < g.fault_hi && la + len > g.fault_lo) {
		*f = (struct emu_fault){ .vector = EMU_VEC_PF, .has_error_code = true,
					 .error_code = 1u | (write ? 2u : 0u),
					 .cr2 = la > g.fault_lo ? la : g.fault_lo };
		return EMU_MEM_FAULT;
	}
	return EMU_MEM_OK;
}

static enum emu_mem mem_read(void *ctx, uint64_t la, void *dst, unsigned len, struct emu_fault *f)
{
	(void)ctx;
	g.reads++;
	enum emu_mem m = check(la, len, false, f);
	if (m == EMU_MEM_OK)
		memcpy(dst, at(la), len);
	return m;
}

static enum emu_mem mem_write(void *ctx, uint64_t la, const void *src, unsigned len, struct emu_fault *f)
{
	(void)ctx;
	g.writes++;
	enum emu_mem m = check(la, len, true, f);
	if (m == EMU_MEM_OK)
		memcpy(at(la), src, len);
	return m;
}

static enum emu_mem mem_cmpxchg(void *ctx, uint64_t la, const void *old, const void *nv, unsigned len,
				bool *swapped, struct emu_fault *f)
{
	(void)ctx;
	g.cmpxchgs++;
	enum emu_mem m = check(la, len, true, f);
	if (m != EMU_MEM_OK)
		return m;
	if (g.races) {
		g.races--;
		at(la)[0] ^= 0x5a; /* another vCPU got there first */
	}
	*swapped = memcmp(at(la), old, len) == 0;
	if (*swapped)
		memcpy(at(la), nv, len);
	return EMU_MEM_OK;
}

static const struct emu_ops ops = {
	.get_gpr = get_gpr, .set_gpr = set_gpr, .get_rflags = get_rflags, .set_rflags = set_rflags,
	.read = mem_read, .write = mem_write, .cmpxchg = mem_cmpxchg,
};

static void guest_reset(void)
{
	memset(&g, 0, sizeof(g));
	g.rflags = FL_FIXED;
	for (unsigned i = 0; i < 16; i++)
		g.gpr[i] = 0x1111111111111111ull * i ^ 0xa5a5a5a5a5a5a5a5ull;
}

static struct insn_regs addr_regs = { .read_gpr = get_gpr };

/* Decodes bytes in mode (which must succeed) and runs them on the fake guest. */
static enum emu_status run(enum cpu_mode mode, const uint8_t *bytes, unsigned n, struct insn *in,
			   struct emu_result *res)
{
	err_t e = insn_decode(bytes, n, mode, in);
	if (e != ERR_OK)
		fail_msg("decode: %s", err_str(e));
	assert_int_equal(in->len, n);
	return emu_run(in, &addr_regs, &ops, res);
}

#define RUN(mode, res, ...)                                                                 \
	({                                                                                  \
		const uint8_t b_[] = { __VA_ARGS__ };                                       \
		struct insn in_;                                                            \
		run(mode, b_, sizeof(b_), &in_, res);                                       \
	})

/* ---- the host CPU as the reference ---- */

/*
 * Runs one instruction on host memory at p with RFLAGS loaded from *f and
 * saved back.  The stack pointer steps over the red zone first, where the
 * compiler may keep locals, before PUSHF/POPF use the stack.
 */
#define HOST_IN  "lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"
#define HOST_OUT "\n\tpushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"
#define HOST_RM(insn, sv)                                                                   \
	asm volatile(HOST_IN insn HOST_OUT : [f] "+r"(fl) : [p] "r"(p), [s] "r"(sv) : "memory", "cc")

#define DEFINE_HOST_BINOP(name)                                                             \
	static void host_##name(unsigned size, void *p, uint64_t src, uint64_t *flags)     \
	{                                                                                   \
		uint64_t fl = *flags;                                                       \
		switch (size) {                                                             \
		case 1: HOST_RM(#name "b %b[s], (%[p])", src); break;                       \
		case 2: HOST_RM(#name "w %w[s], (%[p])", src); break;                       \
		case 4: HOST_RM(#name "l %k[s], (%[p])", src); break;                       \
		default: HOST_RM(#name "q %q[s], (%[p])", src); break;                      \
		}                                                                           \
		*flags = fl;                                                                \
	}
DEFINE_HOST_BINOP(add)
DEFINE_HOST_BINOP(sub)
DEFINE_HOST_BINOP(and)
DEFINE_HOST_BINOP(or)
DEFINE_HOST_BINOP(xor)

/* BTS/BTR/BTC have no byte form. */
#define DEFINE_HOST_BITOP(name)                                                             \
	static void host_##name(unsigned size, void *p, uint64_t src, uint64_t *flags)     \
	{                                                                                   \
		uint64_t fl = *flags;                                                       \
		switch (size) {                                                             \
		case 2: HOST_RM(#name "w %w[s], (%[p])", src); break;                       \
		case 4: HOST_RM(#name "l %k[s], (%[p])", src); break;                       \
		default: HOST_RM(#name "q %q[s], (%[p])", src); break;                      \
		}                                                                           \
		*flags = fl;                                                                \
	}
DEFINE_HOST_BITOP(bts)
DEFINE_HOST_BITOP(btr)
DEFINE_HOST_BITOP(btc)

#define DEFINE_HOST_UNOP(name)                                                              \
	static void host_##name(unsigned size, void *p, uint64_t src, uint64_t *flags)     \
	{                                                                                   \
		uint64_t fl = *flags;                                                       \
		switch (size) {                                                             \
		case 1: HOST_RM(#name "b (%[p])", src); break;                              \
		case 2: HOST_RM(#name "w (%[p])", src); break;                              \
		case 4: HOST_RM(#name "l (%[p])", src); break;                              \
		default: HOST_RM(#name "q (%[p])", src); break;                             \
		}                                                                           \
		*flags = fl;                                                                \
	}
DEFINE_HOST_UNOP(inc)
DEFINE_HOST_UNOP(dec)

static void host_cmpxchg(unsigned size, void *p, uint64_t src, uint64_t *rax, uint64_t *flags)
{
	uint64_t fl = *flags, a = *rax;
#define HOST_CX(insn) \
	asm volatile(HOST_IN insn HOST_OUT : [f] "+r"(fl), "+a"(a) : [p] "r"(p), [s] "r"(src) : "memory", "cc")
	switch (size) {
	case 1: HOST_CX("cmpxchgb %b[s], (%[p])"); break;
	case 2: HOST_CX("cmpxchgw %w[s], (%[p])"); break;
	case 4: HOST_CX("cmpxchgl %k[s], (%[p])"); break;
	default: HOST_CX("cmpxchgq %q[s], (%[p])"); break;
	}
#undef HOST_CX
	*flags = fl;
	*rax = a;
}

/* Operand values: the edges of every size, then pseudo-random ones. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const uint64_t edges[] = {
	0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
	0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
	0xfffffffffffffffeull,
};
#define N_EDGES (sizeof(edges) / sizeof(edges[0]))
#define N_VALUES (N_EDGES + 8)

static uint64_t value(unsigned i)
{
	return i < N_EDGES ? edges[i] : rng();
}

static uint64_t mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* Appends the prefixes of a 64-bit-mode instruction with operand size `size`. */
static unsigned prefixes(uint8_t *b, bool lock, unsigned size)
{
	unsigned n = 0;
	if (lock)
		b[n++] = 0xf0;
	if (size == 2)
		b[n++] = 0x66;
	if (size == 8)
		b[n++] = 0x48;
	return n;
}

static void store(uint64_t la, uint64_t v, unsigned len) { memcpy(at(la), &v, len); }
static uint64_t load(uint64_t la, unsigned len) { uint64_t v = 0; memcpy(&v, at(la), len); return v; }

/* ---- ALU with a memory destination ---- */

struct alu {
	const char *name;
	uint8_t opcode;     /* the r/m8, r8 form; +1 for the wider sizes */
	uint8_t digit;      /* the /digit of 80, 81, 83 */
	void (*host)(unsigned size, void *p, uint64_t src, uint64_t *flags);
};

static const struct alu alus[] = {
	{ "add", 0x00, 0, host_add }, { "or", 0x08, 1, host_or }, { "and", 0x20, 4, host_and },
	{ "sub", 0x28, 5, host_sub }, { "xor", 0x30, 6, host_xor },
};

enum src_form { SRC_REG, SRC_IMM8, SRC_IMM, SRC_FORMS };

/* Runs "op [rbx], src" (lock or not) on the guest and on the host; both must agree. */
static void alu_check(const struct alu *a, unsigned size, enum src_form form, bool lock, uint64_t dst,
		      uint64_t src)
{
	uint8_t b[16];
	unsigned n = prefixes(b, lock, size);
	uint64_t host_src = src;
	if (form == SRC_REG) {
		b[n++] = (uint8_t)(a->opcode + (size > 1));
		b[n++] = 0x0b; /* [rbx], rcx */
	} else if (form == SRC_IMM8 || size == 1) {
		b[n++] = size == 1 ? 0x80 : 0x83;
		b[n++] = (uint8_t)(a->digit << 3 | 3);
		b[n++] = (uint8_t)src;
		host_src = (uint64_t)(int64_t)(int8_t)src;
	} else {
		b[n++] = 0x81;
		b[n++] = (uint8_t)(a->digit << 3 | 3);
		unsigned ilen = size == 2 ? 2 : 4;
		memcpy(&b[n], &src, ilen);
		n += ilen;
		host_src = size == 2 ? (uint64_t)(int64_t)(int16_t)src : (uint64_t)(int64_t)(int32_t)src;
	}
	uint64_t flags_in = FL_FIXED | (rng() & FL_ARITH);

	guest_reset();
	g.gpr[3] = DATA;
	g.gpr[1] = src;
	g.rflags = flags_in;
	store(DATA, dst, size);
	store(DATA + size, 0xdeadbeefcafef00dull, 8);
	struct insn in;
	struct emu_result res;
	enum emu_status st = run(CPU_MODE_64, b, n, &in, &res);

	uint64_t host_mem = dst, host_flags = flags_in;
	a->host(size, &host_mem, host_src, &host_flags);

	if (st != EMU_DONE || res.rip_delta != n)
		fail_msg("%s size %u form %d: status %d", a->name, size, form, st);
	if (load(DATA, size) != (host_mem & mask(size)) || load(DATA + size, 8) != 0xdeadbeefcafef00dull)
		fail_msg("%s size %u form %d lock %d: %#llx, %#llx -> %#llx, host %#llx", a->name, size,
			 form, lock, (unsigned long long)dst, (unsigned long long)src,
			 (unsigned long long)load(DATA, size), (unsigned long long)(host_mem & mask(size)));
	if ((g.rflags ^ host_flags) & FL_ARITH)
		fail_msg("%s size %u form %d: %#llx, %#llx flags %#llx, host %#llx", a->name, size, form,
			 (unsigned long long)dst, (unsigned long long)src,
			 (unsigned long long)g.rflags, (unsigned long long)(host_flags & FL_ARITH));
	assert_int_equal(g.rflags & ~FL_ARITH, FL_FIXED);
	assert_int_equal(g.gpr[1], src);
	/* A locked update is one compare-exchange; an unlocked one a plain write. */
	assert_int_equal(g.cmpxchgs, lock ? 1 : 0);
	assert_int_equal(g.writes, lock ? 0 : 1);
}

static void alu_ops_match_the_host_cpu_at_every_size(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned ai = 0; ai < sizeof(alus) / sizeof(alus[0]); ai++)
		for (unsigned si = 0; si < 4; si++)
			for (unsigned form = 0; form < SRC_FORMS; form++)
				for (unsigned i = 0; i < N_VALUES; i++)
					for (unsigned j = 0; j < N_VALUES; j++)
						alu_check(&alus[ai], sizes[si], (enum src_form)form,
							  (i + j) & 1, value(i), value(j));
}

/* INC and DEC: FE/FF /0 and /1; CF is kept, the rest as the host sets it. */
static void inc_dec_match_the_host_cpu_and_keep_cf(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned dec = 0; dec < 2; dec++)
		for (unsigned si = 0; si < 4; si++)
			for (unsigned i = 0; i < N_VALUES; i++)
				for (unsigned cf = 0; cf < 2; cf++) {
					unsigned size = sizes[si];
					uint8_t b[8];
					unsigned n = prefixes(b, i & 1, size);
					b[n++] = size == 1 ? 0xfe : 0xff;
					b[n++] = (uint8_t)(dec << 3 | 3);
					uint64_t v = value(i), fl = FL_FIXED | (rng() & FL_ARITH & ~FL_CF) | cf;
					guest_reset();
					g.gpr[3] = DATA;
					g.rflags = fl;
					store(DATA, v, size);
					struct insn in;
					struct emu_result res;
					assert_int_equal(run(CPU_MODE_64, b, n, &in, &res), EMU_DONE);
					uint64_t hm = v;
					(dec ? host_dec : host_inc)(size, &hm, 0, &fl);
					assert_int_equal(load(DATA, size), hm & mask(size));
					assert_int_equal(g.rflags & FL_ARITH, fl & FL_ARITH);
					assert_int_equal(g.rflags & FL_CF, cf);
				}
}

/* ---- bit test and modify ---- */

/*
 * BTS/BTR/BTC [rbx], reg with offsets reaching words before and after the
 * operand, and with imm8 (masked to the width), against the host on a copy
 * of the same bytes.  ZF is kept; OF, SF, AF, PF are undefined, checked
 * against this host too.
 */
static void bit_ops_address_a_signed_bit_string_like_the_host(void **state)
{
	(void)state;
	static const struct { uint8_t reg_op, digit; void (*host)(unsigned, void *, uint64_t, uint64_t *); } bits[] = {
		{ 0xab, 5, host_bts }, { 0xb3, 6, host_btr }, { 0xbb, 7, host_btc },
	};
	static const unsigned sizes[] = { 2, 4, 8 };
	uint8_t host_buf[512] __attribute__((aligned(16)));
	for (unsigned k = 0; k < 3; k++)
		for (unsigned si = 0; si < 3; si++)
			for (unsigned t = 0; t < 200; t++) {
				unsigned size = sizes[si];
				bool imm = t % 4 == 3;
				int64_t off = (int64_t)(rng() % 1600) - 800;
				if (t < 8)
					off = (int64_t[]){ 0, -1, 15, 16, 31, 32, 63, 64 }[t];
				uint8_t b[16];
				unsigned n = prefixes(b, t & 1, size);
				b[n++] = 0x0f;
				if (imm) {
					b[n++] = 0xba;
					b[n++] = (uint8_t)(bits[k].digit << 3 | 3);
					b[n++] = (uint8_t)off;
				} else {
					b[n++] = bits[k].reg_op;
					b[n++] = 0x0b;
				}
				guest_reset();
				for (unsigned i = 0; i < sizeof(host_buf); i++)
					host_buf[i] = (uint8_t)rng();
				memcpy(at(DATA - 256), host_buf, sizeof(host_buf));
				g.gpr[3] = DATA;
				g.gpr[1] = (uint64_t)off;
				uint64_t fl = FL_FIXED | (rng() & FL_ARITH);
				g.rflags = fl;
				struct insn in;
				struct emu_result res;
				assert_int_equal(run(CPU_MODE_64, b, n, &in, &res), EMU_DONE);
				/* imm8 is taken modulo the width (SDM vol. 2A, "BT"); see also below */
				uint64_t src = imm ? (uint64_t)(uint8_t)off % (size * 8) : (uint64_t)off;
				bits[k].host(size, host_buf + 256, src, &fl);
				if (memcmp(at(DATA - 256), host_buf, sizeof(host_buf)))
					fail_msg("bit op %u size %u off %lld imm %d", k, size, (long long)off, imm);
				assert_int_equal(g.rflags & FL_ARITH, fl & FL_ARITH);
				assert_int_equal(g.gpr[1], (uint64_t)off);
			}
}

/* BTS [rbx], imm8 with an offset past the width, on the host's own immediate form. */
static void bts_immediate_is_taken_modulo_the_width_like_the_host(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 2, 4, 8 };
	for (unsigned si = 0; si < 3; si++) {
		unsigned size = sizes[si];
		uint8_t b[8];
		unsigned n = prefixes(b, false, size);
		b[n++] = 0x0f, b[n++] = 0xba, b[n++] = 0x2b, b[n++] = 0xe5; /* bts [rbx], 0xe5 */
		uint64_t host_mem[2] = { 0, 0 }, fl = FL_FIXED;
		void *p = host_mem;
		switch (size) {
		case 2: HOST_RM("btsw $0xe5, (%[p])", 0); break;
		case 4: HOST_RM("btsl $0xe5, (%[p])", 0); break;
		default: HOST_RM("btsq $0xe5, (%[p])", 0); break;
		}
		guest_reset();
		g.gpr[3] = DATA;
		struct insn in;
		struct emu_result res;
		assert_int_equal(run(CPU_MODE_64, b, n, &in, &res), EMU_DONE);
		assert_memory_equal(at(DATA), host_mem, 16);
		assert_int_equal(g.rflags & FL_ARITH, fl & FL_ARITH);
	}
}

/* ---- compare-exchange ---- */

/* CMPXCHG [rbx], rcx (0F B0/B1) equal and not: memory, RAX (all 64 bits) and flags as on the host. */
static void cmpxchg_matches_the_host_cpu(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned si = 0; si < 4; si++)
		for (unsigned i = 0; i < N_VALUES; i++)
			for (unsigned j = 0; j < 3; j++) {
				unsigned size = sizes[si];
				uint8_t b[8];
				unsigned n = prefixes(b, i & 1, size);
				b[n++] = 0x0f;
				b[n++] = size == 1 ? 0xb0 : 0xb1;
				b[n++] = 0x0b;
				uint64_t mem = value(i), src = rng();
				/* the accumulator: equal in its low bits, or off by one, or random */
				uint64_t rax = j == 0 ? (rng() & ~mask(size)) | (mem & mask(size))
					     : j == 1 ? mem + 1 : rng();
				uint64_t fl = FL_FIXED | (rng() & FL_ARITH);
				guest_reset();
				g.gpr[0] = rax;
				g.gpr[1] = src;
				g.gpr[3] = DATA;
				g.rflags = fl;
				store(DATA, mem, size);
				struct insn in;
				struct emu_result res;
				assert_int_equal(run(CPU_MODE_64, b, n, &in, &res), EMU_DONE);
				uint64_t hm = mem;
				host_cmpxchg(size, &hm, src, &rax, &fl);
				assert_int_equal(load(DATA, size), hm & mask(size));
				assert_int_equal(g.gpr[0], rax);
				assert_int_equal(g.rflags & FL_ARITH, fl & FL_ARITH);
				/* a mismatch still writes (the old value back) */
				assert_int_equal(g.writes + g.cmpxchgs, 1);
			}
}

static void host_cmpxchg16b(void *p, uint64_t *rax, uint64_t *rdx, uint64_t rbx, uint64_t rcx, uint64_t *flags)
{
	uint64_t fl = *flags, a = *rax, d = *rdx;
	asm volatile(HOST_IN "cmpxchg16b (%[p])" HOST_OUT
		     : [f] "+r"(fl), "+a"(a), "+d"(d) : [p] "r"(p), "b"(rbx), "c"(rcx) : "memory", "cc");
	*flags = fl;
	*rax = a;
	*rdx = d;
}

static void host_cmpxchg8b(void *p, uint64_t *rax, uint64_t *rdx, uint64_t rbx, uint64_t rcx, uint64_t *flags)
{
	uint64_t fl = *flags, a = *rax, d = *rdx;
	asm volatile(HOST_IN "cmpxchg8b (%[p])" HOST_OUT
		     : [f] "+r"(fl), "+a"(a), "+d"(d) : [p] "r"(p), "b"(rbx), "c"(rcx) : "memory", "cc");
	*flags = fl;
	*rax = a;
	*rdx = d;
}

/* CMPXCHG8B / CMPXCHG16B [rsi]: EDX:EAX / RDX:RAX against memory; only ZF changes. */
static void cmpxchg8b_16b_match_the_host_cpu(void **state)
{
	(void)state;
	uint8_t host_buf[16] __attribute__((aligned(16)));
	for (unsigned wide = 0; wide < 2; wide++)
		for (unsigned t = 0; t < 64; t++) {
			unsigned len = wide ? 16 : 8;
			uint8_t b[8];
			unsigned n = 0;
			if (t & 1)
				b[n++] = 0xf0;
			if (wide)
				b[n++] = 0x48;
			b[n++] = 0x0f;
			b[n++] = 0xc7;
			b[n++] = 0x0e; /* /1 [rsi] */
			for (unsigned i = 0; i < 16; i++)
				host_buf[i] = (uint8_t)rng();
			uint64_t rax, rdx, rbx = rng(), rcx = rng(), fl = FL_FIXED | (rng() & FL_ARITH);
			memcpy(&rax, host_buf, 8);
			memcpy(&rdx, host_buf + (wide ? 8 : 4), 8);
			if (!wide) /* EDX:EAX from the 8 bytes, junk above */
				rax = (rax & 0xffffffff) | (rng() << 32), rdx = (rdx & 0xffffffff) | (rng() << 32);
			if (t & 2)
				rdx ^= 1; /* a mismatch */
			guest_reset();
			g.gpr[0] = rax, g.gpr[1] = rcx, g.gpr[2] = rdx, g.gpr[3] = rbx, g.gpr[6] = DATA;
			g.rflags = fl;
			memcpy(at(DATA), host_buf, len);
			struct insn in;
			struct emu_result res;
			assert_int_equal(run(CPU_MODE_64, b, n, &in, &res), EMU_DONE);
			(wide ? host_cmpxchg16b : host_cmpxchg8b)(host_buf, &rax, &rdx, rbx, rcx, &fl);
			assert_memory_equal(at(DATA), host_buf, len);
			assert_int_equal(g.gpr[0], rax);
			assert_int_equal(g.gpr[2], rdx);
			assert_int_equal(g.rflags, (fl & FL_ARITH) | FL_FIXED);
			assert_int_equal(!!(g.rflags & FL_ZF), !(t & 2));
		}
}

static void cmpxchg16b_misaligned_is_gp0_and_touches_nothing(void **state)
{
	(void)state;
	guest_reset();
	g.gpr[6] = DATA + 8;
	struct emu_result res;
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xf0, 0x48, 0x0f, 0xc7, 0x0e), EMU_FAULT);
	assert_int_equal(res.fault.vector, EMU_VEC_GP);
	assert_true(res.fault.has_error_code);
	assert_int_equal(res.fault.error_code, 0);
	assert_int_equal(g.reads + g.writes + g.cmpxchgs, 0);
}

static void cmpxchg8b_in_32bit_mode_uses_edx_eax(void **state)
{
	(void)state;
	guest_reset();
	g.gpr[7] = DATA;
	g.gpr[0] = 0x11111111, g.gpr[2] = 0x22222222, g.gpr[3] = 0x33333333, g.gpr[1] = 0x44444444;
	store(DATA, 0x2222222211111111ull, 8);
	struct emu_result res;
	assert_int_equal(RUN(CPU_MODE_32, &res, 0xf0, 0x0f, 0xc7, 0x0f), EMU_DONE);
	assert_int_equal(load(DATA, 8), 0x4444444433333333ull);
	assert_true(g.rflags & FL_ZF);
	assert_int_equal(g.cmpxchgs, 1);
}

/* A locked update that loses a race reads again and retries; after EMU_CMPXCHG_TRIES it gives up. */
static void locked_update_retries_after_another_vcpu_stores(void **state)
{
	(void)state;
	struct emu_result res;
	guest_reset();
	g.gpr[3] = DATA;
	g.gpr[1] = 1;
	store(DATA, 0x100, 4);
	g.races = 1;
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xf0, 0x01, 0x0b), EMU_DONE); /* lock add [rbx], ecx */
	assert_int_equal(load(DATA, 4), (0x100 ^ 0x5a) + 1);
	assert_int_equal(g.cmpxchgs, 2);

	guest_reset();
	g.gpr[3] = DATA;
	store(DATA, 0x100, 4);
	g.races = 1000;
	uint64_t before[16];
	memcpy(before, g.gpr, sizeof(before));
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x87, 0x0b), EMU_RETRY); /* xchg [rbx], ecx */
	assert_int_equal(g.cmpxchgs, EMU_CMPXCHG_TRIES);
	assert_memory_equal(g.gpr, before, sizeof(before));
}

/* ---- XCHG, MOV ---- */

static void xchg_with_memory_is_always_locked(void **state)
{
	(void)state;
	struct emu_result res;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (unsigned si = 0; si < 4; si++) {
		unsigned size = sizes[si];
		uint8_t b[8];
		unsigned n = prefixes(b, false, size);
		b[n++] = size == 1 ? 0x86 : 0x87;
		b[n++] = 0x0b; /* [rbx], rcx */
		guest_reset();
		g.gpr[3] = DATA;
		uint64_t rcx = g.gpr[1], mem = 0x0123456789abcdefull;
		store(DATA, mem, 8);
		struct insn in;
		assert_int_equal(run(CPU_MODE_64, b, n, &in, &res), EMU_DONE);
		assert_int_equal(g.cmpxchgs, 1);
		assert_int_equal(g.writes, 0);
		assert_int_equal(load(DATA, size), rcx & mask(size));
		uint64_t want = size == 4 ? (uint32_t)mem
			      : size == 8 ? mem : (rcx & ~mask(size)) | (mem & mask(size));
		assert_int_equal(g.gpr[1], want);
	}
	/* xchg [rax], ah: the high byte */
	guest_reset();
	g.gpr[0] = DATA;
	store(DATA, 0x77, 1);
	uint64_t rax = g.gpr[0];
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x86, 0x20), EMU_DONE);
	assert_int_equal(load(DATA, 1), (rax >> 8) & 0xff);
	assert_int_equal(g.gpr[0], (rax & ~0xff00ull) | 0x7700);
}

static void mov_stores_registers_immediates_and_the_accumulator(void **state)
{
	(void)state;
	struct emu_result res;
	guest_reset();
	g.gpr[0] = DATA;
	g.gpr[3] = 0x8877665544332211ull;
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x48, 0x89, 0x18), EMU_DONE); /* mov [rax], rbx */
	assert_int_equal(load(DATA, 8), 0x8877665544332211ull);
	assert_int_equal(res.rip_delta, 3);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x66, 0x89, 0x18), EMU_DONE); /* mov [rax], bx */
	assert_int_equal(load(DATA, 8), 0x8877665544332211ull);
	store(DATA, 0, 8);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x88, 0x38), EMU_DONE); /* mov [rax], bh */
	assert_int_equal(load(DATA, 8), 0x22);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff), EMU_DONE);
	assert_int_equal(load(DATA, 8), 0xfffffffffffffffeull);              /* imm32 sign-extended */
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xc6, 0x40, 0x01, 0x41), EMU_DONE); /* mov byte [rax+1], 0x41 */
	assert_int_equal(load(DATA, 8), 0xffffffffffff41feull);
	/* moffs: mov [DATA], eax / rax (64-bit address in 64-bit mode) */
	g.gpr[0] = 0xaabbccdd11223344ull;
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xa3, DATA & 0xff, (DATA >> 8) & 0xff, DATA >> 16, 0, 0, 0, 0, 0),
			 EMU_DONE);
	assert_int_equal(load(DATA, 8), 0xffffffff11223344ull);
	assert_int_equal(res.rip_delta, 9);
	assert_int_equal(RUN(CPU_MODE_32, &res, 0xa2, DATA & 0xff, (DATA >> 8) & 0xff, DATA >> 16, 0), EMU_DONE);
	assert_int_equal(load(DATA, 8), 0xffffffff11223344ull);
	/* 16-bit code: mov [bx+si], eax with 66; DS base from addr_regs */
	guest_reset();
	addr_regs.seg_base[SEG_DS] = MEM_BASE;
	g.gpr[3] = 0x1000, g.gpr[6] = 0x10, g.gpr[0] = 0xcafebabe;
	assert_int_equal(RUN(CPU_MODE_16, &res, 0x66, 0x89, 0x00), EMU_DONE);
	addr_regs.seg_base[SEG_DS] = 0;
	assert_int_equal(load(MEM_BASE + 0x1010, 4), 0xcafebabe);
	/* a load: mov eax, [rbx] zero-extends */
	guest_reset();
	g.gpr[3] = DATA;
	store(DATA, 0x12345678, 4);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x8b, 0x03), EMU_DONE);
	assert_int_equal(g.gpr[0], 0x12345678);
}

/* ---- faults ---- */

struct snapshot {
	uint64_t gpr[16], rflags;
	uint8_t data[64];
};

static void snap(struct snapshot *s)
{
	memcpy(s->gpr, g.gpr, sizeof(s->gpr));
	s->rflags = g.rflags;
	memcpy(s->data, at(DATA - 32), sizeof(s->data));
}

static void assert_unchanged(const struct snapshot *s)
{
	assert_memory_equal(s->gpr, g.gpr, sizeof(s->gpr));
	assert_int_equal(s->rflags, g.rflags);
	assert_memory_equal(s->data, at(DATA - 32), sizeof(s->data));
}

/* A #PF from the read, the write or the compare-exchange stops the instruction: nothing changes. */
static void a_page_fault_stops_the_instruction_with_nothing_changed(void **state)
{
	(void)state;
	static const struct { const char *what; uint8_t b[8]; unsigned n; bool rd, wr; } cases[] = {
		{ "add [rbx], ecx (read)", { 0x01, 0x0b }, 2, true, false },
		{ "add [rbx], ecx (write)", { 0x01, 0x0b }, 2, false, true },
		{ "lock add [rbx], ecx (cmpxchg)", { 0xf0, 0x01, 0x0b }, 3, false, true },
		{ "xchg [rbx], ecx", { 0x87, 0x0b }, 2, false, true },
		{ "cmpxchg [rbx], ecx (mismatch)", { 0x0f, 0xb1, 0x0b }, 3, false, true },
		{ "cmpxchg16b [rbx]", { 0x48, 0x0f, 0xc7, 0x0b }, 4, true, false },
		{ "bts [rbx], ecx", { 0x0f, 0xab, 0x0b }, 3, false, true },
		{ "mov [rbx], ecx", { 0x89, 0x0b }, 2, false, true },
		{ "movsb (write)", { 0xf3, 0xa4 }, 2, false, true },
		{ "movsb (read)", { 0xf3, 0xa4 }, 2, true, false },
		{ "stosq", { 0xf3, 0x48, 0xab }, 3, false, true },
		{ "dec dword [rbx]", { 0xff, 0x0b }, 2, true, false },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		guest_reset();
		g.gpr[3] = DATA, g.gpr[1] = 3, g.gpr[6] = DATA, g.gpr[7] = DATA;
		g.rflags = FL_FIXED | FL_CF;
		g.fault_lo = DATA, g.fault_hi = DATA + 1;
		g.fault_read = cases[i].rd, g.fault_write = cases[i].wr;
		struct snapshot s;
		snap(&s);
		struct insn in;
		struct emu_result res;
		enum emu_status st = run(CPU_MODE_64, cases[i].b, cases[i].n, &in, &res);
		if (st != EMU_FAULT)
			fail_msg("%s: status %d", cases[i].what, st);
		assert_int_equal(res.fault.vector, EMU_VEC_PF);
		assert_int_equal(res.fault.cr2, DATA);
		assert_int_equal(res.fault.error_code, cases[i].wr ? 3 : 1);
		assert_unchanged(&s);
	}
}

static void memory_without_ram_is_reported_with_its_address(void **state)
{
	(void)state;
	guest_reset();
	g.gpr[3] = DATA;
	g.hole_lo = DATA, g.hole_hi = DATA + 0x1000;
	struct snapshot s;
	snap(&s);
	struct emu_result res;
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x48, 0x89, 0x4b, 0x08), EMU_NOT_RAM); /* mov [rbx+8], rcx */
	assert_int_equal(res.la, DATA + 8);
	assert_int_equal(res.len, 8);
	assert_true(res.write);
	assert_unchanged(&s);
}

static void lock_on_a_register_or_mov_is_ud_and_others_unsupported(void **state)
{
	(void)state;
	struct insn in;
	struct emu_result res;
	/* lock mov: the decoder or the emulator refuses it; the emulator with #UD */
	static const uint8_t lock_mov[] = { 0xf0, 0x89, 0x0b };
	if (insn_decode(lock_mov, 3, CPU_MODE_64, &in) == ERR_OK) {
		guest_reset();
		assert_int_equal(emu_run(&in, &addr_regs, &ops, &res), EMU_FAULT);
		assert_int_equal(res.fault.vector, EMU_VEC_UD);
		assert_false(res.fault.has_error_code);
	}
	guest_reset();
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x09, 0xc8), EMU_UNSUPPORTED); /* or eax, ecx */
	assert_non_null(res.why);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x8c, 0x18), EMU_UNSUPPORTED); /* mov [rax], ds */
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x0f, 0xa2), EMU_UNSUPPORTED); /* cpuid */
	assert_string_equal(res.why, "cpuid");
	assert_int_equal(g.reads + g.writes + g.cmpxchgs, 0);
}

/* ---- string instructions ---- */

/* REP STOSD: one element per call, RIP held until RCX reaches zero; RCX = 0 does nothing. */
static void rep_stos_steps_one_element_per_call(void **state)
{
	(void)state;
	struct emu_result res;
	guest_reset();
	g.gpr[7] = DATA, g.gpr[1] = 3, g.gpr[0] = 0xffffffff99887766ull;
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(RUN(CPU_MODE_64, &res, 0xf3, 0xab), EMU_DONE);
		assert_int_equal(res.rip_delta, i < 2 ? 0 : 2);
		assert_int_equal(g.gpr[7], DATA + 4 * (i + 1));
		assert_int_equal(g.gpr[1], 2 - i);
	}
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(load(DATA + 4 * i, 4), 0x99887766);
	assert_int_equal(load(DATA + 12, 4), 0);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xf3, 0xab), EMU_DONE);
	assert_int_equal(res.rip_delta, 2);
	assert_int_equal(g.writes, 3);
	assert_int_equal(g.gpr[7], DATA + 12);
	/* without REP RCX is neither used nor changed */
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x48, 0xab), EMU_DONE);
	assert_int_equal(load(DATA + 12, 8), 0xffffffff99887766ull);
	assert_int_equal(g.gpr[1], 0);
	assert_int_equal(g.gpr[7], DATA + 20);
}

/* STOSB with DF set steps down; 16-bit addressing wraps DI and CX and keeps the upper bits. */
static void stos_follows_df_and_the_address_size(void **state)
{
	(void)state;
	struct emu_result res;
	guest_reset();
	g.gpr[7] = DATA, g.gpr[0] = 0x5a;
	g.rflags = FL_FIXED | FL_DF;
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xaa), EMU_DONE);
	assert_int_equal(*at(DATA), 0x5a);
	assert_int_equal(g.gpr[7], DATA - 1);

	guest_reset();
	addr_regs.seg_base[SEG_ES] = MEM_BASE;
	g.gpr[7] = 0xabcd00000000ffffull, g.gpr[1] = 0x1234000000010001ull, g.gpr[0] = 0x42;
	assert_int_equal(RUN(CPU_MODE_16, &res, 0xf3, 0xaa), EMU_DONE);
	addr_regs.seg_base[SEG_ES] = 0;
	assert_int_equal(*at(MEM_BASE + 0xffff), 0x42);
	assert_int_equal(g.gpr[7], 0xabcd000000000000ull);
	assert_int_equal(g.gpr[1], 0x1234000000010000ull);
	assert_int_equal(res.rip_delta, 2); /* CX reached zero */

	/* 67 in 64-bit mode: 32-bit RDI, written zero-extended */
	guest_reset();
	g.gpr[7] = 0xffffffff00000000ull | DATA, g.gpr[0] = 0x42;
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x67, 0xaa), EMU_DONE);
	assert_int_equal(*at(DATA), 0x42);
	assert_int_equal(g.gpr[7], DATA + 1);
}

/* REP MOVSW: reads DS:[RSI] (or an override), writes ES:[RDI], both step. */
static void rep_movs_copies_one_element_per_call(void **state)
{
	(void)state;
	struct emu_result res;
	guest_reset();
	g.gpr[6] = DATA, g.gpr[7] = DATA + 0x100, g.gpr[1] = 2;
	store(DATA, 0x44332211, 4);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xf3, 0x66, 0xa5), EMU_DONE);
	assert_int_equal(res.rip_delta, 0);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0xf3, 0x66, 0xa5), EMU_DONE);
	assert_int_equal(res.rip_delta, 3);
	assert_int_equal(load(DATA + 0x100, 4), 0x44332211);
	assert_int_equal(g.gpr[6], DATA + 4);
	assert_int_equal(g.gpr[7], DATA + 0x104);
	assert_int_equal(g.gpr[1], 0);
	/* fs: override with a base, DF set, 8 bytes */
	guest_reset();
	addr_regs.seg_base[SEG_FS] = 0x800;
	g.gpr[6] = DATA - 0x800, g.gpr[7] = DATA + 0x200;
	g.rflags = FL_FIXED | FL_DF;
	store(DATA, 0x1122334455667788ull, 8);
	assert_int_equal(RUN(CPU_MODE_64, &res, 0x64, 0x48, 0xa5), EMU_DONE);
	addr_regs.seg_base[SEG_FS] = 0;
	assert_int_equal(load(DATA + 0x200, 8), 0x1122334455667788ull);
	assert_int_equal(g.gpr[6], DATA - 0x808);
	assert_int_equal(g.gpr[7], DATA + 0x1f8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alu_ops_match_the_host_cpu_at_every_size),
		cmocka_unit_test(inc_dec_match_the_host_cpu_and_keep_cf),
		cmocka_unit_test(bit_ops_address_a_signed_bit_string_like_the_host),
		cmocka_unit_test(bts_immediate_is_taken_modulo_the_width_like_the_host),
		cmocka_unit_test(cmpxchg_matches_the_host_cpu),
		cmocka_unit_test(cmpxchg8b_16b_match_the_host_cpu),
		cmocka_unit_test(cmpxchg16b_misaligned_is_gp0_and_touches_nothing),
		cmocka_unit_test(cmpxchg8b_in_32bit_mode_uses_edx_eax),
		cmocka_unit_test(locked_update_retries_after_another_vcpu_stores),
		cmocka_unit_test(xchg_with_memory_is_always_locked),
		cmocka_unit_test(mov_stores_registers_immediates_and_the_accumulator),
		cmocka_unit_test(a_page_fault_stops_the_instruction_with_nothing_changed),
		cmocka_unit_test(memory_without_ram_is_reported_with_its_address),
		cmocka_unit_test(lock_on_a_register_or_mov_is_ud_and_others_unsupported),
		cmocka_unit_test(rep_stos_steps_one_element_per_call),
		cmocka_unit_test(stos_follows_df_and_the_address_size),
		cmocka_unit_test(rep_movs_copies_one_element_per_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
