#!/usr/bin/env bash
# e2e/install.sh - `cmake --install` of the test's own build into a prefix puts in place what a
# user needs beside the binary: the man pages (man kluis, man kluis-add, a page for every
# command naming every option its --help names), the bash completion (commands, options,
# usage words, dossier and entry ids, read from a real vault without recording a read), the
# server's hooks/pre-receive, the notifier hooks/notify-mail and the docs. Any piece missing fails the test.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

SRC=$(cd "$KLUIS_TEST_DIR/.." && pwd)
BUILD=$(dirname "$KLUIS")
P=$T_WORK/prefix
[ -f "$BUILD/cmake_install.cmake" ] || fail "no cmake_install.cmake beside $KLUIS: cannot install the build it came from"
command -v man >/dev/null || fail "man is not installed (scripts/bootstrap.sh installs man-db)"
cmake --install "$BUILD" --prefix "$P" >"$T_OUT" 2>"$T_ERR" || fail "cmake --install $BUILD failed: $(cat "$T_ERR")"
pass "cmake --install into a fresh prefix"

# ---- the binary ----
[ -x "$P/bin/kluis" ] || fail "no executable $P/bin/kluis"
"$P/bin/kluis" --help >"$T_OUT" || fail "the installed kluis --help failed"
COMMANDS=$(awk '/^Commands:/ { f = 1; next } /^[ \t]*$/ { f = 0 } f { print $1 }' "$T_OUT")
[ "$(wc -w <<<"$COMMANDS")" -gt 20 ] || fail "cannot read the commands from kluis --help: $COMMANDS"
pass "bin/kluis runs"

# ---- man pages, read with man itself from the prefix only (MANPATH: a minimal Debian may
# exclude /usr/share/man, and the system's pages must not stand in for ours) ----
man_page() { MANPATH=$P/share/man MANWIDTH=100 man -P cat "$1" 2>/dev/null; }
page=$(man_page kluis) || fail "man kluis found no page under $P/share/man"
assert_eq "$(MANPATH=$P/share/man man -w kluis 2>/dev/null)" "$P/share/man/man1/kluis.1" "the page man kluis reads"
for want in "kluis - a secure dossier vault" SYNOPSIS COMMANDS "GLOBAL OPTIONS" "EXIT STATUS" ENVIRONMENT FILES \
	"SEE ALSO" KLUIS_VAULT KLUIS_KEY GNUPGHOME --vault --as --json share/kluis/hooks/pre-receive; do
	assert_contains "$page" "$want" "man kluis"
done
for c in $COMMANDS; do
	assert_contains "$page" "kluis-$c(1)" "man kluis (its list of commands)"
done
pass "man kluis: overview, global options, exit codes, environment, files, see also, every command"

page=$(man_page kluis-add) || fail "man kluis-add found no page"
for want in "kluis-add - add entries" "kluis add ID" --kind --origin --basis --special --title --file "-m TEXT" \
	"EXIT STATUS" "kluis(1)"; do
	assert_contains "$page" "$want" "man kluis-add"
done
pass "man kluis-add: the add page with its options"

# every command has its page, and the page names every option the command's --help names
# (read from --help as the completion reads it, so a new option without documentation fails)
C=$P/share/bash-completion/completions/kluis
[ -f "$C" ] || fail "no $C (completion/kluis.bash)"
. "$C"
for c in $COMMANDS; do
	page=$(man_page "kluis-$c") || fail "no man page for the command $c (docs/man/kluis-$c.1.scd)"
	assert_contains "$page" "kluis-$c - " "man kluis-$c"
	for o in $(_kluis_spec "$P/bin/kluis" "$c" | awk '$1 == "opt" { print $2 }' | sort -u); do
		assert_contains "$page" "$o" "man kluis-$c (kluis $c --help names $o)"
	done
done
pass "a man page for each of the $(wc -w <<<"$COMMANDS") commands, naming every option of its --help"

# ---- bash completion, in a fresh bash as bash-completion would load it ----
init_dossier k-0001
init_dossier k-0002
A=$(k --as "$MEDEW" add k-0001 --kind note -m "een notitie")
B=$(k --as "$MEDEW" add k-0001 --kind note -m "nog een")
R=$(repo_of k-0001)
complete_words() { # complete_words WORD... : what TAB offers after WORD... ('' for an empty word)
	env PATH="$P/bin:$PATH" bash -c '
		. "$0"
		complete -p kluis >/dev/null || { echo "kluis has no completion"; exit 1; }
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_kluis
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"' \
		"$C" "$@" 2>"$T_ERR"
	[ ! -s "$T_ERR" ] || fail "completing '$*' wrote to stderr: $(cat "$T_ERR")"
}
assert_eq "$(complete_words kluis ad)" add "kluis ad<TAB>"
assert_eq "$(complete_words kluis ver)" "verify version" "kluis ver<TAB>"
assert_eq "$(complete_words kluis veri)" "verify" "kluis veri<TAB>"
got=$(complete_words kluis '')
for c in $COMMANDS; do assert_contains " $got " " $c " "kluis <TAB>"; done
pass "commands complete (from kluis --help)"

got=$(complete_words kluis show --)
for o in --out --purpose --json --vault --as --help; do assert_contains " $got " " $o " "kluis show --<TAB>"; done
assert_not_contains " $got " " --kind " "kluis show --<TAB> (an option of add)"
assert_contains " $(complete_words kluis add k-0001 --)" " --special " "kluis add k-0001 --<TAB>"
pass "a command's options complete (kluis show --<TAB>: $got)"

assert_eq "$(complete_words kluis show '')" "k-0001 k-0002" "kluis show <TAB>"
assert_eq "$(complete_words kluis --vault "$KLUIS_VAULT" show k-000)" "k-0001 k-0002" "kluis --vault V show k-000<TAB>"
assert_eq "$(complete_words kluis show k-0001 '')" "$(printf '%s\n' "$A" "$B" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"kluis show k-0001 <TAB>"
# the same second gives the same prefix: an id less its last two digits stands for those it begins
want=$(printf '%s\n' "$A" "$B" | grep "^${B%??}" | sort | tr '\n' ' ' | sed 's/ $//')
assert_eq "$(complete_words kluis erase k-0001 "${B%??}")" "$want" "kluis erase k-0001 PREFIX<TAB>"
assert_eq "$(complete_words kluis consent k-0001 '')" "grant withdraw" "kluis consent k-0001 <TAB>"
assert_eq "$(complete_words kluis inzage k-0001 --format '')" "html json text" "kluis inzage k-0001 --format <TAB>"
assert_eq "$(ref_of "$R" refs/kluis/access)" none "refs/kluis/access after completing entry ids"
pass "dossier ids, entry ids (no read recorded), subcommands and option values complete"

assert_eq "$(KLUIS_VAULT=$T_WORK/no-vault complete_words kluis show '')" "" "kluis show <TAB> without a vault"
assert_eq "$(complete_words kluis show k-9999 '')" "" "kluis show k-9999 <TAB> (no such dossier)"
assert_eq "$(env PATH=/usr/bin:/bin bash -c '. "$0"; COMP_WORDS=(kluis ""); COMP_CWORD=1; _kluis; echo "${#COMPREPLY[@]}"' \
	"$C" 2>&1)" 0 "completion without kluis in PATH"
pass "no vault, no dossier, no binary: nothing completes and nothing is printed"

# ---- the server hook and the docs ----
for h in pre-receive notify-mail; do
	H=$P/share/kluis/hooks/$h
	[ -x "$H" ] || fail "no executable $H"
	cmp -s "$H" "$SRC/hooks/$h" || fail "$H is not hooks/$h"
done
pass "share/kluis/hooks/pre-receive and notify-mail installed, executable"
for f in README.md docs/SPEC.md docs/FORMATS.md docs/THREAT_MODEL.md docs/OPERATIONS.md; do
	cmp -s "$P/share/doc/kluis/$f" "$SRC/$f" || fail "share/doc/kluis/$f is missing or not the source's $f"
done
[ ! -e "$P/share/doc/kluis/docs/man" ] || fail "the man pages' sources were installed as docs"
pass "share/doc/kluis: README.md and docs/ (the README's links hold)"
