#!/bin/sh
# fetch.sh: downloads the real all-MiniLM-L6-v2 and ms-marco-MiniLM-L-6-v2
# from Hugging Face and checks every file against SHA256SUMS.real.
#
#   sh models/fetch.sh [--check] [DIR]
#
# DIR (default: the folder holding this script) receives all-MiniLM-L6-v2/
# and ms-marco-MiniLM-L-6-v2/.  --check only verifies what is there.
#
# The build machines cannot reach Hugging Face, so the tests run on synthetic
# twins (see README.md); this script is how users get the trained weights.
# SHA256SUMS.real is both the list of files to fetch and their official
# hashes, so nothing is ever placed under its final name unverified: a file
# is downloaded to NAME.part, hashed, and only then renamed.  Files already
# present and verified are skipped, so an interrupted run can be restarted.
#
# Environment:
#   HF_BASE          default https://huggingface.co (file:///dir works with curl)
#   HF_REVISION      default main; the hashes are those of a pinned revision,
#                    so if Hugging Face changes a file, pin an older revision
#   CONNECT_TIMEOUT  seconds to wait for a connection, default 15

set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
sums="$here/SHA256SUMS.real"
base=${HF_BASE:-https://huggingface.co}
rev=${HF_REVISION:-main}
ctimeout=${CONNECT_TIMEOUT:-15}
check=0
dir=

die() { echo "fetch.sh: $*" >&2; exit 1; }

usage() {
  echo "usage: sh fetch.sh [--check] [DIR]   (DIR defaults to $here)"
}

while [ $# -gt 0 ]; do
  case $1 in
    --check) check=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$dir" ] || { usage >&2; exit 2; }; dir=$1 ;;
  esac
  shift
done
[ -n "$dir" ] || dir=$here
[ -r "$sums" ] || die "cannot read $sums"

# The folder names are the ones users expect; the Hub names differ.
hub_repo() {
  case $1 in
    all-MiniLM-L6-v2) echo sentence-transformers/all-MiniLM-L6-v2 ;;
    ms-marco-MiniLM-L-6-v2) echo cross-encoder/ms-marco-MiniLM-L-6-v2 ;;
    *) return 1 ;;
  esac
}

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum < "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 < "$1" | cut -d' ' -f1; }
else
  die "need sha256sum or shasum"
fi

# A connect timeout makes an unreachable host fail in seconds, and a low-speed
# limit ends a transfer that stalls, instead of hanging forever.
if [ $check = 0 ]; then
  if command -v curl >/dev/null 2>&1; then
    download() {
      curl -fsSL --connect-timeout "$ctimeout" --speed-limit 1024 --speed-time 60 \
        -o "$2" "$1" < /dev/null
    }
  elif command -v wget >/dev/null 2>&1; then
    download() {
      wget -q --tries=1 --connect-timeout="$ctimeout" --read-timeout=60 \
        -O "$2" "$1" < /dev/null
    }
  else
    die "need curl or wget"
  fi
fi

part=
trap '[ -n "$part" ] && rm -f "$part"; exit 130' INT TERM HUP

bad=0
while read -r want path; do
  case $want in ''|'#'*) continue ;; esac
  file="$dir/$path"
  if [ -f "$file" ]; then
    got=$(sha256 "$file")
    if [ "$got" = "$want" ]; then
      echo "ok       $path"
      continue
    fi
    if [ $check = 1 ]; then
      echo "MISMATCH $path (sha256 $got, expected $want)"
      bad=1
      continue
    fi
    echo "mismatch $path: downloading it again"
  elif [ $check = 1 ]; then
    echo "MISSING  $path"
    bad=1
    continue
  fi

  repo=$(hub_repo "${path%%/*}") || die "SHA256SUMS.real: unknown model folder in $path"
  url="$base/$repo/resolve/$rev/${path#*/}"
  mkdir -p "$(dirname "$file")" || die "cannot create directory for $file"
  part="$file.part"
  echo "fetch    $path"
  if ! download "$url" "$part"; then
    rm -f "$part"
    die "cannot download $url (no network, or no such file at revision $rev)"
  fi
  got=$(sha256 "$part")
  if [ "$got" != "$want" ]; then
    rm -f "$part"
    die "sha256 mismatch for $path from $url:
  expected $want
  got      $got
The file was deleted.  If Hugging Face updated it, set HF_REVISION to the revision these hashes belong to."
  fi
  mv -f "$part" "$file" || die "cannot rename $part to $file"
  part=
  echo "verified $path"
done < "$sums"

if [ $bad = 1 ]; then
  die "some files are missing or wrong in $dir (run without --check to fetch them)"
fi
[ $check = 1 ] && echo "all files verified in $dir"
exit 0
