/* backend.h: what a hardware-virtualization backend (VMX or SVM) offers the generic VMM. */
#ifndef VMM_BACKEND_H
#define VMM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"
#include "vmm/exit.h"
#include "vmm/mmu/nested.h"
#include "vmm/segment.h"
#include "vmm/vcpu.h"

/* An event to deliver to the guest at the next entry (SDM 26.6, APM 15.20). */
struct vcpu_event {
	uint8_t vector;
	bool has_error;
	uint32_t error;
};

/* The guest's state at entry as Multiboot prescribes: flat 32-bit protected mode, paging off. */
struct vcpu_boot_state {
	uint32_t eip, eax, ebx;
	/*
	 * The VM's MMU is the shadow one: second-level paging off, the CPU on
	 * the shadow tables (set_paging), and every guest CR0/CR3/CR4/EFER
	 * access, INVLPG, INVPCID and #PF exits; the guest reads back what it
	 * wrote.
	 */
	bool shadow;
};

/* What a shadow MMU makes the CPU run with while the guest sees its own values. */
struct vcpu_paging {
	uint64_t cr0, cr3, cr4, efer;
};

/* What flush_tlb drops from the vCPU's tag, weakest first (vmm/mmu/shadow.h tells them apart). */
enum tlb_flush {
	TLB_FLUSH_ADDR,       /* every translation of one linear address, global ones too */
	TLB_FLUSH_NONGLOBAL,  /* every non-global translation, for every PCID */
	TLB_FLUSH_ALL,        /* everything, paging-structure caches included */
};

/* What the backend can let a guest use, known once cpu_enable has run. */
struct backend_features {
	bool rdtscp;             /* RDTSCP and RDPID run in the guest */
	bool invpcid;            /* INVPCID runs in the guest */
	uint64_t cr4_supported;  /* CR4 bits the guest's real CR4 may hold */
	bool irq_window_sees_tpr; /* the window waits for the TPR too (SVM's V_INTR_PRIO) */
};

struct vcpu_ops {
	const char *name;                    /* "VMX" or "SVM" */
	const struct nested_format *nested;  /* the second-level table format (EPT or NPT) */
	const struct backend_features *features;
	/* Turns virtualization on for this CPU; a clear message and an error when it cannot. */
	err_t (*cpu_enable)(void);
	err_t (*vcpu_create)(struct vcpu *v, const struct vcpu_boot_state *boot);
	void (*vcpu_destroy)(struct vcpu *v);
	/* Enters the guest and returns at its next exit, decoded into *exit. */
	err_t (*vcpu_run)(struct vcpu *v, struct vm_exit *exit);
	uint64_t (*get_reg)(struct vcpu *v, enum vcpu_reg r);
	void (*set_reg)(struct vcpu *v, enum vcpu_reg r, uint64_t val);
	/* A segment register with its hidden part. */
	void (*get_seg)(struct vcpu *v, enum seg_reg r, struct segment *s);
	void (*set_seg)(struct vcpu *v, enum seg_reg r, const struct segment *s);
	/* The four PAE PDPTEs the CPU uses next (loaded by an emulated CR write; SDM 4.4.1). */
	void (*set_pdptes)(struct vcpu *v, const uint64_t pdpte[4]);
	/* Queues an exception for the next entry (vmm/event.c decides which). */
	void (*inject)(struct vcpu *v, const struct vcpu_event *e);
	/* Delivers again, at the next entry, the event whose delivery the last exit interrupted. */
	void (*reinject)(struct vcpu *v, const struct exit_event *e);
	/* Exit (EXIT_IRQ_WINDOW) as soon as the guest can take an interrupt of vector's class, or stop asking. */
	void (*irq_window)(struct vcpu *v, bool on, uint8_t vector);
	/* Shadow MMU only: the real CR0, CR3, CR4 and EFER the guest runs on from its next entry. */
	void (*set_paging)(struct vcpu *v, const struct vcpu_paging *p);
	/* Flushes the guest's translations tagged with this vCPU's VPID/ASID (or all when untagged);
	 * la for TLB_FLUSH_ADDR. */
	void (*flush_tlb)(struct vcpu *v, enum tlb_flush kind, uint64_t la);
	/* Prints the vendor state worth seeing when a guest dies. */
	void (*dump)(struct vcpu *v);
};

/* The backend for this CPU, chosen once at boot; NULL (with a reason printed) when none. */
const struct vcpu_ops *backend_probe(void);

extern const struct vcpu_ops vmx_ops;
extern const struct vcpu_ops svm_ops;

#endif
