#!/bin/sh
# Builds a real browser SDK from npm into one script for the browser tests:
# downloads the exact packages listed in tests/support/<name>.packages (the
# node_modules layout npm produced, one "path version" per line), then
# bundles tests/support/<name>.entry.js with esbuild's native binary (also
# from npm). No Node.js needed. Output: <out-dir>/<name>.js.
#   usage: browser-sdk.sh <out-dir> <name>
set -eu
OUT="$1"
NAME="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
ESBUILD=0.28.2
REGISTRY=https://registry.npmjs.org

if [ -s "$OUT/$NAME.js" ]; then exit 0; fi
if ! command -v curl >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates
fi

WORK="$OUT/build-$NAME"
rm -rf "$WORK"
mkdir -p "$WORK"
grep -v '^#' "$HERE/$NAME.packages" | while read -r path version; do
  [ -n "$path" ] || continue
  pkg="${path##*node_modules/}"
  mkdir -p "$WORK/$path"
  curl -sSfL "$REGISTRY/$pkg/-/${pkg#*/}-$version.tgz" | tar xz -C "$WORK/$path" --strip-components=1
done
curl -sSfL "$REGISTRY/@esbuild/linux-x64/-/linux-x64-$ESBUILD.tgz" | tar xz -C "$WORK" --strip-components=2 package/bin/esbuild
cp "$HERE/$NAME.entry.js" "$WORK/entry.js"
(cd "$WORK" && ./esbuild entry.js --bundle --format=iife --outfile=bundle.js --log-level=warning)
mv "$WORK/bundle.js" "$OUT/$NAME.js"
rm -rf "$WORK"
