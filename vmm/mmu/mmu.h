/* mmu.h: a VM's memory virtualization: one interface, filled by the nested MMU (EPT/NPT) and the shadow MMU. */
#ifndef VMM_MMU_MMU_H
#define VMM_MMU_MMU_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

struct vm;
struct vm_exit;

/* A guest write that changed its paging registers, after the architectural checks. */
struct paging_write {
	bool flush;        /* the write flushes the TLB (SDM 4.10.4.1; archcheck.h) */
	bool cr3_load;     /* a CR3 load: MOV to CR3 or a task switch */
	bool cr3_noflush;  /* ... with CR4.PCIDE and bit 63 set: the PCID's translations stay */
};

/*
 * What vm.c and exit.c ask of a VM's MMU; nothing above it knows which kind
 * it is.  Hooks a kind never needs are no-ops there, not NULL (the nested
 * MMU takes no guest #PF, INVLPG or CR3 exit: the CPU walks the guest's
 * tables itself; the shadow MMU takes no second-level fault).
 */
struct mmu_ops {
	const char *name;                 /* "nested" or "shadow", as in mmu= */
	/* Maps the VM's RAM (vm->ram); an error (reported by the caller) when it cannot. */
	err_t (*create)(struct vm *vm);
	/* Frees every page the MMU holds; safe after a failed create. */
	void (*destroy)(struct vm *vm);
	/*
	 * The guest changed CR0, CR3, CR4 or EFER (the new values are in the
	 * backend), or its vCPU was just created (w all false).  NULL, or why
	 * the VM cannot go on (the caller stops it).
	 */
	const char *(*paging_changed)(struct vm *vm, const struct paging_write *w);
	/* INVLPG (or INVPCID individual-address) of a guest linear address.  This and flush_all
	 * may stop the VM (mmu_audit=on): the caller checks its state. */
	void (*invlpg)(struct vm *vm, uint64_t la);
	/* INVPCID of every context: the guest's whole TLB goes (non-global ones only when !globals). */
	void (*flush_all)(struct vm *vm, bool globals);
	/* A guest #PF the backend intercepted (EXIT_PAGE_FAULT). */
	void (*page_fault)(struct vm *vm, const struct vm_exit *e);
	/* A second-level fault (EPT violation, #NPF): a guest-physical access the tables refuse. */
	void (*nested_fault)(struct vm *vm, const struct vm_exit *e);
	/* The hypervisor wrote guest RAM [gpa, gpa + len) (an emulated instruction, string I/O,
	 * a task switch, an A/D update of its own walk). */
	void (*ram_written)(struct vm *vm, uint64_t gpa, uint64_t len);
	/* Brings the VM's VM_STAT counters up to date with the MMU's own. */
	void (*sync_stats)(struct vm *vm);
	/* The VM's MMU line of its end-of-run statistics. */
	void (*report)(const struct vm *vm);
	/* A VM switch asks nothing of either kind: the real CR3 (shadow) or the EPT/NPT root
	 * (nested) is in the vCPU's VMCS/VMCB, and the VPID/ASID keeps TLB entries apart. */
};

extern const struct mmu_ops mmu_nested;
extern const struct mmu_ops mmu_shadow;

#endif
