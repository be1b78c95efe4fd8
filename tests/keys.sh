#!/usr/bin/env bash
# Test keyring helper: makes passphrase-less ed25519/cv25519 keys in a short-path GNUPGHOME.
# Usage (sourced): kt_home [DIR] ; kt_key NAME  -> prints the primary fingerprint
#                  kt_cleanup                   -> kills the agent, removes the home
kt_home() {
  GNUPGHOME=${1:-$(mktemp -d /tmp/kt.XXXXXX)}
  mkdir -p "$GNUPGHOME"; chmod 700 "$GNUPGHOME"
  export GNUPGHOME
  printf 'allow-loopback-pinentry\n' >"$GNUPGHOME/gpg-agent.conf"
}
kt_key() {
  local name=$1 fpr
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-gen-key "$name <$name@kluis.test>" ed25519 sign,cert never 2>/dev/null
  fpr=$(gpg --batch --with-colons --list-keys "<$name@kluis.test>" | awk -F: '/^fpr/{print $10; exit}')
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-add-key "$fpr" cv25519 encr never 2>/dev/null
  printf '%s:6:\n' "$fpr" | gpg --batch --quiet --import-ownertrust 2>/dev/null
  printf '%s\n' "$fpr"
}
kt_cleanup() {
  [ -n "${GNUPGHOME:-}" ] || return 0
  gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null
  rm -rf "$GNUPGHOME"
}
