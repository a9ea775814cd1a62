/* memory.c: machine memory at boot: allocator zones from the memory map, what is withheld, the report. */
#include "drivers/console.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/memmap.h"
#include "mm/memory.h"

/* Low memory holds the real-mode IVT, BIOS data and EBDA; later, AP start-up code. */
#define LOW_MEMORY_END (1ull << 20)

enum withheld {
	HELD_LOW,
	HELD_IMAGE,
	HELD_BOOTINFO,
	HELD_MODULES,
	HELD_DESCRIPTORS,
	HELD_KINDS
};

static const char *const held_names[HELD_KINDS] = {
	[HELD_LOW] = "low memory",
	[HELD_IMAGE] = "hypervisor image",
	[HELD_BOOTINFO] = "boot info",
	[HELD_MODULES] = "modules",
	[HELD_DESCRIPTORS] = "page descriptors",
};

#define MAX_HOLES (MB2_MAX_MODULES + HELD_KINDS)
#define MAX_FREE  (BUDDY_MAX_ZONES + MAX_HOLES + 1)

struct buddy machine_pages;

static struct phys_range zones[BUDDY_MAX_ZONES];
static unsigned nzones;
static struct phys_range holes[MAX_HOLES];
static enum withheld hole_kind[MAX_HOLES];
static unsigned nholes;
static struct phys_range free_ranges[MAX_FREE];
static unsigned nfree;
static uint64_t ram_bytes, lost_bytes;

static uint64_t round_down(uint64_t x) { return x & ~(PAGE_SIZE - 1); }
static uint64_t round_up(uint64_t x) { return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

static void add_hole(enum withheld kind, uint64_t start, uint64_t end)
{
	if (end <= start || nholes == MAX_HOLES)
		return;
	holes[nholes] = (struct phys_range){ round_down(start), round_up(end) };
	hole_kind[nholes++] = kind;
}

/* Bytes of usable RAM inside r. */
static uint64_t usable_bytes_in(struct phys_range r)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nzones; i++) {
		uint64_t s = r.start > zones[i].start ? r.start : zones[i].start;
		uint64_t e = r.end < zones[i].end ? r.end : zones[i].end;
		if (e > s)
			n += e - s;
	}
	return n;
}

static err_t compute_free_ranges(void)
{
	nfree = ranges_subtract(zones, nzones, holes, nholes, free_ranges, MAX_FREE);
	return nfree > MAX_FREE ? ERR_NOMEM : ERR_OK;
}

/* Releases the parts of the free ranges inside [lo, hi) to the allocator. */
static err_t release_between(uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < nfree; i++) {
		uint64_t s = free_ranges[i].start > lo ? free_ranges[i].start : lo;
		uint64_t e = free_ranges[i].end < hi ? free_ranges[i].end : hi;
		if (e <= s)
			continue;
		err_t err = buddy_release(&machine_pages, s >> PAGE_SHIFT, (e - s) >> PAGE_SHIFT);
		if (err != ERR_OK) {
			log_error("mem: releasing %#llx-%#llx failed: %s\n", (unsigned long long)s,
				  (unsigned long long)e, err_str(err));
			return err;
		}
	}
	return ERR_OK;
}

err_t memory_init(const struct boot_info *bi)
{
	nzones = memmap_usable(bi->mmap, bi->nmmap, zones, BUDDY_MAX_ZONES, &lost_bytes);
	/* RAM beyond the direct map could not be zeroed or used: leave it out. */
	while (nzones && zones[nzones - 1].start >= DIRECT_MAP_SIZE) {
		nzones--;
		lost_bytes += zones[nzones].end - zones[nzones].start;
	}
	if (nzones && zones[nzones - 1].end > DIRECT_MAP_SIZE) {
		lost_bytes += zones[nzones - 1].end - DIRECT_MAP_SIZE;
		zones[nzones - 1].end = DIRECT_MAP_SIZE;
	}
	if (lost_bytes)
		log_warn("mem: %llu KiB of RAM left unused (more than %u ranges, or above %llu TiB)\n",
			 (unsigned long long)(lost_bytes >> 10), BUDDY_MAX_ZONES,
			 (unsigned long long)(DIRECT_MAP_SIZE >> 40));
	if (nzones == 0) {
		log_error("mem: the memory map lists no usable RAM\n");
		return ERR_MISSING;
	}
	ram_bytes = 0;
	for (unsigned i = 0; i < nzones; i++)
		ram_bytes += zones[i].end - zones[i].start;

	add_hole(HELD_LOW, 0, LOW_MEMORY_END);
	add_hole(HELD_IMAGE, (uint64_t)(uintptr_t)__image_start_phys,
		 (uint64_t)(uintptr_t)__image_end_phys);
	add_hole(HELD_BOOTINFO, bi->info_phys, bi->info_phys + bi->info_size);
	for (unsigned i = 0; i < bi->nmodules; i++)
		add_hole(HELD_MODULES, bi->modules[i].start, bi->modules[i].end);
	if (compute_free_ranges() != ERR_OK)
		return ERR_NOMEM;

	/* The descriptors must be reachable through the early map (below 4 GiB). */
	uint64_t npages = 0;
	for (unsigned i = 0; i < nzones; i++)
		npages += (zones[i].end - zones[i].start) >> PAGE_SHIFT;
	uint64_t desc_bytes = round_up(buddy_desc_bytes(npages));
	uint64_t desc;
	if (!ranges_find_gap(free_ranges, nfree, desc_bytes, PAGE_SIZE, EARLY_MAP_LIMIT, &desc)) {
		log_error("mem: no room below 4 GiB for %llu KiB of page descriptors\n",
			  (unsigned long long)(desc_bytes >> 10));
		return ERR_NOMEM;
	}
	add_hole(HELD_DESCRIPTORS, desc, desc + desc_bytes);
	if (compute_free_ranges() != ERR_OK)
		return ERR_NOMEM;

	struct buddy_range br[BUDDY_MAX_ZONES];
	for (unsigned i = 0; i < nzones; i++)
		br[i] = (struct buddy_range){ zones[i].start >> PAGE_SHIFT,
					      (zones[i].end - zones[i].start) >> PAGE_SHIFT };
	err_t err = buddy_init(&machine_pages, phys_to_virt(desc), npages, br, nzones);
	if (err != ERR_OK) {
		log_error("mem: allocator set-up failed: %s\n", err_str(err));
		return err;
	}
	return release_between(0, EARLY_MAP_LIMIT);
}

err_t memory_release_high(void)
{
	return release_between(EARLY_MAP_LIMIT, ~0ull);
}

void memory_report(void)
{
	uint64_t held[HELD_KINDS] = { 0 };
	uint64_t held_total = 0;
	for (unsigned i = 0; i < nholes; i++)
		held[hole_kind[i]] += usable_bytes_in(holes[i]);
	for (unsigned k = 0; k < HELD_KINDS; k++)
		held_total += held[k];
	uint64_t free_bytes = machine_pages.owner_pages[OWNER_FREE] << PAGE_SHIFT;

	kprintf("mem: RAM %llu KiB (%llu MiB) usable in %u ranges\n",
		(unsigned long long)(ram_bytes >> 10), (unsigned long long)(ram_bytes >> 20), nzones);
	kprintf("mem: reserved %llu KiB", (unsigned long long)(held_total >> 10));
	for (unsigned k = 0; k < HELD_KINDS; k++)
		kprintf("%s %s %llu KiB", k == 0 ? ":" : ",", held_names[k],
			(unsigned long long)(held[k] >> 10));
	kprintf("\n");
	kprintf("mem: free %llu KiB (%llu MiB), %llu.%llu%% of RAM\n",
		(unsigned long long)(free_bytes >> 10), (unsigned long long)(free_bytes >> 20),
		(unsigned long long)(free_bytes * 100 / ram_bytes),
		(unsigned long long)(free_bytes * 1000 / ram_bytes % 10));
	kprintf("mem: free blocks per order:");
	for (unsigned o = 0; o < BUDDY_ORDERS; o++) {
		uint64_t kib = 4ull << o;
		if (kib >= 1024 * 1024)
			kprintf(" %lluG:%llu", (unsigned long long)(kib >> 20),
				(unsigned long long)machine_pages.free_blocks[o]);
		else if (kib >= 1024)
			kprintf(" %lluM:%llu", (unsigned long long)(kib >> 10),
				(unsigned long long)machine_pages.free_blocks[o]);
		else
			kprintf(" %lluK:%llu", (unsigned long long)kib,
				(unsigned long long)machine_pages.free_blocks[o]);
	}
	kprintf("\n");
	kprintf("mem: held by hypervisor %llu KiB, page tables %llu KiB\n",
		(unsigned long long)(machine_pages.owner_pages[OWNER_HV] << 2),
		(unsigned long long)(machine_pages.owner_pages[OWNER_PGTABLE] << 2));
}

err_t page_alloc(unsigned order, unsigned owner, uint64_t *pa)
{
	uint64_t pfn;
	err_t err = buddy_alloc(&machine_pages, order, owner, &pfn);
	if (err != ERR_OK)
		return err;
	*pa = pfn << PAGE_SHIFT;
	memset(phys_to_virt(*pa), 0, PAGE_SIZE << order);
	return ERR_OK;
}

err_t page_free(uint64_t pa, unsigned owner)
{
	if (pa & (PAGE_SIZE - 1))
		return ERR_NOT_BLOCK;
	return buddy_free(&machine_pages, pa >> PAGE_SHIFT, owner);
}
