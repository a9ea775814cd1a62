/* task.c: hardware task switches the CPU leaves to the hypervisor (VMX always, SVM under the shadow MMU), carried out by vmm/emul/task_switch.c. */
#include "drivers/console.h"
#include "vmm/emul/task_switch.h"
#include "vmm/guest_mem.h"
#include "vmm/insn.h"
#include "vmm/vm.h"

VM_STAT(stat_task_switches, "task switches emulated");

#define VEC_DB 1
#define VEC_PF 14
#define DR6_BT (1ull << 15)

static const enum vcpu_reg reg_map[TASK_SWITCH_REGS] = {
	[TASK_SWITCH_EAX] = VREG_RAX, [TASK_SWITCH_ECX] = VREG_RCX, [TASK_SWITCH_EDX] = VREG_RDX,
	[TASK_SWITCH_EBX] = VREG_RBX, [TASK_SWITCH_ESP] = VREG_RSP, [TASK_SWITCH_EBP] = VREG_RBP,
	[TASK_SWITCH_ESI] = VREG_RSI, [TASK_SWITCH_EDI] = VREG_RDI, [TASK_SWITCH_EIP] = VREG_RIP,
	[TASK_SWITCH_EFLAGS] = VREG_RFLAGS, [TASK_SWITCH_CR0] = VREG_CR0, [TASK_SWITCH_DR7] = VREG_DR7,
	[TASK_SWITCH_EFER] = VREG_EFER, [TASK_SWITCH_CPL] = VREG_CPL,
};

static enum task_switch_mem mem_status(const struct lin_result *r, struct task_switch_fault *f)
{
	if (r->status == PTWALK_OK)
		return TASK_SWITCH_MEM_OK;
	if (r->status == PTWALK_FAULT) {
		*f = (struct task_switch_fault){ VEC_PF, true, r->error_code, true, r->cr2 };
		return TASK_SWITCH_MEM_FAULT;
	}
	return TASK_SWITCH_MEM_NOT_RAM;
}

static enum task_switch_mem ts_read(void *ctx, uint32_t la, void *dst, unsigned len,
				    struct task_switch_fault *f)
{
	struct lin_result r = vm_read_linear(ctx, la, dst, len, LIN_IMPLICIT);
	return mem_status(&r, f);
}

static enum task_switch_mem ts_write(void *ctx, uint32_t la, const void *src, unsigned len,
				     struct task_switch_fault *f)
{
	struct lin_result r = vm_write_linear(ctx, la, src, len, LIN_IMPLICIT);
	return mem_status(&r, f);
}

static enum task_switch_mem ts_check_write(void *ctx, uint32_t la, unsigned len,
					   struct task_switch_fault *f)
{
	struct lin_result r = vm_check_linear_write(ctx, la, len, LIN_IMPLICIT);
	return mem_status(&r, f);
}

static uint64_t ts_get_reg(void *ctx, enum task_switch_reg r)
{
	struct vm *vm = ctx;
	return backend->get_reg(&vm->vcpu, reg_map[r]);
}

static void ts_set_reg(void *ctx, enum task_switch_reg r, uint64_t val)
{
	struct vm *vm = ctx;
	backend->set_reg(&vm->vcpu, reg_map[r], val);
}

/* Why the MMU could not follow the new task's CR3, for the stop message; NULL when it could. */
static const char *mmu_refusal;

/* As a MOV to CR3 would: the PDPTEs under PAE paging, and the TLB. */
static err_t ts_set_cr3(void *ctx, uint32_t cr3)
{
	struct vm *vm = ctx;
	struct vcpu *v = &vm->vcpu;
	uint64_t cr4 = backend->get_reg(v, VREG_CR4);
	if ((cr4 & ARCH_CR4_PAE) && vm_load_pdptes(vm, cr3) != ERR_OK)
		return ERR_INVAL;
	backend->set_reg(v, VREG_CR3, cr3);
	mmu_refusal = vm->mmu->paging_changed(vm, &(struct paging_write){ .flush = true, .cr3_load = true });
	return mmu_refusal ? ERR_NOMEM : ERR_OK;
}

static void ts_get_seg(void *ctx, enum seg_reg s, struct segment *seg)
{
	struct vm *vm = ctx;
	backend->get_seg(&vm->vcpu, s, seg);
}

static void ts_set_seg(void *ctx, enum seg_reg s, const struct segment *seg)
{
	struct vm *vm = ctx;
	backend->set_seg(&vm->vcpu, s, seg);
}

static void ts_get_gdtr(void *ctx, uint32_t *base, uint16_t *limit)
{
	struct vm *vm = ctx;
	*base = (uint32_t)backend->get_reg(&vm->vcpu, VREG_GDTR_BASE);
	*limit = (uint16_t)backend->get_reg(&vm->vcpu, VREG_GDTR_LIMIT);
}

/*
 * A fault raised while a task gate was delivering a hardware exception
 * combines with it as table 6-5 says (archcheck.c): into #DF, or (while
 * delivering #DF) a shutdown; false when the VM had to stop.
 */
static bool combine_with_event(struct vm *vm, uint8_t first, struct task_switch_fault *f)
{
	switch (arch_combine_exceptions(true, first, f->vector)) {
	case ARCH_SHUTDOWN:
		vm_stop(vm, true, "triple fault: the task switch delivering #DF raised vector %u",
			f->vector);
		return false;
	case ARCH_DOUBLE_FAULT:
		*f = (struct task_switch_fault){ 8, true, 0, false, 0 };
		return true;
	case ARCH_SERIAL:
		break;
	}
	return true;
}

static void inject(struct vm *vm, const struct task_switch_fault *f)
{
	if (f->has_cr2)
		backend->set_reg(&vm->vcpu, VREG_CR2, f->cr2);
	vm_inject_exception(vm, f->vector, f->has_error, f->error);
}

void vm_task_switch(struct vm *vm, const struct vm_exit *e)
{
	/* The switch completes the delivery that exited, if any: nothing to deliver again. */
	vm->vcpu.interrupted = NULL;
	mmu_refusal = NULL;
	static const enum task_switch_source sources[] = {
		[TASK_CALL] = TASK_SWITCH_CALL, [TASK_IRET] = TASK_SWITCH_IRET,
		[TASK_JMP] = TASK_SWITCH_JMP, [TASK_GATE] = TASK_SWITCH_GATE,
	};
	const struct task_switch_ops ops = { vm, ts_read, ts_write, ts_check_write, ts_get_reg,
					     ts_set_reg, ts_set_cr3, ts_get_seg, ts_set_seg, ts_get_gdtr };
	uint64_t rip = backend->get_reg(&vm->vcpu, VREG_RIP);
	const struct exit_event *ev = &e->vectoring;
	bool gate = e->task.source == TASK_GATE && ev->valid;
	bool software = gate && (ev->type == EVENT_SW_INT || ev->type == EVENT_SW_EXC ||
				 ev->type == EVENT_PRIV_SW_EXC);
	/* The old task resumes after a JMP, CALL, IRET or INT n (SDM 6.5); SVM does not say how long it was. */
	unsigned len = e->task.len;
	if (!e->task.len_known && (software || e->task.source != TASK_GATE)) {
		struct insn in;
		struct insn_regs regs;
		if (vm_decode_insn(vm, &in, &regs) != ERR_OK) {
			vm_stop(vm, true, "task switch to TSS selector %#x: cannot decode the instruction at "
				"RIP %#llx", e->task.selector, (unsigned long long)rip);
			return;
		}
		len = in.len;
	}
	struct task_switch_req req = {
		.selector = e->task.selector,
		.source = sources[e->task.source],
		.eip = (uint32_t)(rip + len),
		.push_error = e->task.has_error,
		.error = e->task.error,
	};
	/* Through a task gate: where the old task resumes depends on the event (SDM 6.5). */
	if (gate) {
		req.eip = (uint32_t)(software ? rip + len : rip);
		req.ext = ev->type == EVENT_EXTINT || ev->type == EVENT_NMI || ev->type == EVENT_HW_EXC ||
			  ev->type == EVENT_PRIV_SW_EXC;
	}

	bool delivering_exception = gate && ev->type == EVENT_HW_EXC;
	uint8_t event_vector = delivering_exception ? ev->vector : 0;

	struct task_switch_result res;
	switch (task_switch(&ops, &req, &res)) {
	case TASK_SWITCH_DONE:
		stat_inc(vm, &stat_task_switches);
		/* The new task's first instruction does not inherit an STI or MOV SS shadow. */
		backend->set_reg(&vm->vcpu, VREG_INTR_SHADOW, 0);
		if (res.debug_trap) {
			struct task_switch_fault db = { VEC_DB, false, 0, false, 0 };
			backend->set_reg(&vm->vcpu, VREG_DR6,
					 backend->get_reg(&vm->vcpu, VREG_DR6) | DR6_BT);
			inject(vm, &db);
		}
		break;
	case TASK_SWITCH_FAULT:
		if (res.in_new_task)
			stat_inc(vm, &stat_task_switches);
		else if (delivering_exception && !combine_with_event(vm, event_vector, &res.fault))
			break;
		inject(vm, &res.fault);
		break;
	case TASK_SWITCH_UNSUPPORTED:
	case TASK_SWITCH_STOP:
		vm_dump_guest(vm);
		vm_stop(vm, true, "task switch to TSS selector %#x: %s", e->task.selector,
			mmu_refusal ? mmu_refusal : res.why ? res.why : "cannot be emulated");
		break;
	}
}
