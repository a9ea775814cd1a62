/* test_task_switch.c: unit tests of the task-switch emulation (vmm/emul/task_switch.c) on a fake 32-bit guest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "vmm/emul/task_switch.h"

/* ---- the fake guest: 1 MiB of flat linear memory, registers, a GDT ---- */

#define LIN_SIZE 0x100000u
#define PAGE     0x1000u

struct guest {
	uint8_t mem[LIN_SIZE];
	uint64_t regs[TASK_SWITCH_REGS];
	struct segment seg[SEG_COUNT];
	uint32_t gdt_base;
	uint16_t gdt_limit;
	uint32_t cr3;
	unsigned cr3_loads;
	bool refuse_cr3;
	uint32_t absent_page;   /* reads and writes there #PF as not present (0: none) */
	uint32_t readonly_page; /* writes there #PF as a protection fault (0: none) */
	uint32_t mmio_page;     /* not RAM (0: none) */
};

/* Faults on the first page of [la, la + len) that the access may not touch. */
static enum task_switch_mem touch(struct guest *g, uint32_t la, unsigned len, bool write,
				  struct task_switch_fault *f)
{
	for (uint64_t a = la; a < (uint64_t)la + len; a++) {
		uint32_t page = (uint32_t)a & ~(PAGE - 1);
		if (a >= LIN_SIZE || (g->mmio_page && page == g->mmio_page))
			return TASK_SWITCH_MEM_NOT_RAM;
		bool absent = g->absent_page && page == g->absent_page;
		if (absent || (write && g->readonly_page && page == g->readonly_page)) {
			*f = (struct task_switch_fault){ .vector = 14, .has_error = true,
							 .error = (absent ? 0u : 1u) | (write ? 2u : 0u),
							 .has_cr2 = true, .cr2 = a };
			return TASK_SWITCH_MEM_FAULT;
		}
	}
	return TASK_SWITCH_MEM_OK;
}

static enum task_switch_mem g_read(void *ctx, uint32_t la, void *dst, unsigned len,
				   struct task_switch_fault *f)
{
	struct guest *g = ctx;
	enum task_switch_mem m = touch(g, la, len, false, f);
	if (m == TASK_SWITCH_MEM_OK)
		memcpy(dst, &g->mem[la], len);
	return m;
}

static enum task_switch_mem g_write(void *ctx, uint32_t la, const void *src, unsigned len,
				    struct task_switch_fault *f)
{
	struct guest *g = ctx;
	enum task_switch_mem m = touch(g, la, len, true, f);
	if (m == TASK_SWITCH_MEM_OK)
		memcpy(&g->mem[la], src, len);
	return m;
}

static enum task_switch_mem g_check_write(void *ctx, uint32_t la, unsigned len,
					  struct task_switch_fault *f)
{
	return touch(ctx, la, len, true, f);
}

static uint64_t g_get_reg(void *ctx, enum task_switch_reg r)
{
	struct guest *g = ctx;
	return g->regs[r];
}

static void g_set_reg(void *ctx, enum task_switch_reg r, uint64_t val)
{
	struct guest *g = ctx;
	assert_true(r != TASK_SWITCH_EFER && r != TASK_SWITCH_CPL);
	assert_true(val <= 0xffffffffu);
	g->regs[r] = val;
}

static err_t g_set_cr3(void *ctx, uint32_t cr3)
{
	struct guest *g = ctx;
	if (g->refuse_cr3)
		return ERR_INVAL;
	g->cr3 = cr3;
	g->cr3_loads++;
	return ERR_OK;
}

static void g_get_seg(void *ctx, enum seg_reg s, struct segment *seg)
{
	struct guest *g = ctx;
	*seg = g->seg[s];
}

static void g_set_seg(void *ctx, enum seg_reg s, const struct segment *seg)
{
	struct guest *g = ctx;
	g->seg[s] = *seg;
}

static void g_get_gdtr(void *ctx, uint32_t *base, uint16_t *limit)
{
	struct guest *g = ctx;
	*base = g->gdt_base;
	*limit = g->gdt_limit;
}

/* ---- the standard world: task A (current) and task B in a GDT ---- */

#define GDT      0x1000u
#define LDT_BASE 0x3000u
#define TSS_A    0x10000u
#define TSS_B    0x11000u
#define TSS_16   0x12000u
#define STACK_B  0x9000u

enum {                       /* GDT selectors */
	KCODE = 0x08, KDATA = 0x10, SEL_A = 0x18, SEL_B = 0x20, SEL_LDT = 0x28, UCODE = 0x30,
	UDATA = 0x38, SEL_16 = 0x40, CCONF = 0x48, NPDATA = 0x50, XCODE = 0x58, RODATA = 0x60,
	NPCODE = 0x68, SMALL16 = 0x70, GDT_ENTRIES = 16,
};
enum { LDATA = 0x04, LCODE = 0x0c };  /* LDT selectors (TI set) */

/* TSS fields (SDM 8.2.1), spelled out here independently of the emulator. */
enum { T_LINK = 0x00, T_CR3 = 0x1c, T_EIP = 0x20, T_EFLAGS = 0x24, T_EAX = 0x28, T_ES = 0x48,
       T_CS = 0x4c, T_SS = 0x50, T_DS = 0x54, T_FS = 0x58, T_GS = 0x5c, T_LDT = 0x60, T_TRAP = 0x64 };

static uint64_t desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
}

#define FLAT 0xfffff
#define GD   0xc      /* G and D/B */

static uint32_t rd32(struct guest *g, uint32_t la)
{
	uint32_t v;
	memcpy(&v, &g->mem[la], 4);
	return v;
}

static void wr32(struct guest *g, uint32_t la, uint32_t v)
{
	memcpy(&g->mem[la], &v, 4);
}

static uint64_t rd64(struct guest *g, uint32_t la)
{
	uint64_t v;
	memcpy(&v, &g->mem[la], 8);
	return v;
}

static void set_desc(struct guest *g, uint16_t sel, uint64_t d)
{
	uint32_t base = sel & SEL_TI ? LDT_BASE : GDT;
	memcpy(&g->mem[base + (sel & SEL_INDEX)], &d, 8);
}

static uint8_t access_byte(struct guest *g, uint16_t sel)
{
	return (uint8_t)(rd64(g, (sel & SEL_TI ? LDT_BASE : GDT) + (sel & SEL_INDEX)) >> 40);
}

static struct segment seg_of(struct guest *g, uint16_t sel)
{
	uint32_t base = sel & SEL_TI ? LDT_BASE : GDT;
	return seg_from_descriptor(sel, rd64(g, base + (sel & SEL_INDEX)));
}

static const uint32_t old_gprs[8] = { 0xa0a0a0a0, 0xc1c1c1c1, 0xd2d2d2d2, 0xb3b3b3b3,
				      0x00007ff0, 0xb5b5b5b5, 0x51515151, 0xd7d7d7d7 };
static const uint32_t new_gprs[8] = { 0x11111111, 0x22222222, 0x33333333, 0x44444444,
				      STACK_B, 0x66666666, 0x77777777, 0x88888888 };

/* Task B's TSS: ring 0, flat segments, the LDT, CR3 0x5000, reserved EFLAGS bits to be dropped. */
static void fill_tss_b(struct guest *g)
{
	memset(&g->mem[TSS_B], 0, 0x68);
	wr32(g, TSS_B + T_CR3, 0x5000);
	wr32(g, TSS_B + T_EIP, 0x2000);
	wr32(g, TSS_B + T_EFLAGS, 0x8000 | 0x0008 | 0x0244);   /* bits 15, 3 reserved; bit 1 clear */
	for (unsigned i = 0; i < 8; i++)
		wr32(g, TSS_B + T_EAX + 4 * i, new_gprs[i]);
	wr32(g, TSS_B + T_ES, KDATA);
	wr32(g, TSS_B + T_CS, KCODE);
	wr32(g, TSS_B + T_SS, KDATA);
	wr32(g, TSS_B + T_DS, KDATA);
	wr32(g, TSS_B + T_FS, 0);
	wr32(g, TSS_B + T_GS, LDATA);
	wr32(g, TSS_B + T_LDT, SEL_LDT);
}

static struct guest *guest_new(void)
{
	struct guest *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	g->gdt_base = GDT;
	g->gdt_limit = GDT_ENTRIES * 8 - 1;
	set_desc(g, KCODE, desc(0, FLAT, 0x9a, GD));          /* not yet accessed */
	set_desc(g, KDATA, desc(0, FLAT, 0x93, GD));
	set_desc(g, SEL_A, desc(TSS_A, 0x67, 0x8b, 0));       /* busy: the current task */
	set_desc(g, SEL_B, desc(TSS_B, 0x67, 0x89, 0));
	set_desc(g, SEL_LDT, desc(LDT_BASE, 0x17, 0x82, 0));
	set_desc(g, UCODE, desc(0, FLAT, 0xfb, GD));
	set_desc(g, UDATA, desc(0, FLAT, 0xf3, GD));
	set_desc(g, SEL_16, desc(TSS_16, 0x2b, 0x81, 0));
	set_desc(g, CCONF, desc(0, FLAT, 0x9f, GD));          /* conforming, readable */
	set_desc(g, NPDATA, desc(0, FLAT, 0x13, GD));         /* not present */
	set_desc(g, XCODE, desc(0, FLAT, 0x99, GD));          /* execute-only */
	set_desc(g, RODATA, desc(0, FLAT, 0x91, GD));         /* read-only */
	set_desc(g, NPCODE, desc(0, FLAT, 0x1b, GD));
	set_desc(g, SMALL16, desc(0x40000, 0xffff, 0x93, 0)); /* 16-bit stack */
	set_desc(g, LDATA, desc(0x20000, 0xfff, 0x92, 0));    /* byte-granular, not accessed */
	set_desc(g, LCODE, desc(0, FLAT, 0x9b, GD));

	for (unsigned i = 0; i < 8; i++)
		g->regs[i] = old_gprs[i];
	g->regs[TASK_SWITCH_EIP] = 0x500;
	g->regs[TASK_SWITCH_EFLAGS] = 0x4202 | 0x80;         /* IF, NT, SF */
	g->regs[TASK_SWITCH_CR0] = 0x11;                      /* PE, ET */
	g->regs[TASK_SWITCH_DR7] = 0x7ff;
	g->seg[SEG_CS] = seg_of(g, KCODE);
	g->seg[SEG_SS] = g->seg[SEG_DS] = g->seg[SEG_ES] = g->seg[SEG_FS] = g->seg[SEG_GS] = seg_of(g, KDATA);
	g->seg[SEG_LDTR] = (struct segment){ .unusable = true };
	g->seg[SEG_TR] = seg_of(g, SEL_A);
	/* Task A's TSS: the upper halves of the selector slots are reserved and must survive. */
	for (unsigned off = T_ES; off <= T_GS; off += 4)
		wr32(g, TSS_A + off, 0xabcd0000);
	fill_tss_b(g);
	return g;
}

static const struct task_switch_ops ops_template = {
	NULL, g_read, g_write, g_check_write, g_get_reg, g_set_reg, g_set_cr3, g_get_seg, g_set_seg,
	g_get_gdtr,
};

static struct task_switch_result run(struct guest *g, uint16_t sel, enum task_switch_source src,
				     uint32_t eip)
{
	struct task_switch_ops ops = ops_template;
	ops.ctx = g;
	struct task_switch_req req = { .selector = sel, .source = src, .eip = eip };
	struct task_switch_result res;
	enum task_switch_status s = task_switch(&ops, &req, &res);
	assert_int_equal(s, res.status);
	return res;
}

static struct task_switch_result run_req(struct guest *g, const struct task_switch_req *req)
{
	struct task_switch_ops ops = ops_template;
	ops.ctx = g;
	struct task_switch_result res;
	enum task_switch_status s = task_switch(&ops, req, &res);
	assert_int_equal(s, res.status);
	return res;
}

static void expect_fault(const struct task_switch_result *r, uint8_t vector, uint32_t error,
			 bool in_new_task)
{
	if (r->status != TASK_SWITCH_FAULT)
		fail_msg("status %d (%s), want fault %u", r->status, r->why ? r->why : "", vector);
	assert_int_equal(r->fault.vector, vector);
	assert_true(r->fault.has_error);
	assert_int_equal(r->fault.error, error);
	assert_int_equal(r->in_new_task, in_new_task);
}

/* A fault before the commit point must leave every byte and register as it was. */
static void expect_untouched(const struct guest *g, const struct guest *before)
{
	assert_memory_equal(g->mem, before->mem, LIN_SIZE);
	assert_memory_equal(g->regs, before->regs, sizeof(g->regs));
	assert_memory_equal(g->seg, before->seg, sizeof(g->seg));
	assert_int_equal(g->cr3_loads, before->cr3_loads);
}

static struct guest *snapshot(const struct guest *g)
{
	struct guest *s = malloc(sizeof(*s));
	assert_non_null(s);
	memcpy(s, g, sizeof(*s));
	return s;
}

static void expect_seg(const struct segment *s, uint16_t sel, uint64_t base, uint32_t limit,
		       uint16_t attr)
{
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->base, base);
	assert_int_equal(s->limit, limit);
	assert_int_equal(s->attr, attr);
	assert_false(s->unusable);
}

/* ---- the descriptor helper ---- */

static void descriptor_decodes_to_segment(void **state)
{
	(void)state;
	struct segment s = seg_from_descriptor(0x2b, desc(0x12345678, 0xabcde, 0xf3, 0xd));
	expect_seg(&s, 0x2b, 0x12345678, 0xabcdefff, 0xdf3);  /* G scales the limit */
	assert_int_equal(seg_type(&s), 3);
	assert_int_equal(seg_dpl(&s), 3);
	s = seg_from_descriptor(0x18, desc(0x10000, 0x67, 0x8b, 0));
	expect_seg(&s, 0x18, 0x10000, 0x67, 0x8b);
	s = seg_from_descriptor(0x8, desc(0, 0xfffff, 0x9a, 0xa));   /* 64-bit code: L, G */
	assert_int_equal(s.attr, SEG_ATTR_G | SEG_ATTR_L | SEG_ATTR_P | SEG_ATTR_S | 0xa);
}

/* ---- successful switches ---- */

static void jmp_saves_the_old_task_and_loads_the_new(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0x507);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_false(r.debug_trap);

	/* The old TSS: EIP as given, EFLAGS as it was (NT kept by JMP), registers, selectors. */
	assert_int_equal(rd32(g, TSS_A + T_EIP), 0x507);
	assert_int_equal(rd32(g, TSS_A + T_EFLAGS), 0x4282);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(rd32(g, TSS_A + T_EAX + 4 * i), old_gprs[i]);
	assert_int_equal(rd32(g, TSS_A + T_ES), 0xabcd0000 | KDATA);
	assert_int_equal(rd32(g, TSS_A + T_CS), 0xabcd0000 | KCODE);
	assert_int_equal(rd32(g, TSS_A + T_SS), 0xabcd0000 | KDATA);
	assert_int_equal(rd32(g, TSS_A + T_GS), 0xabcd0000 | KDATA);
	assert_int_equal(rd32(g, TSS_A + T_LDT), 0);             /* static fields are not written */
	assert_int_equal(rd32(g, TSS_A + T_CR3), 0);

	/* The new state. */
	assert_int_equal(g->regs[TASK_SWITCH_EIP], 0x2000);
	assert_int_equal(g->regs[TASK_SWITCH_EFLAGS], 0x246);  /* reserved bits dropped, bit 1 set, no NT */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(g->regs[i], new_gprs[i]);
	expect_seg(&g->seg[SEG_CS], KCODE, 0, 0xffffffff, 0xc9b);   /* accessed now */
	expect_seg(&g->seg[SEG_SS], KDATA, 0, 0xffffffff, 0xc93);
	expect_seg(&g->seg[SEG_DS], KDATA, 0, 0xffffffff, 0xc93);
	expect_seg(&g->seg[SEG_ES], KDATA, 0, 0xffffffff, 0xc93);
	assert_true(g->seg[SEG_FS].unusable);
	assert_int_equal(g->seg[SEG_FS].selector, 0);
	expect_seg(&g->seg[SEG_GS], LDATA, 0x20000, 0xfff, 0x093); /* from the new LDT */
	expect_seg(&g->seg[SEG_LDTR], SEL_LDT, LDT_BASE, 0x17, 0x82);
	expect_seg(&g->seg[SEG_TR], SEL_B, TSS_B, 0x67, 0x8b);
	assert_int_equal(access_byte(g, KCODE), 0x9b);              /* accessed flags set in memory */
	assert_int_equal(access_byte(g, LDATA), 0x93);

	/* Busy flags, back link, TS, DR7, CR3 (paging is off). */
	assert_int_equal(access_byte(g, SEL_A), 0x89);
	assert_int_equal(access_byte(g, SEL_B), 0x8b);
	assert_int_equal(rd32(g, TSS_B + T_LINK), 0);
	assert_int_equal(g->regs[TASK_SWITCH_CR0], 0x19);
	assert_int_equal(g->regs[TASK_SWITCH_DR7], 0x7ff & ~0x155u);
	assert_int_equal(g->cr3_loads, 0);
	free(g);
}

static void jmp_takes_nt_from_the_new_tss(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	wr32(g, TSS_B + T_EFLAGS, 0x4002);
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(g->regs[TASK_SWITCH_EFLAGS], 0x4002);
	free(g);
}

static void call_links_back_and_iret_returns(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	g->regs[TASK_SWITCH_EFLAGS] = 0x202;
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_CALL, 0x50a);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(rd32(g, TSS_B + T_LINK) & 0xffff, SEL_A);
	assert_int_equal(g->regs[TASK_SWITCH_EFLAGS], 0x246 | 0x4000); /* NT set */
	assert_int_equal(access_byte(g, SEL_A), 0x8b);                  /* caller stays busy */
	assert_int_equal(access_byte(g, SEL_B), 0x8b);
	assert_int_equal(rd32(g, TSS_A + T_EFLAGS), 0x202);

	/* The callee runs a little, then IRET goes back along the link. */
	g->regs[TASK_SWITCH_EAX] = 0xfeed;
	r = run(g, SEL_A, TASK_SWITCH_IRET, 0x2010);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(access_byte(g, SEL_B), 0x89);                  /* callee idle again */
	assert_int_equal(access_byte(g, SEL_A), 0x8b);
	assert_int_equal(rd32(g, TSS_B + T_EFLAGS), 0x246);             /* NT cleared in the saved image */
	assert_int_equal(rd32(g, TSS_B + T_EIP), 0x2010);
	assert_int_equal(rd32(g, TSS_B + T_EAX), 0xfeed);
	assert_int_equal(rd32(g, TSS_B + T_LINK) & 0xffff, SEL_A);      /* IRET leaves the link */
	assert_int_equal(g->regs[TASK_SWITCH_EIP], 0x50a);
	assert_int_equal(g->regs[TASK_SWITCH_EFLAGS], 0x202);           /* no NT: the caller's own */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(g->regs[i], old_gprs[i]);
	expect_seg(&g->seg[SEG_TR], SEL_A, TSS_A, 0x67, 0x8b);
	assert_true(g->seg[SEG_LDTR].unusable);                         /* task A has no LDT */
	assert_int_equal(g->seg[SEG_GS].selector, KDATA);
	free(g);
}

static void task_gate_pushes_the_error_code(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	struct task_switch_req req = { .selector = SEL_B, .source = TASK_SWITCH_GATE, .eip = 0x500,
				       .ext = true, .push_error = true, .error = 0x1234 };
	struct task_switch_result r = run_req(g, &req);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(g->regs[TASK_SWITCH_ESP], STACK_B - 4);
	assert_int_equal(rd32(g, STACK_B - 4), 0x1234);
	assert_int_equal(rd32(g, TSS_B + T_LINK) & 0xffff, SEL_A);      /* nested like CALL */
	assert_true(g->regs[TASK_SWITCH_EFLAGS] & 0x4000);
	assert_int_equal(access_byte(g, SEL_A), 0x8b);
	assert_int_equal(rd32(g, TSS_A + T_EIP), 0x500);               /* the faulting instruction */
	free(g);
}

static void error_code_push_follows_a_16bit_stack(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	wr32(g, TSS_B + T_SS, SMALL16);
	wr32(g, TSS_B + T_EAX + 4 * 4, 0x12340000);   /* ESP: SP = 0 wraps to 0xfffc, the rest stays */
	struct task_switch_req req = { .selector = SEL_B, .source = TASK_SWITCH_GATE,
				       .push_error = true, .error = 0xbeef };
	struct task_switch_result r = run_req(g, &req);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(g->regs[TASK_SWITCH_ESP], 0x1234fffc);
	assert_int_equal(rd32(g, 0x40000 + 0xfffc), 0xbeef);

	/* A stack too small for the push: #SS(EXT) in the new task. */
	free(g);
	g = guest_new();
	set_desc(g, SMALL16, desc(0x40000, 0xfff, 0x93, 0));
	wr32(g, TSS_B + T_SS, SMALL16);
	wr32(g, TSS_B + T_EAX + 4 * 4, 0x2000);
	req.ext = true;
	r = run_req(g, &req);
	expect_fault(&r, 12, 1, true);
	assert_int_equal(g->regs[TASK_SWITCH_ESP], 0x2000);
	free(g);
}

static void cr3_is_loaded_only_with_paging_on(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	g->regs[TASK_SWITCH_CR0] |= 0x80000000u;
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(g->cr3, 0x5000);
	assert_int_equal(g->cr3_loads, 1);
	/* A CR3 the caller cannot load (bad PAE PDPTEs) stops the switch. */
	free(g);
	g = guest_new();
	g->regs[TASK_SWITCH_CR0] |= 0x80000000u;
	g->refuse_cr3 = true;
	r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_STOP);
	assert_non_null(r.why);
	free(g);
}

static void new_tss_trap_flag_asks_for_a_debug_trap(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	wr32(g, TSS_B + T_TRAP, 1 | 0x680000);  /* T, and an I/O map base that does not matter */
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_CALL, 0);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_true(r.debug_trap);
	free(g);
}

static void virtual_8086_task_gets_real_mode_segments(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	wr32(g, TSS_B + T_EFLAGS, 0x20202);
	wr32(g, TSS_B + T_CS, 0x1234);
	wr32(g, TSS_B + T_SS, 0x2000);
	wr32(g, TSS_B + T_DS, 0);
	wr32(g, TSS_B + T_EIP, 0x100);
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	expect_seg(&g->seg[SEG_CS], 0x1234, 0x12340, 0xffff, 0xf3);
	expect_seg(&g->seg[SEG_SS], 0x2000, 0x20000, 0xffff, 0xf3);
	expect_seg(&g->seg[SEG_DS], 0, 0, 0xffff, 0xf3);
	expect_seg(&g->seg[SEG_LDTR], SEL_LDT, LDT_BASE, 0x17, 0x82);  /* the LDT is still loaded */
	assert_int_equal(g->regs[TASK_SWITCH_EFLAGS], 0x20202);
	free(g);
}

static void segments_may_come_from_the_new_ldt_and_be_conforming(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	/* A ring-3 task: CS conforming DPL 0 (allowed at CPL 3), SS ring 3, DS the LDT's code. */
	wr32(g, TSS_B + T_CS, CCONF | 3);
	wr32(g, TSS_B + T_SS, UDATA | 3);
	wr32(g, TSS_B + T_DS, LCODE | 3);   /* readable code: a DPL-0 one is refused at CPL 3 ... */
	wr32(g, TSS_B + T_ES, CCONF | 3);   /* ... a conforming one is not */
	wr32(g, TSS_B + T_GS, 0);
	set_desc(g, LCODE, desc(0, FLAT, 0xfb, GD));
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(g->seg[SEG_CS].selector, CCONF | 3);
	assert_int_equal(g->seg[SEG_DS].selector, LCODE | 3);
	assert_int_equal(seg_dpl(&g->seg[SEG_SS]), 3);
	free(g);
}

static void iret_to_itself_reloads_what_it_saved(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	struct task_switch_result r = run(g, SEL_A, TASK_SWITCH_IRET, 0x777);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_int_equal(g->regs[TASK_SWITCH_EIP], 0x777);
	assert_int_equal(g->regs[TASK_SWITCH_EFLAGS], 0x282);          /* NT cleared on the way */
	assert_int_equal(g->regs[TASK_SWITCH_EAX], old_gprs[0]);
	free(g);
}

/* ---- checks before the commit point: faults in the old task, nothing changed ---- */

static void busy_tss_is_refused_for_jmp_call_and_gates(void **state)
{
	(void)state;
	static const enum task_switch_source srcs[] = { TASK_SWITCH_JMP, TASK_SWITCH_CALL,
							TASK_SWITCH_GATE };
	for (unsigned i = 0; i < 3; i++) {
		struct guest *g = guest_new();
		set_desc(g, SEL_B, desc(TSS_B, 0x67, 0x8b, 0));
		struct guest *before = snapshot(g);
		struct task_switch_result r = run(g, SEL_B | 3, srcs[i], 0);
		expect_fault(&r, 13, SEL_B, false);            /* the RPL never shows in an error code */
		expect_untouched(g, before);
		free(before);
		free(g);
	}
}

static void iret_to_an_idle_tss_is_refused(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	struct guest *before = snapshot(g);
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_IRET, 0);
	expect_fault(&r, 10, SEL_B, false);
	expect_untouched(g, before);
	free(before);
	free(g);
}

static void not_present_tss_raises_np(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	set_desc(g, SEL_B, desc(TSS_B, 0x67, 0x09, 0));
	struct guest *before = snapshot(g);
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	expect_fault(&r, 11, SEL_B, false);
	/* Delivering an external event: EXT set. */
	struct task_switch_req req = { .selector = SEL_B, .source = TASK_SWITCH_GATE, .ext = true };
	r = run_req(g, &req);
	expect_fault(&r, 11, SEL_B | 1, false);
	expect_untouched(g, before);
	free(before);
	free(g);
}

static void tss_limit_below_0x67_raises_ts(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	set_desc(g, SEL_B, desc(TSS_B, 0x66, 0x89, 0));
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_CALL, 0);
	expect_fault(&r, 10, SEL_B, false);
	set_desc(g, SEL_B, desc(TSS_B, 0x2b, 0x81, 0));  /* enough for a 16-bit TSS only */
	r = run(g, SEL_B, TASK_SWITCH_CALL, 0);
	assert_int_equal(r.status, TASK_SWITCH_UNSUPPORTED);
	free(g);
}

static void selector_that_is_no_tss_is_refused(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	struct guest *before = snapshot(g);
	struct task_switch_result r = run(g, KDATA, TASK_SWITCH_JMP, 0);
	expect_fault(&r, 13, KDATA, false);
	r = run(g, KDATA, TASK_SWITCH_IRET, 0);                   /* IRET says #TS */
	expect_fault(&r, 10, KDATA, false);
	r = run(g, SEL_LDT, TASK_SWITCH_CALL, 0);
	expect_fault(&r, 13, SEL_LDT, false);
	r = run(g, 0, TASK_SWITCH_GATE, 0);                       /* the null descriptor */
	expect_fault(&r, 13, 0, false);
	r = run(g, SEL_B | SEL_TI, TASK_SWITCH_JMP, 0);          /* TSSs live in the GDT only */
	expect_fault(&r, 13, SEL_B | SEL_TI, false);
	r = run(g, GDT_ENTRIES * 8, TASK_SWITCH_JMP, 0);          /* beyond the GDT limit */
	expect_fault(&r, 13, GDT_ENTRIES * 8, false);
	r = run(g, GDT_ENTRIES * 8, TASK_SWITCH_IRET, 0);
	expect_fault(&r, 10, GDT_ENTRIES * 8, false);
	expect_untouched(g, before);
	free(before);
	free(g);
}

static void tss_dpl_is_checked_only_when_asked(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	g->regs[TASK_SWITCH_CPL] = 3;
	struct task_switch_req req = { .selector = SEL_B, .source = TASK_SWITCH_JMP, .check_dpl = true };
	struct task_switch_result r = run_req(g, &req);
	expect_fault(&r, 13, SEL_B, false);
	g->regs[TASK_SWITCH_CPL] = 0;
	set_desc(g, SEL_B, desc(TSS_B, 0x67, 0xa9, 0));           /* DPL 1 */
	req.selector = SEL_B | 2;                                 /* RPL 2 > DPL */
	r = run_req(g, &req);
	expect_fault(&r, 13, SEL_B, false);
	req.source = TASK_SWITCH_GATE;                            /* gates: the CPU checked the gate */
	r = run_req(g, &req);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	free(g);
}

static void page_faults_before_the_commit_change_nothing(void **state)
{
	(void)state;
	/* The new TSS, the old TSS, the GDT entry to write: each one #PF in the old task. */
	struct { uint32_t absent, readonly; enum task_switch_source src; uint32_t error; uint32_t cr2; } cases[] = {
		{ TSS_B, 0, TASK_SWITCH_JMP, 0, TSS_B },
		{ TSS_A, 0, TASK_SWITCH_JMP, 0, TSS_A + T_EIP },
		{ 0, TSS_A, TASK_SWITCH_CALL, 3, TSS_A + T_EIP },
		{ 0, TSS_B, TASK_SWITCH_CALL, 3, TSS_B },              /* the back link */
		{ 0, GDT, TASK_SWITCH_JMP, 3, GDT + SEL_A + 5 },       /* the old busy flag */
		{ 0, GDT, TASK_SWITCH_GATE, 3, GDT + SEL_B + 5 },      /* the new busy flag */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guest *g = guest_new();
		g->absent_page = cases[i].absent;
		g->readonly_page = cases[i].readonly;
		struct guest *before = snapshot(g);
		struct task_switch_result r = run(g, SEL_B, cases[i].src, 0);
		expect_fault(&r, 14, cases[i].error, false);
		assert_true(r.fault.has_cr2);
		assert_int_equal(r.fault.cr2, cases[i].cr2);
		expect_untouched(g, before);
		free(before);
		free(g);
	}
}

static void memory_that_is_not_ram_stops_the_switch(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	g->mmio_page = TSS_B;
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_STOP);
	assert_non_null(r.why);
	free(g);
}

static void modes_without_task_switches_stop(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	g->regs[TASK_SWITCH_EFER] = 0x500;               /* LME, LMA */
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_STOP);
	g->regs[TASK_SWITCH_EFER] = 0;
	g->regs[TASK_SWITCH_CR0] = 0x10;                 /* real mode */
	r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_STOP);
	g->regs[TASK_SWITCH_CR0] = 0x11;
	g->seg[SEG_TR] = seg_of(g, SEL_16);              /* the current TSS is a 16-bit one */
	g->seg[SEG_TR].attr |= 2;
	r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_UNSUPPORTED);
	g->seg[SEG_TR] = (struct segment){ .unusable = true };
	r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_STOP);
	r = run(g, SEL_16, TASK_SWITCH_JMP, 0);          /* to a 16-bit TSS */
	assert_int_equal(r.status, TASK_SWITCH_UNSUPPORTED);
	free(g);
}

/* ---- checks after the commit point: faults in the new task ---- */

/* Switches to B with one field of its TSS changed; the fault is the new task's. */
static void expect_new_task_fault(unsigned field, uint32_t value, uint8_t vector, uint32_t error)
{
	struct guest *g = guest_new();
	wr32(g, TSS_B + field, value);
	struct task_switch_req req = { .selector = SEL_B, .source = TASK_SWITCH_CALL };
	struct task_switch_result r = run_req(g, &req);
	expect_fault(&r, vector, error, true);
	/* Committed: TR, busy flag, back link, TS and the registers are the new task's. */
	assert_int_equal(g->seg[SEG_TR].selector, SEL_B);
	assert_int_equal(access_byte(g, SEL_B), 0x8b);
	assert_int_equal(rd32(g, TSS_B + T_LINK) & 0xffff, SEL_A);
	assert_true(g->regs[TASK_SWITCH_CR0] & 8);
	assert_int_equal(g->regs[TASK_SWITCH_EAX], new_gprs[0]);
	assert_int_equal(g->seg[SEG_LDTR].selector, field == T_LDT ? value : SEL_LDT);
	free(g);
	/* The same through a gate for an external event: EXT in the error code. */
	g = guest_new();
	wr32(g, TSS_B + field, value);
	req.source = TASK_SWITCH_GATE;
	req.ext = true;
	r = run_req(g, &req);
	expect_fault(&r, vector, error | 1, true);
	free(g);
}

static void bad_ldt_raises_ts_in_the_new_task(void **state)
{
	(void)state;
	expect_new_task_fault(T_LDT, KDATA, 10, KDATA);              /* not an LDT */
	expect_new_task_fault(T_LDT, SEL_LDT | SEL_TI, 10, SEL_LDT | SEL_TI);
	expect_new_task_fault(T_LDT, GDT_ENTRIES * 8, 10, GDT_ENTRIES * 8);
	struct guest *g = guest_new();
	set_desc(g, SEL_LDT, desc(LDT_BASE, 0x17, 0x02, 0));      /* not present: #TS, not #NP */
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	expect_fault(&r, 10, SEL_LDT, true);
	free(g);
}

static void bad_cs_raises_the_right_fault(void **state)
{
	(void)state;
	expect_new_task_fault(T_CS, 0, 10, 0);                       /* null */
	expect_new_task_fault(T_CS, KDATA, 10, KDATA);               /* data */
	expect_new_task_fault(T_CS, UCODE, 10, UCODE);               /* DPL 3 != CPL 0 */
	expect_new_task_fault(T_CS, KCODE | 3, 10, KDATA);           /* CPL 3: SS (DPL 0) fails first */
	expect_new_task_fault(T_CS, NPCODE, 11, NPCODE);             /* not present */
	expect_new_task_fault(T_CS, SEL_B, 10, SEL_B);               /* a system descriptor */
	expect_new_task_fault(T_CS, 0x100, 10, 0x100);               /* beyond the GDT */
	expect_new_task_fault(T_CS, LCODE + 0x10, 10, LCODE + 0x10); /* beyond the LDT */
}

static void bad_ss_raises_the_right_fault(void **state)
{
	(void)state;
	expect_new_task_fault(T_SS, 0, 10, 0);                       /* null */
	expect_new_task_fault(T_SS, KDATA | 3, 10, KDATA);           /* RPL != CPL */
	expect_new_task_fault(T_SS, UDATA, 10, UDATA);               /* DPL != CPL */
	expect_new_task_fault(T_SS, RODATA, 10, RODATA);             /* not writable */
	expect_new_task_fault(T_SS, LCODE, 10, LCODE);               /* code */
	expect_new_task_fault(T_SS, NPDATA, 12, NPDATA);             /* not present: #SS */
}

static void bad_data_segment_raises_the_right_fault(void **state)
{
	(void)state;
	expect_new_task_fault(T_DS, XCODE, 10, XCODE);               /* execute-only code */
	expect_new_task_fault(T_ES, NPDATA, 11, NPDATA);             /* not present: #NP */
	expect_new_task_fault(T_FS, KDATA | 3, 10, KDATA);           /* RPL 3 > DPL 0 */
	expect_new_task_fault(T_GS, SEL_LDT, 10, SEL_LDT);           /* a system descriptor */
	expect_new_task_fault(T_GS, LDATA + 0x18, 10, LDATA + 0x18); /* beyond the LDT limit */
	/* A null data selector is fine; RODATA too (readable is enough). */
	struct guest *g = guest_new();
	wr32(g, TSS_B + T_DS, 3);
	wr32(g, TSS_B + T_ES, RODATA);
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	assert_int_equal(r.status, TASK_SWITCH_DONE);
	assert_true(g->seg[SEG_DS].unusable);
	assert_int_equal(g->seg[SEG_DS].selector, 3);
	free(g);
}

static void eip_beyond_cs_limit_raises_gp(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	set_desc(g, KCODE, desc(0, 0xffff, 0x9b, 0x4));      /* byte-granular, 64 KiB */
	wr32(g, TSS_B + T_EIP, 0x10000);
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	expect_fault(&r, 13, 0, true);
	assert_int_equal(g->regs[TASK_SWITCH_EIP], 0x10000);
	free(g);
}

static void page_fault_on_a_new_descriptor_is_the_new_tasks(void **state)
{
	(void)state;
	struct guest *g = guest_new();
	g->absent_page = LDT_BASE;
	struct task_switch_result r = run(g, SEL_B, TASK_SWITCH_JMP, 0);
	expect_fault(&r, 14, 0, true);
	assert_int_equal(r.fault.cr2, LDT_BASE);
	assert_int_equal(g->seg[SEG_TR].selector, SEL_B);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(descriptor_decodes_to_segment),
		cmocka_unit_test(jmp_saves_the_old_task_and_loads_the_new),
		cmocka_unit_test(jmp_takes_nt_from_the_new_tss),
		cmocka_unit_test(call_links_back_and_iret_returns),
		cmocka_unit_test(task_gate_pushes_the_error_code),
		cmocka_unit_test(error_code_push_follows_a_16bit_stack),
		cmocka_unit_test(cr3_is_loaded_only_with_paging_on),
		cmocka_unit_test(new_tss_trap_flag_asks_for_a_debug_trap),
		cmocka_unit_test(virtual_8086_task_gets_real_mode_segments),
		cmocka_unit_test(segments_may_come_from_the_new_ldt_and_be_conforming),
		cmocka_unit_test(iret_to_itself_reloads_what_it_saved),
		cmocka_unit_test(busy_tss_is_refused_for_jmp_call_and_gates),
		cmocka_unit_test(iret_to_an_idle_tss_is_refused),
		cmocka_unit_test(not_present_tss_raises_np),
		cmocka_unit_test(tss_limit_below_0x67_raises_ts),
		cmocka_unit_test(selector_that_is_no_tss_is_refused),
		cmocka_unit_test(tss_dpl_is_checked_only_when_asked),
		cmocka_unit_test(page_faults_before_the_commit_change_nothing),
		cmocka_unit_test(memory_that_is_not_ram_stops_the_switch),
		cmocka_unit_test(modes_without_task_switches_stop),
		cmocka_unit_test(bad_ldt_raises_ts_in_the_new_task),
		cmocka_unit_test(bad_cs_raises_the_right_fault),
		cmocka_unit_test(bad_ss_raises_the_right_fault),
		cmocka_unit_test(bad_data_segment_raises_the_right_fault),
		cmocka_unit_test(eip_beyond_cs_limit_raises_gp),
		cmocka_unit_test(page_fault_on_a_new_descriptor_is_the_new_tasks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
