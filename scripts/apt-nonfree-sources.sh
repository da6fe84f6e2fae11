#!/usr/bin/env bash
# Prints an apt deb822 source for Debian's contrib and non-free components (libcuda1 lives in
# non-free), derived from the machine's own configured Debian sources: the same URIs, suites,
# types and keyring, with the components swapped. No package host is named here, so the
# result works behind whatever mirror or snapshot the machine is set up with.
#
#   bash scripts/apt-nonfree-sources.sh [APT_ETC]      # APT_ETC defaults to /etc/apt
#
# A source is taken when one of its suites is the release's codename or starts with it
# followed by a dash (`bookworm`, `bookworm-updates`, `bookworm-security`), so third-party
# sources (their own suites) are left out. Both the deb822 `.sources` files and the one-line
# `sources.list` format are read; framemix's own output file is skipped. Exits 1, printing
# nothing, when no Debian source is configured.
set -euo pipefail

etc=${1:-/etc/apt}
codename=${FRAMEMIX_CODENAME:-}
if [ -z "$codename" ] && [ -r /etc/os-release ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
if [ -z "$codename" ]; then
  echo "apt-nonfree-sources: cannot tell the Debian release (no VERSION_CODENAME)" >&2
  exit 1
fi

files=()
[ -f "$etc/sources.list" ] && files+=("$etc/sources.list")
for f in "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  case "$(basename "$f")" in framemix-*) continue ;; esac
  files+=("$f")
done
[ ${#files[@]} -gt 0 ] || { echo "apt-nonfree-sources: no apt sources under $etc" >&2; exit 1; }

# One line per source on stdout of awk: TYPES<TAB>URIS<TAB>SUITES<TAB>SIGNED-BY.
awk -v codename="$codename" '
function ours(suite) { return suite == codename || index(suite, codename "-") == 1 }
function emit(types, uris, suites, signed,   n, i, s, keep, out) {
  n = split(suites, s, /[ \t]+/); keep = ""
  for (i = 1; i <= n; i++) if (s[i] != "" && ours(s[i])) keep = keep (keep == "" ? "" : " ") s[i]
  if (keep != "" && uris != "" && enabled) print types "\t" uris "\t" keep "\t" signed
}
function flush() { if (in_stanza) emit(types, uris, suites, signed); in_stanza = 0
  types = uris = suites = signed = ""; enabled = 1 }
FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
deb822 {
  line = $0; sub(/^[ \t]+/, "", line)
  if (line ~ /^#/) next
  if (line == "") { flush(); next }
  if ($0 ~ /^[ \t]/) next                      # continuation lines (an inline key block)
  key = tolower(line); sub(/:.*/, "", key)
  val = line; sub(/^[^:]*:[ \t]*/, "", val)
  in_stanza = 1
  if (key == "types") types = val
  else if (key == "uris") uris = val
  else if (key == "suites") suites = val
  else if (key == "signed-by") signed = val
  else if (key == "enabled" && tolower(val) == "no") enabled = 0
  next
}
{
  line = $0; sub(/#.*/, "", line)
  n = split(line, w, /[ \t]+/); i = 1
  if (w[i] == "") i++
  if (w[i] != "deb" && w[i] != "deb-src") next
  type = w[i++]; signed = ""
  if (w[i] ~ /^\[/) {                          # [ option=value ... ]
    opts = ""
    while (i <= n) { opts = opts " " w[i]; if (w[i] ~ /\]$/) { i++; break } i++ }
    if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
  }
  uri = w[i++]; suite = w[i]
  enabled = 1; emit(type, uri, suite, signed)
}
END { flush() }
' "${files[@]}" | {
  found=0
  while IFS=$'\t' read -r types uris suites signed; do
    [ $found = 0 ] || echo
    found=1
    echo "Types: $types"
    echo "URIs: $uris"
    echo "Suites: $suites"
    echo "Components: contrib non-free"
    [ -z "$signed" ] || echo "Signed-By: $signed"
  done
  if [ $found = 0 ]; then
    echo "apt-nonfree-sources: no Debian '$codename' source configured under $etc" >&2
    exit 1
  fi
}
