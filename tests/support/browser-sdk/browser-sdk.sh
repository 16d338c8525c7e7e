#!/bin/sh
# Builds a real browser SDK from npm into one script for the browser tests:
# fetches the exact packages listed in tests/support/browser-sdk/<name>.packages (the
# node_modules layout npm produced, one "path version" per line) with
# `npm pack`, so through npm's own client and whatever registry or mirror
# npm is configured for, then bundles tests/support/browser-sdk/<name>.entry.js with
# esbuild's native binary (also fetched with `npm pack`). Output:
# <out-dir>/<name>.js.
#   usage: browser-sdk.sh <out-dir> <name>
set -eu
OUT="$1"
NAME="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
ESBUILD=0.28.2

if [ -s "$OUT/$NAME.js" ]; then exit 0; fi
if ! command -v npm >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm
fi

WORK="$OUT/build-$NAME"
rm -rf "$WORK"
mkdir -p "$WORK/tarballs"

# The tarball `npm pack` writes for a package: scope and name joined by `-`,
# without the `@`.
tarball() {
  printf '%s-%s.tgz' "$(printf '%s' "$1" | sed 's|^@||; s|/|-|')" "$2"
}

# Every package in one `npm pack` call.
specs=$(grep -v '^#' "$HERE/$NAME.packages" | while read -r path version; do
  [ -n "$path" ] || continue
  printf '%s@%s\n' "${path##*node_modules/}" "$version"
done)
# shellcheck disable=SC2086
(cd "$WORK/tarballs" && npm pack --silent $specs "@esbuild/linux-x64@$ESBUILD" >/dev/null)

grep -v '^#' "$HERE/$NAME.packages" | while read -r path version; do
  [ -n "$path" ] || continue
  mkdir -p "$WORK/$path"
  tar xzf "$WORK/tarballs/$(tarball "${path##*node_modules/}" "$version")" -C "$WORK/$path" --strip-components=1
done
tar xzf "$WORK/tarballs/$(tarball @esbuild/linux-x64 "$ESBUILD")" -C "$WORK" --strip-components=2 package/bin/esbuild
cp "$HERE/$NAME.entry.js" "$WORK/entry.js"
(cd "$WORK" && ./esbuild entry.js --bundle --format=iife --outfile=bundle.js --log-level=warning)
mv "$WORK/bundle.js" "$OUT/$NAME.js"
rm -rf "$WORK"
