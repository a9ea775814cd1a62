/* user.c: accesses made at CPL 3 under probe (built for the 32-bit and the long-mode part, over pm32/entry32.asm or user.asm). */
#include "guests/pagestress/pagestress.h"

#define SEL_KERNEL_DATA 0x10 /* the same in both parts' GDTs */

static word_t code_linear, scratch_linear;
static volatile word_t *scratch;

void user_setup(word_t code, word_t scratch_at, volatile word_t *scratch_frame)
{
	code_linear = code;
	scratch_linear = scratch_at;
	scratch = scratch_frame;
}

struct user_call {
	word_t ip, addr, value, store;
};

static void do_user(void *p)
{
	struct user_call *c = p;
	user_enter(c->ip, c->addr, c->value, c->store);
}

struct outcome try_user(enum access_kind kind, word_t addr, word_t value)
{
	static const char *const entry[] = {
		[ACCESS_READ] = user_read, [ACCESS_WRITE] = user_write, [ACCESS_FETCH] = user_jump,
	};
	struct user_call c = { code_linear + (word_t)(entry[kind] - (const char *)user_page), addr,
			       value, scratch_linear };

	*scratch = 0;
	int v = probe(do_user, &c);
	/* Back at CPL 0: IRET left user data segments behind (and in long mode
	 * the interrupt a null SS). */
	__asm__ volatile("mov %0, %%ds\n\tmov %0, %%es\n\tmov %0, %%ss" : : "r"(SEL_KERNEL_DATA));

	struct outcome o = { v, 0, 0, 0 };
	if (v == VEC_USER_DONE) {
		o.vector = -1;
		o.value = *scratch;
	} else if (v >= 0) {
		o.error = (word_t)trap_last.error;
		o.cr2 = (word_t)trap_last.cr2;
	}
	return o;
}
