/* string_io.c: INS and OUTS, with or without REP, emulated through the VM's port bus and its memory by linear address. */
#include "drivers/console.h"
#include "vmm/emul/strio.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

VM_STAT(stat_string_io, "string I/O iterations emulated");

#define VEC_PF        14
#define RFLAGS_DF     (1ull << 10)
/* Iterations per exit: a long REP goes on at the next entry, as hardware lets
 * interrupts in between (SDM vol. 2B "REP": the instruction restarts with RCX as left). */
#define CHUNK         4096

/* Writes val into the part of *reg the address size uses (SDM 3.4.1.1: a 32-bit
 * result clears bits 63:32, a 16-bit one leaves them). */
static uint64_t with_part(uint64_t reg, uint64_t val, unsigned size)
{
	if (size == 2)
		return (reg & ~0xffffull) | (val & 0xffff);
	if (size == 4)
		return (uint32_t)val;
	return val;
}

static uint64_t part(uint64_t reg, unsigned size)
{
	return size == 8 ? reg : size == 4 ? (uint32_t)reg : (uint16_t)reg;
}

/* The linear address of offset in seg: in 64-bit mode only FS and GS have a base. */
static uint64_t linear(struct vm *vm, enum seg_reg seg, uint64_t offset, bool mode64)
{
	if (mode64 && seg != SEG_FS && seg != SEG_GS)
		return offset;
	struct segment s;
	backend->get_seg(&vm->vcpu, seg, &s);
	return mode64 ? s.base + offset : (uint32_t)(s.base + offset);
}

/* A fault partway: the iterations done so far stay done, RIP stays at the instruction. */
static void memory_fault(struct vm *vm, const struct lin_result *r, const struct vm_exit *e)
{
	if (r->status == PTWALK_FAULT) {
		vm_inject_page_fault(vm, r->cr2, r->error_code);
		return;
	}
	vm_stop(vm, true, "%s at guest-physical %#llx, where there is no RAM (port %#x)",
		e->io.in ? "INS to" : "OUTS from", (unsigned long long)r->gpa, e->io.port);
}

void vm_string_io(struct vm *vm, const struct vm_exit *e)
{
	struct vcpu *v = &vm->vcpu;
	uint8_t bytes[15];
	bool mode64;
	struct segment cs;
	struct strio d;
	unsigned n = vm_fetch_instruction(vm, bytes, &mode64);
	backend->get_seg(v, SEG_CS, &cs);
	if (!n || !strio_decode(bytes, n, mode64, cs.attr & SEG_ATTR_DB, &d) || d.in != e->io.in) {
		vm_stop(vm, true, "cannot decode the string I/O instruction at RIP %#llx",
			(unsigned long long)backend->get_reg(v, VREG_RIP));
		return;
	}
	enum vcpu_reg index = d.in ? VREG_RDI : VREG_RSI;
	enum seg_reg seg = d.in ? SEG_ES : d.seg;
	uint64_t rcx = backend->get_reg(v, VREG_RCX), idx = backend->get_reg(v, index);
	uint64_t count = d.rep ? part(rcx, d.addr_size) : 1;
	int64_t step = (backend->get_reg(v, VREG_RFLAGS) & RFLAGS_DF) ? -(int64_t)e->io.size
								      : (int64_t)e->io.size;
	uint64_t done = 0;
	for (; done < count && done < CHUNK; done++) {
		uint64_t la = linear(vm, seg, part(idx, d.addr_size), mode64);
		uint32_t val = 0;
		struct lin_result r;
		/* INS checks its write before reading the port, so a fault loses no input. */
		r = d.in ? vm_check_linear_write(vm, la, e->io.size, LIN_DATA)
			 : vm_read_linear(vm, la, &val, e->io.size, LIN_DATA);
		if (r.status == PTWALK_OK &&
		    iobus_access(&vm->io, d.in, e->io.port, e->io.size, &val) != ERR_OK) {
			vm_stop(vm, true, "a device refused a %u-byte %s of port %#x", e->io.size,
				d.in ? "INS" : "OUTS", e->io.port);
			return;
		}
		if (r.status == PTWALK_OK && d.in)
			r = vm_write_linear(vm, la, &val, e->io.size, LIN_DATA);
		if (r.status != PTWALK_OK) {
			backend->set_reg(v, index, idx);
			if (d.rep)
				backend->set_reg(v, VREG_RCX, with_part(rcx, count - done, d.addr_size));
			stat_add(vm, &stat_string_io, done);
			memory_fault(vm, &r, e);
			return;
		}
		idx = with_part(idx, part(idx, d.addr_size) + (uint64_t)step, d.addr_size);
	}
	stat_add(vm, &stat_string_io, done);
	backend->set_reg(v, index, idx);
	if (d.rep)
		backend->set_reg(v, VREG_RCX, with_part(rcx, count - done, d.addr_size));
	/* Done, or a long REP to be continued: then RIP stays and the instruction runs again. */
	if (done == count)
		backend->set_reg(v, VREG_RIP, backend->get_reg(v, VREG_RIP) + d.len);
}
