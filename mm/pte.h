/* pte.h: x86-64 4-level page-table entry format (Intel SDM vol. 3A, 4.5, tables 4-14 to 4-20). */
#ifndef MM_PTE_H
#define MM_PTE_H

#include <stdint.h>

#define PTE_P    (1ull << 0)  /* present */
#define PTE_W    (1ull << 1)  /* writable */
#define PTE_U    (1ull << 2)  /* user */
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_A    (1ull << 5)  /* accessed */
#define PTE_D    (1ull << 6)  /* dirty */
#define PTE_PS   (1ull << 7)  /* page size: a 1 GiB (PDPTE) or 2 MiB (PDE) leaf */
#define PTE_G    (1ull << 8)  /* global */
#define PTE_NX   (1ull << 63) /* execute-disable, with EFER.NXE */

#define PTE_ADDR_MASK 0x000ffffffffff000ull

#define PT_ENTRIES 512
#define PT_LEVELS  4

/* Bytes one entry maps at each level: 1 = PTE (4 KiB) ... 4 = PML4E (512 GiB). */
static inline uint64_t pt_level_size(unsigned level)
{
	return 1ull << (12 + 9 * (level - 1));
}

static inline unsigned pt_index(uint64_t va, unsigned level)
{
	return (unsigned)((va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1));
}

#endif
