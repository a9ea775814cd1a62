/* env.c: where a test guest runs (natively, or under hvmicrovisor), its hypercalls, and how its run ends. */
#include "drivers/uart16550.h"
#include "guests/common/guest.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"
#include "vmm/hypercall_abi.h"

/* QEMU: -device isa-debug-exit,iobase=0xf4 makes QEMU exit with (v << 1) | 1. */
#define QEMU_DEBUG_EXIT_PORT 0xf4
/* Bochs: the bytes of "Shutdown" written to this port end the simulation. */
#define BOCHS_SHUTDOWN_PORT  0x8900

static struct {
	bool probed;
	struct cpu_env cpu;
} env;

static void env_probe(void)
{
	if (env.probed)
		return;
	env.probed = true;
	cpu_env_probe(&env.cpu);
}

bool env_under_hypervisor(void)
{
	env_probe();
	return env.cpu.ours;
}

/* RAX = function, RBX = argument; the result comes back in RAX. */
static uint64_t hypercall2(uint64_t function, uint64_t arg, uint64_t arg2)
{
	uint64_t ret;

	if (env.cpu.intel)
		__asm__ volatile("vmcall" : "=a"(ret) : "a"(function), "b"(arg), "c"(arg2) : "memory");
	else
		__asm__ volatile("vmmcall" : "=a"(ret) : "a"(function), "b"(arg), "c"(arg2) : "memory");
	return ret;
}

static uint64_t hypercall(uint64_t function, uint64_t arg)
{
	return hypercall2(function, arg, 0);
}

/* Prints statistic id as a number, or "refused" when the hypervisor says no. */
static void report_stat(const char *name, enum hv_stat id)
{
	uint64_t v = hypercall(HC_STAT, id);

	if (v == HC_ERROR)
		report("env: %s refused", name);
	else
		report("env: %s %llu", name, (unsigned long long)v);
}

void env_report(void)
{
	env_probe();
	report("env: cpu %s", env.cpu.vendor);
	if (!env.cpu.ours) {
		report("env: native");
		return;
	}
	report("env: hypervisor %s, hypercalls by %s", HV_SIGNATURE, env.cpu.intel ? "VMCALL" : "VMMCALL");
	/* The print hypercall reaches the same console; memory is identity-mapped. */
	char line[64];
	int len = ksnprintf(line, sizeof(line), "%s: env: printed by HC_PRINT\n", console_name());
	if (hypercall2(HC_PRINT, (uint64_t)(uintptr_t)line, (uint64_t)len) != (uint64_t)len)
		report("env: HC_PRINT refused");
	report_stat("VM exits", HV_STAT_EXITS_TOTAL);
	report_stat("TLB flushes", HV_STAT_TLB_FLUSHES);
	report_stat("second-level 4K leaves", HV_STAT_LEAVES_4K);
	report_stat("second-level 2M leaves", HV_STAT_LEAVES_2M);
	report_stat("second-level 1G leaves", HV_STAT_LEAVES_1G);
}

void env_exit(unsigned status, enum harness harness)
{
	env_probe();
	uart_flush();
	if (env.cpu.ours) {
		hypercall(HC_EXIT, status);
		report("env: HC_EXIT refused; halting");
		uart_flush();
	} else if (harness == HARNESS_QEMU) {
		outb(QEMU_DEBUG_EXIT_PORT, (uint8_t)status);
	} else if (harness == HARNESS_BOCHS) {
		for (const char *p = "Shutdown"; *p; p++)
			outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
	}
	halt_forever();
}
