#!/usr/bin/env bash
# e2e/forge.sh - the attacker's suite (issue 14): forgeries made with stock git, stock gpg and
# python byte surgery (tests/forge/kforge.py; no kluis code), each refused at every entry
# point where it applies:
#   verify  kluis verify ID, on a copy of the honest vault holding the forged repository (the
#           attacker also rewrites the vault's checkpoint to the forged head unless the case
#           is about rollback, where the honest checkpoint is what catches it)
#   bundle  kluis verify --bundle FILE --trust DIRECTIE, FILE a stock `git bundle` of the refs
#   import  kluis import ARCHIVE --trust DIRECTIE as the opdrachtgever: the forged history
#           completed with the honest close and transfer commits replayed on top (re-signed by
#           their own signers), bundled, the manifest rewritten and re-signed by the exporter
#   archive kluis verify --bundle ARCHIVE (the transfer-archive cases only)
#   hook    stock `git push` of the forged refs to a bare repository whose hooks/pre-receive
#           is the project's (kluis.trust = the directie); an empty server unless the case is
#           about rollback (then the server holds the honest state)
#   pull    kluis pull ID SERVER --trust DIRECTIE into a fresh vault, SERVER a mirror of the
#           forged repository
# Refused means: exit 1 (for hook: the push fails) and at least one line naming a problem
# (a finding "ID COMMIT WHAT" on stdout or a "kluis: ..." line; for hook a "remote: kluis:"
# line). Each forged commit that should carry a good signature is first checked with stock
# `git verify-commit` (public keys only), so a refusal is never just a broken signature by
# accident. The controls (C1-C5) must be accepted everywhere: an honest dossier with every
# kind of event, its transfer archive as kluis wrote it, a legitimate add forged with stock
# tools, a legitimate add inserted in the middle of the history with every later commit and
# read record replayed and re-signed (so the replay machinery itself makes nothing a verifier
# should refuse), and a soft-revoked key's earlier signatures.
#
# Prints "ok ID POINT: ..." or "FAIL ID POINT: ..." per case and entry point; exits 1 if any
# FAIL. Run one or more cases: forge.sh F07 F12 (the controls run only when named or when
# nothing is named). Many cases fail against the verifier of before the replay model (issue
# 14); docs/THREAT_MODEL.md lists them.
#
# Run by hand: KLUIS=build/kluis KLUIS_TEST_DIR=tests bash tests/e2e/forge.sh [ID...]
# (FORGE_SHOW=1: every line each entry point printed, to see why a case is refused)
set -euo pipefail
shopt -s lastpipe   # "... | land": land (which sets FC) runs in this shell
. "$KLUIS_TEST_DIR/lib.sh"
export XDG_CACHE_HOME=$HOME/.cache
export PYTHONDONTWRITEBYTECODE=1   # nothing written into the source tree
export GIT_AUTHOR_NAME=forger GIT_AUTHOR_EMAIL=forger GIT_COMMITTER_NAME=forger GIT_COMMITTER_EMAIL=forger
KF_PY=$KLUIS_TEST_DIR/forge/kforge.py
KF() { python3 "$KF_PY" "$@"; }
HOOK_SRC=$KLUIS_TEST_DIR/../hooks/pre-receive
[ -x "$HOOK_SRC" ] || fail "hooks/pre-receive is missing or not executable"
KLUIS_ABS=$(readlink -f "$KLUIS")
ONLY=" $* "
D=k-0001

# ---- keys: the five of lib.sh, a vertegenwoordiger, and an authentication-only subkey on
# the medewerker's key (the auditor's keyring holds it: librnp would accept its signatures)
VERT=$(kt_key vertegenwoordiger 2>/dev/null)
gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-add-key "$MEDEW" ed25519 auth never 2>/dev/null
AUTHSUB=$(gpg --batch --with-colons --list-keys "$MEDEW" | awk -F: '$1 == "sub" && $12 ~ /a/ { getline; print $10; exit }')
[[ $AUTHSUB =~ ^[0-9A-F]{40}$ ]] || fail "could not add an authentication subkey to the medewerker's key"
pub_home "$KLANT" "$MEDEW" "$DIR" "$OPDR" "$OUTSIDER" "$VERT"
AUD=$REPLY                     # the auditor and the server: public keys only
actor_home "$DIR"
BH=$REPLY                      # the puller's vault: the directie's secret key, public keys
gpg --batch --export "$VERT" | gpg --homedir "$BH" --batch --quiet --import 2>/dev/null
secret_home "$OPDR"
OH=$REPLY                      # the importer: the opdrachtgever's secret key only

# ---- the honest dossier (V0, open) and its transfer archive (A0) ----
# the keys are a few seconds older than the dossier: a backdated signature (F35) needs room
sleep 3
init_dossier "$D"
R0=$(repo_of "$D")
K() { expect_exit 0 k "$@"; }
entry_dir() { printf 'entries/%s/%s\n' "${1:17:2}" "$1"; }
ct_of() { git -C "${CR:-$R0}" cat-file blob "$1:$(entry_dir "$2")/$3" | awk '$1 == "oid" { print $2 }'; }   # REV ENTRY meta|body
K --as "$MEDEW" add "$D" -m "eerste gesprek"; E1=$OUT
K --as "$MEDEW" add "$D" --kind contact -m "telefoon werkgever"; E2=$OUT
K --as "$KLANT" consent "$D" grant --scope health --purpose begeleiding --to-opdrachtgever
C_HEALTH=$(git -C "$R0" log -1 --format='%(trailers:key=Kluis-Entry,valueonly)' main | sed '/^$/d')
K --as "$MEDEW" add "$D" --special health -m "medische beperking"; S1=$OUT
K --as "$KLANT" consent "$D" grant --scope religion --purpose roosters --to-opdrachtgever
C_REL=$(git -C "$R0" log -1 --format='%(trailers:key=Kluis-Entry,valueonly)' main | sed '/^$/d')
K --as "$KLANT" consent "$D" withdraw --scope religion --purpose roosters
K --as "$MEDEW" add "$D" --kind plan -m "plan van aanpak"; P1=$OUT
K --as "$MEDEW" correct "$D" "$E2" -m "telefoon werkgever, gecorrigeerd"
K --as "$MEDEW" add "$D" -m "te wissen"; E3=$OUT
K --as "$DIR" erase "$D" "$E3" --reason "op verzoek van de klant"
K --as "$DIR" roles "$D" --add vertegenwoordiger "$VERT"
K --as "$KLANT" approve "$D" "$P1"
K --as "$MEDEW" show "$D" "$E1"
K --as "$KLANT" statement "$D" -m "mijn eigen verklaring"; ST=$OUT
K --as "$KLANT" show "$D" "$ST" --purpose inzage   # pins the statement
for e in "$E1" "$E2" "$S1" "$P1" "$E3" "$ST" "$C_HEALTH" "$C_REL"; do assert_match "$e" "$ID_RE" "entry id"; done
[ "$(git -C "$R0" log -1 --format='%(trailers:key=Kluis-Action,valueonly)' main | sed '/^$/d')" = statement ] ||
	fail "the honest dossier's last commit is not the statement"
ct=$(git -C "$R0" cat-file blob "main:$(entry_dir "$ST")/body" | awk '$1 == "oid" { print $2 }')
mapfile -t READ_IDS < <(git -C "$R0" cat-file blob "$ct" | recipients_of)
[ "${#READ_IDS[@]}" -ge 4 ] || fail "the honest statement has ${#READ_IDS[@]} recipients, want at least 4"
V0=$T_ROOT/v0
cp -a "$KLUIS_VAULT" "$V0"
VT=$T_ROOT/vt
cp -a "$KLUIS_VAULT" "$VT"
kt_() { env KLUIS_VAULT="$VT" "$KLUIS" "$@"; }
expect_exit 0 kt_ --as "$MEDEW" close "$D"
expect_exit 0 kt_ --as "$KLANT" statement "$D" -m "na afsluiting"
expect_exit 0 kt_ --as "$KLANT" show "$D" "$ST" --purpose inzage
A0=$T_ROOT/a0.tgz
expect_exit 0 kt_ --as "$MEDEW" transfer "$D" --out "$A0"
A0X=$T_ROOT/a0x
mkdir -p "$A0X"
tar xzf "$A0" -C "$A0X"
TB0=$T_ROOT/tb0.git            # the archive's history, for the replays and the archive cases
git init -q --bare "$TB0"
git -C "$TB0" fetch -q "$A0X/dossier.bundle" 'refs/heads/main:refs/heads/main' 'refs/kluis/*:refs/kluis/*'
T_CLOSE=$(git -C "$TB0" log --format=%H --grep='^Kluis-Action: close$' main)
T_XFER=$(git -C "$TB0" rev-parse main)
[ -n "$T_CLOSE" ] && [ "$(git -C "$TB0" log -1 --format=%s "$T_XFER")" = "transfer -" ] || fail "the archive has no close or transfer commit"
pass "the honest dossier and its transfer archive are built ($(git -C "$R0" rev-list --count main) commits, $(git -C "$R0" rev-list --count refs/kluis/access) reads)"

# ---- case machinery ----
RESULTS=$T_ROOT/results
: >"$RESULTS"
N=0
# case_begin ID TITLE: a copy of V0 in $CV, its dossier repository in $CR, defaults reset
case_begin() {
	CID=$1
	N=$((N + 1))
	CV=$T_ROOT/c$N
	cp -a "$V0" "$CV"
	CR=$CV/dossiers/$D.git
	EP="verify bundle hook pull import"
	EXPECT=refused KEEP_CP=0 HOOK_BASE=0 ARCHIVE="" SIGCHECK=1 KEYS_EXTRA="" EXPORTER=$MEDEW FINISH_AS=""
	# a case names the finding (ERE) it must be refused with, not just any; WHY_POINT (e.g.
	# WHY_hook) for an entry point that legitimately says it otherwise (the hook refuses a
	# rewrite before it replays anything)
	ARCHIVE_EXTRA="" BUNDLE_EXTRA=""   # a file the archive carries as well; an object id the case's bundles carry in their pack, no ref reaching it
	WHY="" WHY_verify="" WHY_bundle="" WHY_hook="" WHY_pull="" WHY_import="" WHY_archive=""
	AUDK=$AUD BHK=$BH
	FORGED=()
}
G() { git -C "$CR" "$@"; }
now() { date +%s; }
seq_of() { G log -1 --format='%(trailers:key=Kluis-Seq,valueonly)' "${1:-main}" | sed '/^$/d'; }
ctime_of() { G log -1 --format=%ct "${1:-main}"; }
# the readers: the encryption keys (as KEYID!) of the honest statement, the last entry kluis wrote
readers_of() { printf '%s!\n' "${READ_IDS[@]}"; }
# an entry id carries its commit's time (ENTRY_TIME, else now)
new_entry_id() { printf '%s-%04x\n' "$(date -u -d "@${ENTRY_TIME:-$(now)}" +%Y%m%dT%H%M%SZ)" $((RANDOM % 65536)); }

# msg ACTION ENTRY|- ROLE SEQ [KIND]: a commit message as kluis writes it (no final newline);
# EXTRA_TRAILERS lines go before Kluis-Seq
msg() {
	local action=$1 entry=$2 role=$3 seq=$4 kind=${5:-note}
	printf '%s %s\n\nKluis-Action: %s\n' "$action" "$entry" "$action"
	if [ "$entry" != - ]; then printf 'Kluis-Entry: %s\nKluis-Kind: %s\n' "$entry" "$kind"; fi
	printf 'Kluis-Role: %s\n' "$role"
	[ -z "${EXTRA_TRAILERS:-}" ] || printf '%s\n' "$EXTRA_TRAILERS"
	printf 'Kluis-Seq: %s' "$seq"
}
# raw_commit TREE PARENT|- ROLE FPR TIME MESSAGE: an unsigned commit as git writes it
raw_commit() {
	printf 'tree %s\n' "$1"
	[ "$2" = - ] || printf 'parent %s\n' "$2"
	printf 'author %s <%s> %s +0000\ncommitter %s <%s> %s +0000\n\n%s\n' "$3" "$4" "$5" "$3" "$4" "$5" "$6"
}
# land FPR|- [FAKED-TIME]: stdin (an unsigned commit) signed by FPR and written; main moves to
# it; FC is its id; with SIGCHECK=1 stock git must accept its signature
land() {
	FC=$(KF write-commit "$CR" "$@")
	[[ $FC =~ ^[0-9a-f]{40}$ ]] || fail "$CID: could not write the forged commit"
	G update-ref refs/heads/main "$FC"
	FORGED+=("$FC")
	if [ "$SIGCHECK" = 1 ] && ! GNUPGHOME=$AUD git -C "$CR" verify-commit "$FC" >/dev/null 2>&1; then
		fail "$CID: stock git refuses the signature of the forged commit $FC (test bug)"
	fi
}
put_blob() { G hash-object -w "$1"; }
# content_set TREE: refs/kluis/content becomes the one parentless commit kluis writes for TREE
content_set() {
	G update-ref refs/kluis/content "$(env GIT_AUTHOR_NAME=kluis GIT_AUTHOR_EMAIL=content GIT_COMMITTER_NAME=kluis \
		GIT_COMMITTER_EMAIL=content GIT_AUTHOR_DATE='@0 +0000' GIT_COMMITTER_DATE='@0 +0000' \
		git -C "$CR" commit-tree -m 'kluis content' "$1")"
}
put_text() { G hash-object -w --stdin; }
# pointer OID: a pointer in the form kluis writes; its plaintext commitment is the forger's
# claim (only a reader can check it: verify --deep, show)
pointer() {
	printf 'kluis-pointer 2\noid %s\nsha256 %s\nsize %s\nplain %s\n' "$1" \
		"$(G cat-file blob "$1" | sha256sum | cut -d' ' -f1)" "$(G cat-file -s "$1")" \
		"$(printf 'claim %s' "$1" | sha256sum | cut -d' ' -f1)"
}
put_pointer() { pointer "$1" | put_text; }
# encrypt FILE FPR...: stock gpg to the given keys; the ciphertext's blob id
encrypt() {
	local in=$1 out=$T_WORK/ct.$RANDOM$RANDOM r=() f
	shift
	for f in "$@"; do r+=(-r "$f"); done
	gpg --batch --quiet --yes --trust-model always "${r[@]}" -e -o "$out" "$in"
	put_blob "$out"
	rm -f "$out"
}
# to_content OID|-OID...: a new parentless content commit holding the old tree plus OID...,
# without each -OID (a ciphertext no pointer names any more: kluis drops it)
to_content() {
	local idx=$T_WORK/idx.content o t
	rm -f "$idx"
	GIT_INDEX_FILE=$idx G read-tree refs/kluis/content
	for o; do
		if [ "${o:0:1}" = - ]; then printf '0 %040d\t%s\n' 0 "${o:1:2}/${o:3}" | GIT_INDEX_FILE=$idx G update-index --index-info
		else GIT_INDEX_FILE=$idx G update-index --add --cacheinfo "100644,$o,${o:0:2}/${o:2}"; fi
	done
	t=$(GIT_INDEX_FILE=$idx G write-tree)
	content_set "$t"
	rm -f "$idx"
}
# tree_edit BASE PATH=OID | PATH=MODE:OID | PATH=- ...: BASE's tree changed; its id
tree_edit() {
	local idx=$T_WORK/idx.main base=$1 a v
	shift
	rm -f "$idx"
	GIT_INDEX_FILE=$idx G read-tree "$base"
	for a; do
		v=${a#*=}
		if [ "$v" = - ]; then
			printf '0 0000000000000000000000000000000000000000\t%s\n' "${a%%=*}"
		elif [[ $v == *:* ]]; then
			printf '%s %s\t%s\n' "${v%%:*}" "${v#*:}" "${a%%=*}"
		else
			printf '100644 %s\t%s\n' "$v" "${a%%=*}"
		fi
	done | GIT_INDEX_FILE=$idx G update-index --index-info
	GIT_INDEX_FILE=$idx G write-tree
	rm -f "$idx"
}
# make_entry FPR...: meta and body encrypted with stock gpg to FPR...; their ciphertext in
# refs/kluis/content; NE, NE_META, NE_BODY (pointer blobs)
make_entry() {
	local m b
	NE=$(new_entry_id)
	while G cat-file -e "main:$(entry_dir "$NE")" 2>/dev/null; do NE=$(new_entry_id); done
	printf '{"kind":"note","created":"%s","role":"medewerker"}\n' "$(date -u +%FT%TZ)" >"$T_WORK/meta.json"
	printf 'vervalste notitie %s\n' "$RANDOM" >"$T_WORK/body.txt"
	m=$(encrypt "$T_WORK/meta.json" "$@")
	b=$(encrypt "$T_WORK/body.txt" "$@")
	to_content "$m" "$b"
	NE_META=$(put_pointer "$m")
	NE_BODY=$(put_pointer "$b")
}
# prep_add [TREE-EDITS...]: an add by the medewerker on top of main, to every reader: H (parent),
# NE, T (tree), MSG (message), TM (time); the caller writes it with raw_commit | land
prep_add() {
	H=$(G rev-parse main)
	mapfile -t RD < <(readers_of "$H")
	make_entry "${RD[@]}"
	T=$(tree_edit "$H" "$(entry_dir "$NE")/meta=$NE_META" "$(entry_dir "$NE")/body=$NE_BODY" "$@")
	MSG=$(msg add "$NE" medewerker $(($(seq_of "$H") + 1)))
	TM=$(($(ctime_of "$H") + 1))
	[ "$TM" -ge "$(now)" ] || TM=$(now)
}
# a forged add that is legitimate in every respect
legit_add() {
	prep_add
	raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG" | land "$MEDEW"
}

# key_variant FILE: every verifier of this case (auditor, server, puller, archive keys/) gets
# the public key(s) in FILE on top of its own
key_variant() {
	local f=$1
	make_home
	AUDK=$REPLY
	gpg --homedir "$AUD" --batch --export | gpg --homedir "$AUDK" --batch --quiet --import 2>/dev/null
	gpg --homedir "$AUD" --batch --export-ownertrust | gpg --homedir "$AUDK" --batch --quiet --import-ownertrust 2>/dev/null
	gpg --homedir "$AUDK" --batch --quiet --import "$f" 2>/dev/null || true
	make_home
	BHK=$REPLY
	cp -a "$BH/." "$BHK/"
	rm -f "$BHK"/S.* "$BHK"/*.lock "$BHK"/.#* 2>/dev/null || true
	gpg --homedir "$BHK" --batch --quiet --import "$f" 2>/dev/null || true
	KEYS_EXTRA=$f
}

# ---- entry points ----
# note OUTCOME POINT TEXT: one result line
note() {
	local text
	text=${3//$'\n'/|}
	text=${text:0:220}
	printf '%s %s %s: %s\n' "$1" "$CID" "$2" "$text" | tee -a "$RESULTS"
}
# judge POINT RC TEXT REFUSED-PATTERN: refused/accepted against EXPECT
judge() {
	local p=$1 rc=$2 text=$3 pat=$4 line why=WHY_$1
	why=${!why:-$WHY}
	[ -z "${FORGE_SHOW:-}" ] || printf '%s\n' "$text" | sed "s/^/    $p| /"   # FORGE_SHOW=1: every line
	# the first finding naming a commit if there is one, else the first line of the pattern
	line=$(grep -E -m1 -- "^$D [0-9a-f]{40} " <<<"$text" || grep -E -m1 -- "$pat" <<<"$text" || true)
	if [ "$EXPECT" = refused ]; then
		if [ -z "$why" ]; then note FAIL "$p" "the case names no WHY: a refusal for another reason would prove nothing"
		elif [ "$rc" -ne 0 ] && ! grep -Eq -- "$why" <<<"$text"; then note FAIL "$p" "refused, but not with the finding /$why/: $text"
		elif [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] && [ -n "$line" ]; then note ok "$p" "refused: $line"
		elif [ "$rc" -ne 0 ]; then note FAIL "$p" "exit $rc without a finding line: $text"
		else note FAIL "$p" "accepted (exit 0)${text:+: $text}"; fi
	else
		if [ "$rc" -eq 0 ]; then note ok "$p" "accepted"
		else note FAIL "$p" "refused the honest case (exit $rc): $text"; fi
	fi
}
FINDING_RE="^$D ([0-9a-f]{40}|-) .+|^kluis: "
ep_verify() {
	local rc=0 out
	if [ "$KEEP_CP" = 0 ]; then KF checkpoint "$CR" "$D" >"$CV/checkpoints/$D"; fi
	out=$(env GNUPGHOME="$AUDK" "$KLUIS" --vault "$CV" verify "$D" --full 2>&1) || rc=$?
	judge verify "$rc" "$out" "$FINDING_RE"
}
refs_to_send() { G for-each-ref --format='%(refname)' refs/heads/main refs/kluis/content refs/kluis/access; }
# bundle_extra REPO BUNDLE: BUNDLE's pack rewritten with BUNDLE_EXTRA in it as well (stock
# git pack-objects; the header and its refs unchanged)
bundle_extra() {
	local repo=$1 b=$2 pack=$T_WORK/extra.pack
	{ git -C "$repo" bundle list-heads "$b" | awk '{ print $1 }' | sort -u | git -C "$repo" rev-list --objects --stdin | cut -d' ' -f1
	  printf '%s\n' "$BUNDLE_EXTRA"; } | git -C "$repo" pack-objects -q --stdout >"$pack"
	python3 - "$b" "$pack" <<'PY'
import sys
b, pack = sys.argv[1:]
raw = open(b, "rb").read()
head = raw[:raw.index(b"\n\n") + 2]
open(b, "wb").write(head + open(pack, "rb").read())
PY
	git -C "$repo" bundle verify -q "$b" >/dev/null 2>&1 || fail "$CID: stock git refuses the rewritten bundle (test bug)"
}
ep_bundle() {
	local rc=0 out b=$T_ROOT/b$N.bundle
	mapfile -t refs < <(refs_to_send)
	G bundle create -q "$b" "${refs[@]}" 2>/dev/null || fail "$CID: stock git bundle create failed"
	[ -z "$BUNDLE_EXTRA" ] || bundle_extra "$CR" "$b"
	out=$(env GNUPGHOME="$AUDK" "$KLUIS" --vault "$T_ROOT/bv$N" verify --bundle "$b" --trust "$DIR" 2>&1) || rc=$?
	judge bundle "$rc" "$out" "$FINDING_RE"
}
new_server() { # DIR: a bare repository with the project's pre-receive hook
	git init -q --bare "$1"
	cp "$HOOK_SRC" "$1/hooks/pre-receive"
	chmod 755 "$1/hooks/pre-receive"
	git -C "$1" config kluis.program "$KLUIS_ABS"
	git -C "$1" config --add kluis.trust "$DIR"
	git -C "$1" config kluis.gnupghome "$AUDK"
}
ep_hook() {
	local rc=0 out srv=$T_ROOT/srv$N/$D.git r spec=()
	new_server "$srv"
	if [ "$HOOK_BASE" = 1 ]; then # the server holds the honest state (fetched behind the hook)
		git -C "$srv" fetch -q "$R0" 'refs/heads/main:refs/heads/main' 'refs/kluis/*:refs/kluis/*'
	fi
	for r in refs/heads/main refs/kluis/content refs/kluis/access; do
		if G rev-parse -q --verify "$r" >/dev/null; then spec+=("+$r:$r")
		elif [ "$HOOK_BASE" = 1 ]; then spec+=(":$r"); fi   # deleted by the forger: push the deletion
	done
	if [ -n "$BUNDLE_EXTRA" ]; then # a pack stock git push would not send: by hand
		local specs=() pack=$T_WORK/push.pack
		for r in $(refs_to_send); do specs+=("$(printf '%040d' 0):$(G rev-parse "$r"):$r"); done
		{ refs_to_send | G rev-list --objects --stdin | cut -d' ' -f1; printf '%s\n' "$BUNDLE_EXTRA"; } | G pack-objects -q --stdout >"$pack"
		out=$(KF push-pack "$srv" "$pack" "${specs[@]}" 2>&1) || rc=$?
		! git -C "$srv" cat-file -e "$BUNDLE_EXTRA" 2>/dev/null || out+=$'\n'"(the server holds the object $BUNDLE_EXTRA)"
	else
		out=$(git -C "$CR" push "$srv" "${spec[@]}" 2>&1) || rc=$?
	fi
	# (receive-pack driven by hand passes the hook's stderr on without git's "remote: ")
	judge hook "$rc" "$out" "remote: kluis:|\\[remote rejected\\]|^kluis: refusing the push"
}
ep_pull() {
	local rc=0 out evil=$T_ROOT/evil$N/$D.git
	local r spec=()
	mkdir -p "$T_ROOT/evil$N"
	git init -q --bare "$evil"
	for r in $(refs_to_send); do spec+=("+$r:$r"); done
	git -C "$CR" push -q "$evil" "${spec[@]}" 2>/dev/null || fail "$CID: could not fill the evil server"
	out=$(env GNUPGHOME="$BHK" KLUIS_VAULT="$T_ROOT/pv$N" "$KLUIS" pull "$D" "$evil" --trust "$DIR" 2>&1) || rc=$?
	judge pull "$rc" "$out" "^kluis: "
}
# make_archive REPO OUT: REPO's refs as a transfer archive: bundle, manifest (from A0's,
# with head, counts and hashes rewritten) signed by the exporter, keys/ (+ KEYS_EXTRA)
make_archive() {
	local repo=$1 out=$2 x=$T_ROOT/ax$N.$RANDOM f
	mkdir -p "$x/keys"
	cp "$A0X"/keys/*.asc "$x/keys/"
	if [ -n "$KEYS_EXTRA" ]; then
		for f in $(gpg --batch --with-colons --import-options show-only --import <"$KEYS_EXTRA" 2>/dev/null | awk -F: '$1 == "pub" { getline; print $10 }'); do
			cp "$KEYS_EXTRA" "$x/keys/$f.asc"
		done
	fi
	mapfile -t refs < <(git -C "$repo" for-each-ref --format='%(refname)' refs/heads/main refs/kluis/content refs/kluis/access)
	# the read log the manifest vouches for is the transfer commit's, as kluis writes it (a
	# forged ref then has to be caught against it), else the ref's
	local ah ac
	ah=$(git -C "$repo" log -1 --format='%(trailers:key=Kluis-Access-Head,valueonly)' main | sed '/^$/d')
	ac=$(git -C "$repo" log -1 --format='%(trailers:key=Kluis-Access-Count,valueonly)' main | sed '/^$/d')
	if [ -z "$ah" ]; then
		ah=$(git -C "$repo" rev-parse -q --verify refs/kluis/access || true)
		ac=$(git -C "$repo" rev-list --count refs/kluis/access 2>/dev/null || echo 0)
	fi
	git -C "$repo" symbolic-ref HEAD refs/heads/main
	git -C "$repo" bundle create -q "$x/dossier.bundle" HEAD "${refs[@]}" 2>/dev/null || fail "$CID: git bundle create failed"
	[ -z "$BUNDLE_EXTRA" ] || bundle_extra "$repo" "$x/dossier.bundle"
	python3 - "$A0X/manifest.json" "$x/manifest.json" "$x/dossier.bundle" \
		"$EXPORTER" "$(git -C "$repo" rev-parse main)" "$(git -C "$repo" rev-list --count main)" \
		"$ac" \
		"$(git -C "$repo" log -1 --format='%(trailers:key=Kluis-Seq,valueonly)' main | sed '/^$/d')" \
		"$(git -C "$repo" ls-tree -d --name-only main:entries 2>/dev/null | while read -r s; do git -C "$repo" ls-tree -d --name-only "main:entries/$s"; done | wc -l)" \
		"$ah" <<'PY'
import hashlib, json, os, sys
src, dst, bundle, exporter, head, commits, reads, seq, entries, access_head = sys.argv[1:]
m = json.load(open(src))
m["exporter"] = exporter
b = open(bundle, "rb").read()
m.update(bundle_sha256=hashlib.sha256(b).hexdigest(), bundle_size=len(b), head=head,
         commits=int(commits), reads=int(reads), checkpoint_seq=int(seq or 0), entries=int(entries),
         transfer_commit=head, access_head=access_head or "0" * 40, access_count=int(reads))
d = os.path.dirname(bundle)
m["members"] = {n: os.path.getsize(os.path.join(d, n)) for n in ["dossier.bundle"] + ["keys/" + k for k in os.listdir(d + "/keys")]}
m["keys_sha256"] = {"keys/" + k: hashlib.sha256(open(os.path.join(d, "keys", k), "rb").read()).hexdigest() for k in os.listdir(d + "/keys")}
open(dst, "w").write(json.dumps(m, indent=2, sort_keys=True) + "\n")
PY
	gpg --batch --quiet --yes --pinentry-mode loopback --passphrase '' -u "$EXPORTER" --detach-sign --armor \
		-o "$x/manifest.json.asc" "$x/manifest.json"
	[ -z "$ARCHIVE_EXTRA" ] || cp "$ARCHIVE_EXTRA" "$x/"
	python3 - "$out" "$x" "${ARCHIVE_EXTRA##*/}" <<'PY'
import os, sys, tarfile
out, d, extra = sys.argv[1:]
with tarfile.open(out, "w:gz") as t:
    for n in ["manifest.json", "manifest.json.asc"] + ["keys/" + k for k in sorted(os.listdir(d + "/keys"))] + ["dossier.bundle"] + ([extra] if extra else []):
        t.add(os.path.join(d, n), arcname=n, recursive=False)
PY
}
# the forged history completed as a transfer would complete it: the honest close (when the
# dossier is still open) and transfer commits replayed on top, re-signed by their signers
finish_for_import() {
	local head state act
	head=$(G rev-parse main)
	act=$(G log -1 --format='%(trailers:key=Kluis-Action,valueonly)' main | sed '/^$/d')
	[ "$act" != transfer ] || return 0
	state=$(G cat-file blob main:dossier | awk '$1 == "state" { print $2 }')
	G fetch -q "$TB0" "+refs/heads/main:refs/forge/t"
	if [ "$state" = open ]; then
		head=$(FORGE_AS=$FINISH_AS KF pick "$CR" "$head" "$T_CLOSE" "$T_XFER")
	else
		head=$(FORGE_AS=$FINISH_AS KF pick "$CR" "$head" "$T_XFER")
	fi
	G update-ref -d refs/forge/t
	G update-ref refs/heads/main "$head"
}
ep_import() {
	local rc=0 out a=$T_ROOT/a$N.tgz iv=$T_ROOT/iv$N
	if [ -n "$ARCHIVE" ]; then
		a=$ARCHIVE
	else # on a copy: the other entry points see the forged repository as it is
		local keep=$CR
		CR=$T_ROOT/ir$N.git
		cp -a "$keep" "$CR"
		finish_for_import
		make_archive "$CR" "$a"
		CR=$keep
	fi
	out=$(env GNUPGHOME="$OH" KLUIS_VAULT="$iv" "$KLUIS" import "$a" --trust "$DIR" 2>&1) || rc=$?
	if [ -n "$BUNDLE_EXTRA" ] && git -C "$iv/dossiers/$D.git" cat-file -e "$BUNDLE_EXTRA" 2>/dev/null; then
		out+=$'\n'"(the imported repository holds the object $BUNDLE_EXTRA: $(git -C "$iv/dossiers/$D.git" cat-file -p "$BUNDLE_EXTRA" | head -c 40))"
	fi
	if [ "$rc" -ne 0 ] && [ -d "$iv/dossiers" ] && [ -n "$(ls -A "$iv/dossiers")" ]; then
		note FAIL import "refused, but something was taken in: $(ls -A "$iv/dossiers")"
		return 0
	fi
	judge import "$rc" "$out" "^kluis: "
}
ep_archive() {
	local rc=0 out
	out=$(env GNUPGHOME="$AUDK" "$KLUIS" --vault "$T_ROOT/av$N" verify --bundle "$ARCHIVE" --trust "$DIR" 2>&1) || rc=$?
	judge archive "$rc" "$out" "$FINDING_RE"
}
case_end() {
	local p
	for p in $EP; do "ep_$p"; done
}
selected() { [ "$ONLY" = "  " ] || [[ $ONLY == *" $1 "* ]]; }
CASES=()
# def ID TITLE: register case function c_ID
def() { CASES+=("$1|$2"); }

# =====================================================================================
# controls: accepted everywhere
def C1 "the honest dossier: adds, special category under consent, consents granted and withdrawn, correction, erasure, roles change and rewrap, approval, statement, reads"
c_C1() { EXPECT=accepted; }
def C5 "the honest transfer archive as kluis wrote it"
c_C5() { EXPECT=accepted EP="import archive" ARCHIVE=$A0; }
def C2 "a legitimate add forged with stock git and gpg on top of the honest history"
c_C2() { EXPECT=accepted; legit_add; }
def C3 "a legitimate add inserted before the last commit; later commits and reads replayed and re-signed"
c_C3() {
	local last base out
	EXPECT=accepted
	last=$(G rev-parse main)
	base=$(G rev-parse main~1)
	G update-ref refs/heads/main "$base"
	legit_add
	G update-ref refs/heads/main "$last"
	out=$(KF rechain "$CR" "$base" "$FC")
	G update-ref refs/heads/main "$(sed -n 1p <<<"$out")"
	G update-ref refs/kluis/access "$(sed -n 2p <<<"$out")"
	[ "$(G rev-parse main)" != "$last" ] || fail "C3: the rechain changed nothing"
}

# ---- 1. a dossier made by a key that is not the trust root ----
def F01 "init run by a non-trust-root key with kluis itself (--as the attacker), naming the real trust root directie and itself medewerker"
c_F01() {
	local xv=$T_ROOT/xv$N
	mkdir -p "$xv"
	printf 'trust %s\n' "$DIR" >"$xv/kluis.conf"   # kluis refuses a trust root that is not the directie
	env KLUIS_VAULT="$xv" "$KLUIS" --as "$OUTSIDER" init "$D" --klant "$KLANT" --medewerker "$OUTSIDER" --directie "$DIR" \
		--opdrachtgever "$OPDR" >"$T_OUT" 2>"$T_ERR" || fail "F01: the attacker's init failed: $(cat "$T_ERR")"
	env KLUIS_VAULT="$xv" "$KLUIS" --as "$OUTSIDER" add "$D" -m "vals" >"$T_OUT" 2>"$T_ERR" || fail "F01: the attacker's add failed: $(cat "$T_ERR")"
	# kluis wrote the vault's trust root (the directie) in Kluis-Trust, which the verifier
	# wants to be the init's signer: the attacker writes the signer, so that nothing but the
	# signer's not being the trust root is wrong, and replays the add on top
	local keep=$CR h init out
	CR=$xv/dossiers/$D.git
	init=$(G rev-list --max-parents=0 main)
	h=$(G rev-parse main)
	raw_commit "$(G rev-parse "$init^{tree}")" - "$(G log -1 --format=%an "$init")" "$OUTSIDER" "$(ctime_of "$init")" \
		"$(G log -1 --format=%B "$init" | sed "s/^Kluis-Trust: .*/Kluis-Trust: $OUTSIDER/")" | land "$OUTSIDER"
	G update-ref refs/heads/main "$h"
	out=$(KF rechain "$CR" "$init" "$FC")
	G update-ref refs/heads/main "$(sed -n 1p <<<"$out")"
	CR=$keep
	rm -rf "$CR"
	cp -a "$xv/dossiers/$D.git" "$CR"
	# the archive: closed by the attacker with kluis, the transfer forged as kluis writes it
	# (kluis transfer would verify first), the manifest signed by the attacker, whose public
	# key travels in keys/
	CR=$xv/dossiers/$D.git
	env KLUIS_VAULT="$xv" "$KLUIS" --as "$OUTSIDER" close "$D" >"$T_OUT" 2>"$T_ERR" || fail "F01: the attacker's close failed: $(cat "$T_ERR")"
	h=$(G rev-parse main)
	G cat-file blob "$h:dossier" | sed 's/^state closed$/state transferred/' >"$T_WORK/dossier"
	raw_commit "$(tree_edit "$h" "dossier=$(put_blob "$T_WORK/dossier")")" "$h" medewerker "$OUTSIDER" "$(($(ctime_of "$h") + 1))" \
		"$(printf 'transfer -\n\nKluis-Action: transfer\nKluis-Role: medewerker\nKluis-Opdrachtgever: %s\nKluis-Access-Head: %040d\nKluis-Access-Count: 0\nKluis-Seq: %s' "$OPDR" 0 $(($(seq_of "$h") + 1)))" |
		land "$OUTSIDER"
	gpg --batch --armor --export "$OUTSIDER" >"$T_ROOT/outsider.asc"
	KEYS_EXTRA=$T_ROOT/outsider.asc EXPORTER=$OUTSIDER
	ARCHIVE=$T_ROOT/arch$N.tgz
	make_archive "$CR" "$ARCHIVE"
	CR=$keep
	EP="verify bundle hook pull import archive"
	WHY="first commit not signed by the trust root \(signer $OUTSIDER\)"
}

# ---- 2. rollback and the read log (transfer archives, checkpoints, the server) ----
# arch_from_tb0 FILTER: a copy of the archive's history changed by FILTER (a function run
# with CR pointing at the copy), as a transfer archive in ARCHIVE
arch_from_tb0() {
	local keep=$CR
	CR=$T_ROOT/tb$N.git
	rm -rf "$CR"
	cp -a "$TB0" "$CR"
	"$1"
	ARCHIVE=$T_ROOT/arch$N.tgz
	make_archive "$CR" "$ARCHIVE"
	CR=$keep
}
def F02 "rollback: main one commit back (the vault's checkpoint kept; the server holds the honest head; an archive whose transfer commit is dropped)"
c_F02() {
	WHY_verify="rollback or rewrite: the head does not descend from the vault's checkpoint"
	WHY_hook="refusing a rewrite of refs/heads/main \(not a fast-forward"
	WHY="the dossier's last commit is '[a-z]+', not a transfer"
	KEEP_CP=1 HOOK_BASE=1 EP="verify hook import archive"
	to_content "-$(ct_of main "$ST" meta)" "-$(ct_of main "$ST" body)"   # the statement's ciphertext goes too
	G update-ref refs/heads/main "$(G rev-parse main~1)"
	_f02() { G update-ref refs/heads/main "$(G rev-parse main~1)"; }
	arch_from_tb0 _f02
}
def F03 "the klant's last statement dropped (her signed read record still names it); in the archive the transfer is replayed and re-signed without it"
c_F03() {
	# the read log, signed by its readers, still names the statement and the heads after it
	WHY="read log: record: (entry $ST is not an entry of this dossier|Kluis-Head [0-9a-f]{40} is not in the dossier's history)"
	to_content "-$(ct_of main "$ST" meta)" "-$(ct_of main "$ST" body)"
	G update-ref refs/heads/main "$(G rev-parse main~1)"
	_f03() {
		local st h
		st=$(G log --format=%H --grep='^Kluis-Action: statement$' main | tail -1)
		[ "$(G log -1 --format='%(trailers:key=Kluis-Entry,valueonly)' "$st" | sed '/^$/d')" = "$ST" ] || fail "F03: the archive's first statement is not ST (test bug)"
		to_content "-$(ct_of "$st" "$ST" meta)" "-$(ct_of "$st" "$ST" body)"
		h=$(KF pick "$CR" "$(G rev-parse "$st~1")" $(G rev-list --reverse "$st..main"))
		G update-ref refs/heads/main "$h"
	}
	arch_from_tb0 _f03
	EP="verify bundle hook pull import archive"
}
def F04 "the read log removed (refs/kluis/access deleted; the vault's checkpoint kept; an archive without it)"
c_F04() {
	WHY_verify="the read log is gone, though the vault's checkpoint vouches for [0-9]+ reads"
	WHY_hook="refusing to delete refs/kluis/access"
	WHY="the bundle's read log ends at nothing, the manifest's access_head is [0-9a-f]{12}"   # import and archive: the signed manifest
	KEEP_CP=1 HOOK_BASE=1 EP="verify hook import archive"
	G update-ref -d refs/kluis/access
	_f04() { G update-ref -d refs/kluis/access; }
	arch_from_tb0 _f04
}
def F05 "the read log truncated by one record (the vault's checkpoint kept; in an archive)"
c_F05() {
	WHY_verify="the read log was cut back or rewritten: it does not hold the vault's checkpoint's record"
	WHY_hook="refusing a rewrite of refs/kluis/access \(not a fast-forward"
	WHY="the bundle's read log ends at [0-9a-f]{12}, the manifest's access_head is [0-9a-f]{12}"   # import and archive: the signed manifest
	KEEP_CP=1 HOOK_BASE=1 EP="verify hook import archive"
	G update-ref refs/kluis/access "$(G rev-parse refs/kluis/access~1)"
	_f05() { G update-ref refs/kluis/access "$(G rev-parse refs/kluis/access~1)"; }
	arch_from_tb0 _f05
}
def F06 "a transfer archive of a dossier that was never closed (the transfer commit replayed on the open head)"
c_F06() {
	WHY="a transfer is not allowed in a dossier that is open"
	EP="import archive"
	ARCHIVE=$T_ROOT/arch$N.tgz
	G fetch -q "$TB0" "+refs/heads/main:refs/forge/t"
	G update-ref refs/heads/main "$(KF pick "$CR" "$(G rev-parse main)" "$T_XFER")"
	G update-ref -d refs/forge/t
	make_archive "$CR" "$ARCHIVE"
}

# ---- 3. rewrap as a way to change content ----
# A rewrap may follow any roles change or none (docs/FORMATS.md: open or closed), so each
# forgery starts from the rewrap kluis itself writes when the directie removes the
# vertegenwoordiger, and changes only what the case is about, re-signed by the directie.
# honest_rewrap: that roles commit and rewrap (main); RW_READERS its ciphertexts' readers
honest_rewrap() {
	expect_exit 0 env KLUIS_VAULT="$CV" "$KLUIS" --as "$DIR" roles "$D" --remove "$VERT"
	[ "$(G log -1 --format='%(trailers:key=Kluis-Action,valueonly)' main | sed '/^$/d')" = rewrap ] ||
		fail "$CID: kluis wrote no rewrap after the roles change (test precondition)"
	mapfile -t RW_READERS < <(G cat-file blob "$(ct_of main "$E1" body)" | recipients_of | sed 's/$/!/')
}
# amend_rewrap [TREE-EDITS...]: the rewrap on main with its tree edited, re-signed by the directie
amend_rewrap() {
	local h out
	h=$(G rev-parse main)
	raw_commit "$(tree_edit "$h" "$@")" "$(G rev-parse main~1)" directie "$DIR" "$(ctime_of "$h")" "$(G log -1 --format=%B "$h")" | land "$DIR"
	G update-ref refs/heads/main "$h"   # the read kluis logged while rewrapping names the new commit
	out=$(KF rechain "$CR" "$h" "$FC")
	G update-ref refs/heads/main "$(sed -n 1p <<<"$out")"
	G update-ref refs/kluis/access "$(sed -n 2p <<<"$out")"
}
# rewrap_to TEXT: ciphertext of TEXT to the rewrap's readers, in refs/kluis/content
rewrap_to() {
	printf '%s\n' "$1" >"$T_WORK/rw.txt"
	RW_CT=$(encrypt "$T_WORK/rw.txt" "${RW_READERS[@]}")
	to_content "$RW_CT"
}
def F07 "a rewrap (after a roles change, as kluis writes it) that re-encrypts one entry's body to other text"
c_F07() {
	local old
	WHY="entry $E1 body: the rewrap changes the plaintext commitment"
	honest_rewrap
	old=$(ct_of main "$E1" body)
	rewrap_to "andere inhoud"
	amend_rewrap "$(entry_dir "$E1")/body=$(put_pointer "$RW_CT")"
	to_content "-$old"
}
def F08 "a rewrap that deletes the dossier info"
c_F08() {
	local old
	WHY="the dossier tree lacks its dossier, roles or info file"
	honest_rewrap
	old=$(G cat-file blob main:info | awk '$1 == "oid" { print $2 }')
	amend_rewrap info=-
	to_content "-$old"
}
def F09 "a rewrap that re-encrypts the dossier info to other text"
c_F09() {
	local old
	WHY="dossier info: the rewrap changes the plaintext commitment"
	honest_rewrap
	old=$(G cat-file blob main:info | awk '$1 == "oid" { print $2 }')
	rewrap_to "ander traject"
	amend_rewrap "info=$(put_pointer "$RW_CT")"
	to_content "-$old"
}

# ---- 4. refs/kluis/content ----
# content_set TREE: refs/kluis/content becomes one parentless commit of TREE

def F10 "a plaintext blob added to refs/kluis/content"
c_F10() {
	WHY="refs/kluis/content holds object [0-9a-f]{40} that no pointer of the history names"
	printf 'klare tekst, BSN 123456782\n' >"$T_WORK/plain.txt"
	to_content "$(put_blob "$T_WORK/plain.txt")"
}
def F11 "refs/kluis/content replaced by an empty tree"
c_F11() {
	# every ciphertext is missing; pull and import name the first in object-id order, which may
	# be the info's or an erased entry's reason as well as an entry's meta or body
	WHY="ciphertext [0-9a-f]{40} of (entry [^ ]+ \((meta|body|reason)\)|the dossier info) is not in refs/kluis/content"
	content_set "$(G hash-object -t tree -w /dev/null)"
}
def F12 "refs/kluis/content with an extra ciphertext no pointer names"
c_F12() {
	WHY="refs/kluis/content holds object [0-9a-f]{40} that no pointer of the history names"
	mapfile -t RD < <(readers_of main)
	printf 'verstopt\n' >"$T_WORK/x.txt"
	to_content "$(encrypt "$T_WORK/x.txt" "${RD[@]}")"
}
def F13 "refs/kluis/content missing one object a pointer names"
c_F13() {
	WHY="ciphertext [0-9a-f]{40} of entry $E1 \(body\) is not in refs/kluis/content \(no signed erase or rewrap removed it\)"
	to_content "-$(ct_of main "$E1" body)"
}

# ---- 5. the lifecycle ----
def F14 "a close that also shortens the retention in the dossier file (to 1 year)"
c_F14() {
	local h d
	WHY="a close may change the dossier file's state and closing time only"
	h=$(G rev-parse main)
	# the dossier file of the honest close (a few minutes ago: within the clock tolerance),
	# with the shortest retention kluis accepts
	git -C "$TB0" cat-file blob "$T_CLOSE:dossier" >"$T_WORK/dossier"
	if grep -q '^retention-years 1$' "$T_WORK/dossier"; then sed -i 's/^retention-years .*/retention-years 2/' "$T_WORK/dossier"
	else sed -i 's/^retention-years .*/retention-years 1/' "$T_WORK/dossier"; fi
	d=$(put_blob "$T_WORK/dossier")
	raw_commit "$(tree_edit "$h" "dossier=$d")" "$h" medewerker "$MEDEW" "$(($(ctime_of "$h") + 1))" \
		"$(msg close - medewerker $(($(seq_of "$h") + 1)))" | land "$MEDEW"
}
def F15 "an add after close"
c_F15() {
	WHY="an? add is not allowed in a dossier that is closed"
	expect_exit 0 env KLUIS_VAULT="$CV" "$KLUIS" --as "$MEDEW" close "$D"
	legit_add
}
def F16 "init in the middle of the history (signed by the trust root)"
c_F16() {
	WHY="no Kluis-Action this place in the history allows \('init'\)"
	local h
	h=$(G rev-parse main)
	raw_commit "$(G rev-parse "$h^{tree}")" "$h" directie "$DIR" "$(($(ctime_of "$h") + 1))" \
		"$(printf 'init -\n\nKluis-Action: init\nKluis-Role: directie\nKluis-Trust: %s\nKluis-Seq: %s' "$DIR" $(($(seq_of "$h") + 1)))" | land "$DIR"
}

# ---- 6. special categories (P8) ----
special_add() { # CONSENT-ID: a special-category add to every reader, the opdrachtgever included
	prep_add
	MSG=$(EXTRA_TRAILERS="Kluis-Special: $NE
Kluis-Consent-Ref: $1" msg add "$NE" medewerker $(($(seq_of "$H") + 1)))
	raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG" | land "$MEDEW"
}
def F17 "a special-category add encrypted to the opdrachtgever citing a consent that does not exist"
c_F17() {
	WHY="cites consent 20200101T000000Z-dead, which is no consent grant of this dossier"
	special_add "20200101T000000Z-dead"
}
def F18 "a special-category add encrypted to the opdrachtgever citing a withdrawn consent"
c_F18() {
	WHY="cites consent $C_REL, which was withdrawn"
	special_add "$C_REL"
}

# ---- 7. headers, trailers, trees ----
# hdr_add SED-EXPR: a legitimate add whose raw commit is piped through sed before signing
raw_add() { prep_add "$@"; raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG"; }
def F19 "author and committer lines naming another role than the signer holds"
c_F19() {
	WHY="the author line says directie, but the signer is the medewerker"
	raw_add | sed 's/^\(author\|committer\) medewerker /\1 directie /' | land "$MEDEW"
}
def F20 "committer line naming another fingerprint than the signer's"
c_F20() {
	WHY="the committer is not the author, to the byte"
	raw_add | sed "s/^committer medewerker <$MEDEW>/committer medewerker <$DIR>/" | land "$MEDEW"
}
def F21 "an extra encoding header"
c_F21() {
	WHY="no gpgsig header where kluis writes it"
	raw_add | sed '/^committer /a encoding ISO-8859-1' | land "$MEDEW"
}
def F22 "a second author header"
c_F22() {
	WHY="the committer is not the author, to the byte"
	# stock git's fsck (receive.fsckObjects) refuses the object before kluis sees it
	WHY_pull="cannot fetch from .*: fatal: fetch-pack: invalid index-pack output"
	raw_add | sed "/^author /{p;s/<$MEDEW>/<$KLANT>/}" | land "$MEDEW"
}
def F23 "a mergetag header"
c_F23() {
	WHY="no gpgsig header where kluis writes it"
	raw_add | python3 -c '
import sys
raw = sys.stdin.read()
tag = "object %s\ntype commit\ntag v1\ntagger x <x> 0 +0000\n\nvals" % ("0" * 40)
h, _, m = raw.partition("\n\n")
print(h + "\nmergetag " + tag.replace("\n", "\n ") + "\n\n" + m, end="")' | land "$MEDEW"
}
def F24 "a trailer added that the action does not carry (Kluis-Supersedes on an add)"
c_F24() {
	WHY="trailer [0-9]+ is 'Kluis-Supersedes: [^']*' where kluis writes 'Kluis-Seq: [0-9]+' for this add"
	raw_add | sed "s/^Kluis-Role: medewerker$/&\nKluis-Supersedes: $E1/" | land "$MEDEW"
}
def F25 "a trailer duplicated (Kluis-Kind twice)"
c_F25() {
	WHY="trailer [0-9]+ is 'Kluis-Kind: note' where kluis writes 'Kluis-Kind: ' for this add"
	raw_add | sed '/^Kluis-Kind: /{p;s/note/plan/}' | land "$MEDEW"
}
def F26 "trailers reordered (Kluis-Seq first)"
c_F26() {
	WHY="no Kluis-Action this place in the history allows \('[0-9]+'\)"
	raw_add | python3 -c '
import sys
raw = sys.stdin.read()
body, _, tr = raw.rstrip("\n").rpartition("\n\n")
lines = tr.split("\n")
seq = [l for l in lines if l.startswith("Kluis-Seq:")]
print(body + "\n\n" + "\n".join(seq + [l for l in lines if not l.startswith("Kluis-Seq:")]))' | land "$MEDEW"
}
def F27 "an unknown trailer"
c_F27() {
	WHY="trailer [0-9]+ is 'Kluis-Note: gezien' where kluis writes"
	raw_add | sed 's/^Kluis-Role: medewerker$/&\nKluis-Note: gezien/' | land "$MEDEW"
}
def F28 "an extra file in the root tree"
c_F28() {
	WHY="unexpected 'notities' in the dossier tree"
	raw_add "notities=$(printf 'x\n' | put_text)" | land "$MEDEW"
}
def F29 "an extra file in an entry directory"
c_F29() {
	WHY="entry [0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}: must hold exactly the pointers meta and body"
	prep_add
	T=$(tree_edit "$T" "$(entry_dir "$NE")/extra=$(printf 'x\n' | put_text)")
	raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG" | land "$MEDEW"
}
def F30 "the roles file with mode 100755"
c_F30() {
	WHY="unexpected 'roles' in the dossier tree"
	raw_add "roles=100755:$(G rev-parse main:roles)" | land "$MEDEW"
}
def F31 "an entry's meta as a symlink (mode 120000)"
c_F31() {
	WHY="entry [0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}: must hold exactly the pointers meta and body"
	prep_add
	T=$(tree_edit "$T" "$(entry_dir "$NE")/meta=120000:$NE_META")
	raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG" | land "$MEDEW"
}
def F32 "a sneaky path: the new entry filed under another shard"
c_F32() {
	WHY="entries/[0-9a-f]{2}/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}: not an entry directory in its shard"
	prep_add
	local other=ff
	[ "${NE:17:2}" != ff ] || other=00
	T=$(tree_edit "$H" "entries/$other/$NE/meta=$NE_META" "entries/$other/$NE/body=$NE_BODY")
	raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG" | land "$MEDEW"
}
def F33 "a sneaky tree: the root tree names info twice (the second to other ciphertext)"
c_F33() {
	WHY="the dossier tree is not in git's own encoding"
	WHY_pull="cannot fetch from .*: fatal: fetch-pack: invalid index-pack output"   # stock git's fsck, as in F22
	local ict
	prep_add
	mapfile -t RD < <(readers_of main)
	printf 'tweede info\n' >"$T_WORK/i2.txt"
	ict=$(encrypt "$T_WORK/i2.txt" "${RD[@]}")
	to_content "$ict"
	T=$(python3 - "$CR" "$T" "$(put_pointer "$ict")" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["KLUIS_TEST_DIR"] + "/forge")
from kforge import Repo, parse_tree, tree_bytes
repo = Repo(sys.argv[1])
ents = parse_tree(repo.read(sys.argv[2])[1])
i = [k for k, e in enumerate(ents) if e[1] == b"info"][0]
ents.insert(i + 1, ["100644", b"info", sys.argv[3]])
print(repo.write("tree", tree_bytes(ents)))
PY
)
	raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG" | land "$MEDEW"
}

# ---- references to what is not there (found while writing these) ----
def F44 "a correction superseding an entry that does not exist"
c_F44() {
	WHY="corrects entry 20200101T000000Z-beef, which does not exist"
	local tpl
	prep_add
	tpl=$(G log -1 --format=%B --grep='^Kluis-Action: correct$' main)
	MSG=$(sed -e "s/^\(correct \).*/\1$NE/" -e "s/^Kluis-Entry: .*/Kluis-Entry: $NE/" \
		-e 's/^Kluis-Supersedes: .*/Kluis-Supersedes: 20200101T000000Z-beef/' \
		-e "s/^Kluis-Seq: .*/Kluis-Seq: $(($(seq_of "$H") + 1))/" <<<"$tpl")
	grep -q '^Kluis-Supersedes: 20200101T000000Z-beef$' <<<"$MSG" || fail "F44: no Kluis-Supersedes in the template (test bug)"
	raw_commit "$T" "$H" medewerker "$MEDEW" "$TM" "$MSG" | land "$MEDEW"
}
def F45 "the klant's approval citing a commit that did not add the approved entry (the init)"
c_F45() {
	WHY="trailer [0-9]+ is 'Kluis-Approves: [0-9a-f]{40}' where kluis writes 'Kluis-Approves: [0-9a-f]{40}' for this approve"
	local h tpl
	h=$(G rev-parse main)
	tpl=$(G log -1 --format=%B --grep='^Kluis-Action: approve$' main)
	MSG=$(sed -e "s/^Kluis-Approves: .*/Kluis-Approves: $(G rev-list --max-parents=0 main)/" \
		-e "s/^Kluis-Seq: .*/Kluis-Seq: $(($(seq_of "$h") + 1))/" <<<"$tpl")
	raw_commit "$(G rev-parse "$h^{tree}")" "$h" klant "$KLANT" "$(($(ctime_of "$h") + 1))" "$MSG" | land "$KLANT"
}
def F46 "a read record naming an entry that does not exist"
c_F46() {
	local a m
	a=$(G rev-parse refs/kluis/access)
	WHY="entry 20200101T000000Z-beef is not an entry of this dossier"
	m=$(printf 'access 20200101T000000Z-beef\n\nKluis-Action: access\nKluis-Entry: 20200101T000000Z-beef\nKluis-Role: medewerker\nKluis-Purpose: begeleiding\nKluis-Head: %s\nKluis-Seq: %s' \
		"$(G rev-parse main)" "$(($(G rev-list --count refs/kluis/access) + 1))")
	FC=$(raw_commit "$(G rev-parse "$a^{tree}")" "$a" medewerker "$MEDEW" "$(($(G log -1 --format=%ct "$a") + 1))" "$m" | KF write-commit "$CR" "$MEDEW")
	G update-ref refs/kluis/access "$FC"
	GNUPGHOME=$AUD git -C "$CR" verify-commit "$FC" >/dev/null 2>&1 || fail "F46: stock git refuses the forged read record (test bug)"
}
def F47 "a read record naming a real entry at a head before that entry was added (the init)"
c_F47() {
	local a m e
	a=$(G rev-parse refs/kluis/access)
	e=$(G log -1 --format=%B --grep='^Kluis-Action: add$' main | sed -n 's/^Kluis-Entry: //p')
	[ -n "$e" ] || fail "F47: no added entry found (test bug)"
	WHY="entry $e was not in the dossier at the head it read"
	m=$(printf 'access %s\n\nKluis-Action: access\nKluis-Entry: %s\nKluis-Role: medewerker\nKluis-Purpose: begeleiding\nKluis-Head: %s\nKluis-Seq: %s' \
		"$e" "$e" "$(G rev-list --max-parents=0 main)" "$(($(G rev-list --count refs/kluis/access) + 1))")
	FC=$(raw_commit "$(G rev-parse "$a^{tree}")" "$a" medewerker "$MEDEW" "$(($(G log -1 --format=%ct "$a") + 1))" "$m" | KF write-commit "$CR" "$MEDEW")
	G update-ref refs/kluis/access "$FC"
	GNUPGHOME=$AUD git -C "$CR" verify-commit "$FC" >/dev/null 2>&1 || fail "F47: stock git refuses the forged read record (test bug)"
}

# ---- 8. keys and signature times ----
def F34 "an add signed by the medewerker's authentication-only subkey"
c_F34() {
	WHY="signed by subkey [0-9A-F]{40} of key [0-9A-F]{40}, which may not sign \(key flags\)"
	local raw sig
	SIGCHECK=0
	raw=$(raw_add)
	sig=$(printf '%s\n' "$raw" | KF authsign "$AUTHSUB")
	printf '%s\n' "$raw" | python3 -c '
import sys
raw, sig = sys.stdin.read(), sys.argv[1]
h, _, m = raw.partition("\n\n")
print(h + "\ngpgsig " + sig.replace("\n", "\n ") + "\n\n" + m, end="")' "$sig" | land -
	GNUPGHOME=$AUD git -C "$CR" verify-commit "$FC" >/dev/null 2>&1 && fail "F34: stock git accepts an authentication-only subkey's signature (test bug)"
	true
}
def F35 "a backdated signature: made (faked clock) before the parent commit's time, after the key's creation"
c_F35() {
	WHY="signed before its parent's time \(a backdated signature\?\)"
	local created pt
	SIGCHECK=0
	created=$(gpg --batch --with-colons --list-keys "$MEDEW" | awk -F: '$1 == "pub" { print $6; exit }')
	pt=$(ctime_of main)
	[ "$pt" -gt $((created + 1)) ] || fail "F35: the parent ($pt) is not dated after the key's creation ($created) (test precondition)"
	raw_add | land "$MEDEW" $(((created + pt) / 2))
}
def F36 "a commit dated more than the clock tolerance (1 h) after its own signature, not in the future"
c_F36() {
	# |signature - commit time| > 1 h, with every other time in order: signed after the
	# parent, dated no more than the tolerance ahead of now (a signature from the future, or a
	# commit dated before its parent, is refused by other rules: F35)
	local pt st
	WHY="signed at a time more than 3600 s away from the commit's own time"
	SIGCHECK=0
	pt=$(ctime_of main)
	while [ "$(now)" -lt $((pt + 12)) ]; do sleep 1; done
	st=$((pt + 1))
	ENTRY_TIME=$((st + 3600 + 10)) prep_add
	raw_commit "$T" "$H" medewerker "$MEDEW" $((st + 3600 + 10)) "$MSG" | land "$MEDEW" "$st"
}
# a copy of the medewerker's secret key in a home of its own, for expiry and revocation
medew_copy() {
	secret_home "$MEDEW"
	MH=$REPLY
}
def F37 "an add by the medewerker after the medewerker's key expired"
c_F37() {
	WHY="had expired at the signature's time"
	local f=$T_ROOT/exp$N.asc
	medew_copy
	gpg --homedir "$MH" --batch --quiet --pinentry-mode loopback --passphrase '' --quick-set-expire "$MEDEW" \
		"$(date -u -d "@$(($(now) + 1))" +%Y%m%dT%H%M%S)" 2>/dev/null ||
		fail "F37: gpg could not set the expiry"
	gpg --homedir "$MH" --batch --export "$MEDEW" >"$f"
	sleep 2
	key_variant "$f"
	FINISH_AS="directie $DIR" EXPORTER=$DIR   # the transfer is the directie's: only the add is the medewerker's
	SIGCHECK=0
	legit_add
	[[ $(GNUPGHOME=$AUDK git -C "$CR" verify-commit --raw "$FC" 2>&1 || true) == *"[GNUPG:] EXPKEYSIG "* ]] ||
		fail "F37: stock gpg does not see a signature by an expired key (test bug): $(GNUPGHOME=$AUDK git -C "$CR" verify-commit --raw "$FC" 2>&1 | tr '\n' '|')"
}
# revoke CODE: a revocation of the medewerker's key with reason CODE (0 none, 1 compromised,
# 2 superseded, 3 no longer used) in the verifiers' keyrings; then the forged add
revoke_then_add() {
	local f=$T_ROOT/rev$N.asc
	medew_copy
	printf 'revkey\ny\n%s\n\ny\nsave\n' "$1" | gpg --homedir "$MH" --no-tty --command-fd 0 --status-fd 2 \
		--pinentry-mode loopback --passphrase '' --edit-key "$MEDEW" >/dev/null 2>&1 || fail "$CID: gpg --edit-key revkey failed"
	gpg --homedir "$MH" --batch --with-colons --list-keys "$MEDEW" 2>/dev/null | grep_q '^pub:r:' || fail "$CID: the key copy is not revoked (test bug)"
	gpg --homedir "$MH" --batch --export "$MEDEW" >"$f"
	sleep 2
	key_variant "$f"
	FINISH_AS="directie $DIR" EXPORTER=$DIR   # the transfer is the directie's: only the add is the medewerker's
	SIGCHECK=0
	legit_add
	[[ $(GNUPGHOME=$AUDK git -C "$CR" verify-commit --raw "$FC" 2>&1 || true) == *"[GNUPG:] REVKEYSIG "* ]] ||
		fail "$CID: stock gpg does not see a signature by a revoked key (test bug)"
}
def C4 "control: the medewerker's key revoked as no longer used (soft) after the honest history; no new commit by it"
c_C4() {
	EXPECT=accepted
	medew_copy
	printf 'revkey\ny\n3\n\ny\nsave\n' | gpg --homedir "$MH" --no-tty --command-fd 0 --status-fd 2 \
		--pinentry-mode loopback --passphrase '' --edit-key "$MEDEW" >/dev/null 2>&1 || fail "C4: gpg --edit-key revkey failed"
	gpg --homedir "$MH" --batch --export "$MEDEW" >"$T_ROOT/rev$N.asc"
	key_variant "$T_ROOT/rev$N.asc"
	FINISH_AS="directie $DIR" EXPORTER=$DIR
}
def F38 "an add signed after the medewerker's key was revoked as no longer used (soft)"
c_F38() {
	WHY="was revoked \(no longer used: [^)]*\) on [^,]*, before the signature's time"
	revoke_then_add 3
}
def F39 "an add signed by a key revoked as compromised"
c_F39() {
	WHY="was revoked \(compromised: [^)]*\); every signature it made is refused"
	revoke_then_add 1
}

# ---- 9. signatures ----
def F40 "an unsigned commit"
c_F40() {
	WHY="unsigned commit \(no gpgsig header\)"
	SIGCHECK=0; raw_add | land -
}
def F41 "a signature over other bytes (the commit with another subject)"
c_F41() {
	WHY="signature does not verify: bad signature by key [0-9A-F]{40}: Invalid signature"
	local raw sig
	SIGCHECK=0
	raw=$(raw_add)
	sig=$(printf '%s\n' "$raw" | sed 's/^add /edit /' | gpg --batch --quiet --pinentry-mode loopback --passphrase '' -u "$MEDEW" --detach-sign --armor)
	printf '%s\n' "$raw" | python3 -c '
import sys
raw, sig = sys.stdin.read(), sys.argv[1]
h, _, m = raw.partition("\n\n")
print(h + "\ngpgsig " + sig.strip().replace("\n", "\n ") + "\n\n" + m, end="")' "$sig" | land -
}
def F42 "two signatures in one gpgsig (the medewerker's and the directie's)"
c_F42() {
	WHY="signature: the packet's length does not match its bytes \(one packet, nothing after\)"
	local raw sig
	SIGCHECK=0
	raw=$(raw_add)
	sig=$(printf '%s\n' "$raw" | gpg --batch --quiet --pinentry-mode loopback --passphrase '' -u "$MEDEW" -u "$DIR" --detach-sign --armor)
	[ "$(printf '%s\n' "$sig" | gpg --batch --list-packets 2>/dev/null | grep -c '^:signature packet')" = 2 ] || fail "F42: not two signature packets (test bug)"
	printf '%s\n' "$raw" | python3 -c '
import sys
raw, sig = sys.stdin.read(), sys.argv[1]
h, _, m = raw.partition("\n\n")
print(h + "\ngpgsig " + sig.strip().replace("\n", "\n ") + "\n\n" + m, end="")' "$sig" | land -
}
def F43 "two gpgsig headers (the medewerker's signature twice)"
c_F43() {
	WHY="another header after gpgsig \(kluis writes none\)"
	local raw sig
	SIGCHECK=0
	raw=$(raw_add)
	sig=$(printf '%s\n' "$raw" | gpg --batch --quiet --pinentry-mode loopback --passphrase '' -u "$MEDEW" --detach-sign --armor)
	printf '%s\n' "$raw" | python3 -c '
import sys
raw, sig = sys.stdin.read(), sys.argv[1]
h, _, m = raw.partition("\n\n")
g = "gpgsig " + sig.strip().replace("\n", "\n ")
print(h + "\n" + g + "\n" + g + "\n\n" + m, end="")' "$sig" | land -
}

# ---- 10. found while setting WHY: the bytes an attacker writes that no case covered yet ----
def F48 "a second paragraph of Key: value lines between the subject and kluis's trailers (git reads only the last as trailers)"
c_F48() {
	WHY="commit message: a line of the message is not a .Key: value. trailer"
	raw_add | python3 -c '
import sys
raw = sys.stdin.read()
h, _, m = raw.partition("\n\n")
subj, _, tr = m.partition("\n\n")
print(h + "\n\n" + subj + "\n\nNotitie: klare tekst die niemand controleert\n\n" + tr, end="")' | land "$MEDEW"
}
def F49 "a trailer value with a trailing space (Kluis-Role: medewerker + space)"
c_F49() {
	WHY="trailer [0-9]+ is 'Kluis-Role: medewerker ' where kluis writes 'Kluis-Role: medewerker'"
	raw_add | sed 's/^Kluis-Role: medewerker$/& /' | land "$MEDEW"
}
def F50 "a good signature whose armor carries a Comment header (stock gpg --comment)"
c_F50() {
	local raw sig
	WHY="signature: the armor does not begin with its two lines"
	raw=$(raw_add)
	sig=$(printf '%s\n' "$raw" | gpg --batch --quiet --pinentry-mode loopback --passphrase '' -u "$MEDEW" --comment "vals" --detach-sign --armor)
	grep -q '^Comment: vals' <<<"$sig" || fail "F50: gpg wrote no Comment header (test bug)"
	printf '%s\n' "$raw" | python3 -c '
import sys
raw, sig = sys.stdin.read(), sys.argv[1]
h, _, m = raw.partition("\n\n")
print(h + "\ngpgsig " + sig.strip().replace("\n", "\n ") + "\n\n" + m, end="")' "$sig" | land -
	GNUPGHOME=$AUD git -C "$CR" verify-commit "$FC" >/dev/null 2>&1 || fail "F50: stock git refuses the signature (test bug)"
}
def F51 "a read record signed by a key that holds no role, claiming the medewerker"
c_F51() {
	local a m
	WHY="read log: record: the signer was not the medewerker of this dossier at the head it read"
	gpg --batch --armor --export "$OUTSIDER" >"$T_ROOT/outsider.asc"
	KEYS_EXTRA=$T_ROOT/outsider.asc   # in the archive's keys/: the import then judges the record
	a=$(G rev-parse refs/kluis/access)
	m=$(printf 'access %s\n\nKluis-Action: access\nKluis-Entry: %s\nKluis-Role: medewerker\nKluis-Purpose: begeleiding\nKluis-Head: %s\nKluis-Seq: %s' \
		"$E1" "$E1" "$(G rev-parse main)" "$(($(G rev-list --count refs/kluis/access) + 1))")
	FC=$(raw_commit "$(G rev-parse "$a^{tree}")" "$a" medewerker "$OUTSIDER" "$(($(G log -1 --format=%ct "$a") + 1))" "$m" | KF write-commit "$CR" "$OUTSIDER")
	G update-ref refs/kluis/access "$FC"
	GNUPGHOME=$AUD git -C "$CR" verify-commit "$FC" >/dev/null 2>&1 || fail "F51: stock git refuses the forged read record (test bug)"
}
def F52 "a transfer archive whose manifest is signed by the directie, the transfer commit by the medewerker"
c_F52() {
	WHY="the manifest is signed by [0-9A-F]{40}, but the transfer commit by [0-9A-F]{40}"
	EP="import archive" EXPORTER=$DIR
	arch_from_tb0 true
}
def F53 "a transfer archive with one member more: a plaintext file next to the bundle"
c_F53() {
	WHY="member 'klant.txt' is not a member a transfer archive may hold"
	EP="import archive"
	printf 'klare tekst, BSN 123456782\n' >"$T_ROOT/klant.txt"
	ARCHIVE_EXTRA=$T_ROOT/klant.txt arch_from_tb0 true
}
def F54 "a bundle whose pack also carries a plaintext blob that no ref reaches"
c_F54() {
	WHY="object [0-9a-f]{40} that no (ref reaches|pointer of the history names)"   # no such finding yet: a hole
	EP="bundle hook import"
	printf 'klare tekst, BSN 123456782\n' >"$T_WORK/plain.txt"
	BUNDLE_EXTRA=$(put_blob "$T_WORK/plain.txt")
}
def F55 "a ciphertext in refs/kluis/content with mode 100755"
c_F55() {
	local ct idx=$T_WORK/idx.mode
	WHY="refs/kluis/content: '[0-9a-f]{2}/[0-9a-f]{38}' is not a ciphertext object under its own id"
	ct=$(ct_of main "$E1" body)
	rm -f "$idx"
	GIT_INDEX_FILE=$idx G read-tree refs/kluis/content
	printf '100755 %s\t%s\n' "$ct" "${ct:0:2}/${ct:2}" | GIT_INDEX_FILE=$idx G update-index --index-info
	content_set "$(GIT_INDEX_FILE=$idx G write-tree)"
	rm -f "$idx"
}
def F56 "a note added by the klant, who may add only his own requests (the note encrypted to every reader)"
c_F56() {
	WHY="the klant adds only requests"
	prep_add
	MSG=$(msg add "$NE" klant $(($(seq_of "$H") + 1)) note)
	raw_commit "$T" "$H" klant "$KLANT" "$TM" "$MSG" | land "$KLANT"
}
def C6 "a request the klant files himself, forged with stock git and gpg on top of the honest history"
c_C6() {
	EXPECT=accepted
	prep_add
	MSG=$(msg add "$NE" klant $(($(seq_of "$H") + 1)) request)
	raw_commit "$T" "$H" klant "$KLANT" "$TM" "$MSG" | land "$KLANT"
}
def C7 "an add whose entry was written 2 days before its commit (an offline vault's entry, replayed when it synced)"
c_C7() {
	EXPECT=accepted
	ENTRY_TIME=$(($(now) - 2 * 86400)) legit_add
}
def F57 "an add whose entry id says it was written 31 days before its commit (beyond KLUIS_ENTRY_AGE_MAX)"
c_F57() {
	WHY="entry id [^ ]* does not carry a time it was written"
	ENTRY_TIME=$(($(now) - 31 * 86400)) legit_add
}
def F58 "an add whose entry id says it was written 2 hours after its commit"
c_F58() {
	WHY="entry id [^ ]* does not carry a time it was written"
	ENTRY_TIME=$(($(now) + 7200)) legit_add
}

# ---- the bytes no signature covers: changed by someone who holds no key ----
# mall_add MODE: an honest add signed by the medewerker (stock gpg), then its signature's
# uncovered bytes changed without a key (kforge.py malleate): the signature still verifies,
# the commit's id changes, and (unhashed) any text rides along in a dossier
mall_add() {
	local c
	c=$(raw_add | KF write-commit "$CR" "$MEDEW")
	[[ $c =~ ^[0-9a-f]{40}$ ]] || fail "$CID: could not write the honest commit (test bug)"
	G cat-file commit "$c" | KF malleate "$1" | land -
}
def F59 "an honest signature's armor re-wrapped in lines of 60 characters, without a key (stock git accepts it)"
c_F59() { WHY="signature: the armor is not the canonical encoding of its packet"; mall_add rewrap; }
def F60 "an honest signature whose armor checksum is off by one bit (stock git and gpg refuse it; kluis once took it)"
c_F60() { WHY="signature: the armor is not the canonical encoding of its packet"; SIGCHECK=0; mall_add crc; }
def F61 "an honest signature packet re-encoded with a new-format header, without a key (stock git accepts it)"
c_F61() { WHY="signature: not one old-format signature packet"; mall_add newformat; }
def F62 "text about the klant added to an honest signature's unhashed area, without a key (stock git accepts it)"
c_F62() { WHY="signature: the unhashed area holds more than the issuer's key id"; mall_add unhashed; }
def F63 "an honest EdDSA signature whose S is replaced by S + L, without a key (stock git and gpg accept it)"
c_F63() { WHY="signature: the EdDSA value S is not reduced below the group order"; mall_add splusl; }
# the content ref's trees are signed by no one: the same entries in other bytes
def F64 "the content tree re-encoded with zero-padded modes (the same entries; git fsck only warns)"
c_F64() {
	WHY="refs/kluis/content: '[0-9a-f]{2}' is not in git's own encoding"
	# stock git's fsck (fetch.fsckObjects) refuses the objects before kluis sees them
	WHY_pull="cannot fetch from .*: fatal: fetch-pack: invalid index-pack output"
	content_set "$(KF retree "$CR" "$(G rev-parse 'refs/kluis/content^{tree}')" pad)"
}
def F66 "an empty shard added to the content tree, without a key (256 names: bits anyone could choose)"
c_F66() {
	WHY="refs/kluis/content: '[0-9a-f]{2}' is an empty directory"
	content_set "$(KF retree "$CR" "$(G rev-parse 'refs/kluis/content^{tree}')" empty)"
}
def F65 "the content tree's shards in reverse order (the same entries)"
c_F65() {
	WHY="refs/kluis/content: its tree is not in git's own encoding"
	# stock git's fsck (fetch.fsckObjects) refuses the objects before kluis sees them
	WHY_pull="cannot fetch from .*: fatal: fetch-pack: invalid index-pack output"
	content_set "$(KF retree "$CR" "$(G rev-parse 'refs/kluis/content^{tree}')" order)"
}

# =====================================================================================
for c in "${CASES[@]}"; do
	id=${c%%|*}
	title=${c#*|}
	if [ "$ONLY" = "  " ] || [[ $ONLY == *" $id "* ]]; then
		printf '# %s %s\n' "$id" "$title"
		case_begin "$id" "$title"
		"c_$id"
		case_end
	fi
done
[ -s "$RESULTS" ] || fail "no case ran (unknown id in: $ONLY)"
nok=$(grep -c '^ok ' "$RESULTS" || true)
nfail=$(grep -c '^FAIL ' "$RESULTS" || true)
printf '\nforge: %d passed, %d failed\n' "$nok" "$nfail"
if [ "$nfail" -gt 0 ]; then
	grep '^FAIL ' "$RESULTS" | awk '{ print $2 }' | sort -u | tr '\n' ' ' | sed 's/^/failing cases: /;s/$/\n/' >&2
	fail "$nfail refusal(s) missing (listed above)"
fi
pass "every forgery refused at every entry point where it applies, every control accepted"

