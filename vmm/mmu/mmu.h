/* mmu.h: a VM's memory virtualization: one interface, filled by the nested MMU (EPT/NPT) and, later, the shadow MMU. */
#ifndef VMM_MMU_MMU_H
#define VMM_MMU_MMU_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/error.h"

struct vm;
struct vm_exit;

/*
 * What vm.c and exit.c ask of a VM's MMU; nothing above it knows which kind
 * it is.  Hooks a kind never needs are no-ops there, not NULL (the nested
 * MMU takes no guest #PF, INVLPG or CR3 exit: the CPU walks the guest's
 * tables itself).
 */
struct mmu_ops {
	const char *name;                 /* "nested" or "shadow", as in mmu= */
	/* Maps the VM's RAM (vm->ram); an error (reported by the caller) when it cannot. */
	err_t (*create)(struct vm *vm);
	/* Frees every page the MMU holds; safe after a failed create. */
	void (*destroy)(struct vm *vm);
	/* The guest changed CR0, CR3, CR4 or EFER (after the architectural checks). */
	void (*paging_changed)(struct vm *vm);
	/* INVLPG of a guest linear address. */
	void (*invlpg)(struct vm *vm, uint64_t la);
	/* A second-level fault (EPT violation, #NPF): a guest-physical access the tables refuse. */
	void (*nested_fault)(struct vm *vm, const struct vm_exit *e);
	/* The VM's MMU line of its end-of-run statistics. */
	void (*report)(const struct vm *vm);
};

extern const struct mmu_ops mmu_nested;

#endif
