#!/usr/bin/env bash
# Build the Open Event web app (fossasia/open-event-frontend, Ember) from the pinned source
# tarball beside this script, with Node and npm from Debian.
#
#   build.sh OUT_DIR [API_HOST]       e.g.  build.sh ~/.cache/openevent-frontend
#
# Result: OUT_DIR/dist (static files; serve with an index.html fallback for unknown paths) and
# OUT_DIR/dist/.built-from (the tarball's sha256: a build is reused only for the same source).
# Progress goes to OUT_DIR/progress (one line: "<step> <n>/<of> <words>") for the local
# runtime's "being built" page, the full log to OUT_DIR/build.log.
#
# API_HOST is baked into the config <meta> of index.html; the local gateway and the AWS
# upload (infra/) rewrite it to the page's own origin, so the default placeholder is fine.
#
# Steps: the tarball's sha256 is checked against SHA256SUMS (refused if it differs); the
# source is extracted; package.json gets the changes below (upstream pins Node 14 and yarn);
# `npm ci` installs exactly what package-lock.json (committed beside this script, made for
# the changed package.json) lists; `ember build` for production.
#
# package.json changes (nothing in app/ is changed):
#   - drop `ember-cli-pace` and `tinyColorPicker` (git-hosted, not on the registry); a stub
#     `tinyColorPicker` module is written after install because ember-cli-build imports it;
#   - `ember-data` 3.14.1 -> 3.15.1 (3.14.1's @ember-data/-build-infra is not served);
#   - overrides: node-sass -> sass 1.62.1 (no native build), fs-merger 3.0.2 for ember-l10n,
#     moment 2.22.0 for ember-cli-moment-shim.
#
# Environment: OEF_LOCK=update  installs with `npm install` and writes the resolved
# package-lock.json back beside this script (only when changing the pinned source).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build.sh OUT_DIR [API_HOST]}"
api="${2:-http://127.0.0.1:8000}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
progress() { echo "$*" > "$out/progress"; echo "web app build: $*"; }

progress "check 1/4 checking the pinned source"
(cd "$here" && sha256sum --check --quiet SHA256SUMS) || {
    echo "web app source: the tarball does not match $here/SHA256SUMS; refusing to build" >&2
    exit 2
}
tarball="$here/$(awk '{print $2}' "$here/SHA256SUMS" | head -n 1)"
sha="$(awk '{print $1}' "$here/SHA256SUMS" | head -n 1)"

# One build at a time per cache (a second `make run` or `make test` waits, then finds it built).
exec 9>"$out/.lock"
if ! flock -n 9; then
    progress "waiting 1/4 another build of this cache is running; waiting for it"
    flock 9
fi
if [ "$(cat "$out/dist/.built-from" 2>/dev/null)" = "$sha" ] && [ -f "$out/dist/index.html" ]; then
    progress "done 4/4 built"
    echo "built: $out/dist (already current, source sha256 $sha)"
    exit 0
fi

stamp="$out/.source"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sha" ]; then
    rm -rf "$out/src"
    mkdir -p "$out/src"
    tar -xzf "$tarball" -C "$out/src" --strip-components=1
    node - "$out/src/package.json" <<'JS'
const fs = require('fs');
const file = process.argv[2];
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
for (const section of ['dependencies', 'devDependencies']) {
  if (!pkg[section]) continue;
  delete pkg[section]['ember-cli-pace'];
  delete pkg[section]['tinyColorPicker'];
  if (pkg[section]['ember-data']) pkg[section]['ember-data'] = '3.15.1';
}
pkg.overrides = {
  'node-sass': 'npm:sass@1.62.1',
  'ember-l10n': { 'fs-merger': '3.0.2' },
  'ember-cli-moment-shim': { moment: '2.22.0' },
};
fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
JS
    echo "$sha" > "$stamp"
fi
cd "$out/src"
lock="$here/package-lock.json"
if [ "${OEF_LOCK:-}" = "update" ] || [ ! -f "$lock" ]; then
    [ -f "$lock" ] || echo "web app: no package-lock.json beside build.sh; resolving with npm install"
    progress "install 2/4 installing npm packages (npm install, ~3 min)"
    npm install --no-audit --no-fund --loglevel=error >>"$out/build.log" 2>&1 \
        || { tail -n 40 "$out/build.log"; exit 1; }
    cp package-lock.json "$lock"
    echo "web app: wrote $lock"
elif ! cmp -s "$lock" package-lock.json || [ ! -d node_modules/ember-cli ]; then
    progress "install 2/4 installing npm packages (npm ci, ~3 min)"
    cp "$lock" package-lock.json
    npm ci --no-audit --no-fund --loglevel=error >>"$out/build.log" 2>&1 \
        || { tail -n 40 "$out/build.log"; exit 1; }
fi
mkdir -p node_modules/tinyColorPicker
echo '{"name":"tinyColorPicker","version":"1.1.1","main":"jqColorPicker.min.js"}' \
    > node_modules/tinyColorPicker/package.json
echo '/* stub: the colour picker is not needed to drive the app */' \
    > node_modules/tinyColorPicker/jqColorPicker.min.js
export NODE_OPTIONS=--openssl-legacy-provider
progress "translations 3/4 generating translations"
node scripts/l10n.js generate >>"$out/build.log" 2>&1
progress "build 4/4 ember build (~6 min on 2 cores)"
rm -rf "$out/dist.new"
API_HOST="$api" FASTBOOT_DISABLED=true JOBS=1 npx ember build --environment=production \
    --output-path="$out/dist.new" >>"$out/build.log" 2>&1 \
    || { tail -n 40 "$out/build.log"; progress "failed 4/4 see $out/build.log"; exit 1; }
echo "$sha" > "$out/dist.new/.built-from"
rm -rf "$out/dist"
mv "$out/dist.new" "$out/dist"
progress "done 4/4 built"
echo "built: $out/dist (source sha256 $sha)"
