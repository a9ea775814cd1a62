/* insn.c: the instruction at the guest's RIP, decoded (vmm/emul/decode.c) and performed on its registers and memory (vmm/emul/emulate.c). */
#include "lib/string.h"
#include "vmm/guest_mem.h"
#include "vmm/insn.h"
#include "vmm/vm.h"

static uint64_t read_gpr(void *ctx, unsigned n)
{
	struct vm *vm = ctx;
	return backend->get_reg(&vm->vcpu, vcpu_gpr_by_encoding[n & 15]);
}

static void write_gpr(void *ctx, unsigned n, uint64_t val)
{
	struct vm *vm = ctx;
	backend->set_reg(&vm->vcpu, vcpu_gpr_by_encoding[n & 15], val);
}

static uint64_t read_rflags(void *ctx)
{
	struct vm *vm = ctx;
	return backend->get_reg(&vm->vcpu, VREG_RFLAGS);
}

static void write_rflags(void *ctx, uint64_t val)
{
	struct vm *vm = ctx;
	backend->set_reg(&vm->vcpu, VREG_RFLAGS, val);
}

err_t vm_decode_insn(struct vm *vm, struct insn *in, struct insn_regs *regs)
{
	struct vcpu *v = &vm->vcpu;
	uint8_t bytes[INSN_MAX_LEN];
	bool mode64;
	unsigned n = vm_fetch_instruction(vm, bytes, &mode64);
	if (!n)
		return ERR_MISSING;
	struct segment cs;
	backend->get_seg(v, SEG_CS, &cs);
	enum cpu_mode mode = mode64 ? CPU_MODE_64 : (cs.attr & SEG_ATTR_DB) ? CPU_MODE_32 : CPU_MODE_16;
	err_t err = insn_decode(bytes, n, mode, in);
	if (err != ERR_OK)
		return err;
	*regs = (struct insn_regs){ .read_gpr = read_gpr, .ctx = vm,
				    .rip = backend->get_reg(v, VREG_RIP) };
	for (unsigned s = 0; s < SEG_LDTR; s++) {
		struct segment seg;
		backend->get_seg(v, (enum seg_reg)s, &seg);
		regs->seg_base[s] = seg.base;
	}
	return ERR_OK;
}

static enum emu_mem mem_result(const struct lin_result *r, struct emu_fault *f)
{
	if (r->status == PTWALK_OK)
		return EMU_MEM_OK;
	if (r->status == PTWALK_FAULT) {
		*f = (struct emu_fault){ EMU_VEC_PF, true, r->error_code, r->cr2 };
		return EMU_MEM_FAULT;
	}
	return EMU_MEM_NOT_RAM;
}

/* An access within one page that found no RAM may be a device's (vmm/mmio.c). */
static bool device_access(void *ctx, const struct lin_result *r, uint64_t la, bool write, void *buf,
			  unsigned len)
{
	return r->status == PTWALK_NOT_RAM && (la & 0xfff) + len <= 0x1000 &&
	       vm_mmio_access(ctx, r->gpa, write, buf, len);
}

static enum emu_mem mem_read(void *ctx, uint64_t la, void *dst, unsigned len, struct emu_fault *f)
{
	struct lin_result r = vm_read_linear(ctx, la, dst, len, LIN_DATA);
	if (device_access(ctx, &r, la, false, dst, len))
		return EMU_MEM_OK;
	return mem_result(&r, f);
}

static enum emu_mem mem_write(void *ctx, uint64_t la, const void *src, unsigned len,
			      struct emu_fault *f)
{
	struct lin_result r = vm_write_linear(ctx, la, src, len, LIN_DATA);
	if (device_access(ctx, &r, la, true, (void *)(uintptr_t)src, len))
		return EMU_MEM_OK;
	return mem_result(&r, f);
}

/* One vCPU per VM: nothing changes memory between the read and the write. */
static enum emu_mem mem_cmpxchg(void *ctx, uint64_t la, const void *old_val, const void *new_val,
				unsigned len, bool *swapped, struct emu_fault *f)
{
	uint8_t now[16];
	*swapped = false;
	if (len > sizeof(now))
		return EMU_MEM_NOT_RAM;
	struct lin_result r = vm_check_linear_write(ctx, la, len, LIN_DATA);
	if (r.status == PTWALK_OK)
		r = vm_read_linear(ctx, la, now, len, LIN_DATA);
	if (r.status != PTWALK_OK)
		return mem_result(&r, f);
	if (memcmp(now, old_val, len) != 0)
		return EMU_MEM_OK;
	*swapped = true;
	return mem_write(ctx, la, new_val, len, f);
}

bool vm_emulate_settle(struct vm *vm, const struct vm_exit *e, enum emu_status st,
		       const struct emu_result *res)
{
	char what[96];
	switch (st) {
	case EMU_DONE:
	case EMU_RETRY:
		return true;
	case EMU_FAULT:
		if (res->fault.vector == EMU_VEC_PF)
			vm_inject_page_fault(vm, res->fault.cr2, res->fault.error_code);
		else
			vm_inject_exception(vm, res->fault.vector, res->fault.has_error_code,
					    res->fault.error_code);
		return true;
	case EMU_NOT_RAM:
		ksnprintf(what, sizeof(what), "%s at linear %#llx, where there is neither RAM nor a device",
			  res->write ? "write" : "read", (unsigned long long)res->la);
		vm_fatal(vm, e, what);
		return true;
	case EMU_UNSUPPORTED:
		break;
	}
	return false;
}

enum emu_status vm_emulate_insn(struct vm *vm, const struct insn *in, const struct insn_regs *regs,
				struct emu_result *res)
{
	const struct emu_ops ops = { vm, read_gpr, write_gpr, read_rflags, write_rflags,
				     mem_read, mem_write, mem_cmpxchg };
	enum emu_status st = emu_run(in, regs, &ops, res);
	if (st == EMU_DONE)
		backend->set_reg(&vm->vcpu, VREG_RIP, regs->rip + res->rip_delta);
	return st;
}
