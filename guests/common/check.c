/* check.c: the self-checking guests' result lines, "<guest>: <group>: <what>: ok|FAIL ...|skipped (...)" (built for 64-bit and 32-bit code). */
#include "guests/common/check.h"

static unsigned failures;
static bool under_hv;
static enum harness native_harness;

/* Exception mnemonics (Intel SDM vol. 3A, table 6-1). */
static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9", "#TS",
	"#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void report_setup(bool under_hypervisor, enum harness harness)
{
	under_hv = under_hypervisor;
	native_harness = harness;
}

enum harness report_harness(void)
{
	return native_harness;
}

const char *vector_name(int vector, char buf[16])
{
	if (vector < 0)
		return "none";
	if (vector < 32 && vector_names[vector])
		return vector_names[vector];
	ksnprintf(buf, 16, "vector %d", vector);
	return buf;
}

void check_value(const char *group, const char *what, uint64_t got, uint64_t want)
{
	if (got == want) {
		report("%s: %s: ok", group, what);
		return;
	}
	report("%s: %s: FAIL 0x%llx want 0x%llx", group, what, (unsigned long long)got,
	       (unsigned long long)want);
	failures++;
}

void check_vector(const char *group, const char *what, int got, int want)
{
	char g[16], w[16];

	if (got == want) {
		report("%s: %s: ok", group, what);
		return;
	}
	report("%s: %s: FAIL %s want %s", group, what, vector_name(got, g), vector_name(want, w));
	failures++;
}

void check_fault(const char *group, const char *what, int got, uint64_t error, int want,
		 uint64_t want_error)
{
	char g[16];

	if (got != want) {
		check_vector(group, what, got, want);
	} else if (error != want_error) {
		report("%s: %s: FAIL %s(0x%llx) want %s(0x%llx)", group, what, vector_name(got, g),
		       (unsigned long long)error, vector_name(got, g), (unsigned long long)want_error);
		failures++;
	} else {
		report("%s: %s: ok", group, what);
	}
}

bool native_on(unsigned emulators)
{
	if (under_hv)
		return false;
	return (native_harness == HARNESS_QEMU && (emulators & EMU_QEMU)) ||
	       (native_harness == HARNESS_BOCHS && (emulators & EMU_BOCHS));
}

bool skipped_if_lenient(const char *group, const char *what, unsigned lenient)
{
	if (!native_on(lenient))
		return false;
	skipped(group, what, native_harness == HARNESS_QEMU ? "native qemu is lenient"
							     : "native bochs is lenient");
	return true;
}

void check_vector_lenient(const char *group, const char *what, int got, int want,
			  unsigned lenient)
{
	if (got != want && skipped_if_lenient(group, what, lenient))
		return;
	check_vector(group, what, got, want);
}

void check_true(const char *group, const char *what, bool ok, const char *detail)
{
	if (ok) {
		report("%s: %s: ok", group, what);
		return;
	}
	report("%s: %s: FAIL %s", group, what, detail);
	failures++;
}

void skipped(const char *group, const char *what, const char *why)
{
	report("%s: %s: skipped (%s)", group, what, why);
}

void report_add_failures(unsigned n)
{
	failures += n;
}

unsigned report_failures(void)
{
	return failures;
}
