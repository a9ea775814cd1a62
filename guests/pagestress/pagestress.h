/* pagestress.h: what the paging-stress guest's files share (32-bit and long-mode parts): entry bits, #PF error codes, accesses under probe, checks. */
#ifndef GUESTS_PAGESTRESS_PAGESTRESS_H
#define GUESTS_PAGESTRESS_PAGESTRESS_H

#include "guests/common/guest.h"
#include "guests/common/check.h"
#include "guests/common/features.h"
#include "guests/common/trap.h"

#define PAGE_SIZE 4096u

/* Paging-structure entry bits, the same in every mode where they exist
 * (Intel SDM vol. 3A, tables 4-4 to 4-20; AMD APM vol. 2, 5.3 and 5.4). */
#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)  /* R/W */
#define PTE_U   (1ull << 2)  /* U/S */
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)  /* dirty in a leaf; ignored in a table's entry */
#define PTE_PS  (1ull << 7)  /* page size: the entry maps a page */
#define PTE_G   (1ull << 8)  /* global, in a leaf */
#define PTE_XD  (1ull << 63) /* execute-disable (PAE and 4-level, EFER.NXE) */

/* The #PF error code (SDM vol. 3A, 4.7, figure 4-12). */
#define PF_P    (1u << 0) /* a protection violation, not a not-present entry */
#define PF_W    (1u << 1)
#define PF_U    (1u << 2) /* the access was a user-mode one (CPL 3) */
#define PF_RSVD (1u << 3) /* a reserved bit was set */
#define PF_ID   (1u << 4) /* an instruction fetch (with NXE or SMEP) */

#define CR0_WP_BIT     (1u << 16)
#define CR4_PSE_BIT    (1u << 4)
#define CR4_PAE_BIT    (1u << 5)
#define CR4_PGE_BIT    (1u << 7)
#define CR4_PCIDE_BIT  (1u << 17)
#define CR4_SMEP_BIT   (1u << 20)
#define CR4_SMAP_BIT   (1u << 21)
#define EFER_NXE_BIT   (1u << 11)

/* The vector user code raises to come back to CPL 0: its IDT gate has DPL 3. */
#define VEC_USER_DONE 0x81

/* The long-mode part's return value from the 32-bit part: its failures, and
 * whether it could not finish. */
#define EARLY_FAILURES 0xffffu
#define EARLY_FATAL    (1u << 31)

/* Machine words: 32 bits in the 32-bit part, 64 in long mode. */
typedef uintptr_t word_t;

/* ---- accesses under probe (access.c, built for both parts) ---- */

enum access_kind { ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH };

/* What one access did: vector -1 when it completed (value: what a read
 * read), else the exception with its error code and CR2. */
struct outcome {
	int vector;
	word_t error, cr2, value;
};

/* A supervisor read, write or instruction fetch at addr.  A fetch calls
 * addr, which must hold RET (0xc3) if it is reached. */
struct outcome try_read(word_t addr);
struct outcome try_write(word_t addr, word_t value);
struct outcome try_fetch(word_t addr);
/* The same access made at CPL 3 (user32.c or user.c); a user fetch jumps
 * to addr, which must hold INT 0x81 (0xcd 0x81) if it is reached. */
struct outcome try_user(enum access_kind kind, word_t addr, word_t value);

/* CPL 3 (user.c, over user.asm or pm32/entry32.asm): user_page holds the
 * code run at CPL 3, position-independent; a phase maps it read-only with
 * U/S set at code_linear, and a user-writable page at scratch_linear (whose
 * frame the kernel reads at scratch) for what a user read read. */
extern uint8_t user_page[];
extern const char user_read[], user_write[], user_jump[];
/* IRET to CPL 3 at ip with EBX/RBX = addr, ECX/RCX = value, EDX/RDX = store;
 * the code there comes back by INT 0x81, which probe() returns. */
void user_enter(word_t ip, word_t addr, word_t value, word_t store);
void user_setup(word_t code_linear, word_t scratch_linear, volatile word_t *scratch);

/* The bytes a fetched page holds: RET at FETCH_RET, INT 0x81 at FETCH_INT. */
#define FETCH_RET 0
#define FETCH_INT 8
void fill_code_page(uint8_t *page);

/* "<phase>: <what>: ok" when the access completed (and read want, for
 * expect_read), else "...: FAIL <what it did>". */
void expect_read(const char *phase, const char *what, struct outcome o, word_t want);
void expect_done(const char *phase, const char *what, struct outcome o);
/* ok when the access raised #PF with exactly this error code and CR2 = addr. */
void expect_pf(const char *phase, const char *what, struct outcome o, word_t addr,
	       word_t want_error);
/* ok when the write completed and the frame's word (read through the
 * identity map) now holds value. */
void expect_write(const char *phase, const char *what, struct outcome o,
		  const volatile word_t *frame_word, word_t value);

/* The A and D bits an entry must show after an access (SDM vol. 3A, 4.8:
 * A in every entry the walk used, D only in the entry that maps the page,
 * and only after a write). */
struct ad_want {
	const char *name; /* "PDE" */
	uint64_t entry;   /* as it is now */
	bool a, d;
};
void expect_ad(const char *phase, const char *what, const struct ad_want *want, unsigned n);

/* QEMU's TCG leaves P clear in the error code of a #PF for a reserved bit
 * (SDM 4.7: RSVD implies P).  With harness=qemu, natively or in a VM on
 * QEMU, expect_pf() accepts that and counts it; report_qemu_quirks() prints
 * the count as an env line. */
void accept_qemu_quirks(bool accept);
void report_qemu_quirks(const char *phase);

/* Writes what the access did into buf ("#PF(0x3) at 0x...", "completed
 * (read 0x...)"). */
const char *describe(struct outcome o, char *buf, size_t size);

/* Many accesses, one result line: tally_error() counts a wrong one and
 * keeps what the first did; tally_verdict() prints ok, or FAIL with the
 * count and the first, and starts over. */
void tally_error(struct outcome o, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Counts an error ("<where> <n> (want ...)") unless o read want. */
bool tally_read(struct outcome o, word_t want, const char *where, unsigned n);
void tally_verdict(const char *phase, const char *what);

/* An address-dependent value for the words of test frames. */
static inline word_t pattern(word_t addr, word_t salt)
{
	return (addr * 0x9e3779b1u) ^ (salt << 8) ^ 0xa5u;
}
/* Fills a frame (through the address p) with pattern(its own address, salt). */
void fill_frame(void *p, word_t salt);
/* How many words of the frame at p differ from pattern(address, salt). */
unsigned frame_errors(const void *p, word_t salt);

static inline void invlpg(word_t addr)
{
	__asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

/* The physical address width (CPUID 0x80000008 EAX[7:0], 36 without the leaf). */
unsigned maxphyaddr(void);

/* ---- the long-mode part ---- */

#ifdef __x86_64__

/* Linear layout (PML4 slots): 0 the identity map of RAM (common/paging.c),
 * 1 the phases' test windows, 2 the user-mode page and its scratch page
 * (U/S set all the way), 3 and up whatever a phase wants a PML4E of its own
 * for. */
#define SLOT_SIZE     (512 * GIB)
#define SLOT(n)       ((uint64_t)(n) * SLOT_SIZE)
#define WINDOW        SLOT(1)
#define USER_CODE     SLOT(2)
#define USER_SCRATCH  (SLOT(2) + PAGE_SIZE)
#define PML4_SLOT_USER 2

#define PAGE_2M       (2 * MIB)
#define ADDR_MASK     0x000ffffffffff000ull

/* Frames (frames.c): a pool in the image's .bss, identity-mapped. */
void *frame_alloc(void);              /* zeroed; ends the run when none is left */
void frame_free(void *frame);
unsigned frames_free(void);
static inline uint64_t phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}
static inline uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & ADDR_MASK);
}

/* The entries of one walk: e[4] the PML4E, e[3] the PDPTE, e[2] the PDE,
 * e[1] the PTE; NULL below the leaf. */
struct walk {
	uint64_t *e[5];
};
/* Maps the page at va in the tree under root: a 4 KiB page (leaf 1), 2 MiB
 * (2) or 1 GiB (3) of pa with the leaf's flags (PTE_PS added for large
 * pages).  Missing tables come from the pool, linked P|W|U. */
struct walk map_page(uint64_t *root, uint64_t va, uint64_t pa, uint64_t flags, unsigned leaf);
/* The base address space: paging_init()'s PML4, with slot 2's user pages. */
uint64_t *base_root(void);
/* Frees every table under root's PML4E slot (its pages' frames are not
 * the tables') and clears it; the caller flushes. */
void unmap_slot(uint64_t *root, unsigned slot);
/* A new PML4 from the pool sharing the base's identity map and user pages. */
uint64_t *new_root(void);
/* Frees the tables of a root from new_root() (slots other than 0 and 2) and the root itself. */
void free_root(uint64_t *root);

/* CPU set-up (main.c): GDT with ring-3 segments, TSS, IDT. */
void set_wp(bool on);
void set_cr4_bits(uint64_t bits, bool on);
void set_nxe(bool on);

/* The phases. */
void phase_long(void);
void phase_long_user(void);
void phase_spaces(void);
void phase_edits(void);
void phase_reuse(void);
void phase_churn(void);

#endif

#endif
