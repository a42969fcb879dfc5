#!/bin/sh
# Re-fetch the scanner page's vendored QR decoder from the npm registry
# (`make checkin-vendor`). The version is pinned in package.json and checked against
# package-lock.json (npm ci); only the file the page loads and the licence are copied.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
m="$work/node_modules"
rm -rf "$here/jsqr"
mkdir -p "$here/jsqr"
cp "$m/jsqr/dist/jsQR.js" "$m/jsqr/LICENSE" "$here/jsqr/"
node -e "const p=require('$m/jsqr/package.json');console.log(p.name+'@'+p.version)" \
  > "$here/VERSIONS"
echo "vendored: $(cat "$here/VERSIONS")"
