#!/usr/bin/env bash
# server-setup.sh - make a Debian 12 machine the central kluis server: gitolite over ssh, every
# dossier repository guarded by the kluis verifier. Run as root; run it again at any time (to
# add a trust root, an adviser, a revocation, a new kluis): every step checks before it changes.
#
# Invariants it keeps: the only pre-receive hook of every repository is hooks/pre-receive (via
# gitolite's LOCAL_CODE/hooks/common, linked into new repositories too); trust roots, keyring and
# kluis binary live in ONE place, the gitolite user's global git config, which git and kluis's
# hook read inside every repository; main and access only fast-forward (the hook, and gitolite's
# RW rules), refs/kluis/content is replaced by every change (RW+: it is one parentless commit),
# no other ref may be written, and git itself refuses deletions. The block between "# kluis begin" and "# kluis end" in
# gitolite.conf belongs to this script; everything else there is the administrator's.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/server-setup.sh [OPTIONS]      (as root, on Debian 12)

Installs gitolite3 and openssh-server and sets gitolite up as the central server of kluis
dossiers:
  - repositories dossiers/ID.git, created by the first `kluis push` of a dossier (gitolite wild
    repositories: the advisers' group @kluis-advisers may create them, read them and push main
    and refs/kluis/access (fast-forward only) and refs/kluis/content (one parentless commit,
    replaced by every change); nobody deletes a ref; the vaults' kluis.conf says
    `remote ssh://USER@HOST[:PORT]/dossiers`);
  - the kluis verifier (hooks/pre-receive -> `kluis hook pre-receive`) as the pre-receive hook
    of every repository, new ones included: a push that `kluis verify` would refuse is refused,
    with the reason on the pusher's screen;
  - trust roots, public keyring and kluis binary in one place, the gitolite user's global git
    config (kluis.trust, kluis.gnupghome, kluis.program), with receive.fsckObjects and
    receive.denyDeletes on (receive.denyNonFastForwards off: content is replaced, and the hook
    refuses a rewind of main or access);
  - the gitolite command kluis-heads: `ssh USER@HOST kluis-heads` prints every dossier the
    caller may read with its three refs, in one round trip (docs/OPERATIONS.md).

Options:
  --admin-key FILE      the gitolite administrator's ssh public key (needed the first time)
  --trust FPR           a trust root, the directie key that starts dossiers (repeat for more;
                        given, they replace the configured ones; at least one must be set)
  --import FILE         import public keys or revocations (armored) into the keyring (repeat)
  --adviser NAME=FILE   let NAME, with ssh public key FILE, create, read and push dossiers
  --kluis PATH          the kluis binary the hook runs (default: kluis in PATH)
  --user NAME           the gitolite user (default git)
  --home DIR            its home (default: the user's home, else /srv/NAME)
  --keyring DIR         the public keyring (default HOME/keyring)
  --host NAME           the host name advisers reach (default: hostname -f), only printed
  --port N              the ssh port advisers reach (default 22), only printed: sshd's own
                        port is in /etc/ssh/sshd_config
  --no-install          install no packages (they must be there already)
  -h, --help            this text

Example:
  scripts/server-setup.sh --admin-key admin.pub --trust 0123...ABCD \
      --import team-keys.asc --adviser alice=alice.pub --kluis /usr/local/bin/kluis
EOF
}

say() { printf 'server-setup: %s\n' "$*"; }
die() { printf 'server-setup: %s\n' "$*" >&2; exit 1; }
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"; }

src=$(cd "$(dirname "$0")/.." && pwd)
user=git home='' keyring='' host='' port=22 admin_key='' kluis='' install=1
trust=() imports=() advisers=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--no-install) install=0; shift; continue ;;
	--admin-key) need_arg "$@"; admin_key=$2 ;;
	--trust) need_arg "$@"; trust+=("$2") ;;
	--import) need_arg "$@"; imports+=("$2") ;;
	--adviser) need_arg "$@"; advisers+=("$2") ;;
	--kluis) need_arg "$@"; kluis=$2 ;;
	--user) need_arg "$@"; user=$2 ;;
	--home) need_arg "$@"; home=$2 ;;
	--keyring) need_arg "$@"; keyring=$2 ;;
	--host) need_arg "$@"; host=$2 ;;
	--port) need_arg "$@"; port=$2 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
	shift 2
done

[ "$(id -u)" -eq 0 ] || die "run it as root (it creates a user and installs packages)"
[[ $user =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "--user '$user' is not a plain user name"
[[ $port =~ ^[0-9]+$ ]] || die "--port '$port' is not a number"
# files become absolute paths: the work below runs from /
for f in ${admin_key:+"$admin_key"} "${imports[@]}"; do
	[ -r "$f" ] || die "cannot read '$f'"
done
[ -z "$admin_key" ] || admin_key=$(readlink -f "$admin_key")
for i in "${!imports[@]}"; do imports[i]=$(readlink -f "${imports[i]}"); done
for i in "${!advisers[@]}"; do
	a=${advisers[i]}
	[[ ${a%%=*} =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] && [ "${a%%=*}" != "$a" ] || die "--adviser '$a' is not NAME=FILE with a plain NAME"
	[ -r "${a#*=}" ] || die "cannot read the ssh key '${a#*=}' of adviser ${a%%=*}"
	advisers[i]=${a%%=*}=$(readlink -f "${a#*=}")
done
for f in "${trust[@]}"; do
	[[ ${f// /} =~ ^[0-9A-Fa-f]{40}$ ]] || die "--trust '$f' is not a 40-digit fingerprint"
done

# ---- packages ----
if [ "$install" = 1 ]; then
	missing=()
	for p in gitolite3 openssh-server git gnupg; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		apt-get update -qq
		# the package's own debconf set-up is skipped: this script does it for the chosen user
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		say "packages gitolite3, openssh-server, git, gnupg: already installed"
	fi
fi
for c in gitolite git gpg; do
	command -v "$c" >/dev/null || die "'$c' is missing: install gitolite3, git and gnupg (or drop --no-install)"
done
if [ -z "$kluis" ]; then
	kluis=$(command -v kluis) || die "kluis is not in PATH: install it or give --kluis PATH"
fi
kluis=$(readlink -f "$kluis")
[ -x "$kluis" ] || die "--kluis '$kluis' is not an executable"
[ -z "$home" ] || home=$(readlink -m "$home")
[ -z "$keyring" ] || keyring=$(readlink -m "$keyring")
cd /   # the gitolite user's commands start here (our own directory may be closed to it)

# ---- the gitolite user ----
if entry=$(getent passwd "$user"); then
	have=$(printf '%s' "$entry" | cut -d: -f6)
	[ -z "$home" ] || [ "$(readlink -f "$home")" = "$(readlink -f "$have")" ] ||
		die "user $user exists with home $have, not $home"
	home=$have
	say "user $user: exists (home $home)"
else
	home=${home:-/srv/$user}
	mkdir -p "$(dirname "$home")"
	useradd --system --user-group --create-home --home-dir "$home" --shell /bin/sh "$user"
	# an account with a '!' password is "locked" to sshd without PAM: '*' is no password and
	# not locked (only ssh keys get in)
	usermod -p '*' "$user"
	say "user $user: created (home $home)"
fi
chown "$user:" "$home"
chmod 700 "$home"
keyring=${keyring:-$home/keyring}
# as_user CMD...: CMD as the gitolite user, with its home and nothing of our environment
as_user() { runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user" PATH=/usr/bin:/bin LC_ALL=C "$@"; }
# the kluis binary and hook must be reachable by that user (a path under a 0700 directory is not)
as_user test -x "$kluis" || die "user $user cannot run $kluis: put kluis where every user can read it"

# ---- gitolite itself ----
if [ -f "$home/.gitolite.rc" ]; then
	say "gitolite: already set up in $home"
else
	[ -n "$admin_key" ] || die "gitolite is not set up yet: give --admin-key FILE (the administrator's ssh public key)"
	install -o "$user" -m 644 "$admin_key" "$home/admin.pub"
	out=$(as_user sh -c 'cd && gitolite setup -pk admin.pub' 2>&1) || die "gitolite setup failed: $out"
	rm -f "$home/admin.pub"
	say "gitolite: set up in $home, administrator 'admin' with key $admin_key"
fi
rc=$home/.gitolite.rc
if ! grep -Eq '^[[:space:]]*LOCAL_CODE[[:space:]]*=>[[:space:]]*"\$ENV\{HOME\}/local"' "$rc"; then
	grep -Eq '^[[:space:]]*LOCAL_CODE[[:space:]]*=>' "$rc" && die "$rc sets another LOCAL_CODE: set it to \"\$ENV{HOME}/local\" or install the hook there by hand"
	sed -i -E 's|^([[:space:]]*)#[[:space:]]*(LOCAL_CODE[[:space:]]*=>[[:space:]]*"\$ENV\{HOME\}/local",)|\1\2|' "$rc"
	grep -Eq '^[[:space:]]*LOCAL_CODE[[:space:]]*=>' "$rc" || die "cannot enable LOCAL_CODE in $rc: add LOCAL_CODE => \"\$ENV{HOME}/local\", by hand"
	say "gitolite.rc: LOCAL_CODE enabled (\$HOME/local)"
fi
if ! grep -q "'kluis-heads'" "$rc"; then
	sed -i -E "0,/^([[:space:]]*)'help',/s//\1'help',\n\1'kluis-heads',/" "$rc"
	grep -q "'kluis-heads'" "$rc" || die "cannot enable the kluis-heads command in $rc: add 'kluis-heads', to ENABLE by hand"
	say "gitolite.rc: command kluis-heads enabled"
fi

# ---- the hook and the command, in LOCAL_CODE ----
install -d -o "$user" -g "$user" -m 700 "$home/local" "$home/local/hooks" "$home/local/hooks/common" "$home/local/commands"
put() { # SRC DEST
	if cmp -s "$1" "$2"; then say "$2: up to date"; else
		install -o "$user" -g "$user" -m 755 "$1" "$2"
		say "$2: installed from ${1#"$src"/}"
	fi
}
put "$src/scripts/gitolite/pre-receive" "$home/local/hooks/common/pre-receive"
put "$src/scripts/gitolite/pre-receive" "$home/local/hooks/common/post-receive"
put "$src/hooks/pre-receive" "$home/local/hooks/kluis-pre-receive"
put "$src/hooks/pre-receive" "$home/local/hooks/kluis-post-receive"
put "$src/scripts/gitolite/kluis-heads" "$home/local/commands/kluis-heads"

# ---- one configuration for every repository: the user's global git config ----
gset() { # KEY VALUE
	if [ "$(as_user git config --global --get "$1" || true)" != "$2" ]; then
		as_user git config --global "$1" "$2"
		say "git config --global $1 $2"
	fi
}
gset init.defaultBranch main   # a new dossier repository's HEAD names its main (after gitolite's setup: gitolite-admin is master)
gset kluis.program "$kluis"
gset kluis.gnupghome "$keyring"
gset receive.fsckObjects true
gset receive.denyDeletes true
# refs/kluis/content is replaced, never fast-forwarded, by every change: git's blanket
# denyNonFastForwards would refuse every second push. main and access only grow: the kluis hook
# refuses their rewinds, and so do gitolite's RW rules below
gset receive.denyNonFastForwards false
want=$(for f in "${trust[@]}"; do printf '%s\n' "${f// /}"; done)
if [ ${#trust[@]} -gt 0 ] && [ "$(as_user git config --global --get-all kluis.trust || true)" != "$want" ]; then
	as_user git config --global --unset-all kluis.trust || true
	for f in "${trust[@]}"; do as_user git config --global --add kluis.trust "${f// /}"; done
	say "git config --global kluis.trust: ${trust[*]}"
fi
if ! as_user git config --global --get-all kluis.trust >/dev/null; then
	say "WARNING: no trust root yet: every push is refused until you run this with --trust FPR"
fi

# ---- the public keyring ----
install -d -o "$user" -g "$user" -m 700 "$keyring"
for f in "${imports[@]}"; do
	as_user gpg --homedir "$keyring" --batch --quiet --import <"$f" || die "gpg could not import $f"
	say "keyring $keyring: imported $f"
done
say "keyring $keyring: $(as_user gpg --homedir "$keyring" --batch --with-colons --list-keys 2>/dev/null | grep -c '^pub') public keys"

# ---- gitolite.conf: the dossier rule and the advisers, through the admin repository ----
work=$(as_user mktemp -d "$home/.kluis-setup.XXXXXX")
trap 'rm -rf "$work"' EXIT
as_user git clone -q "$home/repositories/gitolite-admin.git" "$work/admin"
conf=$work/admin/conf/gitolite.conf
members=$(sed -n '/^# kluis begin/,/^# kluis end/s/^@kluis-advisers[[:space:]]*=//p' "$conf")
for a in "${advisers[@]}"; do
	name=${a%%=*}
	install -o "$user" -m 644 "${a#*=}" "$work/admin/keydir/$name.pub"
	members+=" $name"
done
members=$(printf '%s\n' $members | sort -u | tr '\n' ' ')
{
	# gitolite's sample rule 'repo testing / RW+ = @all' would let anyone rewind: gone
	sed -e '/^# kluis begin/,/^# kluis end/d' -e '/^repo testing$/{N;/\n[[:space:]]*RW+[[:space:]]*=[[:space:]]*@all$/d}' "$conf"
	printf '# kluis begin (scripts/server-setup.sh rewrites this block; add advisers with --adviser)\n'
	[ -z "${members// /}" ] || printf '@kluis-advisers = %s\n' "${members% }"
	# main and access only grow (RW: gitolite refuses a rewind too); content is one parentless
	# commit that every change replaces (RW+); no other ref; deletions: receive.denyDeletes
	cat <<'EOF'
repo dossiers/..*
    C                               =   @kluis-advisers
    RW      refs/heads/main$        =   @kluis-advisers
    RW      refs/kluis/access$      =   @kluis-advisers
    RW+     refs/kluis/content$     =   @kluis-advisers
# kluis end
EOF
} >"$work/conf.new"
chown "$user:" "$work/conf.new"
as_user cp "$work/conf.new" "$conf"
if [ -n "$(as_user git -C "$work/admin" status --porcelain)" ]; then
	as_user git -C "$work/admin" add -A
	as_user git -C "$work/admin" -c user.name=server-setup -c user.email="server-setup@$(hostname)" commit -q -m "kluis: dossier rule, advisers:${members% }"
	as_user sh -c "cd '$work/admin' && gitolite push -q origin HEAD:master" 2>&1 | grep -v '^remote: *$' || true
	[ "$(as_user git -C "$work/admin" rev-parse HEAD)" = "$(as_user git -C "$home/repositories/gitolite-admin.git" rev-parse master)" ] ||
		die "gitolite did not take the new gitolite.conf (see above)"
	say "gitolite.conf: repo dossiers/..* for @kluis-advisers:${members% }"
	[ -n "${members// /}" ] || say "no advisers yet: add them with --adviser NAME=KEY.pub"
else
	say "gitolite.conf: up to date (advisers:${members% })"
fi
# links the hook into every repository that exists already (new ones get it when created)
out=$(as_user sh -c 'cd && gitolite setup' 2>&1) || die "gitolite setup failed: $out"
say "hooks: pre-receive and post-receive linked into every repository"

host=${host:-$(hostname -f 2>/dev/null || hostname)}
[ "$port" = 22 ] && at=$host || at=$host:$port
say "done. Each vault's kluis.conf: remote ssh://$user@$at/dossiers"
