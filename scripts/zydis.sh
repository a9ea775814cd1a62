#!/bin/sh
# zydis.sh OUTDIR: fetches the Zydis decoder from Debian's source packages and builds it twice.
#
#   KCFLAGS='...' UNIT_CFLAGS='...' scripts/zydis.sh OUTDIR
#
# The Makefile passes its own kernel and unit-test flags.  Results:
#   OUTDIR/zydis.a       freestanding, for the kernel (KCFLAGS, no libc)
#   OUTDIR/zydis-host.a  for the host unit tests (UNIT_CFLAGS: ASan, UBSan)
#   OUTDIR/include/      Zydis' and Zycore's headers, to be used with -isystem
# The sources (Debian's "zydis" and its dependency "zycore-c") are unpacked
# into OUTDIR/src by apt-get source, never copied into the repository; a
# deb-src entry for the distribution's main archive is added when there is
# none.  Idempotent: exits at once when the libraries and headers exist and
# were built by this script with the same flags.
set -eu

[ $# -eq 1 ] || { echo "usage: KCFLAGS=... UNIT_CFLAGS=... $0 OUTDIR" >&2; exit 2; }
OUT=$1
KCFLAGS=${KCFLAGS:?KCFLAGS: the kernel C flags}
UNIT_CFLAGS=${UNIT_CFLAGS:?UNIT_CFLAGS: the unit-test C flags}
CC=${CC:-gcc}
AR=${AR:-ar}
SRC_PKGS="zydis zycore-c"
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)

# What the build depends on besides the sources: this script and the flags.
signature=$(printf '%s\n%s\n%s\n' "$(cksum < "$SCRIPT_DIR/zydis.sh")" "$KCFLAGS" "$UNIT_CFLAGS")
if [ -f "$OUT/zydis.a" ] && [ -f "$OUT/zydis-host.a" ] && [ -f "$OUT/include/Zydis/Zydis.h" ] &&
   [ -f "$OUT/include/Zycore/Zycore.h" ] && [ "$(cat "$OUT/signature" 2>/dev/null)" = "$signature" ]; then
	exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# ---- deb-src entries for the main archive ----

# The one-line sources.list(5) entries and deb822 stanzas of the release's own
# suite ("bookworm"), rewritten as deb-src; the security archive and third
# parties are left alone.
derive_deb_src() {
	codename=$1
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v cn="$codename" '
			$1 == "deb" {
				i = 2
				if ($2 ~ /^\[/) while (i <= NF && $i !~ /\]$/) i++
				if ($2 ~ /^\[/) i++
				if ($(i + 1) == cn) { sub(/^deb/, "deb-src"); print }
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v cn="$codename" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " cn " ") && enabled != "no")
					printf "Types: deb-src\n%s\n", body
				types = suites = body = enabled = ""
			}
			/^#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = tolower($1)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types:") types = val
				else {
					if (key == "suites:") suites = val
					if (key == "enabled:") enabled = tolower(val)
					body = body (body == "" ? "" : "\n") $0
				}
			}
			END { flush() }' "$f"
	done
}

has_deb_src() {
	grep -qs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
		grep -qsi '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}

has_source_record() {
	apt-cache showsrc "$1" 2>/dev/null | grep -q "^Package: $1\$"
}

# Makes sure apt knows the source packages, adding deb-src entries if there are none.
ensure_source_records() {
	known=yes
	for p in $SRC_PKGS; do
		has_source_record "$p" || known=no
	done
	[ $known = yes ] && return 0
	if ! has_deb_src; then
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
		[ -n "$codename" ] || { echo "zydis: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }
		entries=$(derive_deb_src "$codename")
		[ -n "$entries" ] || { echo "zydis: no apt entry for suite $codename to derive deb-src from" >&2; exit 1; }
		ext=list
		printf '%s\n' "$entries" | grep -q '^Types:' && ext=sources
		echo "zydis: adding deb-src entries for $codename: /etc/apt/sources.list.d/hv-deb-src.$ext"
		printf '# Added by hv scripts/zydis.sh: source packages of the main archive.\n%s\n' \
			"$entries" | $SUDO tee "/etc/apt/sources.list.d/hv-deb-src.$ext" > /dev/null
	fi
	$SUDO apt-get update -q
	for p in $SRC_PKGS; do
		has_source_record "$p" || { echo "zydis: apt knows no source package $p" >&2; exit 1; }
	done
}

# apt-get source unpacks with dpkg-source (dpkg-dev) and applies Debian's
# patches.  Its chatter goes to OUTDIR/src/PKG.log.
fetch_source() {
	echo "zydis: apt-get source $1"
	(cd "$OUT/src" && apt-get source -q "$1") > "$OUT/src/$1.log" 2>&1
}

# Zydis needs only Zycore's headers (no Zycore function is linked: the
# kernel's link would fail otherwise).  Should the archive not serve
# zycore-c's source tarball, the same headers come from libzycore-dev, the
# package built from that source.
fetch_zycore_headers() {
	fetch_source zycore-c && return 0
	echo "zydis: apt-get source zycore-c failed (see $OUT/src/zycore-c.log);" \
		"taking its headers from libzycore-dev" >&2
	rm -rf "$OUT/src/libzycore-dev" "$OUT"/src/libzycore-dev_*.deb
	mkdir -p "$OUT/src/libzycore-dev"
	(cd "$OUT/src" && apt-get download -q libzycore-dev) > "$OUT/src/libzycore-dev.log" 2>&1 ||
		{ cat "$OUT/src/libzycore-dev.log" >&2; exit 1; }
	dpkg-deb -x "$OUT"/src/libzycore-dev_*.deb "$OUT/src/libzycore-dev"
}

zydis_dir() { find "$OUT/src" -maxdepth 1 -type d -name 'zydis-[0-9]*' | sort | tail -n 1; }
zycore_include() {
	d=$(find "$OUT/src" -maxdepth 1 -type d -name 'zycore-c-[0-9]*' | sort | tail -n 1)
	if [ -n "$d" ] && [ -f "$d/include/Zycore/Zycore.h" ]; then
		echo "$d/include"
	elif [ -f "$OUT/src/libzycore-dev/usr/include/Zycore/Zycore.h" ]; then
		echo "$OUT/src/libzycore-dev/usr/include"
	fi
}

mkdir -p "$OUT/src"
if [ -z "$(zydis_dir)" ] || [ -z "$(zycore_include)" ]; then
	ensure_source_records
	[ -n "$(zydis_dir)" ] || fetch_source zydis || { cat "$OUT/src/zydis.log" >&2; exit 1; }
	[ -n "$(zycore_include)" ] || fetch_zycore_headers
fi
ZYDIS=$(zydis_dir)
ZYCORE_INC=$(zycore_include)
[ -n "$ZYDIS" ] && [ -n "$ZYCORE_INC" ] || { echo "zydis: sources missing under $OUT/src" >&2; exit 1; }

# ---- build ----

# Zydis' no-libc configuration (its CMakeLists.txt and Zycore/LibC.h, Types.h):
# ZYAN_NO_LIBC gives Zycore's own integer types and inline mem* functions;
# the static-build defines drop the export decorations; no encoder (the
# decoder and formatter are what the emulator needs); ZYDIS_MINIMAL_MODE stays
# off, for full operand information.  Callers must see the same defines:
# include/hv_zydis_config.h holds them.
DEFINES="ZYAN_NO_LIBC ZYDIS_STATIC_BUILD ZYCORE_STATIC_BUILD ZYDIS_DISABLE_ENCODER"
SRCS="MetaInfo Mnemonic Register Segment SharedData String Utils Zydis \
Decoder DecoderData Disassembler Formatter FormatterBuffer FormatterATT FormatterBase FormatterIntel"

# The caller's flags minus its warning and include options: Zydis is not ours
# to hold to -Werror, and our headers must not shadow its own.
strip_flags() {
	for f in $1; do
		case $f in -W*|-I*) ;; *) printf '%s ' "$f" ;; esac
	done
}

rm -rf "$OUT/include" "$OUT/obj-kernel" "$OUT/obj-host"
mkdir -p "$OUT/include" "$OUT/obj-kernel" "$OUT/obj-host"
cp -R "$ZYDIS/include/Zydis" "$OUT/include/Zydis"
cp -R "$ZYCORE_INC/Zycore" "$OUT/include/Zycore"
{
	echo "/* hv_zydis_config.h: generated by scripts/zydis.sh, the defines zydis.a and zydis-host.a were built with. */"
	for d in $DEFINES; do echo "#define $d"; done
} > "$OUT/include/hv_zydis_config.h"

build() { # build LIB FLAGS OBJDIR
	lib=$1 flags=$2 objdir=$3
	defs=""
	for d in $DEFINES; do defs="$defs -D$d"; done
	for s in $SRCS; do echo "$s"; done | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} \
		sh -c "$CC $flags -w $defs -I'$OUT/include' -I'$ZYDIS/src' \
			-c '$ZYDIS/src/{}.c' -o '$objdir/{}.o'"
	for s in $SRCS; do [ -f "$objdir/$s.o" ] || { echo "zydis: $s.c did not compile" >&2; exit 1; }; done
	rm -f "$lib.tmp"
	$AR rcs "$lib.tmp" "$objdir"/*.o
	mv "$lib.tmp" "$lib"
}

echo "zydis: building $(basename "$ZYDIS") (Zycore headers from $ZYCORE_INC) into $OUT"
rm -f "$OUT/signature"
build "$OUT/zydis.a" "$(strip_flags "$KCFLAGS")" "$OUT/obj-kernel"
build "$OUT/zydis-host.a" "$(strip_flags "$UNIT_CFLAGS")" "$OUT/obj-host"
printf '%s\n' "$signature" > "$OUT/signature"
