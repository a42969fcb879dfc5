#!/bin/sh
# Re-fetch ReDoc's standalone bundle from the npm registry (the page at /v1/docs loads it).
# The version is pinned in package.json; `npm pack` fetches that exact tarball, whose sha512
# must equal the registry's dist.integrity (recorded in VERSIONS). Only the bundle and its
# licences are copied. To update: change the version in package.json, run this, check
# tests/browser/frontend/test_api_docs.py.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
version=$(node -e "console.log(require('$here/package.json').dependencies.redoc)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack "redoc@$version" --silent >/dev/null
expected=$(npm view "redoc@$version" dist.integrity)
actual="sha512-$(openssl dgst -sha512 -binary "redoc-$version.tgz" | base64 -w0)"
[ "$expected" = "$actual" ] || { echo "integrity mismatch: $actual != $expected" >&2; exit 1; }
tar xzf "redoc-$version.tgz"
rm -rf "$here/redoc"
mkdir -p "$here/redoc"
cp package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt \
  package/LICENSE "$here/redoc/"
echo "redoc@$version $expected" > "$here/VERSIONS"
echo "vendored: redoc@$version"
