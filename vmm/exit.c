/* exit.c: dispatches vendor-neutral VM exits through a table indexed by reason. */
#include "drivers/console.h"
#include "lib/string.h"
#include "vmm/guest_mem.h"
#include "vmm/insn.h"
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
void vm_dump_guest(struct vm *vm)
{
	kprintf("vm %s: guest state:\n", vm->cfg.name);
	/* Four to a line, in enum order: RAX..RDX, RSI..RSP, R8..R11, R12..R15, RIP.. */
	for (unsigned r = 0; r < VREG_COUNT; r++)
		kprintf("%s%-6s %016llx%s", r % 4 ? "  " : "  ", vcpu_reg_name((enum vcpu_reg)r),
			(unsigned long long)backend->get_reg(&vm->vcpu, (enum vcpu_reg)r),
			r % 4 == 3 || r == VREG_COUNT - 1 ? "\n" : "");
	backend->dump(&vm->vcpu);
}

void vm_fatal(struct vm *vm, const struct vm_exit *e, const char *what)
{
	vm_dump_guest(vm);
	vm_stop(vm, true, "%s (exit %s, raw %#llx, qualification %#llx, info %#llx)", what,
		exit_reason_name(e->reason), (unsigned long long)e->raw,
		(unsigned long long)e->qual, (unsigned long long)e->info2);
}

static void on_cpuid(struct vm *vm, const struct vm_exit *e)
{
	vm_cpuid(vm);
	skip_instruction(vm, e);
}

/* HLT sleeps until an interrupt (vmm/interrupt.c); the instruction after STI is done, so is its shadow. */
static void on_hlt(struct vm *vm, const struct vm_exit *e)
{
	const char *why = vm_halt(vm);
	if (why) {
		vm_fatal(vm, e, why);
		return;
	}
	skip_instruction(vm, e);
	backend->set_reg(&vm->vcpu, VREG_INTR_SHADOW, 0);
}

static void on_irq_window(struct vm *vm, const struct vm_exit *e)
{
	(void)e;
	vm_irq_window_exit(vm);
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
		vm_fatal(vm, e, "a device refused a port access");
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
		vm_fatal(vm, e, "cannot decode the INVD/WBINVD that exited");
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
	(void)e;
	vm_inject_exception(vm, 6, false, 0);
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
	vm_fatal(vm, e, what);
}

static void on_nested_fault(struct vm *vm, const struct vm_exit *e)
{
	vm->mmu->nested_fault(vm, e);
}

static void on_page_fault(struct vm *vm, const struct vm_exit *e)
{
	vm->mmu->page_fault(vm, e);
}

/* The instruction at RIP when it is the one named; the VM is stopped when it is not. */
static bool decode_named(struct vm *vm, const struct vm_exit *e, const char *name, struct insn *in,
			 struct insn_regs *regs)
{
	if (vm_decode_insn(vm, in, regs) == ERR_OK && strcmp(in->name, name) == 0)
		return true;
	char what[64];
	ksnprintf(what, sizeof(what), "cannot decode the %s that exited", name);
	vm_fatal(vm, e, what);
	return false;
}

static const struct insn_op *operand_of(const struct insn *in, enum insn_op_kind kind)
{
	for (unsigned i = 0; i < in->op_count; i++)
		if (in->ops[i].kind == kind || (kind == INSN_OP_MEM && in->ops[i].kind == INSN_OP_ADDR))
			return &in->ops[i];
	return NULL;
}

/* INVLPG under the shadow MMU; the address from the exit, else from the instruction. */
static void on_invlpg(struct vm *vm, const struct vm_exit *e)
{
	uint64_t la = e->invlpg.la, next = e->next_rip;
	if (!e->invlpg.known || !next) {
		struct insn in;
		struct insn_regs regs;
		if (!decode_named(vm, e, "invlpg", &in, &regs))
			return;
		const struct insn_op *m = operand_of(&in, INSN_OP_MEM);
		if (!m) {
			vm_fatal(vm, e, "INVLPG without a memory operand");
			return;
		}
		la = insn_mem_address(&in, &m->mem, &regs);
		next = regs.rip + in.len;
	}
	/* The CPU checks the privilege level before the intercept; this is belt and braces. */
	if (backend->get_reg(&vm->vcpu, VREG_CPL) != 0) {
		vm_inject_gp(vm);
		return;
	}
	vm->mmu->invlpg(vm, la);
	if (vm->state != VM_RUNNABLE)
		return; /* mmu_audit=on found a disagreement */
	backend->set_reg(&vm->vcpu, VREG_RIP, next);
}

/*
 * INVPCID under the shadow MMU (SDM vol. 2A, INVPCID): the type in a
 * register, a 16-byte descriptor (PCID in bits 11:0, a linear address in
 * the upper half) in memory.  Every PCID's entries are dropped where the
 * instruction names one: the MMU tells PCIDs apart no further.
 */
static void on_invpcid(struct vm *vm, const struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	struct insn in;
	struct insn_regs regs;
	if (!decode_named(vm, e, "invpcid", &in, &regs))
		return;
	const struct insn_op *r = operand_of(&in, INSN_OP_REG), *m = operand_of(&in, INSN_OP_MEM);
	if (!r || !m || r->reg.cls != INSN_REG_GPR) {
		vm_fatal(vm, e, "INVPCID without its operands");
		return;
	}
	if (backend->get_reg(v, VREG_CPL) != 0) {
		vm_inject_gp(vm);
		return;
	}
	uint64_t type = backend->get_reg(v, vcpu_gpr_by_encoding[r->reg.num & 15]);
	if (r->size == 4)
		type = (uint32_t)type;
	uint64_t desc[2];
	struct lin_result lr = vm_read_linear(vm, insn_mem_address(&in, &m->mem, &regs), desc,
					      sizeof(desc), LIN_DATA);
	if (lr.status == PTWALK_FAULT) {
		vm_inject_page_fault(vm, lr.cr2, lr.error_code);
		return;
	}
	if (lr.status != PTWALK_OK) {
		vm_fatal(vm, e, "INVPCID descriptor outside RAM");
		return;
	}
	uint64_t pcid = desc[0] & 0xfff;
	bool pcide = backend->get_reg(v, VREG_CR4) & ARCH_CR4_PCIDE;
	if (type > 3 || (desc[0] >> 12) || (type <= 1 && !pcide && pcid) ||
	    (type == 0 && !arch_canonical(desc[1]))) {
		vm_inject_gp(vm);
		return;
	}
	if (type == 0)
		vm->mmu->invlpg(vm, desc[1]);
	else
		vm->mmu->flush_all(vm, type == 2);
	if (vm->state != VM_RUNNABLE)
		return; /* mmu_audit=on found a disagreement */
	backend->set_reg(v, VREG_RIP, regs.rip + in.len);
}

/* The CPU broke the contract of an intercept the backend set: the VM cannot go on safely. */
static void on_lost_intercept(struct vm *vm, const struct vm_exit *e)
{
	vm_fatal(vm, e, e->name);
}

static void on_triple_fault(struct vm *vm, const struct vm_exit *e)
{
	vm_fatal(vm, e, "triple fault");
}

static void on_invalid_state(struct vm *vm, const struct vm_exit *e)
{
	vm_fatal(vm, e, "VM entry refused: invalid guest state");
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
	vm_fatal(vm, e, what);
}

/* An exception intercepted on its way to the guest goes on to the guest. */
static void on_exception(struct vm *vm, const struct vm_exit *e)
{
	vm_inject_exception(vm, e->exc.vector, e->exc.has_error, e->exc.error);
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
	[EXIT_PAGE_FAULT]    = on_page_fault,
	[EXIT_INVLPG]        = on_invlpg,
	[EXIT_INVPCID]       = on_invpcid,
	[EXIT_LOST_INTERCEPT] = on_lost_intercept,
	[EXIT_INTERRUPT]     = on_resume,
	[EXIT_NMI]           = on_resume,
	[EXIT_PREEMPT]       = on_resume,
	[EXIT_IRQ_WINDOW]    = on_irq_window,
	[EXIT_TRIPLE_FAULT]  = on_triple_fault,
	[EXIT_INVALID_STATE] = on_invalid_state,
};

void vm_handle_exit(struct vm *vm, const struct vm_exit *e)
{
	enum exit_reason r = (unsigned)e->reason < EXIT_COUNT ? e->reason : EXIT_UNKNOWN;
	stat_inc(vm, &stat_exits);
	vm->exits[r]++;
	exit_handler_fn fn = handlers[r] ? handlers[r] : on_unhandled;
	/* vmm/event.c: the delivery this exit cut short, if any, for the handler's exceptions. */
	vm->vcpu.interrupted = e->vectoring.valid ? &e->vectoring : NULL;
	vm->vcpu.injected = false;
	fn(vm, e);
	if (vm->vcpu.interrupted && vm->state == VM_RUNNABLE)
		vm_event_exit_end(vm, e);
}
