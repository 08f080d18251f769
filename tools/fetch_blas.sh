#!/usr/bin/env bash
# Unpack a BLAS library from the distribution's package into a folder, without installing it:
#
#     tools/fetch_blas.sh DEST PACKAGE        e.g. tools/fetch_blas.sh .venv/blas/openblas libopenblas0-pthread
#
# `apt-get download` + `dpkg -x`, so nothing on the system changes. Putting the folder that holds
# the unpacked libblas.so.3 first in LD_LIBRARY_PATH makes an embedded R (rpy2) load that BLAS,
# in that process only (docs/FACTS.md section 8); tests/test_blas.py runs R on it that way.
# Idempotent: does nothing when DEST already holds a libblas.so.3. When the package cannot be had,
# it writes the reason to DEST.unavailable (the tests skip with that reason) and exits 0.
set -euo pipefail

dest=${1:?usage: tools/fetch_blas.sh DEST PACKAGE}
package=${2:?usage: tools/fetch_blas.sh DEST PACKAGE}

if [ -d "$dest" ] && [ -n "$(find "$dest" -name libblas.so.3 -print -quit)" ]; then
  exit 0
fi

unavailable() {
  mkdir -p "$(dirname "$dest")"
  echo "$1" >"$dest.unavailable"
  echo "setup: $package not unpacked: $1" >&2
  exit 0
}

command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 \
  || unavailable "this system has no apt-get/dpkg to fetch $package with"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download "$package") >"$work/download.log" 2>&1; }
if ! download; then
  # a fresh container has empty package lists: refresh them once (only root may)
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    download || unavailable "apt-get download $package failed: $(tail -n 1 "$work/download.log")"
  else
    unavailable "apt-get download $package failed ($(tail -n 1 "$work/download.log")); try: sudo apt-get update, then make setup"
  fi
fi

rm -rf "$dest.partial" "$dest.unavailable"
mkdir -p "$dest.partial"
dpkg -x "$work"/*.deb "$dest.partial"
[ -n "$(find "$dest.partial" -name libblas.so.3 -print -quit)" ] \
  || { rm -rf "$dest.partial"; unavailable "$package holds no libblas.so.3"; }
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "setup: unpacked $package into $dest (not installed; loaded per process through LD_LIBRARY_PATH)"
