#!/bin/sh
# Builds Sentry's real browser SDK (@sentry/browser from npm) into one
# script that defines `window.Sentry`, for the browser tests. Sentry's CDN
# bundles are not on npm, so the npm packages are bundled here with esbuild's
# native binary (also from npm); no Node.js needed. Output: $1/sentry.js.
set -eu
OUT="$1"
SENTRY=10.78.0
CONVENTIONS=0.16.0
ESBUILD=0.28.2
REGISTRY=https://registry.npmjs.org

if [ -s "$OUT/sentry.js" ]; then exit 0; fi
if ! command -v curl >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates
fi

WORK="$OUT/build"
rm -rf "$WORK"
mkdir -p "$WORK/node_modules"
fetch() { # package version
  mkdir -p "$WORK/node_modules/$1"
  curl -sSfL "$REGISTRY/$1/-/${1#*/}-$2.tgz" | tar xz -C "$WORK/node_modules/$1" --strip-components=1
}
for pkg in browser core browser-utils feedback replay replay-canvas; do
  fetch "@sentry/$pkg" "$SENTRY"
done
fetch @sentry/conventions "$CONVENTIONS"
curl -sSfL "$REGISTRY/@esbuild/linux-x64/-/linux-x64-$ESBUILD.tgz" | tar xz -C "$WORK" --strip-components=2 package/bin/esbuild
echo "import * as Sentry from '@sentry/browser'; window.Sentry = Sentry;" > "$WORK/entry.js"
(cd "$WORK" && ./esbuild entry.js --bundle --format=iife --outfile=sentry.js --log-level=warning)
mv "$WORK/sentry.js" "$OUT/sentry.js"
rm -rf "$WORK"
