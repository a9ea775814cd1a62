/* exit.c: dispatches vendor-neutral VM exits through a table indexed by reason. */
#include "drivers/console.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

typedef void (*exit_handler_fn)(struct vm *vm, const struct vm_exit *e);

VM_STAT(stat_exits, "VM exits");

static const char *const reason_names[EXIT_COUNT] = {
#define X(id, name) [id] = name,
	EXIT_REASONS(X)
#undef X
};

const char *exit_reason_name(enum exit_reason r)
{
	return (unsigned)r < EXIT_COUNT ? reason_names[r] : "?";
}

/* Moves RIP past the instruction that exited. */
static void skip_instruction(struct vm *vm, const struct vm_exit *e)
{
	backend->set_reg(&vm->vcpu, VREG_RIP, e->next_rip);
}

/* Prints the guest's registers and the backend's view, for a VM that dies. */
static void dump_guest(struct vm *vm)
{
	kprintf("vm %s: guest state:\n", vm->cfg.name);
	/* Four to a line, in enum order: RAX..RDX, RSI..RSP, R8..R11, R12..R15, RIP.. */
	for (unsigned r = 0; r < VREG_COUNT; r++)
		kprintf("%s%-6s %016llx%s", r % 4 ? "  " : "  ", vcpu_reg_name((enum vcpu_reg)r),
			(unsigned long long)backend->get_reg(&vm->vcpu, (enum vcpu_reg)r),
			r % 4 == 3 || r == VREG_COUNT - 1 ? "\n" : "");
	backend->dump(&vm->vcpu);
}

static void fatal(struct vm *vm, const struct vm_exit *e, const char *what)
{
	dump_guest(vm);
	vm_stop(vm, true, "%s (exit %s, raw %#llx, qualification %#llx, info %#llx)", what,
		exit_reason_name(e->reason), (unsigned long long)e->raw,
		(unsigned long long)e->qual, (unsigned long long)e->info2);
}

static void on_cpuid(struct vm *vm, const struct vm_exit *e)
{
	vm_cpuid(vm);
	skip_instruction(vm, e);
}

/* No interrupt source exists yet, so a halted vCPU would sleep forever. */
static void on_hlt(struct vm *vm, const struct vm_exit *e)
{
	fatal(vm, e, "halted with no interrupt source to wake it");
}

static void on_io(struct vm *vm, const struct vm_exit *e)
{
	if (e->io.string) {
		vm_string_io(vm, e);
		return;
	}
	uint32_t val = 0;
	if (!e->io.in)
		val = (uint32_t)backend->get_reg(&vm->vcpu, VREG_RAX);
	err_t err = iobus_access(&vm->io, e->io.in, e->io.port, e->io.size, &val);
	if (err != ERR_OK) {
		fatal(vm, e, "a device refused a port access");
		return;
	}
	if (e->io.in) {
		/* IN writes AL/AX/EAX; a 32-bit IN clears the upper half of RAX (SDM, IN). */
		uint64_t rax = backend->get_reg(&vm->vcpu, VREG_RAX);
		if (e->io.size == 1)
			rax = (rax & ~0xffull) | (val & 0xff);
		else if (e->io.size == 2)
			rax = (rax & ~0xffffull) | (val & 0xffff);
		else
			rax = val;
		backend->set_reg(&vm->vcpu, VREG_RAX, rax);
	}
	skip_instruction(vm, e);
}

/* A control-register access the backend could not leave to the CPU. */
static void on_cr_access(struct vm *vm, const struct vm_exit *e)
{
	vm_cr_access(vm, e);
}

static void on_dr_access(struct vm *vm, const struct vm_exit *e)
{
	vm_dr_access(vm, e);
}

/*
 * INVD and WBINVD (and WBNOINVD): with every guest page coherent write-back
 * memory and no device doing DMA, flushing the caches changes nothing a
 * guest can see, and INVD's dropping of dirty lines must not reach memory
 * other VMs share a cache with; so both are done as nothing (SDM vol. 2A,
 * INVD, WBINVD).  A guest looping on WBINVD thus cannot stall the host.
 */
static void on_cache_flush(struct vm *vm, const struct vm_exit *e)
{
	if (e->next_rip) {
		skip_instruction(vm, e);
		return;
	}
	/* The backend could not tell the length (a prefixed WBNOINVD): prefixes, then 0F 08/09. */
	uint8_t bytes[15];
	bool mode64;
	unsigned n = vm_fetch_instruction(vm, bytes, &mode64), i = 0;
	while (i < n && (bytes[i] == 0xf3 || bytes[i] == 0xf2 || bytes[i] == 0x66 ||
			 (mode64 && (bytes[i] & 0xf0) == 0x40)))
		i++;
	if (i + 2 > n || bytes[i] != 0x0f || (bytes[i + 1] != 0x08 && bytes[i + 1] != 0x09)) {
		fatal(vm, e, "cannot decode the INVD/WBINVD that exited");
		return;
	}
	backend->set_reg(&vm->vcpu, VREG_RIP, backend->get_reg(&vm->vcpu, VREG_RIP) + i + 2);
}

/* The guest is shown no performance counters (CPUID leaf 0xA is zero): any ECX is invalid. */
static void on_rdpmc(struct vm *vm, const struct vm_exit *e)
{
	(void)e;
	vm_inject_gp(vm);
}

/* VMX/SVM instructions or XSETBV in a guest told it has none of them: #UD, as on such hardware. */
static void on_hidden_insn(struct vm *vm, const struct vm_exit *e)
{
	struct vcpu_event ud = { 6, false, 0 };
	(void)e;
	backend->inject(&vm->vcpu, &ud);
}

static void on_msr_read(struct vm *vm, const struct vm_exit *e)
{
	if (vm_msr_read(vm, e->msr))
		skip_instruction(vm, e);
}

static void on_msr_write(struct vm *vm, const struct vm_exit *e)
{
	if (vm_msr_write(vm, e->msr))
		skip_instruction(vm, e);
}

/* Hypercalls are for the guest kernel: from user mode they fault as if absent. */
static void on_hypercall(struct vm *vm, const struct vm_exit *e)
{
	if (backend->get_reg(&vm->vcpu, VREG_CPL) != 0) {
		on_hidden_insn(vm, e);
		return;
	}
	skip_instruction(vm, e);
	vm_hypercall(vm);
}

void vm_no_device(struct vm *vm, const struct vm_exit *e)
{
	char what[112];
	ksnprintf(what, sizeof(what), "%s of guest-physical %#llx, where there is neither RAM nor a device",
		  e->npf.walk ? "guest page-table walk" :
		  e->npf.fetch ? "instruction fetch" : e->npf.write ? "write" : "read",
		  (unsigned long long)e->npf.gpa);
	fatal(vm, e, what);
}

static void on_nested_fault(struct vm *vm, const struct vm_exit *e)
{
	vm->mmu->nested_fault(vm, e);
}

static void on_triple_fault(struct vm *vm, const struct vm_exit *e)
{
	fatal(vm, e, "triple fault");
}

static void on_invalid_state(struct vm *vm, const struct vm_exit *e)
{
	fatal(vm, e, "VM entry refused: invalid guest state");
}

/* Host interrupts and NMIs only need the exit itself; the guest goes on. */
static void on_resume(struct vm *vm, const struct vm_exit *e)
{
	(void)vm;
	(void)e;
}

/* Exits this VMM never enables: a guest cannot cause them, so seeing one is our bug. */
static void on_unhandled(struct vm *vm, const struct vm_exit *e)
{
	char what[96];
	ksnprintf(what, sizeof(what), "VM exit the hypervisor never enabled: %s",
		  e->name ? e->name : "unknown exit code");
	fatal(vm, e, what);
}

/* An exception intercepted on its way to the guest goes on to the guest. */
static void on_exception(struct vm *vm, const struct vm_exit *e)
{
	struct vcpu_event ev = { e->exc.vector, e->exc.has_error, e->exc.error };
	backend->inject(&vm->vcpu, &ev);
}

static void on_task_switch(struct vm *vm, const struct vm_exit *e)
{
	vm_task_switch(vm, e);
}

static const exit_handler_fn handlers[EXIT_COUNT] = {
	[EXIT_CPUID]         = on_cpuid,
	[EXIT_HLT]           = on_hlt,
	[EXIT_CR_ACCESS]     = on_cr_access,
	[EXIT_DR_ACCESS]     = on_dr_access,
	[EXIT_CACHE_FLUSH]   = on_cache_flush,
	[EXIT_NO_COUNTERS]   = on_rdpmc,
	[EXIT_HIDDEN_INSN]   = on_hidden_insn,
	[EXIT_EXCEPTION]     = on_exception,
	[EXIT_TASK_SWITCH]   = on_task_switch,
	[EXIT_IO]            = on_io,
	[EXIT_MSR_READ]      = on_msr_read,
	[EXIT_MSR_WRITE]     = on_msr_write,
	[EXIT_HYPERCALL]     = on_hypercall,
	[EXIT_NESTED_FAULT]  = on_nested_fault,
	[EXIT_INTERRUPT]     = on_resume,
	[EXIT_NMI]           = on_resume,
	[EXIT_PREEMPT]       = on_resume,
	[EXIT_TRIPLE_FAULT]  = on_triple_fault,
	[EXIT_INVALID_STATE] = on_invalid_state,
};

void vm_handle_exit(struct vm *vm, const struct vm_exit *e)
{
	enum exit_reason r = (unsigned)e->reason < EXIT_COUNT ? e->reason : EXIT_UNKNOWN;
	stat_inc(vm, &stat_exits);
	vm->exits[r]++;
	exit_handler_fn fn = handlers[r] ? handlers[r] : on_unhandled;
	fn(vm, e);
}
