/*
 * sched.c: round-robin time slices per vCPU on the one physical CPU.  A vCPU
 * runs until its slice ends, it halts, or it stops; the host timer is armed
 * for the nearest of the slice's end and every vLAPIC timer, so a guest that
 * never exits (CLI; JMP $) is preempted by its external-interrupt exit like
 * any other.  A vCPU woken from HLT preempts the one running, so that its
 * interrupt is not late by a slice.  With nothing to run the CPU halts
 * until the next timer.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc.h"
#include "drivers/console.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "vmm/sched.h"
#include "vmm/vm.h"

#define POLL_US 10000u   /* how often an idle CPU wakes to look at its inputs */

VM_STAT(stat_slices, "time slices run");
VM_STAT(stat_preempted, "time slices ended by preemption");
VM_STAT(stat_switched_in, "switches to this VM from another");

struct sched_stats sched;
static uint64_t slice_us = SCHED_SLICE_DEFAULT_US;
static uint64_t armed;            /* the deadline the host timer is set for */
static unsigned cursor;           /* the VM that ran last */
static struct vm *last_run;

err_t sched_set_slice(const char *option)
{
	/* Microseconds: a plain number, or one with "us" or "ms" after it. */
	char num[24];
	size_t len = strlen(option);
	uint64_t us, scale = 1;
	if (len > 2 && (!strcmp(option + len - 2, "ms") || !strcmp(option + len - 2, "us"))) {
		scale = option[len - 2] == 'm' ? 1000 : 1;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(num))
		return ERR_INVAL;
	memcpy(num, option, len);
	num[len] = 0;
	if (cmdline_parse_u64(num, &us) != ERR_OK || us > SCHED_SLICE_MAX_US / scale ||
	    us * scale < SCHED_SLICE_MIN_US)
		return ERR_INVAL;
	slice_us = us * scale;
	return ERR_OK;
}

static uint64_t us_to_cycles(uint64_t us)
{
	/* Without a known TSC rate, assume 1 GHz: slices are then only roughly right. */
	uint64_t hz = tsc.hz ? tsc.hz : 1000000000ull;
	return hz / 1000000u * us + hz % 1000000u * us / 1000000u;
}

static void arm(uint64_t deadline)
{
	if (deadline == armed)
		return;
	armed = deadline;
	lapic_timer_at(deadline);
}

static bool alive(const struct vm *vm)
{
	return vm->state == VM_RUNNABLE;
}

/* Timers that have come, and halted vCPUs they (or anything else) woke; true when one woke. */
static bool events(uint64_t now)
{
	bool woke = false;
	for (unsigned i = 0; i < vm_count(); i++) {
		struct vm *vm = vm_get(i);
		if (!alive(vm))
			continue;
		if (vlapic_deadline(&vm->lapic) <= now)
			vlapic_tick(&vm->lapic, now);
		if (vm->vcpu.halted && vm_can_wake(vm)) {
			vm->vcpu.halted = false;
			woke = true;
		}
	}
	return woke;
}

/* The nearest vLAPIC timer of any live VM, or a poll interval from now. */
static uint64_t next_event(uint64_t now)
{
	uint64_t next = now + us_to_cycles(POLL_US);
	for (unsigned i = 0; i < vm_count(); i++) {
		struct vm *vm = vm_get(i);
		if (alive(vm) && vlapic_deadline(&vm->lapic) < next)
			next = vlapic_deadline(&vm->lapic);
	}
	return next;
}

static struct vm *pick(void)
{
	unsigned n = vm_count();
	for (unsigned k = 1; k <= n; k++) {
		unsigned i = (cursor + k) % n;
		struct vm *vm = vm_get(i);
		if (alive(vm) && !vm->vcpu.halted) {
			cursor = i;
			return vm;
		}
	}
	return NULL;
}

/*
 * Enters the guest exit after exit until deadline, or until it halts or
 * stops.  The cycles from each exit to the next entry (the hypervisor's
 * whole path, interrupt delivery included) go to that exit's reason.
 */
static void run_until(struct vm *vm, uint64_t deadline)
{
	struct vcpu *v = &vm->vcpu;
	enum exit_reason last = EXIT_COUNT;
	uint64_t exited = 0;
	for (;;) {
		uint64_t now = rdtsc();
		if (last != EXIT_COUNT)
			vm->exit_cycles[last] += now - exited;
		if (vm->state != VM_RUNNABLE || v->halted || now >= deadline)
			return;
		if (vm->lapic.irr_nonempty)
			vm_irq_before_entry(vm);
		struct vm_exit exit;
		err_t err = backend->vcpu_run(v, &exit);
		exited = rdtsc();
		if (err != ERR_OK) {
			vm_stop(vm, true, "VM entry failed (%s)", err_str(err));
			return;
		}
		/* The host's interrupt that caused the exit is taken now. */
		if (exit.reason == EXIT_INTERRUPT)
			cpu_take_interrupts();
		vm_handle_exit(vm, &exit);
		last = (unsigned)exit.reason < EXIT_COUNT ? exit.reason : EXIT_UNKNOWN;
	}
}

/* One slice of vm: the timer is re-armed whenever an event nearer than its end comes due. */
static void run_slice(struct vm *vm, uint64_t now)
{
	uint64_t start = now, slice_end = now + sched.slice_cycles;
	stat_inc(vm, &stat_slices);
	if (last_run && last_run != vm) {
		sched.switches++;
		stat_inc(vm, &stat_switched_in);
	}
	last_run = vm;
	vcpu_load(&vm->vcpu);
	for (;;) {
		uint64_t deadline = next_event(now);
		if (slice_end < deadline)
			deadline = slice_end;
		arm(deadline);
		run_until(vm, deadline);
		now = rdtsc();
		bool woke = events(now);
		if (vm->state != VM_RUNNABLE || vm->vcpu.halted)
			break;
		/* A vCPU that slept until now runs at once: its interrupt is not kept waiting a slice. */
		if (now >= slice_end || woke) {
			stat_inc(vm, &stat_preempted);
			break;
		}
	}
	vm->run_cycles += rdtsc() - start;
}

/* Nothing to run: sleep until the next timer (or spin to it without a host timer). */
static void idle(uint64_t now)
{
	uint64_t deadline = next_event(now);
	arm(deadline);
	if (lapic.timer_hz)
		cpu_idle();
	else
		while (rdtsc() < deadline)
			cpu_relax();
	sched.idle_cycles += rdtsc() - now;
}

void sched_run(void)
{
	sched.slice_cycles = us_to_cycles(slice_us);
	sched.started = rdtsc();
	log_info("sched: round-robin, %llu us slices, %s\n", (unsigned long long)slice_us,
		 lapic.timer_hz ? "preempted by the host LAPIC timer" : "switched at exits only (no host timer)");
	for (;;) {
		uint64_t now = rdtsc();
		events(now);
		struct vm *vm = pick();
		if (vm) {
			run_slice(vm, now);
			continue;
		}
		bool any = false;
		for (unsigned i = 0; i < vm_count(); i++)
			any |= alive(vm_get(i));
		if (!any)
			return;
		idle(now);
	}
}
