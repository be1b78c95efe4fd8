#!/usr/bin/env bash
# bench/transfer.sh - `kluis transfer` and `kluis import` of a big dossier beside the peer
# pipeline of stock tools on the same data, in one run.
#
#   set-up   one dossier with TRANSFER_MB of documents: KB_FILES files of /dev/urandom,
#            added with one `kluis add --file ... --file ...`, then closed
#   (p1)     peer export, on the dossier's repository (all refs):
#              git bundle create B --all ; a manifest with the bundle's sha256 ;
#              gpg --detach-sign --armor ; tar czf of bundle + manifest + signature
#   (k1)     kluis transfer ID --out A          (bundle, manifest, signature, keys/, tar.gz,
#                                               read back and verified, local copy destroyed)
#   (p2)     the peer export again, on a copy of the repository made before (k1): drift check
#   (q1)     peer import: tar xzf ; gpg --verify ; git clone --mirror of the bundle
#   (m1)     kluis import A --trust DIRECTIE    (as the opdrachtgever, in its own keyring)
#   (q2)     the peer import again
#
# Every timed command runs under /usr/bin/time -v: wall time and peak RSS (of kluis's own
# process; for a peer pipeline, of its largest process). The page cache is warm for all: the
# data was just written and fits in memory.
#
# Environment:
#   TRANSFER_MB=1024   total size of the documents (MiB)
#   KB_FILES=8         number of files (each TRANSFER_MB/KB_FILES MiB)
#   KLUIS=PATH         the binary (default build/kluis; copied first)
#   KB_KEEP=1          keep the temporary directory (/tmp/kb.XXXXXX)
#   KB_OUT=FILE        also write the Markdown table to FILE
#
# Needs /usr/bin/time (Debian package `time`).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MB=${TRANSFER_MB:-1024}
NF=${KB_FILES:-8}
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing: apt-get install time" >&2; exit 2; }
[ $((MB % NF)) -eq 0 ] || { echo "bench: TRANSFER_MB ($MB) must be a multiple of KB_FILES ($NF)" >&2; exit 2; }

kb_setup
KL=$(kb_kluis)
V=$KB_DIR/v
ID=bench-transfer
W=$KB_DIR/w
mkdir -p "$W"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# the opdrachtgever's keyring: its own secret key, nothing else
OH=$KB_DIR/o
mkdir -m 700 "$OH"
printf 'allow-loopback-pinentry\n' >"$OH/gpg-agent.conf"
gpg --batch --pinentry-mode loopback --passphrase '' --export-secret-keys "$F4" |
	gpg --homedir "$OH" --batch --quiet --pinentry-mode loopback --passphrase '' --import 2>/dev/null
trap 'gpgconf --homedir "$OH" --kill all 2>/dev/null || true; kb_cleanup' EXIT

# measure NAME CMD... : run CMD under /usr/bin/time -v; sets T_<NAME> (s) and M_<NAME> (MiB)
measure() {
	local name=$1 f=$W/time.$1 wall rss
	shift
	printf -v "L_$name" '%s' "$(cut -d' ' -f1 /proc/loadavg)"
	/usr/bin/time -v -o "$f" "$@" >"$W/out.$name" 2>"$W/err.$name" || {
		echo "bench: $name failed: $(tail -3 "$W/err.$name")" >&2
		exit 1
	}
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$f")
	rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$f")
	printf -v "T_$name" '%s' "$wall"
	printf -v "M_$name" '%s' "$rss"
	printf 'bench: %-4s %8.2f s  %8.1f MiB  load %s  (%s)\n' "$name" "$wall" "$rss" "$(eval echo "\$L_$name")" "$*" >&2
}

echo "bench: $(kb_machine)" >&2
echo "bench: kluis binary sha256 $(sha256sum "$KL" | cut -c1-8); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "bench: df: $(df -h "$KB_DIR" | awk 'NR == 2 { print $4 " free on " $6 }')" >&2

# ---- set-up ----
per=$((MB / NF))
files=()
for i in $(seq 1 "$NF"); do
	head -c $((per << 20)) /dev/urandom >"$W/doc$i.bin"
	files+=(--file "$W/doc$i.bin")
done
"$KL" --vault "$V" --as "$F3" init "$ID" --klant "$F1" --medewerker "$F2" --directie "$F3" --opdrachtgever "$F4" 2>/dev/null
measure add "$KL" --vault "$V" --as "$F2" add "$ID" --kind document "${files[@]}"
"$KL" --vault "$V" --as "$F2" close "$ID" 2>/dev/null
rm -f "$W"/doc*.bin
R=$V/dossiers/$ID.git
cp -a "$R" "$W/copy.git"
echo "bench: dossier of $NF x $per MiB; repository $(du -sm "$R" | cut -f1) MiB" >&2

# profile NAME CMD... : run CMD in the background and sample its /proc every 0.2 s: RssAnon,
# RssFile (file pages mapped, e.g. an mmapped pack), and which of its open files tells the phase;
# prints one line per phase (first and last sample, peak anon and file RSS). Not a timed run.
profile() {
	local name=$1 pid f t0 now phase
	shift
	"$@" >"$W/out.prof-$name" 2>"$W/err.prof-$name" &
	pid=$!
	t0=${EPOCHREALTIME/[.,]/}
	: >"$W/prof.$name"
	while [ -d "/proc/$pid" ] && f=$(cat "/proc/$pid/status" 2>/dev/null) && [[ $f != *"State:	Z"* ]]; do
		now=${EPOCHREALTIME/[.,]/}
		phase=$(ls -l "/proc/$pid/fd" 2>/dev/null | awk '/ -> \// { print $NF }' |
			sed -E "s#$KB_DIR##; s#/[0-9a-f]{38}##; s#pack-[0-9a-f]+#pack-X#; s#tmp[-_][0-9a-zA-Z_]+#tmp#g; s#(transfer|import)-[0-9a-f]{8}#\1#" |
			grep -vE '^/dev/|/kluis.lock$|gnupg|^/o/|^/g/|^/proc|socket|pipe|anon_inode|/w/(out|err)\\.prof' | sort -u | tr '\n' ' ')
		awk -v t=$(((now - t0) / 1000)) -v ph="${phase:--}" '/^RssAnon/ { a = $2 } /^RssFile/ { f = $2 } END { printf "%d %d %d %s\n", t, a / 1024, f / 1024, ph }' <<<"$f" >>"$W/prof.$name"
		sleep 0.2
	done
	wait "$pid" || { echo "bench: profiled $name failed: $(tail -2 "$W/err.prof-$name")" >&2; return 1; }
	echo "bench: where $name spends its time and memory (ms from start; MiB):" >&2
	awk '{ ph = ""; for (i = 4; i <= NF; i++) ph = ph " " $i
		if (ph != last) { n++; first[n] = $1; name[n] = ph; last = ph }
		end[n] = $1; if ($2 > a[n]) a[n] = $2; if ($3 > fl[n]) fl[n] = $3 }
		END { for (i = 1; i <= n; i++) printf "  %7d-%7d ms  anon %5d  file %5d  %s\n", first[i], end[i], a[i], fl[i], substr(name[i], 1, 150) }' "$W/prof.$name" | tee "$W/phases.$name" >&2
}

# ---- the peer pipeline (a script, so that one /usr/bin/time covers it) ----
cat >"$W/peer-export.sh" <<'EOF'
set -euo pipefail
repo=$1 out=$2 signer=$3
d=$out.d
rm -rf "$d" "$out"; mkdir -p "$d"
git -C "$repo" bundle create -q "$d/dossier.bundle" --all
sha=$(sha256sum "$d/dossier.bundle" | cut -d' ' -f1)
printf '{"dossier": "%s", "head": "%s", "bundle_sha256": "%s"}\n' "$(basename "$repo" .git)" "$(git -C "$repo" rev-parse main)" "$sha" >"$d/manifest.json"
gpg --batch --quiet --yes -u "$signer" --detach-sign --armor -o "$d/manifest.json.asc" "$d/manifest.json"
tar czf "$out" -C "$d" dossier.bundle manifest.json manifest.json.asc
rm -rf "$d"
EOF
cat >"$W/peer-import.sh" <<'EOF'
set -euo pipefail
archive=$1 dest=$2
rm -rf "$dest"; mkdir -p "$dest"
tar xzf "$archive" -C "$dest"
gpg --batch --quiet --verify "$dest/manifest.json.asc" "$dest/manifest.json" 2>/dev/null
git clone -q --mirror "$dest/dossier.bundle" "$dest/dossier.git"
EOF

measure p1 bash "$W/peer-export.sh" "$R" "$W/peer.tgz" "$F2"
rm -f "$W/peer.tgz"
measure k1 "$KL" --vault "$V" --as "$F2" transfer "$ID" --out "$W/kluis.tgz"
[ ! -e "$R" ] || { echo "bench: kluis transfer left $R" >&2; exit 1; }
measure p2 bash "$W/peer-export.sh" "$W/copy.git" "$W/peer.tgz" "$F2"
rm -rf "$W/copy.git"
SZ_K=$(du -m "$W/kluis.tgz" | cut -f1)
SZ_P=$(du -m "$W/peer.tgz" | cut -f1)

measure q1 bash "$W/peer-import.sh" "$W/peer.tgz" "$W/pimp"
rm -rf "$W/pimp"
measure m1 env GNUPGHOME="$OH" "$KL" --vault "$KB_DIR/ov" import "$W/kluis.tgz" --trust "$F3"
rm -rf "$KB_DIR/ov"
measure q2 bash "$W/peer-import.sh" "$W/peer.tgz" "$W/pimp"
rm -rf "$W/pimp"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mean() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a + b) / 2 }'; }
PEX=$(mean "$T_p1" "$T_p2")
PIM=$(mean "$T_q1" "$T_q2")
ok() { awk -v r="$1" -v m="$2" -v lim="$3" 'BEGIN { print (r <= lim && m < 64) ? "yes" : "no" }'; }

{
	printf '\n%s MiB of documents (%s files of %s MiB), archive %s MiB (peer %s MiB)\n\n' "$MB" "$NF" "$per" "$SZ_K" "$SZ_P"
	printf '| step | wall (s) | peak RSS (MiB) | load at start | ratio to peer (mean of 2) | targets met (<= 1.5x, < 64 MiB) |\n'
	printf '| --- | ---: | ---: | ---: | ---: | --- |\n'
	printf '| `kluis add --file` x%s (set-up, not a target) | %.2f | %s | %s | | |\n' "$NF" "$T_add" "$M_add" "$L_add"
	printf '| peer export, run 1 | %.2f | %s | %s | | |\n' "$T_p1" "$M_p1" "$L_p1"
	printf '| **`kluis transfer`** | **%.2f** | **%s** | %s | **%s** | %s |\n' "$T_k1" "$M_k1" "$L_k1" "$(ratio "$T_k1" "$PEX")" "$(ok "$(ratio "$T_k1" "$PEX")" "$M_k1" 1.5)"
	printf '| peer export, run 2 | %.2f | %s | %s | | |\n' "$T_p2" "$M_p2" "$L_p2"
	printf '| peer import, run 1 | %.2f | %s | %s | | |\n' "$T_q1" "$M_q1" "$L_q1"
	printf '| **`kluis import`** | **%.2f** | **%s** | %s | **%s** | %s |\n' "$T_m1" "$M_m1" "$L_m1" "$(ratio "$T_m1" "$PIM")" "$(ok "$(ratio "$T_m1" "$PIM")" "$M_m1" 1.5)"
	printf '| peer import, run 2 | %.2f | %s | %s | | |\n' "$T_q2" "$M_q2" "$L_q2"
} | tee "${KB_OUT:-/dev/null}"

# ---- where kluis's time and memory go: a second dossier, transfer and import sampled ----
if [ "${KB_PROFILE:-1}" = 1 ]; then
	ID2=bench-profile
	for i in $(seq 1 "$NF"); do head -c $((per << 20)) /dev/urandom >"$W/doc$i.bin"; done
	"$KL" --vault "$V" --as "$F3" init "$ID2" --klant "$F1" --medewerker "$F2" --directie "$F3" --opdrachtgever "$F4" 2>/dev/null
	"$KL" --vault "$V" --as "$F2" add "$ID2" --kind document "${files[@]}" >/dev/null 2>&1
	"$KL" --vault "$V" --as "$F2" close "$ID2" 2>/dev/null
	rm -f "$W"/doc*.bin "$W/kluis.tgz"
	profile transfer "$KL" --vault "$V" --as "$F2" transfer "$ID2" --out "$W/kluis2.tgz"
	profile import env GNUPGHOME="$OH" "$KL" --vault "$KB_DIR/ov2" import "$W/kluis2.tgz" --trust "$F3"
fi
echo "bench: load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
