/* lapic.c: the virtual local APIC (SDM vol. 3A, chapter 10): registers, priorities, self-IPIs and the timer. */
#include "lib/string.h"
#include "vmm/dev/lapic.h"

/* Register offsets (SDM table 10-1); the x2APIC MSR is 0x800 + offset / 16 (table 10-6). */
enum {
	REG_ID = 0x020, REG_VERSION = 0x030, REG_TPR = 0x080, REG_APR = 0x090, REG_PPR = 0x0a0,
	REG_EOI = 0x0b0, REG_RRD = 0x0c0, REG_LDR = 0x0d0, REG_DFR = 0x0e0, REG_SVR = 0x0f0,
	REG_ISR = 0x100, REG_TMR = 0x180, REG_IRR = 0x200, REG_ESR = 0x280, REG_CMCI = 0x2f0,
	REG_ICR = 0x300, REG_ICR_HIGH = 0x310, REG_LVT = 0x320, REG_TIMER_INITIAL = 0x380,
	REG_TIMER_CURRENT = 0x390, REG_TIMER_DCR = 0x3e0, REG_SELF_IPI = 0x3f0,
};

#define VERSION          (0x14u | ((LVT_COUNT - 1u) << 16)) /* an integrated APIC, 6 LVT entries */
#define SVR_ENABLE       (1u << 8)
#define SVR_WRITABLE     0x1ffu       /* vector and enable: no focus checking, no EOI suppression */
#define LVT_MASK         (1u << 16)
#define LVT_VECTOR       0xffu
#define LVT_DELIVERY     (7u << 8)
#define LVT_POLARITY     (1u << 13)
#define LVT_TRIGGER      (1u << 15)
#define TIMER_MODE_SHIFT 17
#define TIMER_ONE_SHOT   0u
#define TIMER_PERIODIC   1u
#define TIMER_DEADLINE   2u
#define DCR_WRITABLE     0xbu
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_SEND_ILLEGAL (1u << 5)
#define ICR_VECTOR       0xffu
#define ICR_MODE(x)      (((x) >> 8) & 7u)
#define ICR_LOGICAL      (1u << 11)
#define ICR_SHORTHAND(x) (((x) >> 18) & 3u)
#define ICR_WRITABLE     0xccfffu     /* vector, mode, destination mode, level, trigger, shorthand */
#define MODE_FIXED       0u
#define MODE_LOWEST      1u
#define MODE_NMI         4u
#define SHORT_SELF       1u
#define SHORT_ALL        2u

/* Bits software may set in each LVT (SDM figure 10-8); the timer's mode bits are added below. */
static const uint32_t lvt_writable[LVT_COUNT] = {
	[LVT_TIMER]   = LVT_VECTOR | LVT_MASK,
	[LVT_THERMAL] = LVT_VECTOR | LVT_DELIVERY | LVT_MASK,
	[LVT_PERF]    = LVT_VECTOR | LVT_DELIVERY | LVT_MASK,
	[LVT_LINT0]   = LVT_VECTOR | LVT_DELIVERY | LVT_POLARITY | LVT_TRIGGER | LVT_MASK,
	[LVT_LINT1]   = LVT_VECTOR | LVT_DELIVERY | LVT_POLARITY | LVT_TRIGGER | LVT_MASK,
	[LVT_ERROR]   = LVT_VECTOR | LVT_MASK,
};

static bool bit_test(const uint32_t *bits, uint8_t v)
{
	return bits[v >> 5] & (1u << (v & 31));
}

static void bit_set(uint32_t *bits, uint8_t v)
{
	bits[v >> 5] |= 1u << (v & 31);
}

static void bit_clear(uint32_t *bits, uint8_t v)
{
	bits[v >> 5] &= ~(1u << (v & 31));
}

/* The highest set vector of a 256-bit register, or -1. */
static int highest(const uint32_t *bits)
{
	for (int i = 7; i >= 0; i--)
		if (bits[i])
			return i * 32 + 31 - __builtin_clz(bits[i]);
	return -1;
}

static void update_hint(struct vlapic *l)
{
	l->irr_nonempty = false;
	for (unsigned i = 0; i < 8; i++)
		if (l->irr[i])
			l->irr_nonempty = true;
}

/* The processor priority (SDM 10.8.3.1): the TPR, or the in-service class when that is higher. */
static uint32_t ppr(const struct vlapic *l)
{
	int isrv = highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0u;
	return (l->tpr & 0xf0u) >= isr_class ? l->tpr & 0xffu : isr_class;
}

static unsigned timer_mode(const struct vlapic *l)
{
	return (l->lvt[LVT_TIMER] >> TIMER_MODE_SHIFT) & 3u;
}

/* Divide configuration (SDM figure 10-10): bits 3, 1:0; 111b divides by 1. */
static uint64_t divisor(const struct vlapic *l)
{
	uint32_t v = (l->timer_dcr & 3u) | ((l->timer_dcr >> 1) & 4u);
	return v == 7 ? 1 : 2ull << v;
}

void vlapic_raise(struct vlapic *l, uint8_t vector)
{
	if (vector < 16) {
		l->esr_pending |= ESR_RECV_ILLEGAL;
		return;
	}
	bit_set(l->irr, vector);
	bit_clear(l->tmr, vector);
	l->irr_nonempty = true;
}

void vlapic_reset(struct vlapic *l, uint32_t id, bool tsc_deadline_shown, uint64_t apic_base)
{
	memset(l, 0, sizeof(*l));
	l->id = id;
	l->tsc_deadline_shown = tsc_deadline_shown;
	l->svr = 0xff;
	l->dfr = 0xffffffffu;
	for (unsigned i = 0; i < LVT_COUNT; i++)
		l->lvt[i] = LVT_MASK;
	l->deadline = VLAPIC_NO_DEADLINE;
	vlapic_set_base(l, apic_base);
}

void vlapic_set_base(struct vlapic *l, uint64_t apic_base)
{
	bool en = apic_base & (1ull << 11), extd = apic_base & (1ull << 10);
	/* A disabled APIC loses its state but its ID (SDM 10.4.3); the counters stay. */
	if (l->enabled && !en) {
		struct vlapic_counters keep = l->count;
		vlapic_reset(l, l->id, l->tsc_deadline_shown, 0);
		l->count = keep;
	}
	l->enabled = en;
	l->x2apic = en && extd;
}

static void timer_disarm(struct vlapic *l)
{
	l->timer_initial = 0;
	l->tsc_deadline = 0;
	l->deadline = VLAPIC_NO_DEADLINE;
}

static void timer_load(struct vlapic *l, uint32_t count, uint64_t now)
{
	l->timer_initial = count;
	l->timer_start = now;
	l->deadline = count ? now + count * divisor(l) : VLAPIC_NO_DEADLINE;
}

static uint32_t timer_current(const struct vlapic *l, uint64_t now)
{
	if (timer_mode(l) == TIMER_DEADLINE || !l->timer_initial)
		return 0;
	uint64_t ticks = (now - l->timer_start) / divisor(l);
	if (timer_mode(l) == TIMER_PERIODIC)
		return l->timer_initial - (uint32_t)(ticks % l->timer_initial);
	return ticks >= l->timer_initial ? 0 : l->timer_initial - (uint32_t)ticks;
}

void vlapic_tick(struct vlapic *l, uint64_t now)
{
	if (l->deadline > now)
		return;
	l->count.timer_fired++;
	if (!(l->lvt[LVT_TIMER] & LVT_MASK))
		vlapic_raise(l, (uint8_t)(l->lvt[LVT_TIMER] & LVT_VECTOR));
	if (timer_mode(l) == TIMER_PERIODIC && l->timer_initial) {
		uint64_t period = l->timer_initial * divisor(l);
		l->timer_start += period;
		/* Periods missed while the vCPU did not run are one interrupt, as on a busy CPU. */
		if (l->timer_start + period <= now)
			l->timer_start = now;
		l->deadline = l->timer_start + period;
		return;
	}
	/* One-shot: the count stays 0; TSC-deadline: the MSR reads 0 (SDM 10.5.4.1). */
	l->tsc_deadline = 0;
	l->deadline = VLAPIC_NO_DEADLINE;
}

static void write_lvt(struct vlapic *l, unsigned i, uint32_t val)
{
	uint32_t writable = lvt_writable[i];
	if (i == LVT_TIMER)
		writable |= (l->tsc_deadline_shown ? 3u : 1u) << TIMER_MODE_SHIFT;
	unsigned old_mode = timer_mode(l);
	val &= writable;
	/* Timer mode 11b is reserved: taken as one-shot. */
	if (i == LVT_TIMER && ((val >> TIMER_MODE_SHIFT) & 3u) == 3u)
		val &= ~(3u << TIMER_MODE_SHIFT);
	/* A software-disabled APIC keeps every LVT masked (SDM 10.4.7.2). */
	if (!(l->svr & SVR_ENABLE))
		val |= LVT_MASK;
	l->lvt[i] = val;
	/* Entering or leaving TSC-deadline mode disarms the timer (SDM 10.5.4.1). */
	if (i == LVT_TIMER && (old_mode == TIMER_DEADLINE) != (timer_mode(l) == TIMER_DEADLINE))
		timer_disarm(l);
}

static void eoi(struct vlapic *l)
{
	int v = highest(l->isr);
	if (v < 0)
		return;
	bit_clear(l->isr, (uint8_t)v);
	l->count.eois++;
}

/* Whether this APIC is among an IPI's destinations (SDM 10.6.2). */
static bool is_destination(const struct vlapic *l, uint64_t icr)
{
	uint32_t dest = l->x2apic ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56);
	uint32_t broadcast = l->x2apic ? 0xffffffffu : 0xffu;
	if (dest == broadcast)
		return true;
	if (!(icr & ICR_LOGICAL))
		return dest == l->id;
	if (l->x2apic) /* cluster in 31:16, a bit per member in 15:0 */
		return (dest >> 16) == (l->id >> 4) && (dest & (1u << (l->id & 15)));
	if ((l->dfr >> 28) == 0xf) /* flat model */
		return (dest & (l->ldr >> 24)) != 0;
	return (dest >> 4) == (l->ldr >> 28) && (dest & (l->ldr >> 24) & 0xf);
}

/* Sends an IPI; with one vCPU per VM only those that reach this APIC land anywhere. */
static void send_ipi(struct vlapic *l, uint64_t icr)
{
	unsigned sh = ICR_SHORTHAND(icr), mode = ICR_MODE(icr);
	uint8_t vector = (uint8_t)(icr & ICR_VECTOR);
	bool self = sh == SHORT_SELF || sh == SHORT_ALL || (sh == 0 && is_destination(l, icr));
	if (!self || (mode != MODE_FIXED && mode != MODE_LOWEST && mode != MODE_NMI)) {
		l->count.ipis_dropped++;
		return;
	}
	l->count.self_ipis++;
	if (mode == MODE_NMI) {
		l->nmi_pending = true;
		return;
	}
	if (vector < 16) {
		l->esr_pending |= ESR_SEND_ILLEGAL;
		return;
	}
	vlapic_raise(l, vector);
}

static uint32_t x2apic_ldr(const struct vlapic *l)
{
	return ((l->id >> 4) << 16) | (1u << (l->id & 15));
}

/* One register read; x2 selects the x2APIC rules.  False: no such readable register. */
static bool reg_read(struct vlapic *l, uint32_t off, uint64_t now, bool x2, uint64_t *val)
{
	uint32_t v = 0;
	if (off >= REG_ISR && off < REG_ISR + 0x80)
		v = l->isr[(off - REG_ISR) >> 4];
	else if (off >= REG_TMR && off < REG_TMR + 0x80)
		v = l->tmr[(off - REG_TMR) >> 4];
	else if (off >= REG_IRR && off < REG_IRR + 0x80)
		v = l->irr[(off - REG_IRR) >> 4];
	else if (off >= REG_LVT && off < REG_LVT + LVT_COUNT * 0x10)
		v = l->lvt[(off - REG_LVT) >> 4];
	else {
		switch (off) {
		case REG_ID:      v = x2 ? l->id : l->id << 24; break;
		case REG_VERSION: v = VERSION; break;
		case REG_TPR:     v = l->tpr; break;
		case REG_PPR:     v = ppr(l); break;
		case REG_LDR:     v = x2 ? x2apic_ldr(l) : l->ldr; break;
		case REG_SVR:     v = l->svr; break;
		case REG_ESR:     v = l->esr; break;
		case REG_ICR:
			/* x2APIC: one 64-bit register; the delivery status is always idle. */
			*val = x2 ? (uint64_t)l->icr_high << 32 : 0;
			return true;
		case REG_TIMER_INITIAL: v = l->timer_initial; break;
		case REG_TIMER_CURRENT: v = timer_current(l, now); break;
		case REG_TIMER_DCR:     v = l->timer_dcr; break;
		case REG_APR: case REG_RRD: case REG_DFR: case REG_ICR_HIGH:
			if (x2)
				return false;
			v = off == REG_DFR ? l->dfr : off == REG_ICR_HIGH ? l->icr_high : 0;
			break;
		default:
			return false;
		}
	}
	*val = v;
	return true;
}

static bool reg_write(struct vlapic *l, uint32_t off, uint64_t val, uint64_t now, bool x2)
{
	uint32_t v = (uint32_t)val;
	if (x2 && off != REG_ICR && (val >> 32))
		return false;
	if (off >= REG_LVT && off < REG_LVT + LVT_COUNT * 0x10) {
		write_lvt(l, (off - REG_LVT) >> 4, v);
		return true;
	}
	switch (off) {
	case REG_TPR:
		l->tpr = v & 0xffu;
		return true;
	case REG_EOI:
		if (x2 && v)
			return false;
		eoi(l);
		return true;
	case REG_LDR:
		if (x2)
			return false;
		l->ldr = v & 0xff000000u;
		return true;
	case REG_DFR:
		if (x2)
			return false;
		l->dfr = v | 0x0fffffffu;
		return true;
	case REG_SVR:
		l->svr = v & SVR_WRITABLE;
		if (!(l->svr & SVR_ENABLE))
			for (unsigned i = 0; i < LVT_COUNT; i++)
				l->lvt[i] |= LVT_MASK;
		return true;
	case REG_ESR:
		if (x2 && v)
			return false;
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return true;
	case REG_ICR:
		if (x2) {
			l->icr_high = (uint32_t)(val >> 32);
			send_ipi(l, (val & ICR_WRITABLE) | ((uint64_t)l->icr_high << 32));
		} else {
			send_ipi(l, (v & ICR_WRITABLE) | ((uint64_t)l->icr_high << 32));
		}
		return true;
	case REG_ICR_HIGH:
		if (x2)
			return false;
		l->icr_high = v & 0xff000000u;
		return true;
	case REG_TIMER_INITIAL:
		/* Ignored in TSC-deadline mode (SDM 10.5.4.1). */
		if (timer_mode(l) != TIMER_DEADLINE)
			timer_load(l, v, now);
		return true;
	case REG_TIMER_DCR: {
		uint32_t cur = timer_current(l, now);
		l->timer_dcr = v & DCR_WRITABLE;
		/* A running count goes on from where it is, at the new rate. */
		if (cur && l->deadline != VLAPIC_NO_DEADLINE && timer_mode(l) != TIMER_DEADLINE) {
			l->timer_start = now - (uint64_t)(l->timer_initial - cur) * divisor(l);
			l->deadline = now + (uint64_t)cur * divisor(l);
		}
		return true;
	}
	case REG_SELF_IPI:
		if (!x2)
			return false;
		l->count.self_ipis++;
		vlapic_raise(l, (uint8_t)(v & 0xffu));
		return true;
	default:
		return false; /* read-only or reserved */
	}
}

bool vlapic_read(struct vlapic *l, uint32_t offset, uint64_t now, uint32_t *val)
{
	uint64_t v = 0;
	bool ok = l->enabled && !l->x2apic && reg_read(l, offset & 0xff0u, now, false, &v);
	*val = ok ? (uint32_t)v : 0;
	return ok;
}

bool vlapic_write(struct vlapic *l, uint32_t offset, uint32_t val, uint64_t now)
{
	return l->enabled && !l->x2apic && reg_write(l, offset & 0xff0u, val, now, false);
}

bool vlapic_msr_read(struct vlapic *l, uint32_t msr, uint64_t now, uint64_t *val)
{
	uint32_t off = (msr - VLAPIC_MSR_FIRST) << 4;
	/* EOI and SELF IPI are write-only (SDM table 10-6). */
	if (!l->x2apic || off == REG_EOI || off == REG_SELF_IPI)
		return false;
	return reg_read(l, off, now, true, val);
}

bool vlapic_msr_write(struct vlapic *l, uint32_t msr, uint64_t val, uint64_t now)
{
	return l->x2apic && reg_write(l, (msr - VLAPIC_MSR_FIRST) << 4, val, now, true);
}

uint64_t vlapic_tsc_deadline(const struct vlapic *l)
{
	return timer_mode(l) == TIMER_DEADLINE ? l->tsc_deadline : 0;
}

void vlapic_set_tsc_deadline(struct vlapic *l, uint64_t guest_tsc, uint64_t host_tsc)
{
	/* Outside TSC-deadline mode writes are ignored; 0 disarms. */
	if (timer_mode(l) != TIMER_DEADLINE)
		return;
	l->tsc_deadline = guest_tsc;
	l->deadline = guest_tsc ? host_tsc : VLAPIC_NO_DEADLINE;
}

void vlapic_sync_tpr(struct vlapic *l, uint8_t cr8)
{
	/* MOV to CR8 sets TPR[7:4] and clears TPR[3:0] (SDM 10.8.6.1). */
	if ((l->tpr >> 4) != (cr8 & 0xfu))
		l->tpr = (uint32_t)(cr8 & 0xfu) << 4;
}

uint8_t vlapic_cr8(const struct vlapic *l)
{
	return (uint8_t)((l->tpr >> 4) & 0xfu);
}

int vlapic_highest_irr(const struct vlapic *l)
{
	if (!l->irr_nonempty || !l->enabled)
		return -1;
	return highest(l->irr);
}

bool vlapic_above_isr(const struct vlapic *l, uint8_t vector)
{
	int isrv = highest(l->isr);
	return isrv < 0 || (vector & 0xf0u) > ((uint32_t)isrv & 0xf0u);
}

bool vlapic_above_tpr(const struct vlapic *l, uint8_t vector)
{
	return (vector & 0xf0u) > (l->tpr & 0xf0u);
}

void vlapic_accept(struct vlapic *l, uint8_t vector)
{
	bit_clear(l->irr, vector);
	bit_set(l->isr, vector);
	l->count.accepted++;
	update_hint(l);
}

void vlapic_requeue(struct vlapic *l, uint8_t vector)
{
	if (!bit_test(l->isr, vector))
		return;
	bit_clear(l->isr, vector);
	bit_set(l->irr, vector);
	l->count.accepted--;
	l->irr_nonempty = true;
}

bool vlapic_can_wake(const struct vlapic *l)
{
	return l->irr_nonempty || l->nmi_pending || l->deadline != VLAPIC_NO_DEADLINE;
}
