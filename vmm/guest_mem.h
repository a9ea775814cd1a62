/* guest_mem.h: a vCPU's view of its memory by linear address, through its own page tables (mm/ptwalk.c) and its RAM. */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/ptwalk.h"

struct vm;

enum lin_access {
	LIN_FETCH,     /* an instruction fetch at the vCPU's CPL */
	LIN_IMPLICIT,  /* the CPU's own read or write of a GDT, LDT, IDT or TSS: supervisor */
	LIN_DATA,      /* an instruction's data access at the vCPU's CPL */
};

/* How an access went: done, a #PF the CPU would raise, or a table or page outside RAM. */
struct lin_result {
	enum ptwalk_status status;  /* PTWALK_OK, PTWALK_FAULT (error_code, cr2) or PTWALK_NOT_RAM (gpa) */
	uint32_t error_code;
	uint64_t cr2;
	uint64_t gpa;
};

/* Copies len bytes at linear address la out of / into the guest, page by page. */
struct lin_result vm_read_linear(struct vm *vm, uint64_t la, void *dst, unsigned len,
				 enum lin_access how);
struct lin_result vm_write_linear(struct vm *vm, uint64_t la, const void *src, unsigned len,
				  enum lin_access how);
/*
 * Reads the instruction at CS:RIP into bytes (up to 15, fewer where the next
 * page is not there) and says whether the vCPU is in 64-bit mode; returns
 * how many bytes it got, 0 when none.
 */
unsigned vm_fetch_instruction(struct vm *vm, uint8_t bytes[15], bool *mode64);
/* Whether a write of len bytes at la would succeed; writes nothing, no accessed/dirty flag either. */
struct lin_result vm_check_linear_write(struct vm *vm, uint64_t la, unsigned len, enum lin_access how);

#endif
