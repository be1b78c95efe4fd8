# completion/kluis.bash - bash completion for kluis (installed as
# share/bash-completion/completions/kluis; or source it from ~/.bashrc).
#
# Completes commands, options (global and per command), the words a usage line names
# (consent grant|withdraw, request add|done|list, --format text|json|html, ...), dossier ids,
# entry ids, key fingerprints and file names.
#
# Invariants:
# - Nothing here knows the command line: commands, options, their arguments and the positional
#   words are read at completion time from `kluis --help` and `kluis COMMAND --help` (the
#   "Usage:" lines and the option lines that start with spaces then -OPT), so the completion
#   follows the binary it completes for.
# - Completing never decrypts and never records a read: dossier ids come from the vault's
#   dossiers/ directory, entry ids from `kluis log ID --json` (commit metadata only), key
#   fingerprints from gpg's key listing. A missing vault, dossier or binary completes nothing.
# - Needs bash only (not the bash-completion package).

# The spec of one help text, a line per fact:
#   cmd NAME                 a command (the "Commands:" list of kluis --help)
#   opt NAME [ARG...]        an option and the placeholders of its arguments
#   slot LINE N WORD         usage line LINE names WORD (a literal or a placeholder such as ID)
#                            as positional argument N; alternatives share LINE and N
_kluis_awk='
function isarg(t) { return t ~ /^[A-Z][A-Za-z0-9_.-]*$/ || t ~ /^[a-z0-9:-]+(\|[a-z0-9:-]+)+$/ }
function words(s) { gsub(/[][()]/, " & ", s); gsub(/[,=]/, " ", s); return split(s, T, " ") }
# the options and positional words of usage line number `line`, in T[1..n]
function scan(n, line,   i, j, t, a, depth, slot, gslot, gpos) {
	depth = 0; slot = 0
	for (i = 1; i <= n; i++) {
		t = T[i]
		if (t == "[" || t == "(") { if (depth++ == 0) { gslot = slot + 1; gpos = 0 } continue }
		if (t == "]" || t == ")") { if (--depth == 0 && gpos) slot = gslot; continue }
		if (t ~ /^--?[A-Za-z]/) {
			a = "opt " t
			for (j = i + 1; j <= n && isarg(T[j]); j++) a = a " " T[j]
			print a; i = j - 1; continue
		}
		if (t == "|" || t == "-" || t == "...") continue
		sub(/\.\.\.$/, "", t)
		if (depth) { print "slot " line " " gslot " " t; gpos = 1 }
		else print "slot " line " " (++slot) " " t
	}
}
/^Usage:/ { inusage = 1; sub(/^Usage:/, "") }
inusage && /^[ \t]*$/ { inusage = 0 }
inusage {
	if (match($0, /(^|[ \t])kluis[ \t]/)) {
		$0 = substr($0, RSTART + RLENGTH); nusage++
		if (cmd != "") sub("^[ \t]*" cmd "([ \t]|$)", "")
	}
	u[nusage] = u[nusage] " " $0; next
}
/^Commands:/ { incmds = 1; next }
incmds && /^[ \t]*$/ { incmds = 0 }
incmds && /^[ \t]+[a-z][a-z-]*([ \t]|$)/ { print "cmd " $1; next }
# an option line, "  -o, --out FILE  what it does": every name before the text takes the arguments
/^[ \t]+-/ {
	s = $0; sub(/^[ \t]+/, "", s); sub(/  .*/, "", s); n = words(s); o = a = ""
	for (i = 1; i <= n; i++) if (T[i] ~ /^--?[A-Za-z]/) o = o " " T[i]; else if (isarg(T[i])) a = a " " T[i]
	n = split(o, O, " "); for (i = 1; i <= n; i++) print "opt " O[i] a
}
END { for (l = 1; l <= nusage; l++) scan(words(u[l]), l) }
'

# _kluis_spec PROG [COMMAND]: the spec of PROG [COMMAND] --help
_kluis_spec() {
	"$1" ${2:+"$2"} --help 2>/dev/null </dev/null | awk -v cmd="${2:-}" "$_kluis_awk"
}

# _kluis_expand WORD [OPTION]: the candidates a usage word stands for, on stdout
_kluis_expand() {
	local vault=${_kluis_vault:-${KLUIS_VAULT:-$HOME/.local/share/kluis}} d
	case $1 in
	ID)
		for d in "$vault"/dossiers/*.git; do
			[ -d "$d" ] && d=${d##*/} && printf '%s\n' "${d%.git}"
		done ;;
	ENTRY)
		[ -n "${_kluis_pos[0]:-}" ] || return 0
		"$_kluis_prog" --vault "$vault" log "${_kluis_pos[0]}" --json 2>/dev/null </dev/null |
			tr -d ' \t\n' | grep -o '"entries":\[[^]]*\]' | grep -o '"[^"]*"' | grep -v '^"entries"$' | tr -d '"' | sort -u ;;
	COMMAND)
		printf '%s\n' "${_kluis_gspec[@]}" | sed -n 's/^cmd //p' ;;
	FPR)
		local list=--list-keys
		[ "${2:-}" = --as ] && list=--list-secret-keys
		gpg --batch --with-colons "$list" 2>/dev/null </dev/null |
			awk -F: '/^(pub|sec):/ { p = 1; next } p && /^fpr:/ { print $10; p = 0 }' ;;
	*FILE* | *PATH* | RECEIPT | DIR) echo "@files" ;;
	*\|*) printf '%s\n' "${1//|/$'\n'}" ;;
	[a-z]*) printf '%s\n' "$1" ;;
	esac
	return 0
}

_kluis() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd= w i need=0 opt= n words
	local _kluis_prog=${COMP_WORDS[0]} _kluis_vault=
	local -a _kluis_gspec=() _kluis_cspec=() _kluis_pos=() args=() spec=()
	COMPREPLY=()
	[[ $_kluis_prog == "~/"* ]] && _kluis_prog=$HOME/${_kluis_prog#\~/}
	command -v -- "$_kluis_prog" >/dev/null 2>&1 || _kluis_prog=kluis
	mapfile -t _kluis_gspec < <(_kluis_spec "$_kluis_prog")
	[ ${#_kluis_gspec[@]} -gt 0 ] || return 0
	# the words before the cursor: options and their arguments, the command, its positionals
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ "$need" -gt 0 ]; then
			[ "$opt" = --vault ] && _kluis_vault=$w
			need=$((need - 1))
			continue
		fi
		case $w in
		--*=*) [ "${w%%=*}" = --vault ] && _kluis_vault=${w#*=} ;;
		-?*)
			opt=$w
			spec=($(printf '%s\n' "${_kluis_gspec[@]}" "${_kluis_cspec[@]}" | grep -m1 -e "^opt $w\$" -e "^opt $w "))
			need=$((${#spec[@]} > 2 ? ${#spec[@]} - 2 : 0)) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=$w
				mapfile -t _kluis_cspec < <(_kluis_spec "$_kluis_prog" "$cmd")
			else
				_kluis_pos+=("$w")
			fi ;;
		esac
	done
	[[ $_kluis_vault == "~/"* ]] && _kluis_vault=$HOME/${_kluis_vault#\~/}
	if [ "$need" -gt 0 ]; then
		# an option's argument: the placeholder at its position (--add ROLE FPR)
		spec=($(printf '%s\n' "${_kluis_gspec[@]}" "${_kluis_cspec[@]}" | grep -m1 -e "^opt $opt "))
		words=$(_kluis_expand "${spec[${#spec[@]} - need]}" "$opt")
	elif [[ $cur == -* ]]; then
		words=$(printf '%s\n' "${_kluis_gspec[@]}" "${_kluis_cspec[@]}" | awk '$1 == "opt" { print $2 }' | sort -u)
	elif [ -z "$cmd" ]; then
		words=$(_kluis_expand COMMAND)
	else
		# positional N: the words of every usage line whose earlier positionals match those given
		n=$((${#_kluis_pos[@]} + 1))
		words=$(printf '%s\n' "${_kluis_cspec[@]}" | awk -v n="$n" -v given="${_kluis_pos[*]}" '
			$1 == "slot" { at[$2, $3] = at[$2, $3] " " $4; if ($2 > lines) lines = $2 }
			END {
				k = split(given, g, " ")
				for (l = 1; l <= lines; l++) {
					ok = 1
					for (s = 1; s < n && ok; s++) {
						m = split(at[l, s], alt, " "); hit = 0
						for (a = 1; a <= m; a++) if (alt[a] !~ /^[a-z]/ || alt[a] == g[s]) hit = 1
						ok = hit
					}
					if (ok && at[l, n] != "") { m = split(at[l, n], alt, " "); for (a = 1; a <= m; a++) print alt[a] }
				}
			}' | sort -u | while read -r w; do _kluis_expand "$w"; done)
	fi
	if [[ $'\n'$words$'\n' == *$'\n@files\n'* ]]; then
		compopt -o filenames 2>/dev/null || true
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		words=$(printf '%s\n' "$words" | grep -v '^@files$' || true)
	fi
	[ -n "$words" ] && mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -W "$words" -- "$cur")
	return 0
}
complete -F _kluis kluis
