/* long.c: phase long: 4-level paging (SDM vol. 3A, 4.5): 4 KiB, 2 MiB and 1 GiB pages, A/D bits at every level, not-present entries, NX, reserved bits and R/W at every level, CR0.WP. */
#include "guests/pagestress/pagestress.h"

static const char P[] = "long";

#define BIT13 (1ull << 13) /* reserved in a 2 MiB PDE (bits 20:13) and a 1 GiB PDPTE (29:13) */

static const char *const entry_name[5] = { NULL, "PTE", "PDE", "PDPTE", "PML4E" };

static word_t *data[4];
static uint8_t *code;
static uint64_t rsvd_bit; /* bit MAXPHYADDR, reserved in every entry; 0 when it is 52 */
static unsigned next_slot;

/* A page mapped at the start of a PML4 slot of its own, so that a check may
 * change any entry of its walk. */
struct mapping {
	uint64_t va;
	struct walk w;
};

static struct mapping fresh(uint64_t pa, uint64_t flags, unsigned leaf)
{
	struct mapping m = { SLOT(next_slot), { { NULL } } };

	next_slot++;
	m.w = map_page(base_root(), m.va, pa, flags, leaf);
	return m;
}

static word_t want_at(const void *frame, uint64_t offset, word_t salt)
{
	return pattern(phys(frame) + offset, salt);
}

static uint64_t offset_2m(const void *p)
{
	return phys(p) & (PAGE_2M - 1);
}

static void setup(void)
{
	next_slot = 3;
	for (unsigned i = 0; i < 4; i++) {
		data[i] = frame_alloc();
		fill_frame(data[i], i + 21);
	}
	code = frame_alloc();
	fill_code_page(code);
	unsigned m = maxphyaddr();
	rsvd_bit = m < 52 ? 1ull << m : 0;
}

static void pages(void)
{
	struct mapping m = fresh(phys(data[0]), PTE_P | PTE_W, 1);
	expect_read(P, "a 4 KiB page reads its frame", try_read(m.va + 16), want_at(data[0], 16, 21));
	expect_write(P, "a write through a 4 KiB page reaches its frame", try_write(m.va + 32, 0x1234),
		     &data[0][4], 0x1234);

	m = fresh(phys(data[1]) & ~(PAGE_2M - 1), PTE_P | PTE_W, 2);
	uint64_t at = m.va + offset_2m(data[1]);
	expect_read(P, "a 2 MiB page reads its frame", try_read(at + 16), want_at(data[1], 16, 22));
	expect_write(P, "a write through a 2 MiB page reaches its frame", try_write(at + 32, 0x5678),
		     &data[1][4], 0x5678);

	if (!has(F_PAGE1G)) {
		skipped(P, "1 GiB pages", "not shown");
		return;
	}
	m = fresh(0, PTE_P | PTE_W, 3);
	at = m.va + phys(data[2]);
	expect_read(P, "a 1 GiB page reads its frame", try_read(at + 16), want_at(data[2], 16, 23));
	expect_write(P, "a write through a 1 GiB page reaches its frame", try_write(at + 32, 0x9abc),
		     &data[2][4], 0x9abc);
}

/* Clears A and D in every entry of the walk, flushes, reads and writes
 * at: A must appear in every entry, D only in the leaf and after the write. */
static void check_ad(struct mapping m, uint64_t at, unsigned leaf, const char *read_what,
		     const char *write_what)
{
	struct ad_want want[4];
	unsigned n = 0;

	for (unsigned level = 4; level >= leaf; level--)
		*m.w.e[level] &= ~(PTE_A | PTE_D);
	invlpg(at);
	(void)try_read(at);
	for (unsigned level = 4; level >= leaf; level--, n++)
		want[n] = (struct ad_want){ entry_name[level], *m.w.e[level], true, false };
	expect_ad(P, read_what, want, n);
	(void)try_write(at + 8, 1);
	n = 0;
	for (unsigned level = 4; level >= leaf; level--, n++)
		want[n] = (struct ad_want){ entry_name[level], *m.w.e[level], true, level == leaf };
	expect_ad(P, write_what, want, n);
}

static void accessed_dirty(void)
{
	struct mapping m = fresh(phys(data[3]), PTE_P | PTE_W, 1);
	check_ad(m, m.va, 1, "a read sets A in the PML4E, PDPTE, PDE and PTE, D in none",
		 "a write then sets D in the PTE only");
	m = fresh(phys(data[3]) & ~(PAGE_2M - 1), PTE_P | PTE_W, 2);
	check_ad(m, m.va + offset_2m(data[3]), 2,
		 "a read of a 2 MiB page sets A in the PML4E, PDPTE and PDE, D in none",
		 "a write then sets D in the PDE only");
	if (!has(F_PAGE1G))
		return;
	m = fresh(0, PTE_P | PTE_W, 3);
	check_ad(m, m.va + phys(data[3]), 3,
		 "a read of a 1 GiB page sets A in the PML4E and PDPTE, D in neither",
		 "a write then sets D in the PDPTE only");
}

/* Sets bits in one entry of a fresh walk, makes the access, restores. */
static struct outcome with_entry(struct mapping m, unsigned level, uint64_t set, uint64_t clear,
				 enum access_kind kind, uint64_t at)
{
	uint64_t saved = *m.w.e[level];
	struct outcome o;

	*m.w.e[level] = (saved | set) & ~clear;
	invlpg(at);
	if (kind == ACCESS_READ)
		o = try_read(at);
	else if (kind == ACCESS_WRITE)
		o = try_write(at, 1);
	else
		o = try_fetch(at);
	*m.w.e[level] = saved;
	invlpg(at);
	return o;
}

static void not_present(void)
{
	char what[96];

	for (unsigned level = 1; level <= 4; level++) {
		struct mapping m = fresh(phys(data[0]), PTE_P | PTE_W, 1);
		ksnprintf(what, sizeof(what), "not present in the %s: a read raises #PF(0)",
			  entry_name[level]);
		expect_pf(P, what, with_entry(m, level, 0, PTE_P, ACCESS_READ, m.va + 8), m.va + 8, 0);
	}
	struct mapping m = fresh(phys(data[0]), PTE_P | PTE_W, 1);
	expect_pf(P, "a write to a not-present page raises #PF(W)",
		  with_entry(m, 1, 0, PTE_P, ACCESS_WRITE, m.va + 16), m.va + 16, PF_W);
}

static void execute_disable(void)
{
	char what[96];

	if (!has(F_NX)) {
		skipped(P, "execute-disable", "NX not shown");
		return;
	}
	struct mapping m = fresh(phys(code), PTE_P, 1);
	expect_done(P, "a fetch from a page without XD runs", try_fetch(m.va + FETCH_RET));
	for (unsigned level = 1; level <= 4; level++) {
		m = fresh(phys(code), PTE_P, 1);
		ksnprintf(what, sizeof(what), "XD in the %s: a fetch raises #PF(P|I/D)",
			  entry_name[level]);
		expect_pf(P, what, with_entry(m, level, PTE_XD, 0, ACCESS_FETCH, m.va + FETCH_RET),
			  m.va + FETCH_RET, PF_P | PF_ID);
	}
	m = fresh(phys(code) & ~(PAGE_2M - 1), PTE_P | PTE_XD, 2);
	uint64_t at = m.va + offset_2m(code) + FETCH_RET;
	expect_pf(P, "XD in a 2 MiB PDE: a fetch raises #PF(P|I/D)", try_fetch(at), at, PF_P | PF_ID);
	if (has(F_PAGE1G)) {
		m = fresh(0, PTE_P | PTE_XD, 3);
		at = m.va + phys(code) + FETCH_RET;
		expect_pf(P, "XD in a 1 GiB PDPTE: a fetch raises #PF(P|I/D)", try_fetch(at), at,
			  PF_P | PF_ID);
	}
	m = fresh(phys(data[0]), PTE_P | PTE_XD, 1);
	expect_read(P, "a read of an XD page works", try_read(m.va + 64), want_at(data[0], 64, 21));
	m = fresh(phys(code), PTE_P, 1);
	expect_pf(P, "a fetch from a not-present page raises #PF(I/D)",
		  with_entry(m, 1, 0, PTE_P, ACCESS_FETCH, m.va), m.va, PF_ID);
}

static void reserved(void)
{
	char what[112];
	struct mapping m;

	if (!rsvd_bit) {
		skipped(P, "bits above MAXPHYADDR are reserved", "MAXPHYADDR is 52");
	} else {
		for (unsigned level = 1; level <= 4; level++) {
			m = fresh(phys(data[0]), PTE_P | PTE_W, 1);
			ksnprintf(what, sizeof(what),
				  "a bit above MAXPHYADDR in the %s is reserved: a read raises #PF(P|RSVD)",
				  entry_name[level]);
			expect_pf(P, what, with_entry(m, level, rsvd_bit, 0, ACCESS_READ, m.va + 8),
				  m.va + 8, PF_P | PF_RSVD);
		}
		m = fresh(phys(data[0]), PTE_P | PTE_W, 1);
		expect_pf(P, "and a write raises #PF(P|W|RSVD)",
			  with_entry(m, 1, rsvd_bit, 0, ACCESS_WRITE, m.va + 16), m.va + 16,
			  PF_P | PF_W | PF_RSVD);
		if (has(F_NX)) {
			m = fresh(phys(code), PTE_P, 1);
			expect_pf(P, "and a fetch raises #PF(P|RSVD|I/D)",
				  with_entry(m, 1, rsvd_bit, 0, ACCESS_FETCH, m.va + FETCH_RET),
				  m.va + FETCH_RET, PF_P | PF_RSVD | PF_ID);
		}
	}
	m = fresh(phys(data[0]), PTE_P | PTE_W, 1);
	expect_pf(P, "PS in a PML4E is reserved: a read raises #PF(P|RSVD)",
		  with_entry(m, 4, PTE_PS, 0, ACCESS_READ, m.va + 8), m.va + 8, PF_P | PF_RSVD);
	m = fresh(phys(data[0]) & ~(PAGE_2M - 1), PTE_P | PTE_W, 2);
	expect_pf(P, "bit 13 of a 2 MiB PDE is reserved: a read raises #PF(P|RSVD)",
		  with_entry(m, 2, BIT13, 0, ACCESS_READ, m.va + 8), m.va + 8, PF_P | PF_RSVD);
	if (has(F_PAGE1G)) {
		m = fresh(0, PTE_P | PTE_W, 3);
		expect_pf(P, "bit 13 of a 1 GiB PDPTE is reserved: a read raises #PF(P|RSVD)",
			  with_entry(m, 3, BIT13, 0, ACCESS_READ, m.va + 8), m.va + 8, PF_P | PF_RSVD);
	}
	if (has(F_NX)) {
		m = fresh(phys(data[0]), PTE_P | PTE_W | PTE_XD, 1);
		set_nxe(false);
		write_cr3(read_cr3()); /* nothing the TLB kept from NXE set */
		struct outcome o = try_read(m.va + 8);
		set_nxe(true);
		write_cr3(read_cr3());
		expect_pf(P, "with EFER.NXE clear, XD is reserved: a read raises #PF(P|RSVD)", o,
			  m.va + 8, PF_P | PF_RSVD);
	}
}

static void write_protect(void)
{
	char what[96];
	struct mapping m = fresh(phys(data[2]), PTE_P, 1);

	set_wp(false);
	expect_write(P, "with CR0.WP clear a supervisor write to a read-only page works",
		     try_write(m.va + 48, 0x77), &data[2][6], 0x77);
	set_wp(true);
	expect_pf(P, "with CR0.WP set it raises #PF(P|W)", try_write(m.va + 48, 0x88), m.va + 48,
		  PF_P | PF_W);
	expect_read(P, "a read of a read-only page works", try_read(m.va + 48), 0x77);
	for (unsigned level = 2; level <= 4; level++) {
		m = fresh(phys(data[2]), PTE_P | PTE_W, 1);
		ksnprintf(what, sizeof(what), "R/W clear in the %s only: a write raises #PF(P|W)",
			  entry_name[level]);
		expect_pf(P, what, with_entry(m, level, 0, PTE_W, ACCESS_WRITE, m.va + 56), m.va + 56,
			  PF_P | PF_W);
	}
}

void phase_long(void)
{
	setup();
	pages();
	accessed_dirty();
	not_present();
	execute_disable();
	reserved();
	write_protect();
	for (unsigned i = 0; i < 4; i++)
		frame_free(data[i]);
	frame_free(code);
}
