/* svm_exit.c: turns a #VMEXIT's VMCB fields into the vendor-neutral exit record (AMD APM vol. 2, 15.6, appendix C). */
#include "arch/x86/svm/svm.h"

/* IOIO EXITINFO1 (APM 15.10.2). */
#define IOIO_IN      (1ull << 0)
#define IOIO_STR     (1ull << 2)
#define IOIO_REP     (1ull << 3)
#define IOIO_SZ8     (1ull << 4)
#define IOIO_SZ16    (1ull << 5)
#define IOIO_PORT(q) ((uint16_t)((q) >> 16))

/* #NPF EXITINFO1 is a page-fault error code (APM 15.25.6). */
#define NPF_P  (1ull << 0)
#define NPF_W  (1ull << 1)
#define NPF_ID (1ull << 4)

/* Lengths of the instructions whose intercepts do not say where the next one starts. */
#define LEN_CPUID   2
#define LEN_HLT     1
#define LEN_RDWRMSR 2
#define LEN_VMMCALL 3

/* Without NRIPS the next RIP comes from the known length of the instruction. */
static uint64_t next_rip(const struct vmcb *vmcb, unsigned len)
{
	if (svm_caps.nrips)
		return vmcb->control.next_rip;
	return vmcb->save.rip + len;
}

void svm_decode_exit(const struct vmcb *vmcb, struct vm_exit *e)
{
	const struct vmcb_control *c = &vmcb->control;
	*e = (struct vm_exit){ .reason = EXIT_UNKNOWN, .raw = c->exitcode, .qual = c->exitinfo1,
			       .info2 = c->exitinfo2 };
	/* VMEXIT_INVALID is -1; some implementations (QEMU) store it in 32 bits. */
	uint64_t code = c->exitcode == 0xffffffffull ? (uint64_t)SVM_EXIT_INVALID : c->exitcode;
	switch (code) {
	case SVM_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		e->next_rip = next_rip(vmcb, LEN_CPUID);
		break;
	case SVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		e->next_rip = next_rip(vmcb, LEN_HLT);
		break;
	case SVM_EXIT_VMMCALL:
		e->reason = EXIT_HYPERCALL;
		e->next_rip = next_rip(vmcb, LEN_VMMCALL);
		break;
	case SVM_EXIT_MSR:
		e->reason = c->exitinfo1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->next_rip = next_rip(vmcb, LEN_RDWRMSR);
		break;
	case SVM_EXIT_IOIO:
		/* EXITINFO2 holds the next RIP for IOIO with or without NRIPS. */
		e->reason = EXIT_IO;
		e->io.port = IOIO_PORT(c->exitinfo1);
		e->io.in = c->exitinfo1 & IOIO_IN;
		e->io.size = (c->exitinfo1 & IOIO_SZ8) ? 1 : (c->exitinfo1 & IOIO_SZ16) ? 2 : 4;
		e->io.string = c->exitinfo1 & IOIO_STR;
		e->io.rep = c->exitinfo1 & IOIO_REP;
		e->next_rip = c->exitinfo2;
		break;
	case SVM_EXIT_NPF:
		e->reason = EXIT_NESTED_FAULT;
		e->npf.gpa = c->exitinfo2;
		e->npf.present = c->exitinfo1 & NPF_P;
		e->npf.write = c->exitinfo1 & NPF_W;
		e->npf.fetch = c->exitinfo1 & NPF_ID;
		e->npf.read = !e->npf.write && !e->npf.fetch;
		break;
	case SVM_EXIT_INTR:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		e->reason = EXIT_INTERRUPT;
		break;
	case SVM_EXIT_NMI:
		e->reason = EXIT_NMI;
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = EXIT_TRIPLE_FAULT;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_XSETBV:
		e->reason = EXIT_HIDDEN_INSN;
		break;
	case (uint64_t)SVM_EXIT_INVALID:
		e->reason = EXIT_INVALID_STATE;
		break;
	default:
		if (c->exitcode >= SVM_EXIT_EXCP_BASE && c->exitcode < SVM_EXIT_EXCP_BASE + 32) {
			e->reason = EXIT_EXCEPTION;
			e->exc.vector = (uint8_t)(c->exitcode - SVM_EXIT_EXCP_BASE);
		}
		break;
	}
}
