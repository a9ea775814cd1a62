/* invd.c: attack invd: INVD and WBINVD run at CPL 0 and the guest goes on (SDM vol. 2A). */
#include "guests/hostile/hostile.h"

/* WBINVD first, so that INVD finds no dirty line to lose on real hardware. */
PROBE_ASM(do_wbinvd, "wbinvd" ::: "memory")
PROBE_ASM(do_invd, "wbinvd; invd" ::: "memory")

void attack_invd(void)
{
	check_vector("invd", "WBINVD runs", probe(do_wbinvd, NULL), VEC_NONE);
	check_vector("invd", "INVD runs", probe(do_invd, NULL), VEC_NONE);
}
