#!/usr/bin/env python3
"""systest.py: boots the real ISO in QEMU and Bochs and checks what the serial console says.

Each test builds an ISO with its own hypervisor command line, boots it with a
timeout, keeps the serial log in build/test-logs/<test>.log and checks it.
Prints "PASS <test>" or "FAIL <test>: <why>" per test, then "N passed, N failed".
"""
import argparse
import concurrent.futures
import hashlib
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
LOGS = os.path.join(BUILD, "test-logs")
ISOS = os.path.join(BUILD, "test-iso")
OVMF = "/usr/share/ovmf/OVMF.fd"

# Verdict lines printed by drivers/harness.c.
PASS_LINE = "hv: end of run: PASS"
FAIL_LINE = "hv: end of run: FAIL"


class Test:
    def __init__(self, name, emulator, cmdline="", mem=128, firmware="bios", cpu=None,
                 expect=(), reject=(), verdict="PASS", checks=(), timeout=None, modules=(),
                 elf=None, loader="multiboot2", verdict_lines=(PASS_LINE, FAIL_LINE)):
        self.name = name
        self.emulator = emulator
        self.elf = elf            # a guest kernel booted natively (relative to ROOT); None: the hypervisor
        self.loader = loader      # GRUB command that boots it: multiboot2 or multiboot
        self.cmdline = cmdline
        self.mem = mem
        self.firmware = firmware
        self.cpu = cpu
        self.expect = expect      # regexes that must match the log
        self.reject = reject      # regexes that must not
        self.verdict = verdict    # the end-of-run line the log must carry; RESET: none, QEMU reset
        self.verdict_lines = verdict_lines  # the PASS and FAIL end-of-run lines
        self.checks = checks      # functions(log) -> error string or None
        self.modules = modules    # (file, GRUB module2 string) pairs
        self.timeout = timeout or (180 if emulator == "bochs" or firmware == "uefi" else 60)


def free_memory_near(mem_mib, low_pct=95.0):
    """The boot report's free memory lies within a few percent of the machine's size."""
    def check(log):
        m = re.search(r"^mem: free (\d+) KiB", log, re.M)
        if not m:
            return "no 'mem: free' line"
        free_kib = int(m.group(1))
        total_kib = mem_mib * 1024
        pct = 100.0 * free_kib / total_kib
        if not low_pct <= pct <= 100.0:
            return "free memory %d KiB is %.1f%% of %d MiB (want %.0f-100%%)" % (
                free_kib, pct, mem_mib, low_pct)
        return None
    return check


def free_blocks_sum_to_free():
    """The per-order free block counts add up to the free total."""
    def check(log):
        m = re.search(r"^mem: free (\d+) KiB", log, re.M)
        b = re.search(r"^mem: free blocks per order:(.*)$", log, re.M)
        if not m or not b:
            return "memory report incomplete"
        total = 0
        for size, count in re.findall(r" (\d+[KMG]):(\d+)", b.group(1)):
            unit = {"K": 1, "M": 1024, "G": 1024 * 1024}[size[-1]]
            total += int(size[:-1]) * unit * int(count)
        if total != int(m.group(1)):
            return "free blocks add up to %d KiB, free says %s KiB" % (total, m.group(1))
        return None
    return check


BANNER = r"hv: x86-64 microhypervisor"
SVM_NPT = [r"cpu: virtualization: AMD-V \(SVM\)", r"cpu:\s+SVM usable\s+yes",
           r"cpu:\s+nested paging \(NPT\)\s+yes", r"cpu:\s+ASIDs\s+yes\s+\d+ ASIDs"]
VMX_EPT_VPID = [r"cpu: virtualization: Intel VT-x \(VMX\)", r"cpu:\s+VMX usable\s+yes",
                r"cpu:\s+true controls\s+yes", r"cpu:\s+EPT\s+yes", r"cpu:\s+EPT 2 MiB pages\s+yes",
                r"cpu:\s+VPID\s+yes", r"cpu:\s+INVVPID single-context\s+yes",
                r"cpu:\s+INVEPT single-context\s+yes", r"cpu:\s+unrestricted guest\s+yes"]
PAGING = r"paging: direct map and image: \d+ x 1 GiB, \d+ x 2 MiB, \d+ x 4 KiB leaves"
TSC_KNOWN = r"^time: TSC [1-9]\d*\.\d{3} MHz \("
BOOT_OK = [BANNER, PAGING, TSC_KNOWN, r"hv: boot complete"]
# Bochs' TSC and PIT both count its instructions: with ips=100000000 the TSC runs at 100 MHz,
# whatever CPUID 16H says of the model it emulates.
BOCHS_TSC = r"^time: TSC (99\.9\d\d|100\.0\d\d) MHz \(measured against the PIT over 50 ms\), invariant$"
PF_DUMP = [r"selftest: fault: write to the boot stack's guard page",
           r"hypervisor exception: vector 14 \(#PF page fault\)",
           r"error code 0x2: page not present, write, supervisor mode",
           r"CR2 is in the guard page of the boot CPU stack",
           r"RIP [0-9a-f]{16}  CS 0008", r"RAX [0-9a-f]{16}  RBX", r"R13 [0-9a-f]{16}  R14",
           r"CR0 [0-9a-f]{16}  CR2 [0-9a-f]{16}  CR3",
           r"faulting instruction at fault_page\+",
           r"#0\s+ffffffff8[0-9a-f]+  fault_page\+",
           r"#\d+\s+ffffffff8[0-9a-f]+  selftest_run\+0x",
           r"#\d+\s+ffffffff8[0-9a-f]+  hv_main\+0x"]
DF_DUMP = [r"selftest: stack: overflow the boot stack",
           r"hypervisor exception: vector 8 \(#DF double fault\)",
           r"CR2 0x[0-9a-f]+ is in the guard page of the boot CPU stack: stack overflow",
           r"faulting instruction at fault_stack_overflow\+0x"]


def qemu_tests():
    q = "qemu"
    return [
        Test("qemu_bios_128M_boot_report", q, mem=128,
             expect=BOOT_OK + SVM_NPT + [r"boot: loader \"GRUB"],
             checks=[free_memory_near(128), free_blocks_sum_to_free()]),
        Test("qemu_bios_512M_boot_report", q, mem=512, expect=BOOT_OK + SVM_NPT,
             checks=[free_memory_near(512), free_blocks_sum_to_free()]),
        Test("qemu_bios_2048M_boot_report", q, mem=2048, expect=BOOT_OK + SVM_NPT,
             checks=[free_memory_near(2048), free_blocks_sum_to_free()]),
        # 3 GiB below the PCI hole and 1 GiB above 4 GiB: the high GiB is one 1 GiB
        # leaf, and it reaches the allocator only after the switch to the final tables.
        Test("qemu_bios_4096M_maps_1G_pages_and_frees_memory_above_4G", q, mem=4096,
             expect=BOOT_OK + [r"paging: direct map and image: [1-9]\d* x 1 GiB",
                               r"mem: free blocks per order:.* 1G:[1-9]"],
             checks=[free_memory_near(4096), free_blocks_sum_to_free()]),
        Test("qemu_uefi_512M_boot_report", q, mem=512, firmware="uefi",
             expect=BOOT_OK + SVM_NPT + [r"booted by UEFI", r"ACPI RSDP"],
             checks=[free_memory_near(512), free_blocks_sum_to_free()]),
        Test("qemu_selftest_fault_dumps_page_fault", q, cmdline="selftest=fault",
             expect=[BANNER] + PF_DUMP, verdict="FAIL"),
        Test("qemu_selftest_stack_overflow_dumps_double_fault_on_ist", q, cmdline="selftest=stack",
             expect=[BANNER] + DF_DUMP, verdict="FAIL"),
        Test("qemu_selftest_ud_dumps_invalid_opcode", q, cmdline="selftest=ud",
             expect=[r"vector 6 \(#UD invalid opcode\)", r"faulting instruction at fault_invalid_opcode"],
             verdict="FAIL"),
        Test("qemu_bad_options_are_named_and_boot_goes_on", q,
             cmdline="loglevel=loud harness=qemu selftest=nosuch frobnicate=1",
             expect=BOOT_OK + [r"error: loglevel: bad value 'loud'",
                               r"warning: unknown option 'frobnicate' ignored",
                               r"error: selftest: unknown test 'nosuch'"]),
        # Each module is a VM: one good guest, one file that is no kernel at all.
        Test("qemu_modules_are_listed_withheld_and_a_bad_one_is_refused", q,
             modules=[("build/guests/memtest.elf", "vm=first mem=8M"),
                      ("scripts/deps.sh", 'vm=second mem=4M cmdline="console=ttyS0 quiet"')],
             expect=[BANNER, r'boot:   module 0 at 0x[0-9a-f]+-0x[0-9a-f]+ "vm=first mem=8M"',
                     r'boot:   module 1 at .* "vm=second mem=4M "cmdline=console=ttyS0 quiet""',
                     r"boot: \d+ memory map entries, 2 modules",
                     r"mem: reserved .* modules [1-9]\d* KiB",
                     r"error: vm 1 \(second\): load: no Multiboot",
                     r"error: vm second: not started",
                     r"\[first\] memtest: result PASS", r"vm first: exited with status 0",
                     r"hv: all VMs stopped; 1 of 2 ended in failure or were not started"],
             verdict="FAIL"),
        Test("qemu_loglevel_debug_prints_memory_map", q, cmdline="loglevel=debug",
             expect=BOOT_OK + [r"boot:   mmap 0000000000000000-"]),
        Test("qemu_loglevel_error_hides_info", q, cmdline="loglevel=error",
             expect=[BANNER, r"hv: boot complete"], reject=[r"boot: loader"]),
    ]


def bochs_tests():
    b = "bochs"
    return [
        Test("bochs_vmx_boot_report", b, cpu="corei7_skylake_x", mem=128,
             expect=BOOT_OK + VMX_EPT_VPID + [r"cpu: GenuineIntel", BOCHS_TSC],
             checks=[free_memory_near(128), free_blocks_sum_to_free()]),
        Test("bochs_svm_ryzen_boot_report", b, cpu="ryzen", mem=128,
             expect=BOOT_OK + SVM_NPT + [r"cpu:\s+next-RIP save \(NRIPS\)\s+yes",
                                         r"cpu:\s+flush by ASID\s+yes", BOCHS_TSC],
             checks=[free_memory_near(128)]),
        Test("bochs_selftest_fault_dumps_page_fault", b, cpu="corei7_skylake_x",
             cmdline="selftest=fault", expect=[BANNER] + PF_DUMP, verdict="FAIL"),
    ]


# The test guests (guests/) booted natively by GRUB: the baseline their runs
# under the hypervisor are compared with.
MEMTEST = "build/guests/memtest.elf"
MEMTEST_MB1 = "build/guests/memtest-mb1.elf"
MEMTEST_VERDICT = ("memtest: result PASS", "memtest: result FAIL")
MEMTEST_BANNER = r"^memtest: x86-64 memory test guest$"
MEMTEST_OK = [MEMTEST_BANNER, r"^memtest: long mode, 4-level paging, 64 MiB identity-mapped$",
              r"^memtest: checked all available RAM above 1 MiB, 0 errors$", r"^memtest: env: native$"]


def memtest_output(harness, loader="Multiboot2", mib=64):
    """What memtest prints, env lines aside, for mib MiB: the same natively and in a VM.
    harness None: a VM with no command line."""
    cmdline = "harness=%s" % harness if harness else ""
    return ["memtest: x86-64 memory test guest",
            'memtest: booted by %s, command line "%s"' % (loader, cmdline),
            "memtest: long mode, 4-level paging, %d MiB identity-mapped" % mib,
            "memtest: SSE registers intact across 200 port reads",
            "memtest: FS/GS/KERNEL_GS base and SYSCALL MSRs intact across port reads and SWAPGS",
            "memtest: checked all available RAM above 1 MiB, 0 errors",
            "memtest: result PASS"]


def prints_exactly(guest, lines, vm=None):
    """The guest's lines, env lines aside, are exactly these (prefixed with [vm] in a VM)."""
    prefix = "[%s] " % vm if vm else ""
    def check(log):
        got = [l[len(prefix):] for l in log.splitlines()
               if l.startswith(prefix + guest + ": ") and not l.startswith(prefix + guest + ": env:")]
        if got == lines:
            return None
        if len(lines) <= 20:
            return "%s printed %r, want %r" % (guest, got, lines)
        # A long list: name the lines that differ (the first few of each kind).
        missing = [l for l in lines if l not in got]
        unexpected = [l for l in got if l not in lines]
        return "%s printed %d lines, want %d; missing %r; unexpected %r%s" % (
            guest, len(got), len(lines), missing[:5], unexpected[:5],
            "" if missing or unexpected else " (the same lines in another order)")
    return check


def memtest_prints_exactly(lines, vm=None):
    return prints_exactly("memtest", lines, vm)


def memtest_checked_near(mem_mib, low_pct=95.0):
    """The memory test covered nearly all of the machine's RAM."""
    def check(log):
        m = re.search(r"^memtest: env: checked (\d+) KiB", log, re.M)
        if not m:
            return "no 'memtest: env: checked' line"
        pct = 100.0 * int(m.group(1)) / (mem_mib * 1024)
        if not low_pct <= pct <= 100.0:
            return "checked %s KiB is %.1f%% of %d MiB (want %.0f-100%%)" % (
                m.group(1), pct, mem_mib, low_pct)
        return None
    return check


def native_guest_tests():
    """memtest booted by GRUB with no hypervisor: Multiboot2 and v1 in QEMU, Multiboot2 in Bochs."""
    def memtest(name, emulator, **kw):
        kw.setdefault("elf", MEMTEST)
        return Test(name, emulator, mem=64, verdict_lines=MEMTEST_VERDICT, **kw)
    return [
        memtest("native_qemu_memtest_multiboot2_checks_all_ram", "qemu", cpu="max",
                expect=MEMTEST_OK + [r'^memtest: booted by Multiboot2, command line "harness=qemu"$'],
                checks=[memtest_checked_near(64), memtest_prints_exactly(memtest_output("qemu"))]),
        memtest("native_qemu_memtest_multiboot1_checks_all_ram", "qemu", cpu="max",
                elf=MEMTEST_MB1, loader="multiboot",
                expect=MEMTEST_OK + [r'^memtest: booted by Multiboot, command line "harness=qemu"$'],
                checks=[memtest_checked_near(64)]),
        memtest("native_bochs_memtest_multiboot2_checks_all_ram", "bochs", cpu="corei7_skylake_x",
                expect=MEMTEST_OK + [r'^memtest: booted by Multiboot2, command line "harness=bochs"$',
                                     r"^memtest: env: cpu GenuineIntel$"],
                checks=[memtest_checked_near(64), memtest_prints_exactly(memtest_output("bochs"))]),
        # -no-reboot turns the triple fault's reset into QEMU's exit.
        memtest("native_qemu_memtest_crash_triple_resets_the_machine", "qemu", cpu="max",
                cmdline="crash=triple", verdict="RESET",
                expect=[MEMTEST_BANNER, r"^memtest: crash=triple: empty IDT, then int3$"],
                reject=[r"^memtest: long mode"]),
        memtest("native_qemu_memtest_crash_pf_is_handled_by_the_guest", "qemu", cpu="max",
                cmdline="crash=pf", verdict="FAIL",
                expect=[MEMTEST_BANNER, r"^memtest: page fault at 0x4000000, error code 0x2$"],
                reject=[r"^memtest: checked"]),
    ]


def free_memory_restored():
    """Every machine page the VMs held went back to the allocator."""
    def check(log):
        m = re.search(r"^hv: free memory (\d+) KiB before the VMs were built, (\d+) KiB after they stopped",
                      log, re.M)
        if not m:
            return "no 'hv: free memory' line"
        if m.group(1) != m.group(2):
            return "free memory %s KiB before the VMs, %s KiB after" % m.groups()
        return None
    return check


def vm_stat(log, vm, desc):
    m = re.search(r"^vm %s:   %s\s+(\d+)$" % (re.escape(vm), re.escape(desc)), log, re.M)
    return int(m.group(1)) if m else 0


def whole_tlb_flushes(vm, at_most=None, equal_to_exits=False):
    """Whole-TLB flushes: rare with tagging, one per entry without it."""
    def check(log):
        flushes = vm_stat(log, vm, "TLB flushes: whole TLB")
        exits = vm_stat(log, vm, "VM exits")
        if exits == 0:
            return "vm %s: no 'VM exits' statistic" % vm
        if equal_to_exits and flushes != exits:
            return "vm %s: %d whole-TLB flushes for %d entries, want one per entry" % (vm, flushes, exits)
        if at_most is not None and flushes > at_most:
            return "vm %s: %d whole-TLB flushes, want at most %d" % (vm, flushes, at_most)
        return None
    return check


# The hypervisor running memtest VMs on each vendor: the memtest lines must be the
# ones the same binary prints natively (memtest_output), on the same emulator.
PLATFORMS = [
    # (name prefix, emulator, CPU model, second-level format, whole-TLB flushes with
    # tagging, whether a guest's triple fault reaches the hypervisor)
    ("qemu_svm", "qemu", None, "NPT", 1, True),
    ("bochs_vmx", "bochs", "corei7_skylake_x", "EPT", 0, True),
    # Bochs 2.7's SVM resets the whole machine on a guest triple fault instead of
    # taking the SHUTDOWN intercept (later Bochs versions take it).
    ("bochs_svm", "bochs", "ryzen", "NPT", 0, False),
]


def vm_tests(emulator):
    tests = []
    for prefix, emu, cpu, fmt, tagged_flushes, triple_fault_exits in PLATFORMS:
        if emu != emulator:
            continue
        mem = 256
        tests.append(Test(
            prefix + "_vm_memtest_prints_what_it_prints_natively_with_2m_leaves_beside_another_vm", emu, cpu=cpu, mem=mem,
            # A second VM runs alongside, exit by exit, so each sees the other's SSE state if leaked.
            modules=[(MEMTEST, 'vm=alpha mem=64M cmdline="harness=%s"' % emu),
                     (MEMTEST, "vm=delta mem=16M")],
            expect=[r"^vm alpha: Multiboot2 kernel at 0x100000-", r"^hv: 2 of 2 VMs started$",
                    r"^\[delta\] memtest: SSE registers intact across 200 port reads$",
                    r"^\[delta\] memtest: result PASS$",
                    r"^\[alpha\] memtest: env: hypervisor hvmicrovisor",
                    r"^\[alpha\] memtest: env: printed by HC_PRINT$",
                    r"^\[alpha\] memtest: env: second-level 2M leaves 32$",
                    r"^vm alpha: exited with status 0$",
                    r"^vm alpha:   %s leaves: 0 x 4 KiB, 32 x 2 MiB, 0 x 1 GiB in \d+ tables$" % fmt,
                    r"^vm alpha: all machine pages returned$"],
            checks=[memtest_prints_exactly(memtest_output(emu), vm="alpha"), free_memory_restored(),
                    whole_tlb_flushes("alpha", at_most=tagged_flushes)]))
        # The shadow MMU beside the nested one: audited, and not (and untagged: its TLB is
        # flushed at every entry); each sees only its own RAM.
        shadow_expect = [r"^hv: 3 of 3 VMs started$"]
        for vm in ("shadowed", "audited", "nested"):
            shadow_expect += [r"^\[%s\] memtest: result PASS$" % vm, r"^vm %s: exited with status 0$" % vm,
                              r"^vm %s: all machine pages returned$" % vm]
        shadow_expect += [r"^vm shadowed: Multiboot2 kernel at 0x100000-.*, shadow paging$",
                          r"^vm shadowed:   shadow tables: \d+ pages in use, \d+ at peak, limit 256 "
                          r"\(shadow_pages=\)$",
                          r"^vm audited:   shadow tables: .*; audited$",
                          r"^vm nested:   %s leaves: 0 x 4 KiB, 16 x 2 MiB" % fmt]
        tests.append(Test(
            prefix + "_vm_memtest_mmu_shadow_beside_mmu_nested_prints_what_it_prints_natively", emu,
            cpu=cpu, mem=mem,
            modules=[(MEMTEST, 'vm=shadowed mem=64M mmu=shadow tlbtag=off cmdline="harness=%s"' % emu),
                     (MEMTEST, 'vm=audited mem=32M mmu=shadow mmu_audit=on shadow_pages=64 '
                               'cmdline="harness=%s"' % emu),
                     (MEMTEST, 'vm=nested mem=32M cmdline="harness=%s"' % emu)],
            expect=shadow_expect,
            checks=[memtest_prints_exactly(memtest_output(emu), vm="shadowed"),
                    memtest_prints_exactly(memtest_output(emu, mib=32), vm="audited"),
                    memtest_prints_exactly(memtest_output(emu, mib=32), vm="nested"),
                    free_memory_restored(), whole_tlb_flushes("shadowed", equal_to_exits=True)]))
        # The audit catches a wrong shadow entry in a running VM, and stops only that VM.
        tests.append(Test(
            prefix + "_vm_shadow_audit_stops_a_vm_whose_shadow_entry_was_corrupted", emu, cpu=cpu,
            mem=mem, cmdline="selftest=shadowaudit",
            modules=[(PAGESTRESS, 'vm=audited mem=32M mmu=shadow mmu_audit=on cmdline="harness=%s"' % emu),
                     (MEMTEST, "vm=neighbour mem=16M")],
            expect=[r"^selftest: shadowaudit: flipped PWT in a shadow leaf of vm audited$",
                    r"^vm audited: guest state:$",
                    r"^error: vm audited: stopped: shadow audit failed: .*PAT/PCD/PWT differ|"
                    r"^error: vm audited: stopped: shadow audit failed: page 0x[0-9a-f]+ .*want",
                    r"^vm audited: all machine pages returned$",
                    r"^\[neighbour\] memtest: result PASS$", r"^vm neighbour: exited with status 0$",
                    r"^hv: all VMs stopped; 1 of 2 ended in failure or were not started$"],
            reject=[r"^\[audited\] pagestress: result"],
            checks=[free_memory_restored()], verdict="FAIL"))
        tests.append(Test(
            prefix + "_vm_large_off_maps_4k_leaves_and_tlbtag_off_flushes_at_every_entry", emu, cpu=cpu,
            mem=mem,
            modules=[(MEMTEST_MB1, 'vm=beta mem=64M large=off tlbtag=off cmdline="harness=%s"' % emu)],
            expect=[r"^vm beta: Multiboot kernel at 0x100000-.*\(large=off\)$",
                    r"^\[beta\] memtest: env: second-level 4K leaves 16384$",
                    r"^vm beta:   %s leaves: 16384 x 4 KiB, 0 x 2 MiB, 0 x 1 GiB" % fmt,
                    r"^vm beta: exited with status 0$", r"^vm beta: all machine pages returned$"],
            checks=[memtest_prints_exactly(memtest_output(emu, "Multiboot"), vm="beta"),
                    free_memory_restored(), whole_tlb_flushes("beta", equal_to_exits=True)]))
        # Bad guests beside a good one: each bad one is stopped or refused, the good one completes.
        modules = [(MEMTEST, "vm=survivor mem=32M"), (MEMTEST, "vm=refused mmu=shadow shadow_pages=8"),
                   (MEMTEST, "vm=prober mem=8M cmdline=crash=mmio")]
        expect = [r"^error: vm 1 \(refused\): shadow_pages: bad value '8' \(16 to 16384 pages\)$",
                  r"^error: vm 1 \(refused\): not started$",
                  r"^\[prober\] memtest: crash=mmio: writing to 0xfed00000$",
                  r"^error: vm prober: stopped: write of guest-physical 0xfed00000, where there is "
                  r"neither RAM nor a device \(exit nested page fault",
                  r"^vm prober: guest state:$", r"^  RIP\s+[0-9a-f]{16}  RFLAGS",
                  r"^vm prober: all machine pages returned$",
                  r"^\[survivor\] memtest: result PASS$", r"^vm survivor: exited with status 0$",
                  r"^vm survivor: all machine pages returned$"]
        if triple_fault_exits:
            modules.append((MEMTEST, "vm=crasher mem=16M cmdline=crash=triple"))
            expect += [r"^\[crasher\] memtest: crash=triple: empty IDT, then int3$",
                       r"^vm crasher: guest state:$",
                       r"^error: vm crasher: stopped: triple fault \(exit triple fault",
                       r"^vm crasher: all machine pages returned$"]
        started = len(modules) - 1
        expect += [r"^hv: %d of %d VMs started$" % (started, len(modules)),
                   r"^hv: all VMs stopped; %d of %d ended in failure or were not started$" % (
                       len(modules) - 1, len(modules))]
        tests.append(Test(
            prefix + "_vm_entry_refused_for_invalid_state_stops_only_that_vm", emu, cpu=cpu, mem=mem,
            cmdline="selftest=badentry",
            modules=[(MEMTEST, "vm=victim mem=8M"), (MEMTEST, "vm=other mem=8M")],
            expect=[r"^selftest: badentry: setting reserved bit 32 of vm victim's DR7",
                    r"^vm victim: guest state:$", r"^  RIP\s+[0-9a-f]{16}",
                    r"^error: vm victim: stopped: VM entry refused: invalid guest state \(exit invalid "
                    r"guest state, raw 0x(80000021|f+),",
                    r"^vm victim: all machine pages returned$", r"^\[other\] memtest: result PASS$"],
            checks=[free_memory_restored()], verdict="FAIL"))
        tests.append(Test(
            prefix + "_vm_faulting_and_misconfigured_vms_are_stopped_while_another_completes", emu,
            cpu=cpu, mem=mem, modules=modules, expect=expect, checks=[free_memory_restored()],
            verdict="FAIL"))
    return tests


# The hostile-guest suite (guests/hostile/): attacks whose every check follows the
# manuals for the CPU the guest is shown, so it passes natively and must pass in a VM.
HOSTILE = "build/guests/hostile.elf"
HOSTILE_VERDICT = ("hostile: result PASS", "hostile: result FAIL")


# What QEMU's TCG itself does not do, in a VM as natively (where the guest reports
# these checks as skipped): no hypervisor can make up for it.  And one thing its SVM
# does not do: VMRUN loads DR7 from the VMCB without arming TCG's breakpoints
# (target/i386/tcg/sysemu/svm_helper.c), so a guest's hardware breakpoints never fire
# under QEMU.  (A guest MOV DR7 that TCG runs itself would arm them, but corrupts
# TCG's breakpoint lists once two guests use them: QEMU crashes; so the hypervisor
# intercepts MOV DR on SVM.  Bochs' SVM fires them: the same test passes there.)
QEMU_TCG_FAILS = [r"hostile: exceptions: INT1 \(ICEBP\) raises #DB: FAIL #UD want #DB",
                  r"hostile: exceptions: an unmasked SSE divide by zero raises #XM: FAIL none want #XM",
                  r"hostile: debug: a data breakpoint \(DR0, write\) raises #DB: FAIL none want #DB",
                  r"hostile: debug: an instruction breakpoint \(DR1\) raises #DB: FAIL none want #DB"]


# The hostile guest's attacks (guests/hostile/options.c).
HOSTILE_ATTACKS = ["task", "mwait", "state", "svm", "vmx", "msr", "invd", "stringio", "exceptions",
                   "smc", "debug", "cpuid", "cr"]
# QEMU 7.2's SVM makes a guest's hardware task switch itself, intercept or not: under the
# shadow MMU the CPU then runs on the guest's CR3, and the hypervisor stops the VM at its
# next exit.  (Bochs and AMD's CPUs take the intercept; the switch is emulated there.)
QEMU_SHADOW_TASK = r"the CPU loaded CR3 itself \(a task switch it did not intercept\)"


def hostile_failures(vm=None, allowed=()):
    """No check of the hostile guest failed but those allowed (the others are listed)."""
    prefix = r"\[%s\] " % re.escape(vm) if vm else ""
    def check(log):
        fails = [f for f in re.findall(r"^%s(hostile: .*: FAIL.*)$" % prefix, log, re.M)
                 if not any(re.fullmatch(rx, f) for rx in allowed)]
        if fails:
            return "%d hostile checks failed%s: %s" % (len(fails), " in vm " + vm if vm else "",
                                                      "; ".join(fails))
        return None
    return check


def hostile_tests(emulator):
    tests = []
    # Natively: the guest's own checks against the emulators' CPUs.
    if emulator == "qemu":
        tests.append(Test("native_qemu_hostile_attack_all_passes", "qemu", cpu="max", mem=64,
                          elf=HOSTILE, cmdline="attack=all", verdict_lines=HOSTILE_VERDICT,
                          expect=[r"^hostile: env: native$"], checks=[hostile_failures()]))
    if emulator == "bochs":
        for cpu, vendor in (("corei7_skylake_x", "GenuineIntel"), ("ryzen", "AuthenticAMD")):
            tests.append(Test("native_bochs_%s_hostile_attack_all_passes" % cpu, "bochs", cpu=cpu,
                              mem=64, elf=HOSTILE, cmdline="attack=all",
                              verdict_lines=HOSTILE_VERDICT,
                              expect=[r"^hostile: env: native$", r"^hostile: env: cpu %s$" % vendor],
                              checks=[hostile_failures()]))
    for prefix, emu, cpu, _fmt, _flushes, _triple in PLATFORMS:
        if emu != emulator:
            continue
        # Two hostile VMs with different seeds side by side, and a memtest that must not
        # notice them.  Both run every attack: with the same command line but the seed
        # they reach each attack at the same exit, so a value not switched between VMs
        # (attack state) shows up.  The second runs under the shadow MMU, which must show
        # it exactly what the nested one shows the first.  On QEMU each fails exactly the
        # checks TCG cannot pass, and, as QEMU's SVM does not take the task-switch
        # intercept, the shadow VM skips the task attack: a VM of its own makes one task
        # switch and must be stopped (QEMU_SHADOW_TASK).
        allowed = QEMU_TCG_FAILS if emu == "qemu" else []
        attacks = "all" if emu != "qemu" else ",".join(a for a in HOSTILE_ATTACKS if a != "task")
        modules = [(HOSTILE, 'vm=hostile1 mem=16M cmdline="attack=all seed=1"'),
                   (HOSTILE, 'vm=hostile2 mem=16M mmu=shadow cmdline="attack=%s seed=2"' % attacks),
                   (MEMTEST, "vm=neighbour mem=16M")]
        stopped = 2 if allowed else 0
        expect = [r"^\[hostile1\] hostile: env: hypervisor hvmicrovisor",
                  r"^vm neighbour: exited with status 0$",
                  r"^vm neighbour: all machine pages returned$"]
        if emu == "qemu":
            modules.append((HOSTILE, 'vm=tasker mem=16M mmu=shadow cmdline="attack=task"'))
            stopped += 1
            expect += [r"^error: vm tasker: stopped: %s" % QEMU_SHADOW_TASK, r"^vm tasker: guest state:$",
                       r"^vm tasker: all machine pages returned$"]
        expect += [r"^hv: %d of %d VMs started$" % (len(modules), len(modules)),
                   r"^hv: all VMs stopped; %d of %d ended in failure or were not started$" % (
                       stopped, len(modules))]
        checks = [memtest_prints_exactly(memtest_output(None, mib=16), vm="neighbour"),
                  free_memory_restored()]
        for vm in ("hostile1", "hostile2"):
            if allowed:
                expect += [r"^\[%s\] hostile: result FAIL$" % vm, r"^vm %s: exited with status 1$" % vm]
                expect += [r"^\[%s\] %s$" % (vm, rx) for rx in allowed]
            else:
                expect += [r"^\[%s\] hostile: result PASS$" % vm, r"^vm %s: exited with status 0$" % vm]
            expect.append(r"^vm %s: all machine pages returned$" % vm)
            checks.append(hostile_failures(vm, allowed))
        tests.append(Test(
            prefix + "_vm_hostile_attacks_pass_beside_a_second_hostile_vm_and_memtest", emu, cpu=cpu,
            mem=256, modules=modules, expect=expect, checks=checks,
            verdict="FAIL" if allowed else "PASS"))
        # The attacks that end a VM by design, each its own VM, under either MMU: a shadow
        # MMU must map nothing outside the VM's RAM either.
        walks = [("walk-cr3", "cr3", r"guest page-table walk.*0xf0000000"),
                 ("walk-pte", "pte", r"read of guest-physical 0xe0000000"),
                 ("walk-gdt", "gdt", r"read of guest-physical 0xd0000010")]
        walks += [(vm + "-s", w, message) for vm, w, message in walks]
        modules = [(HOSTILE, 'vm=%s mem=8M%s cmdline="walk=%s"' % (
            vm, " mmu=shadow" if vm.endswith("-s") else "", w)) for vm, w, _ in walks]
        # Real mode needs unrestricted guest on VMX, which needs EPT: refused under shadow.
        walks.append(("realmode-s", "realmode",
                      r"real mode \(CR0\.PE = 0\) is not supported under mmu=shadow; use mmu=nested$"))
        modules.append((HOSTILE, 'vm=realmode-s mem=8M mmu=shadow cmdline="walk=realmode"'))
        modules.append((MEMTEST, "vm=neighbour mem=8M"))
        expect = [r"^hv: 8 of 8 VMs started$",
                  r"^\[realmode-s\] hostile: walk=realmode: clearing CR0\.PE$",
                  r"^\[neighbour\] memtest: result PASS$", r"^vm neighbour: exited with status 0$",
                  r"^hv: all VMs stopped; 7 of 8 ended in failure or were not started$"]
        for s in ("", "-s"):
            expect += [r"^\[walk-cr3%s\] hostile: walk=cr3: loading CR3 0xf0000000$" % s,
                       r"^\[walk-pte%s\] hostile: walk=pte: reading linear 0x8000008000, mapped to "
                       r"0xe0000000$" % s,
                       r"^\[walk-gdt%s\] hostile: walk=gdt: LGDT base 0xd0000000, then reloading DS$" % s]
        for vm, _w, message in walks:
            expect += [r"^error: vm %s: stopped: .*%s" % (vm, message),
                       r"^vm %s: guest state:$" % vm,
                       r"^vm %s: all machine pages returned$" % vm]
        tests.append(Test(
            prefix + "_vm_hostile_walks_outside_ram_stop_only_those_vms", emu, cpu=cpu, mem=256,
            modules=modules, expect=expect, reject=[r"hostile: walk=\w+: survived"],
            checks=[free_memory_restored()], verdict="FAIL"))
    return tests


# The paging-stress guest (guests/pagestress/): 32-bit, PAE and 4-level paging, address
# spaces switched by CR3, PTE edits, page tables reused, address spaces churned; every
# result checked by the guest against what the SDM guarantees.  Its lines, phase by
# phase ("pagestress: <phase>: <check>: ok"), are the same natively and in any VM on
# the same emulated CPU; the PCID checks run where CPUID shows PCID, one skipped line
# stands for them elsewhere.
PAGESTRESS = "build/guests/pagestress.elf"
PAGESTRESS_VERDICT = ("pagestress: result PASS", "pagestress: result FAIL")
PAGESTRESS_CHECKS = [
    ("paging32", [
        "a 4 KiB page reads its frame",
        "a write through a 4 KiB page reaches its frame",
        "a 4 MiB page reads its frame",
        "a write through a 4 MiB page reaches its frame",
        "a read sets A in the PDE and the PTE, D in neither",
        "a write then sets D in the PTE only",
        "a read of a 4 MiB page sets A in its PDE, not D",
        "a write to a 4 MiB page sets D in its PDE",
        "a read of a not-present page raises #PF(0)",
        "a write to a not-present page raises #PF(W)",
        "a read where the PDE is not present raises #PF(0)",
        "with CR0.WP clear a supervisor write to a read-only page works",
        "with CR0.WP set it raises #PF(P|W)",
        "R/W clear in the PDE only: a supervisor write raises #PF(P|W)",
        "a read of a read-only page works",
        "bit 21 of a 4 MiB PDE is reserved: a read raises #PF(P|RSVD)",
        "and a write raises #PF(P|W|RSVD)",
        "CPL 3 reads a user page",
        "CPL 3 writes a user page",
        "CPL 3 read of a supervisor page raises #PF(P|U)",
        "U/S clear in the PDE only: a CPL 3 read raises #PF(P|U)",
        "CPL 3 read of a not-present page raises #PF(U)",
        "CPL 3 write to a read-only user page raises #PF(P|W|U)",
        "with CR0.WP clear too",
        "with CR0.WP clear a supervisor write to a read-only user page works",
        "with CR0.WP set it raises #PF(P|W)",
        "a PTE pointed at another frame, then INVLPG: the read sees the new frame",
        "a PTE pointed at another frame, then MOV CR3: the read sees the new frame",
    ]),
    ("pae", [
        "a 4 KiB page reads its frame",
        "a write through a 4 KiB page reaches its frame",
        "a 2 MiB page reads its frame",
        "a write through a 2 MiB page reaches its frame",
        "a read sets A in the PDE and the PTE, D in neither",
        "a write then sets D in the PTE only",
        "a read of a 2 MiB page sets A in its PDE, not D",
        "a write to a 2 MiB page sets D in its PDE",
        "a read of a not-present page raises #PF(0)",
        "a write to a not-present page raises #PF(W)",
        "a read where the PDE is not present raises #PF(0)",
        "a read where the PDPTE is not present raises #PF(0)",
        "with CR0.WP set a supervisor write to a read-only page raises #PF(P|W)",
        "with CR0.WP clear it works",
        "CPL 3 reads a user page",
        "CPL 3 read of a supervisor page raises #PF(P|U)",
        "with EFER.NXE a fetch from a page without XD runs",
        "XD in the PTE: a fetch raises #PF(P|I/D)",
        "XD in the PDE only: a fetch raises #PF(P|I/D)",
        "XD in a 2 MiB PDE: a fetch raises #PF(P|I/D)",
        "a read of an XD page works",
        "a fetch from a not-present page raises #PF(I/D)",
        "with EFER.NXE clear, XD in a PTE is reserved: a read raises #PF(P|RSVD)",
        "and XD in a PDE: a read raises #PF(P|RSVD)",
        "bit 13 of a 2 MiB PDE is reserved: a read raises #PF(P|RSVD)",
        "and a write raises #PF(P|W|RSVD)",
        "a PTE bit above MAXPHYADDR is reserved: a read raises #PF(P|RSVD)",
        "PDPTE 2 maps its page directory",
        "a PDPTE changed in memory is used after the next CR3 write",
        "CR3 at a PDPT 32 bytes into its page: its PDPTEs are used",
        "and CR3 back at the first PDPT: its PDPTEs again",
    ]),
    ("long", [
        "a 4 KiB page reads its frame",
        "a write through a 4 KiB page reaches its frame",
        "a 2 MiB page reads its frame",
        "a write through a 2 MiB page reaches its frame",
        "a 1 GiB page reads its frame",
        "a write through a 1 GiB page reaches its frame",
        "a read sets A in the PML4E, PDPTE, PDE and PTE, D in none",
        "a write then sets D in the PTE only",
        "a read of a 2 MiB page sets A in the PML4E, PDPTE and PDE, D in none",
        "a write then sets D in the PDE only",
        "a read of a 1 GiB page sets A in the PML4E and PDPTE, D in neither",
        "a write then sets D in the PDPTE only",
        "not present in the PTE: a read raises #PF(0)",
        "not present in the PDE: a read raises #PF(0)",
        "not present in the PDPTE: a read raises #PF(0)",
        "not present in the PML4E: a read raises #PF(0)",
        "a write to a not-present page raises #PF(W)",
        "a fetch from a page without XD runs",
        "XD in the PTE: a fetch raises #PF(P|I/D)",
        "XD in the PDE: a fetch raises #PF(P|I/D)",
        "XD in the PDPTE: a fetch raises #PF(P|I/D)",
        "XD in the PML4E: a fetch raises #PF(P|I/D)",
        "XD in a 2 MiB PDE: a fetch raises #PF(P|I/D)",
        "XD in a 1 GiB PDPTE: a fetch raises #PF(P|I/D)",
        "a read of an XD page works",
        "a fetch from a not-present page raises #PF(I/D)",
        "a bit above MAXPHYADDR in the PTE is reserved: a read raises #PF(P|RSVD)",
        "a bit above MAXPHYADDR in the PDE is reserved: a read raises #PF(P|RSVD)",
        "a bit above MAXPHYADDR in the PDPTE is reserved: a read raises #PF(P|RSVD)",
        "a bit above MAXPHYADDR in the PML4E is reserved: a read raises #PF(P|RSVD)",
        "and a write raises #PF(P|W|RSVD)",
        "and a fetch raises #PF(P|RSVD|I/D)",
        "PS in a PML4E is reserved: a read raises #PF(P|RSVD)",
        "bit 13 of a 2 MiB PDE is reserved: a read raises #PF(P|RSVD)",
        "bit 13 of a 1 GiB PDPTE is reserved: a read raises #PF(P|RSVD)",
        "with EFER.NXE clear, XD is reserved: a read raises #PF(P|RSVD)",
        "with CR0.WP clear a supervisor write to a read-only page works",
        "with CR0.WP set it raises #PF(P|W)",
        "a read of a read-only page works",
        "R/W clear in the PDE only: a write raises #PF(P|W)",
        "R/W clear in the PDPTE only: a write raises #PF(P|W)",
        "R/W clear in the PML4E only: a write raises #PF(P|W)",
        "CPL 3 reads a user page",
        "CPL 3 writes a user page",
        "a supervisor read of a user page works",
        "CPL 3 read of a supervisor page raises #PF(P|U)",
        "U/S clear in the PDE only: a CPL 3 read raises #PF(P|U)",
        "U/S clear in the PDPTE only: a CPL 3 read raises #PF(P|U)",
        "U/S clear in the PML4E only: a CPL 3 read raises #PF(P|U)",
        "CPL 3 read of a not-present page raises #PF(U)",
        "a bit above MAXPHYADDR in the PTE: a CPL 3 read raises #PF(P|U|RSVD)",
        "CPL 3 write to a read-only user page raises #PF(P|W|U)",
        "with CR0.WP clear too",
        "with CR0.WP clear a supervisor write to a read-only user page works",
        "with CR0.WP set it raises #PF(P|W)",
        "CPL 3 fetch from a user page runs",
        "CPL 3 fetch from a supervisor page raises #PF(P|U|I/D)",
        "CPL 3 fetch from an XD user page raises #PF(P|U|I/D)",
        "with CR4.SMEP a supervisor fetch from a user page raises #PF(P|I/D)",
        "with CR4.SMEP a fetch from a page with U/S clear only in its PDE runs",
        "with CR4.SMEP a supervisor read of a user page works",
        "with CR4.SMEP clear again the fetch from the user page runs",
        "with CR4.SMAP a supervisor read of a user page raises #PF(P)",
        "and a supervisor write raises #PF(P|W)",
        "with EFLAGS.AC set (STAC) the read works",
        "and the write",
        "after CLAC the read raises #PF(P) again",
        "with CR4.SMAP a read of a page with U/S clear only in its PDE works",
        "with CR4.SMAP clear again the read of the user page works",
    ]),
    ("spaces", [
        "2048 CR3 switches among 16 address spaces: every read sees its own space's frames",
        "a PTE edited while its space is not running is seen after the CR3 switch to it",
        "a global page mapped alike in every space reads its frame across CR3 switches",
        "its PTEs changed: after CR3 switches it reads the old frame or the new one",
        "after INVLPG it reads the new frame in every space",
        "changed back: after CR3 switches it reads either frame",
        "after CR4.PGE is cleared and set it reads the new frame in every space",
    ]),
    ("edits", [
        "256 PTE edits to 8 frames, each followed by INVLPG: every read sees the new frame",
        "unmapped, then INVLPG: a read raises #PF(0)",
        "mapped again without INVLPG: the read sees the frame (or raises a spurious #PF)",
        "and after INVLPG it sees the frame",
        "made read-only, then INVLPG: a write raises #PF(P|W)",
        "made writable again, then INVLPG: the write works",
        "pointed at another frame without INVLPG, then MOV CR3: the read sees it",
        "its PDE pointed at another page table, then INVLPG: the read sees that table's frame",
        "its PTE written through another mapping of the table, then INVLPG: the read sees the new frame",
        "two PTEs mapping one frame: a write through one is read through the other",
        "4 KiB pages replaced by a 2 MiB page, then MOV CR3: reads see the large page",
        "and back to the page table, then MOV CR3: its unmapped pages raise #PF(0) again",
        "and its mapped page reads its frame",
    ]),
    ("reuse", [
        "a frame used as a page table: its 8 pages read their frames",
        "unlinked, then INVLPG: its 8 pages raise #PF(0)",
        "reused as data: 512 words written through a new mapping read back there and in the identity map",
        "and the old table's pages still raise #PF(0)",
        "reused as a page directory: a page table and a 2 MiB page through it read their frames",
        "unlinked, then MOV CR3: its region raises #PF(0)",
        "reused as a PDPT: a page directory and a 1 GiB page through it read their frames",
        "unlinked, then MOV CR3: its slot raises #PF(0)",
        "reused as a PML4: CR3 loaded with it, its translations read their frames",
        "back on the old PML4: that slot raises #PF(0)",
        "and as data again: written and read back",
    ]),
    ("churn", [
        "200 address spaces built, used and torn down: every read saw its frame, every write landed",
        "and in each the page after its pages raised #PF(0): spaces that did not",
        "every frame went back to the pool: frames missing",
    ]),
]
PAGESTRESS_PCID_CHECKS = [
    "with CR4.PCIDE, CR3 loaded with bit 63 set reads back without it, the PCID in bits 11:0",
    "1024 switches among 16 PCIDs with bit 63 set: every read sees its own space's frames",
    "a PTE edited under another PCID: a switch with bit 63 set reads the old frame or the new one",
    "and the switch to it without bit 63 reads the new frame",
    "a switch to another PCID and back, both without bit 63, shows each space's frames",
    "after INVPCID (individual address) of its PCID a switch with bit 63 set reads the new frame",
    "after INVPCID (single context) likewise",
    "after INVPCID (all contexts, globals included) likewise",
    "after INVPCID (all contexts but globals) likewise",
]
PAGESTRESS_PCID_AFTER = "after CR4.PGE is cleared and set it reads the new frame in every space"
# The CPU models that show PCID, natively and to a VM.
PCID_CPUS = ("corei7_skylake_x",)
# The MMUs a VM runs the guest under on every platform (shadow_audited: mmu=shadow with
# mmu_audit=on), and the platform whose run has only 4 KiB second-level leaves.
PAGESTRESS_MMUS = ["nested", "shadow", "shadow_audited"]
PAGESTRESS_LARGE_OFF = "bochs_vmx"
# shadow_pages= of the audited run: its peak is about 130 pages.
PAGESTRESS_TIGHT_PAGES = 48


def pagestress_output(harness, cpu):
    """Every line pagestress prints but its env lines, with harness=<harness> on its command line."""
    lines = ["pagestress: x86 paging stress guest",
             'pagestress: booted by Multiboot2, command line "harness=%s"' % harness]
    for phase, checks in PAGESTRESS_CHECKS:
        for check in checks:
            lines.append("pagestress: %s: %s: ok" % (phase, check))
            if check == PAGESTRESS_PCID_AFTER:
                if cpu in PCID_CPUS:
                    lines += ["pagestress: spaces: %s: ok" % c for c in PAGESTRESS_PCID_CHECKS]
                else:
                    lines.append("pagestress: spaces: PCIDs: skipped (PCID not shown)")
    return lines + ["pagestress: result PASS"]


def pagestress_tests(emulator):
    """pagestress natively, where it validates its checks against the emulated CPU, and as
    a VM under each MMU on each platform: exactly the native lines, status 0, every page back."""
    tests = []
    for emu, cpu in (("qemu", "max"), ("bochs", "corei7_skylake_x"), ("bochs", "ryzen")):
        if emu == emulator:
            tests.append(Test(
                "native_%s_pagestress_passes_every_check" % (emu if emu == "qemu" else emu + "_" + cpu),
                emu, cpu=cpu, mem=64, elf=PAGESTRESS, verdict_lines=PAGESTRESS_VERDICT,
                expect=[r"^pagestress: env: native$"],
                checks=[prints_exactly("pagestress", pagestress_output(emu, cpu))]))
    for prefix, emu, cpu, fmt, _flushes, _triple in PLATFORMS:
        if emu != emulator:
            continue
        large_off = prefix == PAGESTRESS_LARGE_OFF
        leaves = "16384 x 4 KiB, 0 x 2 MiB" if large_off else "0 x 4 KiB, 32 x 2 MiB"
        for mmu in PAGESTRESS_MMUS:
            expect = [r"^hv: 1 of 1 VMs started$",
                      r"^\[stress\] pagestress: env: hypervisor hvmicrovisor",
                      r"^vm stress: exited with status 0$",
                      r"^vm stress: all machine pages returned$"]
            if mmu == "nested":
                expect.append(r"^vm stress:   %s leaves: %s, 0 x 1 GiB" % (fmt, leaves))
            else:
                # Page-table writes trapped and emulated, roots found again after CR3 loads.
                expect += [r"^vm stress:   shadow: page-table writes emulated\s+[1-9]\d*$",
                           r"^vm stress:   shadow: \.\.\. found in the cache\s+[1-9]\d*$",
                           r"^vm stress:   shadow: #PF reflected to the guest\s+[1-9]\d*$",
                           r"^vm stress:   shadow tables: \d+ pages in use, \d+ at peak, limit \d+ "
                           r"\(shadow_pages=\)%s$" % ("; audited" if mmu == "shadow_audited" else "")]
                if mmu == "shadow_audited":
                    expect.append(r"^vm stress:   shadow: table pages reclaimed\s+[1-9]\d*$")
            # Audited with few shadow pages, so tables are reclaimed all along.
            options = ("mmu=shadow mmu_audit=on shadow_pages=%d" % PAGESTRESS_TIGHT_PAGES
                       if mmu == "shadow_audited" else "mmu=" + mmu)
            tests.append(Test(
                "%s_vm_pagestress_mmu_%s%s_prints_what_it_prints_natively" % (
                    prefix, mmu, "_large_off" if large_off else ""), emu, cpu=cpu, mem=256,
                modules=[(PAGESTRESS, 'vm=stress mem=64M %s large=%s cmdline="harness=%s"' % (
                    options, "off" if large_off else "on", emu))],
                timeout=600 if mmu == "shadow_audited" and emu == "bochs" else None,
                expect=expect,
                checks=[prints_exactly("pagestress", pagestress_output(emu, cpu or "max"), vm="stress"),
                        free_memory_restored()]))
    return tests


TIMER = "build/guests/timer.elf"
TIMER_VERDICT = ("timer: result PASS", "timer: result FAIL")
TIMER_CHECKS = ["one-shot timer interrupts once, on time", "periodic timer interrupts 8 times, on time",
                "TPR 0x50 holds a self-IPI of vector 0x45 until lowered",
                "CR8 5 holds it too, and reads back as TPR 0x50"]
def timer_tests(emulator):
    tests = []
    # Natively only in Bochs: QEMU's TCG, without -icount, lets its LAPIC timer and its TSC
    # drift apart under load (periodic ticks at twice the rate were seen).
    for cpu in ([] if emulator == "qemu" else ["corei7_skylake_x", "ryzen"]):
        tests.append(Test("native_%s%s_timer_guest_ticks_on_time" % (emulator, "_" + cpu if cpu else ""),
                          emulator, cpu=cpu, elf=TIMER, verdict_lines=TIMER_VERDICT,
                          expect=[r"^timer: xAPIC: %s: PASS$" % re.escape(c) for c in TIMER_CHECKS]))
    for prefix, emu, cpu, fmt, tagged_flushes, triple_fault_exits in PLATFORMS:
        # QEMU's TCG clocks drift under load (see above): the timing is checked in Bochs.
        if emu != emulator or emu == "qemu":
            continue
        vm = lambda name: r"^\[%s\] timer: " % name
        checks = [r"%s(env: )?%s: %s: PASS$" % (vm("tick"), mode, re.escape(c))
                  for mode in ("xAPIC", "x2APIC") for c in TIMER_CHECKS]
        if cpu == "corei7_skylake_x":  # the only host here whose CPUID has TSC-deadline
            checks.append(r"%senv: x2APIC: TSC-deadline timer interrupts at its deadline: PASS$" % vm("tick"))
        tests.append(Test(
            prefix + "_vm_timer_guest_ticks_on_time_in_xapic_and_x2apic_mode_sleeping_in_hlt", emu, cpu=cpu,
            modules=[(TIMER, "vm=tick mem=16M")],
            expect=checks + [r"^vm tick: exited with status 0$", r"^vm tick:   HLT sleeps\s+[1-9]",
                             r"^vm tick:   interrupts injected\s+[1-9]", r"^vm tick: all machine pages returned$"]))
    return tests


ISO_LOCK = threading.Lock()


def build_iso(elf, cmdline, modules, loader="multiboot2"):
    """One ISO per distinct kernel, loader, command line and module list, rebuilt when an input is newer."""
    with ISO_LOCK:
        return _build_iso(elf, cmdline, modules, loader)


def _build_iso(elf, cmdline, modules, loader):
    os.makedirs(ISOS, exist_ok=True)
    args = [cmdline]
    for path, line in modules:
        args += [path, line]
    key = hashlib.sha1("\0".join([elf, loader] + args).encode()).hexdigest()[:12]
    iso = os.path.join(ISOS, key + ".iso")
    inputs = [elf] + [path for path, _ in modules]
    if not os.path.exists(iso) or any(os.path.getmtime(iso) < os.path.getmtime(i) for i in inputs):
        tmp = iso + ".tmp.iso"
        subprocess.run([os.path.join(ROOT, "scripts", "mkiso.sh"), tmp, elf] + args, check=True,
                       env=dict(os.environ, MKISO_LOADER=loader))
        os.replace(tmp, iso)
    return iso


def run_qemu(t, iso, log):
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", t.cpu or "max", "-m", str(t.mem),
           "-smp", "1", "-cdrom", iso, "-display", "none", "-monitor", "none",
           "-serial", "file:" + log, "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if t.firmware == "uefi":
        cmd += ["-bios", OVMF]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=t.timeout)
    # isa-debug-exit: status (v << 1) | 1; the hypervisor writes 0 for PASS, 1 for FAIL.
    # With -no-reboot a reset (a triple fault) ends QEMU with status 0.
    return {0: "RESET", 1: "PASS", 3: "FAIL"}.get(p.returncode, "exit status %d" % p.returncode)


def run_bochs(t, iso, log):
    rc = log[:-4] + ".bochsrc"
    cmds = log[:-4] + ".bochs-cmds"
    blog = log[:-4] + ".bochs.log"
    with open(rc, "w") as f:
        f.write(subprocess.run([os.path.join(ROOT, "scripts", "bochsrc.sh"), iso, log, blog,
                                t.cpu or "corei7_skylake_x", str(t.mem)],
                               check=True, stdout=subprocess.PIPE, text=True).stdout)
    with open(cmds, "w") as f:
        f.write("c\nq\n")
    subprocess.run(["bochs", "-q", "-f", rc, "-rc", cmds], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=t.timeout)
    return None  # Bochs' exit status says nothing; the log's verdict line decides


def run_test(t, elf):
    if t.elf:
        # A guest booted natively: the harness option goes on its own command line.
        elf = os.path.join(ROOT, t.elf)
        cmdline = ("harness=%s %s" % (t.emulator, t.cmdline)).strip()
        if not os.path.exists(elf):
            return "no %s (make guests)" % t.elf
    else:
        cmdline = ("console=com1 harness=%s %s" % (t.emulator, t.cmdline)).strip()
    log = os.path.join(LOGS, t.name + ".log")
    try:
        os.remove(log)
    except FileNotFoundError:
        pass
    start = time.time()
    try:
        iso = build_iso(elf, cmdline, [(m if os.path.isabs(m) else os.path.join(ROOT, m), line)
                                       for m, line in t.modules], t.loader)
        status = (run_qemu if t.emulator == "qemu" else run_bochs)(t, iso, log)
    except subprocess.TimeoutExpired:
        return "timed out after %d s (log: %s)" % (t.timeout, log)
    except (subprocess.CalledProcessError, OSError) as e:
        return "could not run: %s" % e
    text = open(log, errors="replace").read().replace("\r", "") if os.path.exists(log) else ""
    problems = []
    if status is not None and status != t.verdict:
        problems.append("QEMU ended with %s, want %s" % (status, t.verdict))
    if t.verdict == "RESET":
        for line in t.verdict_lines:
            if line in text:
                problems.append("unexpected '%s' line" % line)
    else:
        want = t.verdict_lines[0] if t.verdict == "PASS" else t.verdict_lines[1]
        if want not in text:
            problems.append("no '%s' line" % want)
    if "\0" in text:
        problems.append("NUL bytes on the console (a byte was lost or garbled)")
    for rx in t.expect:
        if not re.search(rx, text, re.M):
            problems.append("missing /%s/" % rx)
    for rx in t.reject:
        if re.search(rx, text, re.M):
            problems.append("unexpected /%s/" % rx)
    for check in t.checks:
        err = check(text)
        if err:
            problems.append(err)
    if problems:
        return "; ".join(problems) + " (log: %s)" % os.path.relpath(log, ROOT)
    return None, time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--emulator", choices=["qemu", "bochs", "all"], default="all")
    ap.add_argument("--elf", default=os.path.join(BUILD, "hv.elf"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="run only tests whose name contains this (or matches it as a regular expression)")
    args = ap.parse_args()
    os.makedirs(LOGS, exist_ok=True)
    tests = []
    if args.emulator in ("qemu", "all"):
        tests += qemu_tests()
    if args.emulator in ("bochs", "all"):
        tests += bochs_tests()
    tests += [t for t in native_guest_tests() if args.emulator in ("all", t.emulator)]
    for emu in ("qemu", "bochs"):
        if args.emulator in ("all", emu):
            tests += vm_tests(emu)
            tests += hostile_tests(emu)
            tests += pagestress_tests(emu)
            tests += timer_tests(emu)
    if args.only:
        tests = [t for t in tests if args.only in t.name or re.search(args.only, t.name)]
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_test, t, args.elf): t for t in tests}
        for fut in concurrent.futures.as_completed(futures):
            t = futures[fut]
            res = fut.result()
            if isinstance(res, tuple):
                passed += 1
                print("PASS system/%s (%.1f s)" % (t.name, res[1]), flush=True)
            else:
                failed += 1
                print("FAIL system/%s: %s" % (t.name, res), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
