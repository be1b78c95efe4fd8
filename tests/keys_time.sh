#!/usr/bin/env bash
# tests/keys_time.sh - throwaway OpenPGP keys and signatures at chosen times, for the tests of
# kluis's signature policy (tests/unit/test_pgp.c, tests/e2e/stock_witness.sh). Uses the
# GNUPGHOME of the caller; every key is passphrase-less. Times are Unix seconds.
#
# Sourced, it defines the functions; run as `bash keys_time.sh FUNCTION ARGS...`, it runs one
# (how the C unit tests call it).
#
#   kt_iso EPOCH                       gpg's time format (for --faked-system-time, expiries)
#   kt_at EPOCH GPG-ARGS...            gpg as if the clock said EPOCH
#   kt_gen NAME EPOCH USAGE [EXPIRE]   a primary ed25519 key "NAME <NAME@kluis.test>" made at
#                                      EPOCH with USAGE (e.g. sign,cert or cert) and EXPIRE
#                                      (an EPOCH, default never); prints its fingerprint
#   kt_addsub FPR EPOCH USAGE [EXPIRE] an ed25519 subkey (sign, auth, ...); prints its fingerprint
#   kt_sign KEY EPOCH DATA OUT         an armored detached signature by KEY (use FPR! for a
#                                      subkey) dated EPOCH
#   kt_revoke FPR EPOCH REASON [N]     revoke the primary key (or its N-th subkey, 1-based) at
#                                      EPOCH with REASON 0 no reason, 1 compromised,
#                                      2 superseded, 3 no longer used
#   kt_twin_sign KEYFPR EPOCH DATA OUT an armored detached signature by the key material of
#                                      KEYFPR (a primary or subkey), dated EPOCH, made where gpg
#                                      itself would refuse: after its expiry, before its
#                                      creation, or with an authentication-only subkey.
#
# How kt_twin_sign works: a scratch home is given the key's secret material (its keygrip file
# from private-keys-v1.d) and makes from it a new *signing primary* key with the same creation
# time. A v4 fingerprint covers only the algorithm, the public key and the creation time, so
# the twin has the very fingerprint and key id of KEYFPR, and its signatures name KEYFPR as
# issuer. This is what a thief holding only that key's secret could do with stock gpg.

kt_iso() { date -u -d "@$1" +%Y%m%dT%H%M%S; }

kt_at() {
	local at=$1
	shift
	gpg --batch --quiet --pinentry-mode loopback --passphrase '' --faked-system-time "$(kt_iso "$at")!" \
		--ignore-time-conflict "$@"
}

# EPOCH or "" -> gpg's expiry argument
kt_expire() { if [ -n "$1" ]; then kt_iso "$1"; else echo never; fi; }

kt_gen() {
	local name=$1 at=$2 usage=$3 expire=${4:-}
	kt_at "$at" --quick-gen-key "$name <$name@kluis.test>" ed25519 "$usage" "$(kt_expire "$expire")" 2>/dev/null || return 1
	gpg --batch --with-colons --list-keys "<$name@kluis.test>" 2>/dev/null | awk -F: '/^fpr/{print $10; exit}'
}

kt_addsub() {
	local fpr=$1 at=$2 usage=$3 expire=${4:-} algo=ed25519
	[ "$usage" != encr ] || algo=cv25519
	kt_at "$at" --quick-add-key "$fpr" "$algo" "$usage" "$(kt_expire "$expire")" 2>/dev/null || return 1
	# the newest subkey: the one made at `at`
	gpg --batch --with-colons --list-keys "$fpr" 2>/dev/null |
		awk -F: -v at="$at" '/^sub/{m=($6==at)} m&&/^fpr/{f=$10} END{print f}'
}

kt_sign() {
	kt_at "$2" --yes --armor -u "$1" --detach-sign -o "$4" "$3" 2>/dev/null
}

kt_revoke() {
	local fpr=$1 at=$2 reason=$3 sub=${4:-}
	{
		[ -z "$sub" ] || printf 'key %s\n' "$sub"
		printf 'revkey\ny\n%s\nrevoked by a test\n\ny\nsave\n' "$reason"
	} | kt_at "$at" --yes --command-fd 0 --status-fd 2 --edit-key "$fpr" >/dev/null 2>&1
}

kt_twin_sign() {
	local key=$1 at=$2 data=$3 out=$4 home grip created rc=0
	read -r grip created < <(gpg --batch --with-colons --with-keygrip --list-keys "$key" |
		awk -F: -v f="$key" '/^(pub|sub)/{ct=$6} /^fpr/{m=($10==f)} m&&/^grp/{print $10, ct; exit}')
	[ -n "$grip" ] || return 1
	home=$(mktemp -d /tmp/kt.XXXXXX)
	chmod 700 "$home"
	mkdir -m 700 "$home/private-keys-v1.d"
	cp "$GNUPGHOME/private-keys-v1.d/$grip.key" "$home/private-keys-v1.d/"
	printf 'Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Grip: %s\nKey-Usage: sign\nName-Real: twin\nCreation-Date: %s\nExpire-Date: 0\n%%no-protection\n%%commit\n' \
		"$grip" "$(kt_iso "$created")" | GNUPGHOME=$home gpg --batch --quiet --gen-key 2>/dev/null || rc=1
	[ "$rc" -ne 0 ] || GNUPGHOME=$home kt_sign "$key!" "$at" "$data" "$out" || rc=1
	gpgconf --homedir "$home" --kill all 2>/dev/null
	rm -rf "$home"
	return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eo pipefail
	"$@"
fi
