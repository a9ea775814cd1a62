/* segment.h: a segment register with its hidden part, vendor-neutral, and the GDT/LDT descriptor format. */
#ifndef VMM_SEGMENT_H
#define VMM_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

/* Segment registers in the encoding order of the Sreg field (SDM vol. 2, 3.1.1.3), then the system ones. */
enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

/*
 * Attributes packed in 12 bits as descriptor bits 47:40 and 55:52 (SDM vol.
 * 3A, 3.4.5, figure 3-8); the AMD VMCB keeps them so, VMX's access rights
 * put bits 11:8 at 15:12 (SDM vol. 3C, table "Format of Access Rights").
 */
#define SEG_ATTR_TYPE      0x00fu     /* 3:0 type, see SEG_TYPE_* */
#define SEG_ATTR_S         (1u << 4)  /* code or data; clear for system descriptors */
#define SEG_ATTR_DPL_SHIFT 5          /* 6:5 descriptor privilege level */
#define SEG_ATTR_DPL       (3u << SEG_ATTR_DPL_SHIFT)
#define SEG_ATTR_P         (1u << 7)  /* present */
#define SEG_ATTR_AVL       (1u << 8)
#define SEG_ATTR_L         (1u << 9)  /* 64-bit code */
#define SEG_ATTR_DB        (1u << 10) /* default operation size / big stack */
#define SEG_ATTR_G         (1u << 11) /* limit in 4 KiB units */

/* Code and data types (S = 1; SDM vol. 3A, 3.4.5.1, table 3-1). */
#define SEG_TYPE_ACCESSED   0x1u
#define SEG_TYPE_WRITABLE   0x2u /* data */
#define SEG_TYPE_READABLE   0x2u /* code */
#define SEG_TYPE_EXPAND_DOWN 0x4u /* data */
#define SEG_TYPE_CONFORMING 0x4u /* code */
#define SEG_TYPE_CODE       0x8u

/* System types (S = 0; SDM vol. 3A, 3.5, table 3-2, legacy modes). */
#define SEG_TYPE_TSS16_AVAIL 0x1u
#define SEG_TYPE_LDT         0x2u
#define SEG_TYPE_TSS16_BUSY  0x3u
#define SEG_TYPE_TASK_GATE   0x5u
#define SEG_TYPE_TSS32_AVAIL 0x9u
#define SEG_TYPE_TSS32_BUSY  0xbu
#define SEG_TYPE_TSS_BUSY    0x2u /* the busy bit of both TSS types */

/* Selector fields (SDM vol. 3A, 3.4.2). */
#define SEL_RPL   0x3u
#define SEL_TI    0x4u    /* the LDT, not the GDT */
#define SEL_INDEX 0xfff8u /* index * 8: the descriptor's offset in its table */

/*
 * A segment register as the CPU caches it.  unusable: nothing usable is
 * loaded (a null selector in DS/ES/FS/GS/LDTR; VMX's "unusable" bit).
 */
struct segment {
	uint16_t selector;
	uint64_t base;
	uint32_t limit;    /* in bytes, already scaled by G */
	uint16_t attr;     /* SEG_ATTR_* */
	bool unusable;
};

static inline unsigned seg_type(const struct segment *s)
{
	return s->attr & SEG_ATTR_TYPE;
}

static inline unsigned seg_dpl(const struct segment *s)
{
	return (s->attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
}

/* The segment an 8-byte GDT/LDT descriptor describes (SDM vol. 3A, 3.4.5, figure 3-8). */
static inline struct segment seg_from_descriptor(uint16_t selector, uint64_t desc)
{
	uint32_t limit = (uint32_t)(desc & 0xffff) | (uint32_t)((desc >> 32) & 0xf0000);
	uint16_t attr = (uint16_t)(((desc >> 40) & 0xff) | ((desc >> 44) & 0xf00));
	if (attr & SEG_ATTR_G)
		limit = (limit << 12) | 0xfff;
	return (struct segment){
		.selector = selector,
		.base = ((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000),
		.limit = limit,
		.attr = attr,
		.unusable = false,
	};
}

/* Descriptor byte 5 holds type, S, DPL and P; the CPU sets accessed and busy bits there. */
#define SEG_DESC_ACCESS_BYTE 5

#endif
