#!/usr/bin/env bash
# Chromium for the browser tests (Playwright drives /usr/bin/chromium; its own browser
# downloads are not used). Installs Debian's package when /usr/bin/chromium is absent;
# does nothing otherwise. Needs root (or sudo) to install.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -- "$@"
  else echo "chromium.sh: needs root (or sudo) to run: $*" >&2; exit 1
  fi
}
echo "chromium.sh: /usr/bin/chromium is absent: apt-get install -y chromium" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >&2
[[ -x /usr/bin/chromium ]] || { echo "chromium.sh: chromium installed but /usr/bin/chromium is missing" >&2; exit 1; }
echo "chromium.sh: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed" >&2
