/* trap.c: what happens on an exception in the hypervisor itself: a full report, then stop. */
#include "arch/x86/backtrace.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/stack.h"
#include "arch/x86/trap.h"
#include "drivers/console.h"
#include "drivers/harness.h"
#include "lib/ksyms.h"

static const char *const vector_names[32] = {
	[VEC_DE] = "#DE divide error",        [VEC_DB] = "#DB debug",
	[VEC_NMI] = "NMI",                    [VEC_BP] = "#BP breakpoint",
	[VEC_OF] = "#OF overflow",            [VEC_BR] = "#BR bound range",
	[VEC_UD] = "#UD invalid opcode",      [VEC_NM] = "#NM device not available",
	[VEC_DF] = "#DF double fault",        [9] = "coprocessor segment overrun",
	[VEC_TS] = "#TS invalid TSS",         [VEC_NP] = "#NP segment not present",
	[VEC_SS] = "#SS stack fault",         [VEC_GP] = "#GP general protection",
	[VEC_PF] = "#PF page fault",          [VEC_MF] = "#MF x87 error",
	[VEC_AC] = "#AC alignment check",     [VEC_MC] = "#MC machine check",
	[VEC_XM] = "#XM SIMD error",          [VEC_VE] = "#VE virtualization",
	[VEC_CP] = "#CP control protection",  [VEC_HV] = "#HV hypervisor injection",
	[VEC_VC] = "#VC VMM communication",   [VEC_SX] = "#SX security",
};

static const char *vector_name(uint64_t v)
{
	if (v < 32 && vector_names[v])
		return vector_names[v];
	return v < 32 ? "reserved exception" : "unexpected interrupt";
}

/* Page-fault error code, SDM vol. 3A, 4.7, figure 4-12. */
static void decode_pf_error(uint64_t e)
{
	kprintf("error code %#llx: %s, %s, %s mode%s%s%s%s\n", (unsigned long long)e,
		e & PF_P ? "protection violation" : "page not present",
		e & PF_W ? "write" : "read", e & PF_U ? "user" : "supervisor",
		e & PF_RSVD ? ", reserved bit set" : "", e & PF_I ? ", instruction fetch" : "",
		e & PF_PK ? ", protection key" : "", e & PF_SS ? ", shadow stack" : "");
}

/* Selector error code, SDM vol. 3A, 6.13, figure 6-6. */
static void decode_selector_error(uint64_t e)
{
	static const char *const tables[4] = { "GDT", "IDT", "LDT", "IDT" };
	if (e == 0) {
		kprintf("error code 0 (not caused by a segment selector)\n");
		return;
	}
	kprintf("error code %#llx: %s index %llu%s\n", (unsigned long long)e, tables[(e >> 1) & 3],
		(unsigned long long)((e >> 3) & 0x1fff), e & 1 ? ", external event" : "");
}

static bool vector_has_selector_error(uint64_t v)
{
	return v == VEC_TS || v == VEC_NP || v == VEC_SS || v == VEC_GP || v == VEC_AC;
}

static void dump_registers(const struct trap_frame *f, uint64_t cr2)
{
	kprintf("RIP %016llx  CS %04llx  RFLAGS %016llx\n", (unsigned long long)f->rip,
		(unsigned long long)f->cs, (unsigned long long)f->rflags);
	kprintf("RSP %016llx  SS %04llx\n", (unsigned long long)f->rsp, (unsigned long long)f->ss);
	kprintf("RAX %016llx  RBX %016llx  RCX %016llx\n", (unsigned long long)f->rax,
		(unsigned long long)f->rbx, (unsigned long long)f->rcx);
	kprintf("RDX %016llx  RSI %016llx  RDI %016llx\n", (unsigned long long)f->rdx,
		(unsigned long long)f->rsi, (unsigned long long)f->rdi);
	kprintf("RBP %016llx  R8  %016llx  R9  %016llx\n", (unsigned long long)f->rbp,
		(unsigned long long)f->r8, (unsigned long long)f->r9);
	kprintf("R10 %016llx  R11 %016llx  R12 %016llx\n", (unsigned long long)f->r10,
		(unsigned long long)f->r11, (unsigned long long)f->r12);
	kprintf("R13 %016llx  R14 %016llx  R15 %016llx\n", (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	kprintf("CR0 %016llx  CR2 %016llx  CR3 %016llx  CR4 %016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)cr2,
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	kprintf("EFER %016llx\n", (unsigned long long)rdmsr(MSR_EFER));
}

/*
 * Every vector lands here.  The host timer and spurious interrupts are
 * counted and return (the hypervisor takes interrupts only where it opens
 * a window for them, vmm/sched.c); an NMI is counted too, as no host NMI
 * source is in use (a watchdog would be).  Every exception is fatal.
 */
void trap_dispatch(struct trap_frame *f)
{
	uint64_t cr2 = read_cr2(); /* read first: a fault while reporting would change it */

	switch (f->vector) {
	case VEC_HOST_TIMER:
		lapic.timer_irqs++;
		lapic_eoi();
		return;
	case VEC_HOST_SPURIOUS:
		lapic.spurious++; /* no EOI for the spurious vector (SDM 10.9) */
		return;
	case VEC_NMI:
		lapic.nmis++;
		return;
	}

	kprintf("\n*** hypervisor exception: vector %llu (%s) ***\n", (unsigned long long)f->vector,
		vector_name(f->vector));
	if (f->vector == VEC_PF) {
		decode_pf_error(f->error);
		kprintf("faulting address (CR2) %#llx\n", (unsigned long long)cr2);
		enum kstack_id s = kstack_guard_hit(cr2);
		if (s != KSTACK_COUNT)
			kprintf("CR2 is in the guard page of the %s stack: stack overflow\n",
				kstack_name(s));
	} else if (vector_has_selector_error(f->vector)) {
		decode_selector_error(f->error);
	} else if (f->vector == VEC_DF) {
		kprintf("error code %#llx (always 0); an exception occurred while delivering another\n",
			(unsigned long long)f->error);
		/* An overflow shows as a #PF in a guard page that could not be delivered. */
		enum kstack_id s = kstack_guard_hit(cr2);
		if (s != KSTACK_COUNT)
			kprintf("CR2 %#llx is in the guard page of the %s stack: stack overflow\n",
				(unsigned long long)cr2, kstack_name(s));
	}
	dump_registers(f, cr2);
	uint64_t off = 0;
	const char *fn = ksym_lookup(f->rip, &off);
	kprintf("faulting instruction at %s+%#llx\n", fn ? fn : "?", (unsigned long long)off);
	kprintf("backtrace:\n");
	backtrace_print_addr(0, f->rip);
	unsigned next = 1;
	/* At a function's first instruction its frame is not pushed yet: the
	 * caller's return address is still on top of the stack. */
	if (fn && off == 0 && kstack_contains(f->rsp, 8))
		backtrace_print_addr(next++, *(const uint64_t *)f->rsp);
	backtrace_print_chain(f->rbp, next);
	machine_end(false);
}
