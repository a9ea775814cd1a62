/* finish.c: how a self-checking guest's run ends in long mode: its env lines and verdict, then HC_EXIT or the harness; and the exception no probe expected. */
#include "guests/common/check.h"
#include "guests/common/trap.h"

void check_finish(void)
{
	env_report();
	report("result %s", report_failures() ? "FAIL" : "PASS");
	env_exit(report_failures() ? 1 : 0, report_harness());
}

void check_fatal(const char *group, const char *why)
{
	report("%s: %s; cannot go on", group, why);
	report_add_failures(1);
	check_finish();
}

/* Called by trap.asm for an exception outside probe(): the guest's state
 * is not what it thinks. */
void trap_unexpected(const struct trap_record *t);
void trap_unexpected(const struct trap_record *t)
{
	char name[16];

	report("unexpected %s at RIP %#llx, error code %#llx, CR2 %#llx",
	       vector_name((int)t->vector, name), (unsigned long long)t->rip,
	       (unsigned long long)t->error, (unsigned long long)t->cr2);
	check_fatal("trap", "an exception outside a probe");
}
