/* tsc.c: the TSC's frequency: from CPUID where the CPU states it, else measured against the PIT. */
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "drivers/console.h"

#define PIT_HZ          1193182u   /* the 8254's input clock */
#define PIT_CH2         0x42
#define PIT_MODE        0x43
#define PIT_CH2_MODE0   0xb0       /* channel 2, low then high byte, mode 0 (count down once), binary */
#define PORT_B          0x61       /* bit 0: channel 2's gate, bit 1: speaker, bit 5: channel 2's output */
#define PORT_B_GATE     0x01
#define PORT_B_SPEAKER  0x02
#define PORT_B_OUT2     0x20
#define CALIBRATE_MS    50u
#define POLL_LIMIT      100000000u /* reads of port B before the PIT is taken to be absent */
#define CPUID_HV        (1u << 31) /* CPUID 1:ECX: running under a hypervisor */
#define HV_TIMING_LEAF  0x40000010u /* EAX: TSC kHz (the leaf VMware and KVM offer) */

struct tsc_info tsc;

/* CPUID 15H (SDM vol. 3B, 18.7.3): TSC = crystal (ECX) * EBX / EAX, exact where ECX is given. */
static bool from_crystal(void)
{
	if (cpuid(0, 0).eax < 0x15)
		return false;
	struct cpuid_regs r = cpuid(0x15, 0);
	if (!r.eax || !r.ebx || !r.ecx)
		return false;
	tsc.hz = (uint64_t)r.ecx * r.ebx / r.eax;
	tsc.source = "CPUID 15H";
	return true;
}

/* CPUID 16H's base frequency (EAX, MHz): the TSC's on Intel CPUs that report it, but only
 * nominal (emulators report a model's, whatever their TSC does): the last resort. */
static bool from_base_frequency(void)
{
	if (cpuid(0, 0).eax < 0x16 || !(cpuid(0x16, 0).eax & 0xffff))
		return false;
	tsc.hz = (uint64_t)(cpuid(0x16, 0).eax & 0xffff) * 1000000u;
	tsc.source = "CPUID 16H base frequency, not measured";
	return true;
}

/* Under another hypervisor, its timing leaf where it has one. */
static bool from_hypervisor(void)
{
	if (!(cpuid(1, 0).ecx & CPUID_HV) || cpuid(0x40000000u, 0).eax < HV_TIMING_LEAF)
		return false;
	uint32_t khz = cpuid(HV_TIMING_LEAF, 0).eax;
	if (!khz)
		return false;
	tsc.hz = (uint64_t)khz * 1000u;
	tsc.source = "the hypervisor's leaf 40000010H";
	return true;
}

/* Counts TSC ticks while PIT channel 2 counts CALIBRATE_MS down in mode 0 (its output rises at 0). */
static bool from_pit(void)
{
	uint32_t count = PIT_HZ / 1000u * CALIBRATE_MS;
	uint8_t b = inb(PORT_B);
	outb(PORT_B, (uint8_t)((b & ~PORT_B_SPEAKER) & ~PORT_B_GATE));
	outb(PIT_MODE, PIT_CH2_MODE0);
	outb(PIT_CH2, (uint8_t)count);
	outb(PIT_CH2, (uint8_t)(count >> 8));
	outb(PORT_B, (uint8_t)((b & ~PORT_B_SPEAKER) | PORT_B_GATE));
	uint64_t start = rdtsc();
	uint32_t polls = 0;
	while (!(inb(PORT_B) & PORT_B_OUT2))
		if (++polls == POLL_LIMIT)
			break;
	uint64_t end = rdtsc();
	outb(PORT_B, b);
	if (polls == POLL_LIMIT)
		return false;
	tsc.hz = (end - start) * 1000u / CALIBRATE_MS;
	tsc.source = "measured against the PIT over 50 ms";
	return true;
}

void tsc_init(void)
{
	tsc.invariant = cpuid(0x80000000u, 0).eax >= 0x80000007u &&
			(cpuid(0x80000007u, 0).edx & (1u << 8));
	/* Exact statements first, then a measurement, then a nominal figure. */
	if (!from_hypervisor() && !from_crystal() && !from_pit() && !from_base_frequency()) {
		log_warn("time: TSC frequency unknown: no CPUID leaf states it and the PIT does not count\n");
		return;
	}
	kprintf("time: TSC %llu.%03llu MHz (%s)%s\n", (unsigned long long)(tsc.hz / 1000000u),
		(unsigned long long)(tsc.hz / 1000u % 1000u), tsc.source,
		tsc.invariant ? ", invariant" : "");
}
