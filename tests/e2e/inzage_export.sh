#!/usr/bin/env bash
# e2e/inzage_export.sh - kluis inzage (WerkPro P10: the access report as text, JSON and one
# self-contained HTML page, rendered by headless Chromium) and kluis export (P12: a zip with
# index.json and every entry's original bytes). Every run is one logged read; refusals log none.
#
# Environment (CTest): KLUIS (the binary), KLUIS_TEST_DIR (tests/).
set -euo pipefail
: "${KLUIS:?set KLUIS to the kluis binary}"
: "${KLUIS_TEST_DIR:?set KLUIS_TEST_DIR to the tests/ directory}"
. "$KLUIS_TEST_DIR/keys.sh"

W=$(mktemp -d /tmp/kie.XXXXXX)
kt_home "$W/g"
trap 'rc=$?; kt_cleanup; rm -rf "$W"; exit $rc' EXIT
export HOME=$W/home XDG_CACHE_HOME=$W/cache KLUIS_VAULT=$W/vault GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
unset KLUIS_KEY 2>/dev/null || true
mkdir -p "$HOME" "$XDG_CACHE_HOME" "$W/out"
cd "$W/out"

N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
fail() { echo "FAIL - $*" >&2; [ -s "$W/err" ] && echo "  stderr: $(head -c 1500 "$W/err")" >&2; exit 1; }
k() { "$KLUIS" "$@"; }
# expect CODE CMD... : stdout in $W/out.txt, stderr in $W/err; a failure says one 'kluis: ' line
expect() {
	local want=$1 rc=0
	shift
	"$@" >"$W/stdout" 2>"$W/err" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want"
	if [ "$rc" != 0 ] && { [ "$(wc -l <"$W/err")" != 1 ] || ! grep -q '^kluis: ' "$W/err"; }; then
		fail "'$*' failed without exactly one 'kluis: ...' line on stderr"
	fi
	return 0
}
# reads [PURPOSE]: access records on the dossier (with that purpose), from `kluis log --json`
reads() {
	k log k-1 --json | python3 -c 'import json, sys
ev = json.load(sys.stdin)["events"]
print(sum(1 for e in ev if e["trail"] == "access" and (len(sys.argv) < 2 or e.get("purpose") == sys.argv[1])))' "$@"
}

K=$(kt_key klant 2>/dev/null); M=$(kt_key medewerker 2>/dev/null); D=$(kt_key directie 2>/dev/null)
O=$(kt_key opdrachtgever 2>/dev/null); X=$(kt_key outsider 2>/dev/null)
gpg --batch --quiet --check-trustdb >/dev/null 2>&1 || true

# ---- a small traject ----
expect 0 k --as "$D" init k-1 --klant "$K" --medewerker "$M" --directie "$D" --opdrachtgever "$O" --traject "Re-integratie tweede spoor"
N1=$(k --as "$M" add k-1 --kind contact --origin klant --basis contract --title "Intakegesprek" -m "Eerste gesprek." 2>"$W/err")
XSS='<script>alert(1)</script> & "q" '"'"'s'
N2=$(k --as "$M" add k-1 --origin derde:huisarts --basis consent --title "$XSS" -m "Brief van de huisarts." 2>"$W/err")
head -c 200000 /dev/urandom >"$W/besluit.bin"
N3=$(k --as "$M" add k-1 --kind document --origin opdrachtgever --basis legal --title "UWV besluit" --file "$W/besluit.bin" 2>"$W/err")
S1=$(k --as "$K" statement k-1 -m "Mijn eigen verklaring." 2>"$W/err")
N4=$(k --as "$M" add k-1 --origin medewerker --basis interest --title "Te wissen" -m "Onjuist." 2>"$W/err")
C1=$(k --as "$M" correct k-1 "$N1" -m "Eerste gesprek, gecorrigeerd." 2>"$W/err")
expect 0 k --as "$K" approve k-1 "$C1"
expect 0 k --as "$D" erase k-1 "$N4" --reason "verzoek van de klant"
expect 0 k --as "$K" show k-1 "$N1"
for id in "$N1" "$N2" "$N3" "$S1" "$N4" "$C1"; do
	[[ $id =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$ ]] || fail "setting up the dossier: got entry id '$id'"
done
ok "a dossier with notes, a binary document, a statement, a correction, an approval, an erasure and a show"

# ---- inzage --format json ----
r0=$(reads)
expect 0 k --as "$K" inzage k-1 --format json
cp "$W/stdout" "$W/inzage.json"
[ "$(reads)" = $((r0 + 1)) ] || fail "inzage did not add exactly one access record"
[ "$(reads inzage)" = 1 ] || fail "the inzage's access record does not have purpose inzage"
python3 - "$W/inzage.json" "$N1" "$N2" "$N3" "$S1" "$N4" "$C1" <<'EOF' || fail "the JSON report is not what it should be"
import json, sys
r = json.load(open(sys.argv[1]))
n1, n2, n3, s1, n4, c1 = sys.argv[2:]
assert r["kluis"] == "inzage" and r["version"] == 1 and r["dossier"] == "k-1" and r["processing"] is True, r
assert r["traject"] == "Re-integratie tweede spoor"
assert {p["role"] for p in r["parties"]} == {"klant", "medewerker", "directie", "opdrachtgever"}
assert all(len(p["key"]) == 40 for p in r["parties"])
e = {x["id"]: x for x in r["entries"]}
assert set(e) == {n1, n2, n3, s1, c1}, sorted(e)
for x in e.values():
    for f in ("origin", "basis", "recipients", "kind", "time", "category", "size", "sha256"):
        assert f in x, (x["id"], f)
    assert "klant" in x["recipients"] and "medewerker" in x["recipients"], x
assert (e[n1]["origin"], e[n1]["basis"], e[n1]["kind"], e[n1]["title"]) == ("klant", "contract", "contact", "Intakegesprek")
assert (e[n2]["origin"], e[n2]["basis"]) == ("derde:huisarts", "consent") and e[n2]["title"].startswith("<script>")
assert (e[n3]["origin"], e[n3]["basis"], e[n3]["filename"], e[n3]["size"]) == ("opdrachtgever", "legal", "besluit.bin", 200000)
assert e[s1]["origin"] == "klant" and e[s1]["action"] == "statement"
assert e[n1]["category"] == "ordinary" and e[n1]["special"] is None
assert e[c1]["supersedes"] == n1 and e[n1]["superseded_by"] == c1
assert r["corrections"] == [{"entry": c1, "supersedes": n1}]
assert [x["entry"] for x in r["erasures"]] == [n4] and r["erasures"][0]["erased"]
assert [(a["entry"], a["current"]) for a in r["approvals"]] == [(c1, True)]
assert r["retention"]["state"] == "open" and r["retention"]["retention_years"] == 2 and r["retention"]["rule"] == "P13.2"
reads = r["consultations"]
assert any(c["purpose"] == "begeleiding" and c["entry"] == n1 and c["role"] == "klant" for c in reads), reads
assert reads[-1]["purpose"] == "inzage" and reads[-1]["entry"] is None and reads[-1]["role"] == "klant", reads[-1]
EOF
ok "inzage --format json: versioned; every entry with origin, basis, recipients; corrections, erasure, approval, retention"
ok "inzage --format json lists the read log, the show and the inzage itself included; one access record, purpose inzage"

expect 0 k --as "$M" inzage k-1 --json
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["requested_by"]["role"] == "medewerker"' "$W/stdout" ||
	fail "inzage --json by the medewerker"
ok "the medewerker gets the report too (--json is --format json)"

# ---- text, Dutch by default, English with --lang en ----
expect 0 k --as "$K" inzage k-1
cp "$W/stdout" "$W/inzage.txt"
for want in "Inzage in uw dossier" "gegevens over u" "Afkomstig van" "Wie het mag inzien" "Bewaartermijn" "Wie uw dossier heeft bekeken" "$N1" "$N3" \
	"een derde: huisarts" "$XSS"; do
	grep -qF -- "$want" "$W/inzage.txt" || fail "the Dutch text report lacks '$want'"
done
grep -q "access report" "$W/inzage.txt" && fail "the default report is not Dutch"
expect 0 k --as "$K" inzage k-1 --lang en
for want in "access report" "data about you" "Came from" "Who may see it" "Kept for" "Who looked at your dossier" "$N1"; do
	grep -qF -- "$want" "$W/stdout" || fail "the English text report lacks '$want'"
done
grep -q "Wat er in uw dossier staat" "$W/stdout" && fail "the English report speaks Dutch"
ok "the text report is Dutch by default (Inzage, gegevens over u, ...) and English with --lang en"

# ---- HTML: a new 0600 file, escaped, self-contained, and Chromium renders it ----
r0=$(reads)
expect 0 k --as "$K" inzage k-1 --format html --out r.html
[ "$(stat -c %a r.html)" = 600 ] || fail "r.html has mode $(stat -c %a r.html), want 600"
[ "$(reads)" = $((r0 + 1)) ] || fail "inzage --format html did not add one access record"
grep -qi '<script' r.html && fail "a raw <script tag is in the HTML report"
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;s' r.html || fail "the title is not escaped as expected"
grep -qiE '(src|href)=|<link|@import|url\(' r.html && fail "the HTML report refers to outside resources"
grep -q "default-src 'none'" r.html || fail "the HTML report has no Content-Security-Policy"
[ "$(grep -c '<html' r.html)" = 1 ] && tail -1 r.html | grep -q '</html>' || fail "r.html is not one whole page"
ok "--format html --out: a new 0600 file, one page, no outside resources, every value escaped (<script> never raw)"

r0=$(reads)
expect 2 k --as "$K" inzage k-1 --format html --out r.html
[ "$(reads)" = "$r0" ] || fail "a refused --out still logged a read"
ok "inzage refuses an existing --out (exit 2) before logging anything"

if command -v chromium >/dev/null 2>&1; then
	chrome() { # a fresh profile each run, bounded in time
		timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
			--disable-sync --no-first-run --user-data-dir="$(mktemp -d "$W/chr.XXXXXX")" "$@"
	}
	chrome --dump-dom "file://$PWD/r.html" >"$W/dom.html" 2>"$W/chromium.log" || fail "chromium --dump-dom failed: $(tail -3 "$W/chromium.log")"
	for id in "$N1" "$N2" "$N3" "$S1" "$C1" "$N4"; do
		grep -qF "$id" "$W/dom.html" || fail "the page Chromium rendered lacks entry $id"
	done
	grep -qi '<script' "$W/dom.html" && fail "Chromium's DOM of the report has a script element"
	grep -qF 'Inzage in uw dossier k-1' "$W/dom.html" || fail "Chromium's DOM lacks the title"
	chrome --screenshot="$W/r.png" --window-size=1000,1400 "file://$PWD/r.html" >"$W/chromium.log" 2>&1 ||
		fail "chromium --screenshot failed: $(tail -3 "$W/chromium.log")"
	[ "$(head -c 8 "$W/r.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
	[ "$(stat -c %s "$W/r.png")" -gt 10000 ] || fail "the screenshot is suspiciously small"
	ok "headless Chromium renders the report: every entry id in its DOM, no script element, a PNG screenshot"
else
	fail "chromium is not installed (scripts/bootstrap.sh installs it): the rendering checks cannot run"
fi

# ---- export ----
r0=$(reads)
expect 0 k --as "$K" export k-1 --out x.zip
[ "$(stat -c %a x.zip)" = 600 ] || fail "x.zip has mode $(stat -c %a x.zip), want 600"
[ "$(reads)" = $((r0 + 1)) ] && [ "$(reads export)" = 1 ] || fail "export did not add exactly one access record with purpose export"
[ -z "$(find . -name '*.tmp-*')" ] || fail "export left a temporary file: $(ls -a)"
python3 - x.zip "$W/besluit.bin" "$N1" "$N2" "$N3" "$S1" "$N4" "$C1" <<'EOF' || fail "the export zip is not what it should be"
import hashlib, json, re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
n1, n2, n3, s1, n4, c1 = sys.argv[3:]
assert names[:2] == ["index.json", "index.html"], names
idx = json.loads(z.read("index.json"))
assert idx["kluis"] == "export" and idx["version"] == 1 and idx["dossier"] == "k-1" and idx["generated"]
files = {e["id"]: e["file"] for e in idx["entries"]}
assert set(files) == {n1, n2, n3, s1, c1}, files
assert sorted(names[2:]) == sorted(files.values()), names
for e in idx["entries"]:
    assert re.fullmatch(r"gegevens/\d{4}-\d\d-\d\d [^/\x00-\x1f]+", e["file"]), e["file"]
    data = z.read(e["file"])
    assert hashlib.sha256(data).hexdigest() == e["sha256"] and len(data) == e["size"], e["id"]
    for f in ("kind", "title", "time", "created", "origin", "basis", "content_type"):
        assert f in e, (e["id"], f)
assert re.fullmatch(r"gegevens/\d{4}-\d\d-\d\d UWV besluit \(ingebracht stuk\)\.bin", files[n3]), files[n3]
assert z.read(files[n3]) == open(sys.argv[2], "rb").read()
assert all(files[i].endswith(".txt") for i in (n1, n2, s1, c1))
assert z.read(files[s1]) == b"Mijn eigen verklaring."
assert [x["entry"] for x in idx["erasures"]] == [n4] and not any(n4 in n for n in names)
EOF
python3 -c 'import json, sys, zipfile; z = zipfile.ZipFile("x.zip")
sys.stdout.buffer.write(z.read([e["file"] for e in json.loads(z.read("index.json"))["entries"] if e["id"] == sys.argv[1]][0]))' "$N3" >"$W/got.bin"
cmp -s "$W/got.bin" "$W/besluit.bin" || fail "the document in the zip differs from the original bytes"
ok "export: a 0600 zip with index.json, index.html and every non-erased entry; the document's bytes equal the original (cmp)"
ok "export: index.json is versioned and its sha256 and size match every member; the erased entry is listed, not included"

sum0=$(sha256sum x.zip); r0=$(reads)
expect 2 k --as "$K" export k-1 --out x.zip
[ "$(sha256sum x.zip)" = "$sum0" ] || fail "a refused export changed the existing file"
[ "$(reads)" = "$r0" ] || fail "a refused export logged a read"
ok "export refuses an existing --out (exit 2), leaves it as it was and logs nothing"

expect 0 k --as "$D" export k-1 --out d.zip --json
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["entries"] == 5 and r["erased"] == 1' "$W/stdout" ||
	fail "export --json by the directie"
ok "the directie can export too; --json summarises (5 entries, 1 erased)"

# a body that cannot be read (its ciphertext object gone): the export fails whole, no file is left
R=$KLUIS_VAULT/dossiers/k-1.git
oid=$(git -C "$R" cat-file blob "main:entries/${N3:17:2}/$N3/body" | awk '$1 == "oid" { print $2 }')
obj=$R/objects/${oid:0:2}/${oid:2}
if [ -f "$obj" ]; then
	mv "$obj" "$W/obj.saved"
	expect 1 k --as "$K" export k-1 --out broken.zip
	mv "$W/obj.saved" "$obj"
	[ -e broken.zip ] && fail "a failed export left its zip"
	[ -z "$(find . -name '*.tmp-*')" ] || fail "a failed export left a temporary file"
	ok "an export whose document cannot be decrypted fails (exit 1) and leaves no file, not even a temporary one"
else
	echo "SKIP: the document's ciphertext is packed; the failed-export check did not run"
fi

# ---- refusals ----
r0=$(reads)
for who in X O; do
	expect 1 k --as "${!who}" inzage k-1
	expect 1 k --as "${!who}" inzage k-1 --format html --out "no-$who.html"
	expect 1 k --as "${!who}" export k-1 --out "no-$who.zip"
	[ -e "no-$who.html" ] || [ -e "no-$who.zip" ] && fail "a refused inzage or export left a file"
done
[ "$(reads)" = "$r0" ] || fail "a refused inzage or export added an access record"
[ -z "$(find . -name '*.tmp-*')" ] || fail "a refused export left a temporary file"
ok "an outsider and the opdrachtgever cannot inzage or export (exit 1); no file and no access record"

expect 2 k --as "$K" inzage k-1 --format pdf
expect 2 k --as "$K" inzage k-1 --lang de
expect 2 k --as "$K" inzage k-1 --json --format html
expect 2 k --as "$K" inzage
expect 2 k --as "$K" export k-1
expect 2 k --as "$K" export k-1 --out a.zip --out b.zip
expect 2 k --as "$K" inzage k-404
[ "$(reads)" = "$r0" ] || fail "a usage error logged a read"
ok "usage errors exit 2 with one line: unknown format or language, --json with html, no ID, no --out, --out twice, no dossier"

echo "== inzage_export: $N passed, 0 failed"
