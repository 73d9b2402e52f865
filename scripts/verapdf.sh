#!/usr/bin/env bash
# veraPDF, the PDF Association's PDF/A validator, run from its Maven Central jars (no download
# of a prebuilt binary): the protocols' PDF/A-3b check (tests/e2e/test_protocol_pdf.py).
#
# Usage: scripts/verapdf.sh install        download the jars once into .cache/verapdf/libs
#        scripts/verapdf.sh ARGS...        run veraPDF's command line, e.g.
#        scripts/verapdf.sh --flavour 3b --format text FILE.pdf   (prints PASS or FAIL per file)
# The jars are cached once (marker: sha256 of scripts/verapdf-pom.xml); delete the folder to
# download them again. Needs java (17) and mvn (scripts/system-deps.sh installs both).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
POM="$HERE/verapdf-pom.xml"
CACHE="$ROOT/.cache/verapdf"
LIBS="$CACHE/libs"
MARKER="$LIBS/.complete"

die() { echo "verapdf: $*" >&2; exit 1; }

installed() {
  [[ -f "$MARKER" && "$(cat "$MARKER")" == "$(sha256sum "$POM" | cut -d' ' -f1)" ]] &&
    compgen -G "$LIBS/greenfield-apps-*.jar" >/dev/null
}

install() {
  installed && return 0
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.fetch.lock"
  flock -w 600 8 || die "another verapdf.sh is downloading jars for more than 600 s"
  installed && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn is missing: scripts/system-deps.sh installs maven"
  local tmp="$CACHE/libs.tmp.$$"
  rm -rf "$tmp"
  echo "verapdf: downloading veraPDF's jars from Maven Central into $LIBS (once) ..." >&2
  if ! mvn -B -q -f "$POM" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE/mvn.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 30 "$CACHE/mvn.log" >&2 || true
    die "mvn copy-dependencies failed (full output: $CACHE/mvn.log)"
  fi
  compgen -G "$tmp/greenfield-apps-*.jar" >/dev/null || { rm -rf "$tmp"; die "no greenfield-apps jar downloaded"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  sha256sum "$POM" | cut -d' ' -f1 >"$MARKER"
  exec 8>&-
}

if [[ "${1:-}" == "install" ]]; then
  install
  exit 0
fi
install
command -v java >/dev/null 2>&1 || die "java is missing: scripts/system-deps.sh installs it"
exec java -Xmx512m -Djava.awt.headless=true -cp "$LIBS/*" org.verapdf.apps.GreenfieldCliWrapper "$@"
