/* vmx_exit.c: turns the exit fields of the current VMCS into the vendor-neutral exit record (SDM vol. 3C, 28.2, appendix C). */
#include "arch/x86/vmx/vmx.h"

/* I/O exit qualification (SDM table 28-5). */
#define IO_SIZE(q)  ((uint8_t)(((q) & 7) + 1))
#define IO_IN       (1ull << 3)
#define IO_STRING   (1ull << 4)
#define IO_REP      (1ull << 5)
#define IO_PORT(q)  ((uint16_t)((q) >> 16))

/* EPT-violation exit qualification (SDM table 28-7). */
#define EPT_READ    (1ull << 0)
#define EPT_WRITE   (1ull << 1)
#define EPT_FETCH   (1ull << 2)
#define EPT_PERMS   (7ull << 3)

/* Control-register access qualification (SDM table 28-3). */
#define CR_NUM(q)    ((uint8_t)((q) & 0xf))
#define CR_TYPE(q)   (((q) >> 4) & 3)
#define CR_GPR(q)    ((uint8_t)(((q) >> 8) & 0xf))
#define CR_MOV_TO    0

/* Exit interruption information (SDM table 25-19). */
#define INTR_VECTOR(i)   ((uint8_t)((i) & 0xff))
#define INTR_TYPE(i)     (((i) >> 8) & 7)
#define INTR_TYPE_NMI    2
#define INTR_HAS_ERROR   (1u << 11)

void vmx_decode_exit(struct vm_exit *e)
{
	uint64_t reason = vmread(EXIT_REASON);
	uint64_t q = vmread(EXIT_QUALIFICATION);
	*e = (struct vm_exit){ .reason = EXIT_UNKNOWN, .raw = reason, .qual = q };
	e->next_rip = vmread(GUEST_RIP) + vmread(EXIT_INSTRUCTION_LEN);

	if (reason & VMX_EXIT_ENTRY_FAILURE) {
		e->reason = EXIT_INVALID_STATE;
		return;
	}
	switch (reason & 0xffff) {
	case VMX_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		break;
	case VMX_EXIT_HLT:
		e->reason = EXIT_HLT;
		break;
	case VMX_EXIT_VMCALL:
		e->reason = EXIT_HYPERCALL;
		break;
	case VMX_EXIT_RDMSR:
		e->reason = EXIT_MSR_READ;
		break;
	case VMX_EXIT_WRMSR:
		e->reason = EXIT_MSR_WRITE;
		break;
	case VMX_EXIT_IO:
		e->reason = EXIT_IO;
		e->io.port = IO_PORT(q);
		e->io.size = IO_SIZE(q);
		e->io.in = q & IO_IN;
		e->io.string = q & IO_STRING;
		e->io.rep = q & IO_REP;
		break;
	case VMX_EXIT_CR_ACCESS:
		if (CR_TYPE(q) == CR_MOV_TO && (CR_NUM(q) == 0 || CR_NUM(q) == 4)) {
			e->reason = EXIT_CR_WRITE;
			e->crw.cr = CR_NUM(q);
			e->crw.gpr = CR_GPR(q);
		}
		break;
	case VMX_EXIT_EPT_VIOLATION:
		e->reason = EXIT_NESTED_FAULT;
		e->npf.gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		e->npf.read = q & EPT_READ;
		e->npf.write = q & EPT_WRITE;
		e->npf.fetch = q & EPT_FETCH;
		e->npf.present = q & EPT_PERMS;
		e->info2 = e->npf.gpa;
		break;
	case VMX_EXIT_EPT_MISCONFIG:
		e->info2 = vmread(GUEST_PHYSICAL_ADDRESS);
		break;
	case VMX_EXIT_EXTINT:
		e->reason = EXIT_INTERRUPT;
		break;
	case VMX_EXIT_EXCEPTION_NMI: {
		uint32_t info = (uint32_t)vmread(EXIT_INTR_INFO);
		e->info2 = info;
		if (INTR_TYPE(info) == INTR_TYPE_NMI) {
			e->reason = EXIT_NMI;
		} else {
			e->reason = EXIT_EXCEPTION;
			e->exc.vector = INTR_VECTOR(info);
			e->exc.has_error = info & INTR_HAS_ERROR;
			e->exc.error = (uint32_t)vmread(EXIT_INTR_ERROR);
		}
		break;
	}
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = EXIT_TRIPLE_FAULT;
		break;
	case VMX_EXIT_PREEMPT_TIMER:
		e->reason = EXIT_PREEMPT;
		break;
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_XSETBV:
		e->reason = EXIT_HIDDEN_INSN;
		break;
	default:
		/* VMCLEAR .. VMXON: the guest was told it has no VMX. */
		if ((reason & 0xffff) >= VMX_EXIT_VMCLEAR && (reason & 0xffff) <= VMX_EXIT_VMXON)
			e->reason = EXIT_HIDDEN_INSN;
		break;
	}
}
