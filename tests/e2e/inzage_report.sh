#!/usr/bin/env bash
# e2e/inzage_report.sh - the inzage as a report a klant reads (issue 17): the HTML report and
# the export's index.html, rendered by headless Chromium, speak plain Dutch (no English domain
# words), give Amsterdam times, people's names from their keys' user ids, the entries' titles,
# the rights with the Autoriteit Persoonsgegevens and the organisation's contacts, and keep
# ids, fingerprints, digests and article numbers for the appendix at the end. The export's
# files are named by date and title; --with-contents adds each text entry, one read apiece.
#
# Screenshots (1200x3000) go to the work dir, and to $KLUIS_SCREENS as well when that is set.
# Environment (CTest): KLUIS (the binary), KLUIS_TEST_DIR (tests/).
set -euo pipefail
: "${KLUIS:?set KLUIS to the kluis binary}"
: "${KLUIS_TEST_DIR:?set KLUIS_TEST_DIR to the tests/ directory}"
. "$KLUIS_TEST_DIR/keys.sh"

W=$(mktemp -d /tmp/kir.XXXXXX)
kt_home "$W/g"
trap 'rc=$?; kt_cleanup; rm -rf "$W"; exit $rc' EXIT
export HOME=$W/home XDG_CACHE_HOME=$W/cache KLUIS_VAULT=$W/vault GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
unset KLUIS_KEY 2>/dev/null || true
mkdir -p "$HOME" "$XDG_CACHE_HOME" "$W/out"
cd "$W/out"

N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
fail() { echo "FAIL - $*" >&2; [ -s "$W/err" ] && echo "  stderr: $(head -c 1500 "$W/err")" >&2; exit 1; }
k() { "$KLUIS" "$@" 2>"$W/err" || fail "kluis $* exited $?"; }
command -v chromium >/dev/null 2>&1 || fail "chromium is not installed (scripts/bootstrap.sh installs it): the rendering checks cannot run"

# a key with a person's name in its user id
person() {
	local fpr
	gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key "$1 <$2>" ed25519 sign,cert never 2>/dev/null
	fpr=$(gpg --batch --with-colons --list-keys "<$2>" 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')
	gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-add-key "$fpr" cv25519 encr never 2>/dev/null
	printf '%s:6:\n' "$fpr" | gpg --batch --quiet --import-ownertrust 2>/dev/null
	printf '%s\n' "$fpr"
}
K=$(person "Karel de Vries" karel@voorbeeld.test); M=$(person "Marie Jansen" marie@werkpro.test)
D=$(person "Dirk Bakker" dirk@werkpro.test); O=$(person "Olga Smit" olga@uwv.test)
reads() { # access records, with purpose $1
	"$KLUIS" --as "$M" log k-1 --json | python3 -c 'import json, sys
print(sum(1 for e in json.load(sys.stdin)["events"] if e["trail"] == "access" and e.get("purpose") == sys.argv[1]))' "$1"
}

# ---- a traject: several kinds, a consent for a special category, a correction, reads by three roles ----
k --as "$D" init k-1 --klant "$K" --medewerker "$M" --directie "$D" --opdrachtgever "$O" --traject "Re-integratie tweede spoor"
cat >"$KLUIS_VAULT/organisatie.conf" <<'EOF'
# shown to the klant in the inzage
naam: WerkPro Noord
contact: privacy@werkpro.test, 050 123 45 67
functionaris: mr. F. de Groot, fg@werkpro.test
EOF
N1=$(k --as "$M" add k-1 --kind contact --origin klant --basis contract --title "Intakegesprek" -m "Eerste gesprek over werk en gezondheid.")
N2=$(k --as "$M" add k-1 --kind plan --title "Werkafspraken" -m "Drie dagen per week proefplaatsing.")
N3=$(k --as "$M" add k-1 --title "Notitie na belafspraak" -m "Karel belde af; nieuwe afspraak gemaakt.")
head -c 3000 /dev/urandom >"$W/besluit.pdf"
N4=$(k --as "$M" add k-1 --kind document --origin opdrachtgever --basis legal --title "Besluit van het UWV" --file "$W/besluit.pdf")
k --as "$K" consent k-1 grant --scope health --purpose "passend werk vinden" >/dev/null
N5=$(k --as "$M" add k-1 --kind circumstance --special health --basis consent --origin derde:bedrijfsarts --title "Medische beperkingen" -m "Niet tillen.")
C1=$(k --as "$M" correct k-1 "$N1" -m "Eerste gesprek over werk; gezondheid besproken.")
k --as "$K" approve k-1 "$C1" >/dev/null
k --as "$K" show k-1 "$N2" >/dev/null
k --as "$D" show k-1 "$N3" >/dev/null
k --as "$M" show k-1 "$N5" >/dev/null
for id in "$N1" "$N2" "$N3" "$N4" "$N5" "$C1"; do
	[[ $id =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$ ]] || fail "setting up the dossier: got entry id '$id'"
done
ok "a traject: contact, plan, note, document, a health consent, a special-category entry, a correction, reads by klant, directie, medewerker"

# ---- the reports ----
k --as "$K" inzage k-1 --format json >"$W/inzage.json"
k --as "$K" inzage k-1 --format html --out r.html
k --as "$K" export k-1 --out x.zip
mkdir -p "$W/x" && (cd "$W/x" && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()' "$W/out/x.zip")
[ -s "$W/x/index.html" ] || fail "the export has no index.html"
chrome() { # a fresh profile each run, bounded in time
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --user-data-dir="$(mktemp -d "$W/chr.XXXXXX")" "$@"
}
for page in "$W/out/r.html" "$W/x/index.html"; do
	name=$(basename "$(dirname "$page")")
	chrome --dump-dom "file://$page" >"$W/dom-$name.html" 2>"$W/chromium.log" || fail "chromium --dump-dom $page: $(tail -3 "$W/chromium.log")"
	chrome --screenshot="$W/shot-$name.png" --window-size=1200,3000 "file://$page" >"$W/chromium.log" 2>&1 ||
		fail "chromium --screenshot $page: $(tail -3 "$W/chromium.log")"
	[ "$(head -c 8 "$W/shot-$name.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the screenshot of $page is not a PNG"
	if [ -n "${KLUIS_SCREENS:-}" ]; then
		mkdir -p "$KLUIS_SCREENS" && cp "$W/shot-$name.png" "$KLUIS_SCREENS/inzage-$name.png" && cp "$page" "$KLUIS_SCREENS/inzage-$name.html"
	fi
	# the text a person reads (no markup, no style sheet), split at the appendix
	python3 - "$W/dom-$name.html" >"$W/text-$name.txt" <<'EOF'
import html.parser, sys
class P(html.parser.HTMLParser):
    skip, out = 0, []
    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script", "title")
        if tag in ("p", "h1", "h2", "h3", "tr", "li", "div"): self.out.append("\n")
    def handle_endtag(self, tag): self.skip -= tag in ("style", "script", "title")
    def handle_data(self, d):
        if not self.skip: self.out.append(d + " ")
p = P(); p.feed(open(sys.argv[1]).read()); print("".join(p.out))
EOF
done
ok "headless Chromium renders the inzage HTML and the export's index.html; screenshots 1200x3000 made"

check() { # check NAME: the reader's text of a rendered page
	local t=$W/text-$1.txt
	python3 - "$t" "$W/inzage.json" "$N1" "$N5" "$C1" <<'EOF' || fail "the rendered $1 is not what a klant should read"
import json, re, sys, zoneinfo, datetime
text = open(sys.argv[1]).read()
model = json.load(open(sys.argv[2]))
n1, n5, c1 = sys.argv[3:]
cut = text.find("Bijlage: technische verantwoording")
assert cut > 0, "no appendix with the technical proof"
main, appendix = text[:cut], text[cut:]
# plain Dutch: none of kluis's English codes or words, as whole words, anywhere (appendix included)
english = ["note", "contact", "document", "plan", "health", "request", "access", "purpose", "size", "bytes", "kind", "scope",
           "consent", "statement", "correction", "report", "recipients", "origin", "basis", "legal", "interest", "special",
           "ordinary", "role", "key", "entry", "entries", "granted", "withdrawn", "retention", "consultations", "adviser",
           "yourself", "closed", "imported", "not recorded"]
found = [w for w in english if re.search(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", text, re.I)]
assert not found, "English words in the report: %s" % [re.findall(r".{0,30}(?<![\w-])" + re.escape(w) + r"(?![\w-]).{0,30}", text, re.I) for w in found]
# local time: every entry's signed time as Europe/Amsterdam, written out in Dutch
months = "januari februari maart april mei juni juli augustus september oktober november december".split()
ams = zoneinfo.ZoneInfo("Europe/Amsterdam")
for e in model["entries"]:
    t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).astimezone(ams)
    want = "%d %s %d, %02d:%02d" % (t.day, months[t.month - 1], t.year, t.hour, t.minute)
    assert want in main, "the time of %s in Amsterdam (%s) is not in the report" % (e["id"], want)
assert " UTC" not in main and not re.search(r"\d\d:\d\dZ", main), "a UTC time outside the appendix"
# names, not fingerprints
for who in ("Marie Jansen", "Karel de Vries", "Dirk Bakker", "Olga Smit"):
    assert who in main, "the name %s is not in the report" % who
assert not re.search(r"\b[0-9A-F]{16,40}\b", main), "a key id or fingerprint outside the appendix"
assert not re.search(r"\d{8}T\d{6}Z-[0-9a-f]{4}", main), "an entry id outside the appendix"
assert not re.search(r"\b[0-9a-f]{40,64}\b", main), "a digest or commit id outside the appendix"
# titles, and what each entry is
for title in ("Intakegesprek", "Werkafspraken", "Notitie na belafspraak", "Besluit van het UWV", "Medische beperkingen"):
    assert title in main, "the title %s is not in the report" % title
for words in ("contactmoment", "trajectplan", "aantekening", "ingebracht stuk", "persoonlijke omstandigheid", "correctie",
              "Verbetert", "Later verbeterd", "Door u goedgekeurd", "Bijzondere gegevens", "gezondheid",
              "Toestemming voor gezondheid", "passend werk vinden", "een derde: bedrijfsarts", "begeleiding van uw traject"):
    assert words in main, "the report lacks %r" % words
assert "niet vastgelegd" not in text, "'niet vastgelegd' is shown"
# article numbers: not before the rights, and there only once
rights = main.find("Uw rechten")
assert rights > 0, "no rights section"
assert not re.search(r"\bart(ikel|\.)", main[:rights], re.I), "an article number before the rights section"
assert len(re.findall(r"\bartikel\b|\bart\.", main[rights:])) == 1, "article numbers more than once in the rights"
for words in ("Autoriteit Persoonsgegevens", "www.autoriteitpersoonsgegevens.nl", "WerkPro Noord", "privacy@werkpro.test",
              "functionaris gegevensbescherming", "mr. F. de Groot", "binnen vier weken", "bezwaar", "intrekken"):
    assert words in main[rights:], "the rights section lacks %r" % words
# the proof, at the end
for x in (n1, c1, model["entries"][0]["sha256"], model["entries"][0]["commit"], model["parties"][0]["key"]):
    assert x in appendix, "the appendix lacks %s" % x
EOF
}
check out
ok "the inzage HTML (Chromium's text): no English words, Amsterdam times, names, titles, rights with the AP; the proof in the appendix"
check x
ok "the export's index.html (Chromium's text): the same report"

# ---- the export: files named by date and title, linked from index.html ----
python3 - x.zip "$W/dom-x.html" "$N1" "$N4" <<'EOF' || fail "the export's member names or links are not what they should be"
import hashlib, json, re, sys, urllib.parse, zipfile, zoneinfo, datetime
z = zipfile.ZipFile(sys.argv[1]); dom = open(sys.argv[2]).read(); n1, n4 = sys.argv[3:]
names = z.namelist()
assert names[:2] == ["index.json", "index.html"], names[:3]
idx = json.loads(z.read("index.json"))
files = {e["id"]: e["file"] for e in idx["entries"]}
day = lambda e: datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).astimezone(
    zoneinfo.ZoneInfo("Europe/Amsterdam")).strftime("%Y-%m-%d")
e = {x["id"]: x for x in idx["entries"]}
assert files[n1] == "gegevens/%s Intakegesprek (contactmoment).txt" % day(e[n1]), files[n1]
assert files[n4] == "gegevens/%s Besluit van het UWV (ingebracht stuk).pdf" % day(e[n4]), files[n4]
assert len(set(files.values())) == len(files), "two entries share a file name"
links = [urllib.parse.unquote(h) for h in re.findall(r'href="([^"]*)"', dom)]
assert sorted(links) == sorted(files.values()), (links, files)
for x in idx["entries"]:
    assert hashlib.sha256(z.read(x["file"])).hexdigest() == x["sha256"], x["id"]
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\\\\:*?\"<>|]", x["file"]) and x["file"].count("/") == 1, x["file"]
EOF
ok "export: index.json and index.html first, files named 'gegevens/DATE Title (kind).ext', each linked from index.html"

# a title a file system or a terminal would choke on (kluis add refuses C0 controls, not C1): sanitised, length-limited, still unique
BAD=$(printf 'a/b\\c:d*e?f"g<h>i|j\302\233k %0200d' 0) # \302\233: U+009B, a C1 control (CSI)
k --as "$M" add k-1 --title "$BAD" -m "een" >/dev/null
k --as "$M" add k-1 --title "$BAD" -m "twee" >/dev/null
k --as "$K" export k-1 --out y.zip
python3 - y.zip <<'EOF' || fail "an awkward title did not give a safe, unique file name"
import json, re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); idx = json.loads(z.read("index.json"))
files = [e["file"] for e in idx["entries"] if (e["title"] or "").startswith("a/b")]
assert len(files) == 2 and files[0] != files[1], files
for f in files:
    name = f.split("/", 1)[1]
    assert f.startswith("gegevens/") and "/" not in name and not re.search(r"[\x00-\x1f\x7f-\x9f\\\\:*?\"<>|]", name), f
    assert len(name.encode()) <= 120, (len(name.encode()), f)
assert {z.read(f) for f in files} == {b"een", b"twee"}
EOF
ok "a title with '/', '\\', reserved and control characters gives a safe name of bounded length; equal titles stay apart"

# ---- --with-contents: the text of every text entry, each a read of its own ----
r0=$(reads inzage)
k --as "$K" inzage k-1 >"$W/plain.txt"
[ "$(reads inzage)" = $((r0 + 1)) ] || fail "an inzage without contents is not exactly one read"
grep -q "Drie dagen per week" "$W/plain.txt" && fail "the inzage without --with-contents shows an entry's text"
r0=$(reads inzage)
k --as "$K" inzage k-1 --with-contents --format json >"$W/with.json"
texts=$(python3 -c 'import json, sys
print(sum(1 for e in json.load(open(sys.argv[1]))["entries"] if not e["filename"]))' "$W/with.json")
[ "$texts" -ge 7 ] || fail "expected at least 7 text entries, got $texts"
[ "$(reads inzage)" = $((r0 + 1 + texts)) ] || fail "--with-contents: $(($(reads inzage) - r0)) reads, want 1 + $texts (one per text entry)"
python3 - "$W/with.json" "$N2" "$C1" <<'EOF' || fail "--with-contents JSON lacks the contents"
import json, sys
r = json.load(open(sys.argv[1])); e = {x["id"]: x for x in r["entries"]}
assert e[sys.argv[2]]["content"] == "Drie dagen per week proefplaatsing."
assert e[sys.argv[3]]["content"] == "Eerste gesprek over werk; gezondheid besproken."
assert all("content" not in x for x in r["entries"] if x["filename"])
EOF
k --as "$K" inzage k-1 --with-contents >"$W/with.txt"
grep -q "Drie dagen per week proefplaatsing." "$W/with.txt" || fail "the text report --with-contents lacks an entry's text"
ok "--with-contents adds every text entry's text (one read with purpose inzage per entry, $texts entries); without it none"

# ---- summer time and its edges (the clock moved on with KLUIS_NOW, so this comes last) ----
for t in 2027-03-28T00:59:00Z 2027-03-28T01:00:00Z 2027-07-01T10:00:00Z 2027-10-31T00:59:00Z 2027-10-31T01:00:00Z; do
	want=$(python3 -c 'import datetime, sys, zoneinfo
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).astimezone(zoneinfo.ZoneInfo("Europe/Amsterdam"))
m = "januari februari maart april mei juni juli augustus september oktober november december".split()
print("%d %s %d, %02d:%02d" % (t.day, m[t.month - 1], t.year, t.hour, t.minute))' "$t")
	KLUIS_NOW=$(date -u -d "$t" +%s) k --as "$K" inzage k-1 >"$W/summer.txt"
	grep -qF "Opgesteld op $want," "$W/summer.txt" || fail "made at $t: want 'Opgesteld op $want', got '$(grep Opgesteld "$W/summer.txt")'"
done
ok "Amsterdam time across the summer-time changes of 2027 (28 March and 31 October, 01:00 UTC) as Python's zoneinfo has it"

echo "== inzage_report: $N passed, 0 failed"
