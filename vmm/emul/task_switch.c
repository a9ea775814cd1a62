/* task_switch.c: the steps of a hardware task switch to a 32-bit TSS, in the order of SDM vol. 3A, 8.3. */
#include <stddef.h>
#include "vmm/emul/task_switch.h"

/* The 32-bit TSS (SDM 8.2.1, figure "32-Bit Task-State Segment (TSS)"). */
#define TSS_LINK     0x00  /* previous task link */
#define TSS_CR3      0x1c
#define TSS_EIP      0x20  /* the dynamic fields a switch saves: EIP ... GS */
#define TSS_EFLAGS   0x24
#define TSS_GPRS     0x28  /* EAX ECX EDX EBX ESP EBP ESI EDI, 4 bytes each */
#define TSS_SREGS    0x48  /* ES CS SS DS FS GS, 4 bytes each (selector in the low 2) */
#define TSS_LDT      0x60
#define TSS_TRAP     0x64  /* bit 0: T, debug trap on switching to this task */
#define TSS_SIZE     0x68
#define TSS_SAVED    (TSS_LDT - TSS_EIP)
#define TSS_T        0x1u

#define TSS32_MIN_LIMIT 0x67 /* the least limit of a 32-bit TSS, 0x2b for a 16-bit one (SDM 8.2.2) */
#define TSS16_MIN_LIMIT 0x2b

#define GPRS  8
#define SREGS 6              /* ES, CS, SS, DS, FS, GS: enum seg_reg order, that of the TSS */

#define EFLAGS_FIXED   (1u << 1)   /* reads as 1 */
#define EFLAGS_NT      (1u << 14)
#define EFLAGS_VM      (1u << 17)
#define EFLAGS_DEFINED 0x003f7fd5u /* CF PF AF ZF SF TF IF DF OF IOPL NT RF VM AC VIF VIP ID */
#define CR0_PE         (1u << 0)
#define CR0_TS         (1u << 3)
#define CR0_PG         (1u << 31)
#define EFER_LMA       (1u << 10)
/* L0-L3 and LE, which the CPU clears on every task switch (SDM vol. 3B, "Debug Control Register (DR7)"). */
#define DR7_LOCAL      0x155u

#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13

#define ERR_EXT 0x1u         /* error code bit 0 (SDM vol. 3A, 6.13) */

/*
 * A virtual-8086 segment: base selector * 16, 64 KiB, present DPL-3
 * accessed read/write data, as VM entry wants them (SDM vol. 3C, "Checks on
 * Guest Segment Registers").
 */
#define V86_LIMIT 0xffffu
#define V86_ATTR  (SEG_ATTR_P | SEG_ATTR_S | (3u << SEG_ATTR_DPL_SHIFT) | SEG_TYPE_WRITABLE | \
		   SEG_TYPE_ACCESSED)

struct ts {
	const struct task_switch_ops *ops;
	const struct task_switch_req *req;
	struct task_switch_result *res;
	uint32_t gdt_base;
	uint16_t gdt_limit;
};

/* ---- results: each helper returns false once res says what happened ---- */

static bool fail(struct ts *t, uint8_t vector, uint32_t error)
{
	t->res->status = TASK_SWITCH_FAULT;
	t->res->fault = (struct task_switch_fault){ .vector = vector, .has_error = true,
						    .error = error | (t->req->ext ? ERR_EXT : 0) };
	return false;
}

/* An exception whose error code names a selector: its index and TI, with EXT in place of the RPL. */
static bool fail_sel(struct ts *t, uint8_t vector, uint16_t sel)
{
	return fail(t, vector, sel & (SEL_INDEX | SEL_TI));
}

static bool stop(struct ts *t, enum task_switch_status status, const char *why)
{
	t->res->status = status;
	t->res->why = why;
	return false;
}

static bool mem(struct ts *t, enum task_switch_mem m, const struct task_switch_fault *f)
{
	switch (m) {
	case TASK_SWITCH_MEM_OK:
		return true;
	case TASK_SWITCH_MEM_FAULT:
		t->res->status = TASK_SWITCH_FAULT;
		t->res->fault = *f;
		return false;
	case TASK_SWITCH_MEM_NOT_RAM:
		break;
	}
	return stop(t, TASK_SWITCH_STOP, "a TSS or descriptor table is not in guest RAM");
}

static bool rd(struct ts *t, uint32_t la, void *dst, unsigned len)
{
	struct task_switch_fault f;
	return mem(t, t->ops->read(t->ops->ctx, la, dst, len, &f), &f);
}

static bool wr(struct ts *t, uint32_t la, const void *src, unsigned len)
{
	struct task_switch_fault f;
	return mem(t, t->ops->write(t->ops->ctx, la, src, len, &f), &f);
}

static bool check_wr(struct ts *t, uint32_t la, unsigned len)
{
	struct task_switch_fault f;
	return mem(t, t->ops->check_write(t->ops->ctx, la, len, &f), &f);
}

static uint32_t reg(const struct ts *t, enum task_switch_reg r)
{
	return (uint32_t)t->ops->get_reg(t->ops->ctx, r);
}

static void set_reg(const struct ts *t, enum task_switch_reg r, uint32_t val)
{
	t->ops->set_reg(t->ops->ctx, r, val);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* ---- descriptors ---- */

/* Where the descriptor sel names lies; false when beyond its table (the LDT for TI, else the GDT). */
static bool desc_addr(const struct ts *t, uint16_t sel, uint32_t *la)
{
	uint32_t base = t->gdt_base, limit = t->gdt_limit;
	if (sel & SEL_TI) {
		struct segment ldt;
		t->ops->get_seg(t->ops->ctx, SEG_LDTR, &ldt);
		if (ldt.unusable)
			return false;
		base = (uint32_t)ldt.base;
		limit = ldt.limit;
	}
	if ((uint32_t)(sel & SEL_INDEX) + 7 > limit)
		return false;
	*la = base + (sel & SEL_INDEX);
	return true;
}

static bool read_desc(struct ts *t, uint32_t la, uint64_t *desc)
{
	uint8_t b[8];
	if (!rd(t, la, b, sizeof(b)))
		return false;
	*desc = (uint64_t)get32(b) | (uint64_t)get32(b + 4) << 32;
	return true;
}

/* Writes a descriptor's access byte (type, S, DPL, P) as the CPU does to set accessed or busy. */
static bool write_access_byte(struct ts *t, uint32_t desc_la, uint16_t attr)
{
	uint8_t b = (uint8_t)attr;
	return wr(t, desc_la + SEG_DESC_ACCESS_BYTE, &b, 1);
}

static bool is_null(uint16_t sel)
{
	return (sel & (SEL_INDEX | SEL_TI)) == 0;
}

/*
 * The checks before anything changes, on the new TSS's descriptor, in the
 * order of the JMP, CALL, IRET and INT n pseudo-code (SDM vol. 2): selector
 * and type (#GP; #TS for IRET), busy, DPL if asked (#GP), P (#NP), limit
 * (#TS).  Faults here are the old task's.
 */
static bool check_new_tss(struct ts *t, struct segment *tss, uint32_t *desc_la)
{
	uint16_t sel = t->req->selector;
	enum task_switch_source src = t->req->source;
	bool iret = src == TASK_SWITCH_IRET;
	uint8_t bad = iret ? VEC_TS : VEC_GP;
	uint64_t desc;

	if ((sel & SEL_TI) || !desc_addr(t, sel, desc_la))
		return fail_sel(t, bad, sel);
	if (!read_desc(t, *desc_la, &desc))
		return false;
	*tss = seg_from_descriptor(sel, desc);
	unsigned type = seg_type(tss);
	bool is_tss = !(tss->attr & SEG_ATTR_S) &&
		      (type == SEG_TYPE_TSS32_AVAIL || type == SEG_TYPE_TSS32_BUSY ||
		       type == SEG_TYPE_TSS16_AVAIL || type == SEG_TYPE_TSS16_BUSY);
	if (!is_tss)
		return fail_sel(t, bad, sel);
	/* IRET returns to a busy task; everything else enters an idle one (SDM 8.4.1). */
	bool busy = (type & SEG_TYPE_TSS_BUSY) != 0;
	if (iret != busy)
		return fail_sel(t, bad, sel);
	if (t->req->check_dpl && (src == TASK_SWITCH_CALL || src == TASK_SWITCH_JMP)) {
		unsigned cpl = reg(t, TASK_SWITCH_CPL), rpl = sel & SEL_RPL;
		if (seg_dpl(tss) < cpl || seg_dpl(tss) < rpl)
			return fail_sel(t, VEC_GP, sel);
	}
	if (!(tss->attr & SEG_ATTR_P))
		return fail_sel(t, VEC_NP, sel);
	bool tss32 = (type & ~SEG_TYPE_TSS_BUSY) == SEG_TYPE_TSS32_AVAIL;
	if (tss->limit < (tss32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
		return fail_sel(t, VEC_TS, sel);
	if (!tss32)
		return stop(t, TASK_SWITCH_UNSUPPORTED, "task switch to a 16-bit TSS is not emulated");
	return true;
}

/* The current task: TR, and where its descriptor lies in the GDT. */
static bool check_old_tss(struct ts *t, struct segment *tr, uint32_t *desc_la)
{
	t->ops->get_seg(t->ops->ctx, SEG_TR, tr);
	if (tr->unusable || is_null(tr->selector) || (tr->selector & SEL_TI))
		return stop(t, TASK_SWITCH_STOP, "task switch without a current task (TR not loaded)");
	if (seg_type(tr) == SEG_TYPE_TSS16_BUSY || seg_type(tr) == SEG_TYPE_TSS16_AVAIL)
		return stop(t, TASK_SWITCH_UNSUPPORTED, "task switch from a 16-bit TSS is not emulated");
	if (!desc_addr(t, tr->selector, desc_la))
		return stop(t, TASK_SWITCH_STOP, "the current TSS's descriptor is beyond the GDT limit");
	return true;
}

/*
 * Everything before the commit point (SDM 8.3; its step numbers differ
 * between editions, so none are cited here): check
 * that every byte to be read or written is reachable, so that a fault
 * leaves the guest as it was; then clear the old busy flag (JMP, IRET),
 * save EIP, EFLAGS (NT cleared for IRET), the general registers and the
 * selectors in the old TSS, write the new TSS's back link (CALL, gate) and
 * set its busy flag (not IRET).  image gets the new TSS.
 */
static bool save_old_task(struct ts *t, const struct segment *tr, uint32_t old_desc_la,
			  const struct segment *tss, uint32_t new_desc_la, uint8_t *image)
{
	enum task_switch_source src = t->req->source;
	bool leave = src == TASK_SWITCH_JMP || src == TASK_SWITCH_IRET; /* the old task stops being busy */
	bool nest = src == TASK_SWITCH_CALL || src == TASK_SWITCH_GATE; /* the new task links back */
	uint32_t old_base = (uint32_t)tr->base, new_base = (uint32_t)tss->base;
	uint8_t saved[TSS_SAVED];
	uint64_t old_desc = 0;
	uint8_t link[2];

	if (!rd(t, new_base, image, TSS_SIZE) || !rd(t, old_base + TSS_EIP, saved, TSS_SAVED) ||
	    (leave && !read_desc(t, old_desc_la, &old_desc)) ||
	    !check_wr(t, old_base + TSS_EIP, TSS_SAVED) ||
	    (leave && !check_wr(t, old_desc_la + SEG_DESC_ACCESS_BYTE, 1)) ||
	    (nest && !check_wr(t, new_base + TSS_LINK, sizeof(link))) ||
	    (src != TASK_SWITCH_IRET && !check_wr(t, new_desc_la + SEG_DESC_ACCESS_BYTE, 1)))
		return false;

	uint32_t eflags = reg(t, TASK_SWITCH_EFLAGS);
	if (src == TASK_SWITCH_IRET)
		eflags &= ~EFLAGS_NT;
	put32(saved + TSS_EIP - TSS_EIP, t->req->eip);
	put32(saved + TSS_EFLAGS - TSS_EIP, eflags);
	for (unsigned i = 0; i < GPRS; i++)
		put32(saved + TSS_GPRS - TSS_EIP + 4 * i, reg(t, (enum task_switch_reg)i));
	for (unsigned s = 0; s < SREGS; s++) {
		struct segment seg;
		t->ops->get_seg(t->ops->ctx, (enum seg_reg)s, &seg);
		put16(saved + TSS_SREGS - TSS_EIP + 4 * s, seg.selector); /* the upper halves stay */
	}
	put16(link, tr->selector);

	uint16_t old_access = (uint16_t)((old_desc >> 40) & ~(uint64_t)SEG_TYPE_TSS_BUSY);
	if ((leave && !write_access_byte(t, old_desc_la, old_access)) ||
	    !wr(t, old_base + TSS_EIP, saved, TSS_SAVED) ||
	    (nest && !wr(t, new_base + TSS_LINK, link, sizeof(link))) ||
	    (src != TASK_SWITCH_IRET &&
	     !write_access_byte(t, new_desc_la, (uint16_t)(tss->attr | SEG_TYPE_TSS_BUSY))))
		return false;
	/* The state is loaded after the save: a TSS that is also the old one gives what was saved. */
	return rd(t, new_base, image, TSS_SIZE);
}

/* The commit point: TR holds the new, busy TSS; CR0.TS and DR7 change with every switch. */
static void commit(struct ts *t, struct segment tss)
{
	tss.attr |= SEG_TYPE_TSS_BUSY;
	t->ops->set_seg(t->ops->ctx, SEG_TR, &tss);
	set_reg(t, TASK_SWITCH_CR0, reg(t, TASK_SWITCH_CR0) | CR0_TS);
	set_reg(t, TASK_SWITCH_DR7, reg(t, TASK_SWITCH_DR7) & ~DR7_LOCAL);
}

/*
 * The new task's state from its TSS: CR3 (only with paging on), EFLAGS (NT
 * set for CALL and gates), EIP, the general registers, and the selectors
 * alone: the hidden parts stay as they are until load_segments() loads and
 * qualifies each descriptor, as the SDM orders it.
 */
static bool load_registers(struct ts *t, const uint8_t *image)
{
	enum task_switch_source src = t->req->source;
	if ((reg(t, TASK_SWITCH_CR0) & CR0_PG) &&
	    t->ops->set_cr3(t->ops->ctx, get32(image + TSS_CR3)) != ERR_OK)
		return stop(t, TASK_SWITCH_STOP, "the new task's CR3 has PAE PDPTEs the CPU would refuse");

	uint32_t eflags = (get32(image + TSS_EFLAGS) & EFLAGS_DEFINED) | EFLAGS_FIXED;
	if (src == TASK_SWITCH_CALL || src == TASK_SWITCH_GATE)
		eflags |= EFLAGS_NT;
	set_reg(t, TASK_SWITCH_EFLAGS, eflags);
	set_reg(t, TASK_SWITCH_EIP, get32(image + TSS_EIP));
	for (unsigned i = 0; i < GPRS; i++)
		set_reg(t, (enum task_switch_reg)i, get32(image + TSS_GPRS + 4 * i));
	for (unsigned s = 0; s <= SEG_LDTR; s++) {
		struct segment seg;
		t->ops->get_seg(t->ops->ctx, (enum seg_reg)s, &seg);
		seg.selector = get16(image + (s == SEG_LDTR ? TSS_LDT : TSS_SREGS + 4 * s));
		t->ops->set_seg(t->ops->ctx, (enum seg_reg)s, &seg);
	}
	return true;
}

/* LDTR: null leaves no LDT; else a present LDT descriptor in the GDT, or #TS (even when not present). */
static bool load_ldt(struct ts *t, uint16_t sel)
{
	struct segment s = { .selector = sel, .unusable = true };
	uint32_t la;
	uint64_t desc;

	if (!is_null(sel)) {
		if ((sel & SEL_TI) || !desc_addr(t, sel, &la))
			return fail_sel(t, VEC_TS, sel);
		if (!read_desc(t, la, &desc))
			return false;
		s = seg_from_descriptor(sel, desc);
		if ((s.attr & SEG_ATTR_S) || seg_type(&s) != SEG_TYPE_LDT || !(s.attr & SEG_ATTR_P))
			return fail_sel(t, VEC_TS, sel);
	}
	t->ops->set_seg(t->ops->ctx, SEG_LDTR, &s);
	return true;
}

/*
 * A code, stack or data segment register of the new task at CPL cpl, with
 * the checks of SDM 8.3 and the #TS conditions of "Interrupt 10": CS a
 * code segment at DPL = CPL (conforming: DPL <= CPL), else #TS, not
 * present #NP; SS a writable data segment with RPL = DPL = CPL, else #TS,
 * not present #SS; DS, ES, FS, GS null, or data or readable code with
 * DPL >= CPL and RPL unless conforming, else #TS, not present #NP.  The
 * descriptor's accessed flag is set as any segment load sets it.
 */
static bool load_seg(struct ts *t, enum seg_reg r, uint16_t sel, unsigned cpl)
{
	struct segment s = { .selector = sel, .unusable = true };
	uint32_t la;
	uint64_t desc;

	if (is_null(sel)) {
		if (r == SEG_CS || r == SEG_SS)
			return fail_sel(t, VEC_TS, sel);
		t->ops->set_seg(t->ops->ctx, r, &s);
		return true;
	}
	if (!desc_addr(t, sel, &la))
		return fail_sel(t, VEC_TS, sel);
	if (!read_desc(t, la, &desc))
		return false;
	s = seg_from_descriptor(sel, desc);
	unsigned type = seg_type(&s), dpl = seg_dpl(&s), rpl = sel & SEL_RPL;
	bool code = (type & SEG_TYPE_CODE) != 0, conforming = code && (type & SEG_TYPE_CONFORMING);
	bool ok;
	switch (r) {
	case SEG_CS:
		ok = code && (conforming ? dpl <= cpl : dpl == cpl);
		break;
	case SEG_SS:
		ok = !code && (type & SEG_TYPE_WRITABLE) && rpl == cpl && dpl == cpl;
		break;
	default:
		ok = (!code || (type & SEG_TYPE_READABLE)) && (conforming || (dpl >= cpl && dpl >= rpl));
		break;
	}
	if (!(s.attr & SEG_ATTR_S) || !ok)
		return fail_sel(t, VEC_TS, sel);
	if (!(s.attr & SEG_ATTR_P))
		return fail_sel(t, r == SEG_SS ? VEC_SS : VEC_NP, sel);
	if (!(type & SEG_TYPE_ACCESSED)) {
		s.attr |= SEG_TYPE_ACCESSED;
		if (!write_access_byte(t, la, s.attr))
			return false;
	}
	t->ops->set_seg(t->ops->ctx, r, &s);
	return true;
}

/*
 * The descriptors: LDTR first (the other selectors may name it), then, for a
 * virtual-8086 task, real-mode style segments at CPL 3; else SS, CS, DS,
 * ES, FS, GS at CPL = the new CS's RPL.  The SDM leaves the order of these
 * checks model specific; this is the 80286's, whose manual lists it.
 */
static bool load_segments(struct ts *t, const uint8_t *image)
{
	static const enum seg_reg order[SREGS] = { SEG_SS, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };

	if (!load_ldt(t, get16(image + TSS_LDT)))
		return false;
	bool v86 = (reg(t, TASK_SWITCH_EFLAGS) & EFLAGS_VM) != 0;
	unsigned cpl = get16(image + TSS_SREGS + 4 * SEG_CS) & SEL_RPL;
	for (unsigned i = 0; i < SREGS; i++) {
		enum seg_reg r = order[i];
		uint16_t sel = get16(image + TSS_SREGS + 4 * r);
		if (v86) {
			struct segment s = { sel, (uint64_t)sel << 4, V86_LIMIT, V86_ATTR, false };
			t->ops->set_seg(t->ops->ctx, r, &s);
		} else if (!load_seg(t, r, sel, cpl)) {
			return false;
		}
	}
	return true;
}

/* Pushes the exception's error code on the new task's stack, a doubleword for a 32-bit TSS (#SS past the limit). */
static bool push_error(struct ts *t)
{
	struct segment ss;
	t->ops->get_seg(t->ops->ctx, SEG_SS, &ss);
	uint32_t esp = reg(t, TASK_SWITCH_ESP);
	bool big = (ss.attr & SEG_ATTR_DB) != 0;       /* ESP, else SP */
	uint32_t sp = big ? esp - 4 : (esp & 0xffff0000u) | ((esp - 4) & 0xffffu);
	uint32_t off = big ? sp : sp & 0xffffu;
	uint64_t top = big ? 0xffffffffu : 0xffffu;
	bool down = (seg_type(&ss) & SEG_TYPE_EXPAND_DOWN) != 0;  /* SS is always data */
	bool fits = down ? off > ss.limit && (uint64_t)off + 3 <= top : (uint64_t)off + 3 <= ss.limit;
	uint8_t b[4];

	if (!fits)
		return fail(t, VEC_SS, 0);
	put32(b, t->req->error);
	if (!wr(t, (uint32_t)ss.base + off, b, sizeof(b)))
		return false;
	set_reg(t, TASK_SWITCH_ESP, sp);
	return true;
}

/* Why the switch cannot be emulated at all, or NULL. */
static const char *unswitchable(const struct ts *t)
{
	if ((unsigned)t->req->source > TASK_SWITCH_GATE)
		return "task switch from an unknown source";
	/* IA-32e mode has no task switches: the CPU raises #GP before any exit (SDM vol. 3C). */
	if (reg(t, TASK_SWITCH_EFER) & EFER_LMA)
		return "task switch in IA-32e mode";
	if (!(reg(t, TASK_SWITCH_CR0) & CR0_PE))
		return "task switch in real mode";
	return NULL;
}

enum task_switch_status task_switch(const struct task_switch_ops *ops, const struct task_switch_req *req,
				    struct task_switch_result *res)
{
	struct ts t = { ops, req, res, 0, 0 };
	struct segment tss, tr, cs;
	uint32_t new_desc_la, old_desc_la;
	uint8_t image[TSS_SIZE];

	*res = (struct task_switch_result){ .status = TASK_SWITCH_DONE };
	const char *why = unswitchable(&t);
	if (why) {
		stop(&t, TASK_SWITCH_STOP, why);
		return res->status;
	}
	ops->get_gdtr(ops->ctx, &t.gdt_base, &t.gdt_limit);
	if (!check_new_tss(&t, &tss, &new_desc_la) || !check_old_tss(&t, &tr, &old_desc_la) ||
	    !save_old_task(&t, &tr, old_desc_la, &tss, new_desc_la, image))
		return res->status;

	/* Committed: whatever goes wrong now is the new task's to handle (SDM 8.3, the note after the steps). */
	res->in_new_task = true;
	commit(&t, tss);
	if (!load_registers(&t, image) || !load_segments(&t, image) ||
	    (req->push_error && !push_error(&t)))
		return res->status;
	ops->get_seg(ops->ctx, SEG_CS, &cs);
	if (reg(&t, TASK_SWITCH_EIP) > cs.limit) {
		fail(&t, VEC_GP, 0);
		return res->status;
	}
	res->debug_trap = (image[TSS_TRAP] & TSS_T) != 0;
	return res->status;
}
