/* lapic.c: the host's local APIC (SDM vol. 3A, chapter 10): enable, mask, and one timer in one-shot or TSC-deadline mode. */
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc.h"
#include "drivers/console.h"
#include "mm/paging.h"

/* Register offsets in the xAPIC page; the x2APIC MSR is 0x800 + offset / 16 (SDM table 10-6). */
enum {
	LAPIC_ID      = 0x020,
	LAPIC_VERSION = 0x030,
	LAPIC_TPR     = 0x080,
	LAPIC_EOI     = 0x0b0,
	LAPIC_SVR     = 0x0f0,
	LAPIC_ESR     = 0x280,
	LAPIC_LVT_CMCI = 0x2f0,
	LAPIC_LVT_TIMER = 0x320,
	LAPIC_LVT_THERMAL = 0x330,
	LAPIC_LVT_PERF = 0x340,
	LAPIC_LVT_LINT0 = 0x350,
	LAPIC_LVT_LINT1 = 0x360,
	LAPIC_LVT_ERROR = 0x370,
	LAPIC_TIMER_INITIAL = 0x380,
	LAPIC_TIMER_CURRENT = 0x390,
	LAPIC_TIMER_DIVIDE = 0x3e0,
};

#define MSR_APIC_BASE        0x1b
#define APIC_BASE_EXTD       (1ull << 10)  /* x2APIC mode */
#define APIC_BASE_EN         (1ull << 11)
#define APIC_BASE_ADDR       0xfffff000ull
#define MSR_X2APIC_FIRST     0x800
#define MSR_TSC_DEADLINE     0x6e0
#define SVR_ENABLE           (1u << 8)
#define LVT_MASKED           (1u << 16)
#define LVT_NMI              (4u << 8)    /* delivery mode NMI */
#define LVT_TIMER_TSC_DEADLINE (2u << 17)
#define DIVIDE_BY_16         0x3
#define CPUID1_TSC_DEADLINE  (1u << 24)
#define CALIBRATE_DIVISOR    100          /* measure over 10 ms */

struct lapic_info lapic;
static volatile uint32_t *mmio;

static uint32_t lapic_read(uint32_t reg)
{
	if (lapic.x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_FIRST + reg / 16);
	return mmio[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t val)
{
	if (lapic.x2apic)
		wrmsr(MSR_X2APIC_FIRST + reg / 16, val);
	else
		mmio[reg / 4] = val;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* Timer counts after the divider per second, from a 10 ms count-down timed by the TSC. */
static void calibrate(void)
{
	lapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_HOST_TIMER);
	uint64_t span = tsc.hz / CALIBRATE_DIVISOR;
	lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
	uint64_t start = rdtsc();
	while (rdtsc() - start < span)
		cpu_relax();
	uint32_t left = lapic_read(LAPIC_TIMER_CURRENT);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	lapic.timer_hz = (uint64_t)(0xffffffffu - left) * CALIBRATE_DIVISOR;
}

err_t lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	lapic.x2apic = cpu.x2apic;
	lapic.tsc_deadline = cpuid(1, 0).ecx & CPUID1_TSC_DEADLINE;
	if (!tsc.hz) {
		log_error("lapic: no timer: the TSC's frequency is unknown\n");
		return ERR_UNSUPPORTED;
	}
	if (lapic.x2apic) {
		/* xAPIC to x2APIC needs EN first (SDM 10.12.5, figure 10-27). */
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	} else {
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
		void *va;
		err_t err = paging_map_device(base & APIC_BASE_ADDR, 0x1000, &va);
		if (err != ERR_OK) {
			log_error("lapic: cannot map its registers at %#llx (%s)\n",
				  (unsigned long long)(base & APIC_BASE_ADDR), err_str(err));
			return err;
		}
		mmio = va;
	}
	lapic.id = lapic.x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24;
	unsigned max_lvt = (lapic_read(LAPIC_VERSION) >> 16) & 0xff;
	/* Nothing but our timer may interrupt; LINT1 stays the NMI pin (the PIC is masked). */
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_HOST_SPURIOUS);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	if (max_lvt >= 4)
		lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	if (max_lvt >= 5)
		lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	if (max_lvt >= 6)
		lapic_write(LAPIC_LVT_CMCI, LVT_MASKED);
	lapic_write(LAPIC_ESR, 0);
	calibrate();
	if (lapic.tsc_deadline)
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | VEC_HOST_TIMER);
	else
		lapic_write(LAPIC_LVT_TIMER, VEC_HOST_TIMER);
	kprintf("time: LAPIC %u (%s), timer %llu.%03llu MHz measured against the TSC, %s mode\n",
		lapic.id, lapic.x2apic ? "x2APIC" : "xAPIC",
		(unsigned long long)(lapic.timer_hz / 1000000u),
		(unsigned long long)(lapic.timer_hz / 1000u % 1000u),
		lapic.tsc_deadline ? "TSC-deadline" : "one-shot");
	return ERR_OK;
}

void lapic_timer_at(uint64_t deadline)
{
	if (lapic.tsc_deadline) {
		/* A deadline in the past fires at once; 0 would disarm. */
		wrmsr(MSR_TSC_DEADLINE, deadline ? deadline : 1);
		return;
	}
	uint64_t now = rdtsc(), count = 1;
	if (deadline > now) {
		uint64_t cycles = deadline - now;
		/* cycles * timer_hz / tsc.hz without overflow: the remainder is below tsc.hz (< 2^34)
		 * and timer_hz, divided by 16, below 2^30. */
		count = cycles / tsc.hz * lapic.timer_hz + cycles % tsc.hz * lapic.timer_hz / tsc.hz;
		if (count == 0)
			count = 1;
		if (count > 0xffffffffu)
			count = 0xffffffffu;
	}
	lapic_write(LAPIC_TIMER_INITIAL, (uint32_t)count);
}
