#!/bin/sh
# Re-fetch the lab console's vendored libraries from the npm registry (`make lab-console-vendor`).
# Versions are pinned in package.json and checked against package-lock.json (npm ci); only the
# files the console loads, and each library's licence, are copied next to this script.
# To update a library: change its version in package.json, run `npm install --package-lock-only`
# here, then this script, and check the console (tests/browser/lab).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
m="$work/node_modules"
rm -rf "$here/uplot" "$here/codemirror"
mkdir -p "$here/uplot" "$here/codemirror/mode/python" "$here/codemirror/addon/edit"
cp "$m/uplot/dist/uPlot.iife.min.js" "$m/uplot/dist/uPlot.min.css" "$m/uplot/LICENSE" \
  "$here/uplot/"
cp "$m/codemirror/lib/codemirror.js" "$m/codemirror/lib/codemirror.css" "$m/codemirror/LICENSE" \
  "$here/codemirror/"
cp "$m/codemirror/mode/python/python.js" "$here/codemirror/mode/python/"
cp "$m/codemirror/addon/edit/matchbrackets.js" "$here/codemirror/addon/edit/"
for pkg in uplot codemirror; do
  node -e "const p=require('$m/$pkg/package.json');console.log(p.name+'@'+p.version)"
done > "$here/VERSIONS"
echo "vendored: $(tr '\n' ' ' < "$here/VERSIONS")"
