/* pm32.h: the paging-stress guest's 32-bit protected-mode part (run before long mode): its segments, frames, and the 32-bit and PAE paging phases. */
#ifndef GUESTS_PAGESTRESS_PM32_PM32_H
#define GUESTS_PAGESTRESS_PM32_PM32_H

#include "guests/pagestress/pagestress.h"
#include "guests/common/pm32/cr32.h"

/* Selectors of the part's own GDT (main32.c). */
enum {
	SEL32_CODE = 0x08, SEL32_DATA = 0x10, SEL32_UCODE = 0x18 | 3, SEL32_UDATA = 0x20 | 3,
	SEL32_TSS = 0x28, GDT32_ENTRIES = 6,
};

/* Linear addresses the phases map their test pages at: above the 1 GiB
 * both phases identity-map with large pages. */
#define WIN32_BASE 0x40000000u

/* Frames of the part's own .bss, zeroed and handed out in turn; all of them
 * lie below 4 MiB, in the image. */
void *frame32(void);
/* Makes every frame frame32() handed out free again. */
void frames32_reset(void);
/* A frame's physical address (the part runs identity-mapped). */
static inline uint32_t phys32(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

/* Sets or clears CR0.WP. */
void set_wp32(bool on);

/* The phases (paging32.c, pae.c). */
void phase_paging32(void);
void phase_pae(void);

/* entry32.asm: returns result from the part (pm32_entry) wherever it is called. */
__attribute__((noreturn)) void pm32_bail(uint32_t result);

#endif
