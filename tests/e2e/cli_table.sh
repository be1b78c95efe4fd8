#!/usr/bin/env bash
# e2e/cli_table.sh - what the command table and its option parser promise (cli/main.c):
# -V, 'kluis version', 'kluis help CMD' (the same text as 'kluis CMD --help'), "did you mean"
# for a mistyped command, every option a command's --help lists is one its parser takes, and
# the --out writers leave nothing behind when they refuse or fail.
set -euo pipefail
. "$KLUIS_TEST_DIR/lib.sh"

init_dossier k-0001
V=$KLUIS_VAULT

# ---- the version and help, three ways each ----
expect_exit 0 k --version
VERSION=$OUT
for form in "-V" "version" "list -V" "log k-0001 -V"; do
	# shellcheck disable=SC2086
	expect_exit 0 k $form
	assert_eq "$OUT" "$VERSION" "kluis $form"
done
expect_exit 0 k version --help
assert_contains "$OUT" "Usage: kluis version" "kluis version --help"
pass "kluis -V and kluis version print the version, as --version does"

expect_exit 0 k --help
commands=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' <<<"$OUT")
for c in $commands; do
	expect_exit 0 env -u KLUIS_VAULT GNUPGHOME=/nonexistent "$KLUIS" "$c" --help
	want=$OUT
	expect_exit 0 env -u KLUIS_VAULT GNUPGHOME=/nonexistent "$KLUIS" help "$c"
	assert_eq "$OUT" "$want" "kluis help $c"
	assert_contains "$OUT" "Usage: kluis $c" "kluis help $c"
done
expect_exit 2 k help frobnicate
pass "kluis help CMD prints exactly what kluis CMD --help prints ($(wc -w <<<"$commands") commands); an unknown CMD exits 2"

# ---- did you mean ----
expect_exit 2 k lgo k-0001
assert_contains "$ERR" "did you mean 'log'?" "kluis lgo"
expect_exit 2 k verfy k-0001
assert_contains "$ERR" "did you mean 'verify'?" "kluis verfy"
expect_exit 2 k inzgae k-0001
assert_contains "$ERR" "did you mean 'inzage'?" "kluis inzgae"
expect_exit 2 k frobnicate
assert_not_contains "$ERR" "did you mean" "kluis frobnicate (nothing close)"
pass "a mistyped command exits 2 with one line suggesting the command it is close to"

# ---- the help never lies: every option it lists is taken, with or without a value ----
listed=0
for c in $commands; do
	expect_exit 0 k help "$c"
	while read -r opt arg; do
		[ -n "$opt" ] || continue
		listed=$((listed + 1))
		# --help after the option: the parser must take it (an unknown one exits 2)
		case $arg in
		"") expect_exit 0 k "$c" "$opt" --help ;;
		*" "*) expect_exit 0 k "$c" "$opt" a b --help ;;
		*) expect_exit 0 k "$c" "$opt" x --help ;;
		esac
		assert_contains "$OUT" "Usage: kluis $c" "kluis $c $opt ... --help"
	done < <(awk '/^Options:/ { on = 1; next } on && /^$/ { exit }
		on && /^ +(-[a-zA-Z], +)?--[a-z]/ { sub(/^ +(-[a-zA-Z], +)?/, ""); sub(/  .*/, ""); sub(/\.\.\.$/, ""); print }' <<<"$OUT" |
		awk '{ o = $1; $1 = ""; sub(/^ /, ""); print o, $0 }')
done
[ "$listed" -ge 40 ] || fail "the commands' --help list only $listed options; expected their option tables (40 or more)"
pass "each of the $listed options the commands' --help lists is taken by their parser"

# ---- the parser: values attached or apart, '--', options after the arguments, twice ----
expect_exit 0 k --as "$MEDEW" add k-0001 --title=Een -mattached
ID1=$OUT
expect_exit 0 k --as "$MEDEW" add --message apart -- k-0001
expect_exit 0 k log k-0001 --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert sum(1 for e in d["events"] if e["action"] == "add") == 2, d' <<<"$OUT" ||
	fail "two adds expected in the log: $OUT"
expect_exit 2 k --as "$MEDEW" add k-0001 -m one -m two
assert_contains "$ERR" "given twice" "-m twice"
expect_exit 2 k --as "$MEDEW" add k-0001 --title=a --title b -m x
assert_contains "$ERR" "--title given twice" "--title twice"
expect_exit 2 k --as "$MEDEW" add k-0001 -m x --json=yes
assert_contains "$ERR" "--json takes no value" "--json=yes"
pass "-mTEXT, --opt=VALUE, '--', options after the arguments; a value given twice exits 2"

# ---- the --out writers: refused or failed, they leave nothing behind ----
mkdir "$T_WORK/out"
echo keep >"$T_WORK/out/taken"
for cmd in "show k-0001 $ID1" "inzage k-0001" "checkpoint k-0001" "export k-0001"; do
	# shellcheck disable=SC2086
	expect_exit 2 k --as "$MEDEW" $cmd --out "$T_WORK/out/taken"
	assert_eq "$(cat "$T_WORK/out/taken")" keep "an existing --out after kluis $cmd"
	# shellcheck disable=SC2086
	expect_exit 1,2 k --as "$MEDEW" $cmd --out "$T_WORK/out/missing-dir/file"
done
expect_exit 2 k --as "$MEDEW" show k-0001 20200101T000000Z-0000 --out "$T_WORK/out/nothing"
assert_eq "$(ls -A "$T_WORK/out")" taken "files in the --out directory after refusals"
for cmd in "show k-0001 $ID1" "inzage k-0001" "checkpoint k-0001"; do
	# shellcheck disable=SC2086
	expect_exit 0 k --as "$MEDEW" $cmd --out "$T_WORK/out/new-${cmd%% *}"
	assert_eq "$(stat -c %a "$T_WORK/out/new-${cmd%% *}")" 600 "mode of kluis $cmd --out"
done
assert_eq "$(cat "$T_WORK/out/new-show")" attached "show --out body"
assert_eq "$(ls -A "$T_WORK/out" | sort | tr '\n' ' ')" "new-checkpoint new-inzage new-show taken " "files in the --out directory"
pass "--out: an existing file is refused and kept, a failure leaves no file or temporary behind, a new one is 0600"

# ---- --vault on a directory that is no vault ----
mkdir -p "$T_WORK/home-dir/Documents"
for cmd in list "log k-1" "verify --all" "retention --due"; do
	# shellcheck disable=SC2086
	expect_exit 2 k --vault "$T_WORK/home-dir" $cmd
	assert_contains "$ERR" "is no kluis vault" "kluis --vault DIR $cmd"
done
assert_eq "$(ls -A "$T_WORK/home-dir")" "Documents" "the directory after"
pass "--vault on a directory that is no vault is refused (exit 2, one line), and nothing is made there"
