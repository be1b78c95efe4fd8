#!/usr/bin/env bash
# e2e/notify.sh - the klant hears of every change (SPEC invariant 5, W6b): hooks/notify-mail as
# the vault's post-commit hook, delivering through a real MTA (Debian's exim4, its sendmail
# interface, with a private configuration that delivers into a maildir of this test) one
# e-mail per commit for a series of different actions, none holding plaintext; the JSON event
# on the hook's stdin holds the fields SPEC names and no plaintext either; a failed delivery
# (the MTA made to fail) leaves the event queued, `kluis hook status` lists it, later
# commands retry it, and once the MTA works again it is delivered exactly once, in order.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
	# exim keeps root with a private -C configuration only for root, and delivers as 'nobody'
	echo "SKIP: notify.sh needs root to run exim4 with its own configuration (CI runs as root)"
	exit 77
fi
. "$KLUIS_TEST_DIR/lib.sh"

SRC=$(cd "$KLUIS_TEST_DIR/.." && pwd)
EXIM=/usr/sbin/exim4
[ -x "$EXIM" ] || fail "no $EXIM: scripts/bootstrap.sh installs exim4-daemon-light (the notifier's MTA)"

# ---- the MTA: exim4 with a private configuration; mail to klant@ or vert@kluis.test lands in
# $M/mail/NAME/new (delivered as nobody: exim never delivers as root) ----
M=$(mktemp -d /tmp/kn.XXXXXX)
T_DIRS+=("$M")
chmod 711 "$M"
mkdir -p "$M/mail" "$M/spool"
chown nobody:nogroup "$M/mail"
cat >"$M/exim.conf" <<EOF
keep_environment =
primary_hostname = kluis.test
qualify_domain = kluis.test
spool_directory = $M/spool
log_file_path = $M/spool/%slog
exim_user = root
exim_group = root
never_users =
domainlist local_domains = kluis.test
begin routers
local:
  driver = accept
  domains = +local_domains
  local_parts = klant : vert
  transport = maildir
begin transports
maildir:
  driver = appendfile
  directory = $M/mail/\$local_part_data
  maildir_format
  create_directory
  user = nobody
  group = nogroup
  mode = 0600
EOF
mails() { if [ -d "$M/mail/klant/new" ]; then ls "$M/mail/klant/new" | wc -l; else echo 0; fi; }

init_dossier k-0001
R=$(repo_of k-0001)
MARK="notify-marker-$$-$RANDOM$RANDOM"

# the notifier, behind a wrapper that keeps each event it is given on stdin
mkdir -p "$KLUIS_VAULT/hooks"
cat >"$KLUIS_VAULT/hooks/post-commit" <<EOF
#!/bin/sh
{ cat; echo; } >>"$T_WORK/events.jsonl"
exec "$SRC/hooks/notify-mail" "\$@"
EOF
chmod 700 "$KLUIS_VAULT/hooks/post-commit"
printf '# the notifier test\nfrom kluis@kluis.test\nsendmail %s -C %s -odi\n%s klant@kluis.test\n' \
	"$EXIM" "$M/exim.conf" "$KLANT" >"$KLUIS_VAULT/hooks/notify-mail.conf"

# step WHAT CMD...: CMD succeeds, and one message arrives per commit it made on main
step() {
	local what=$1 before after n0
	shift
	n0=$(mails)
	before=$(git -C "$R" rev-list --count main)
	expect_exit 0 "$@"
	[ -z "$ERR" ] || [[ $ERR != *"kluis: warning"* ]] || fail "$what: kluis warned: $ERR"
	after=$(git -C "$R" rev-list --count main)
	[ "$after" -gt "$before" ] || fail "$what made no commit"
	assert_eq "$(mails)" $((n0 + after - before)) "messages after $what ($((after - before)) commits)"
}

step add k --as "$MEDEW" add k-0001 --kind contact --title "titel $MARK" -m "notitie $MARK"
NOTE=$OUT
step "add (plan)" k --as "$MEDEW" add k-0001 --kind plan -m "plan van aanpak $MARK"
PLAN=$OUT
step statement k --as "$KLANT" statement k-0001 -m "mijn verklaring $MARK"
step correct k --as "$MEDEW" correct k-0001 "$NOTE" -m "correctie $MARK"
step consent k --as "$KLANT" consent k-0001 grant --purpose "doel $MARK"
step approve k --as "$KLANT" approve k-0001 "$PLAN"
step erase k --as "$DIR" erase k-0001 "$NOTE" --reason "reden $MARK"
step roles k --as "$DIR" roles k-0001 --add medewerker "$OUTSIDER"
step close k --as "$MEDEW" close k-0001
COMMITS=$(($(git -C "$R" rev-list --count main) - 1))
assert_eq "$(mails)" "$COMMITS" "messages for the $COMMITS commits after init"
pass "one e-mail per commit through exim: add, statement, correct, consent, approve, erase, roles (and rewrap), close"

# ---- what the messages say, and do not ----
! grep -rq -- "$MARK" "$M/mail" || fail "a message holds plaintext of an entry (the marker)"
for id in "$NOTE" "$PLAN"; do ! grep -rq -- "$id" "$M/mail" || fail "a message names entry $id"; done
f=$(find "$M/mail/klant/new" -type f | head -1)
grep -q '^To: klant@kluis.test' "$f" || fail "a message is not addressed to the klant's address: $(head -20 "$f")"
grep -q '^Subject: Er is iets veranderd in uw dossier k-0001' "$f" || fail "no Dutch subject naming the dossier: $(head -20 "$f")"
grep -q 'kluis inzage k-0001' "$f" || fail "the message does not say how to see the change"
assert_eq "$(grep -l 'gewist' "$M/mail/klant/new"/* | wc -l)" 1 "messages saying that something was erased"
pass "the messages go to the klant's address, in Dutch, say how to see the change, and hold no text, title, reason or entry id"

# ---- the events on stdin ----
python3 - "$T_WORK/events.jsonl" "$R" "$KLANT" "$MARK" <<'EOF' || fail "the hook's events on stdin are not as SPEC says"
import json, re, subprocess, sys
path, repo, klant, mark = sys.argv[1:]
text = open(path).read()
assert mark not in text, "plaintext (the marker) in an event"
events = [json.loads(l) for l in text.splitlines() if l.strip()]
commits = subprocess.run(["git", "-C", repo, "rev-list", "--reverse", "main"], capture_output=True, text=True, check=True).stdout.split()[1:]
assert [e["commit"] for e in events] == commits, "one event per commit, in order"
keys = {"version", "dossier", "commit", "seq", "action", "kinds", "entries", "role", "actor", "klant", "vertegenwoordiger", "time"}
for i, e in enumerate(events):
    assert set(e) == keys, f"fields {sorted(e)}"
    assert e["dossier"] == "k-0001" and e["seq"] == i + 2 and e["klant"] == [klant] and e["vertegenwoordiger"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"]), e["time"]
    assert re.fullmatch(r"[0-9A-F]{40}", e["actor"]) and e["role"] in ("medewerker", "klant", "directie")
    msg = subprocess.run(["git", "-C", repo, "log", "-1", "--format=%B", e["commit"]], capture_output=True, text=True, check=True).stdout
    assert f"Kluis-Action: {e['action']}" in msg and all(f"Kluis-Entry: {x}" in msg for x in e["entries"])
actions = [e["action"] for e in events]
for a in ("add", "statement", "correct", "consent", "approve", "erase", "roles", "rewrap", "close"):
    assert a in actions, f"no event for {a}: {actions}"
assert events[0]["kinds"] == ["contact"] and len(events[0]["entries"]) == 1
EOF
pass "each commit's event on stdin: dossier, commit, seq, action, kinds, entries, role, actor, klant, time (ISO 8601 UTC); no plaintext"

# ---- a failed delivery is queued, listed, retried, and delivered exactly once ----
mv "$M/exim.conf" "$M/exim.conf.off" # exim now exits 1: its configuration is missing
N0=$(mails)
expect_exit 0 k --as "$KLANT" statement k-0001 -m "tweede verklaring $MARK"
S1=$OUT
assert_eq "$(grep -c '^kluis: warning: ' "$T_ERR")" 1 "kluis's warning lines when the hook failed"
assert_contains "$ERR" "kluis hook status" "the warning"
assert_eq "$(git -C "$R" log -1 --format=%s main)" "statement $S1" "the last commit (made, although the hook failed)"
expect_exit 0 k hook status
assert_contains "$OUT" "k-0001" "hook status"
assert_contains "$OUT" "statement" "hook status"
assert_contains "$OUT" "$(git -C "$R" rev-parse --short=12 main)" "hook status"
assert_contains "$OUT" "exited with status 1" "hook status"
pass "a failed delivery: the commit stands, one warning, and 'kluis hook status' lists dossier, action, commit, attempts, failure"

expect_exit 0 k --as "$KLANT" statement k-0001 -m "derde verklaring $MARK" # waits behind the first
expect_exit 0 k log k-0001                                                 # a command that only reads retries too
expect_exit 0 k hook status --json
python3 - "$T_OUT" <<'EOF' || fail "hook status --json: $OUT"
import json, sys
p = json.load(open(sys.argv[1]))["pending"]
assert [e["action"] for e in p] == ["statement", "statement"], p
assert p[0]["attempts"] == 3 and p[0]["status"] == 1 and "status 1" in p[0]["error"], p[0]
assert p[1]["attempts"] == 0, p[1]  # held back behind the dossier's older event
assert all(e["dossier"] == "k-0001" and len(e["commit"]) == 40 and e["hook"] == "post-commit" for e in p)
EOF
[ "$(stat -c %a "$KLUIS_VAULT/hooks/queue")" = 700 ] || fail "the queue directory is not 0700"
for f in "$KLUIS_VAULT/hooks/queue"/*; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
	! grep -q -- "$MARK" "$f" || fail "plaintext in the queued $f"
done
assert_eq "$(mails)" "$N0" "messages while the MTA fails"
pass "every command that opens the vault retries, oldest first; a dossier's later event waits; queue 0700, files 0600, no plaintext"

mv "$M/exim.conf.off" "$M/exim.conf"
expect_exit 0 k list
assert_eq "$(mails)" $((N0 + 2)) "messages once the MTA works again"
expect_exit 0 k hook status
assert_eq "$OUT" "no hook events pending" "hook status after the retry"
expect_exit 0 k list
expect_exit 0 k log k-0001
assert_eq "$(mails)" $((N0 + 2)) "messages after two more commands (each event delivered once)"
assert_eq "$(tail -2 "$T_WORK/events.jsonl" | python3 -c 'import json,sys; print(" ".join(json.loads(l)["entries"][0] for l in sys.stdin if l.strip()))')" \
	"$S1 $(git -C "$R" log -1 --format=%s main | cut -d' ' -f2)" "the delivered events, in order"
! grep -rq -- "$MARK" "$M/mail" || fail "a message holds plaintext (the marker)"
pass "once the MTA works again, the next command delivers the queued events exactly once, in order"

# ---- an opdrachtgever's transfer is the last event of this vault's copy ----
N0=$(mails)
expect_exit 0 k --as "$MEDEW" transfer k-0001 --out "$T_WORK/k-0001.tgz"
[ ! -d "$R" ] || fail "the transfer left the local copy"
assert_eq "$(mails)" $((N0 + 1)) "messages after the transfer"
grep -lq 'overgedragen' "$M/mail/klant/new"/* || fail "no message says that the dossier was transferred"
pass "the transfer, which destroys the local copy, still reaches the klant"
