#!/usr/bin/env bash
# What the tests need from Debian, installed when missing: PostgreSQL (the access log's real
# server) and Chromium with its French resources (the pages' browser tests, driven by Playwright
# without any browser download; the browser's own controls — file picker, date fields — in French). Run by 'make test'; the tests start their own throwaway servers from these binaries.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
command -v runuser > /dev/null || missing+=(util-linux)
[[ -x /usr/bin/chromium ]] || missing+=(chromium fonts-dejavu-core)
[[ -f /usr/lib/chromium/locales/fr.pak ]] || missing+=(chromium-l10n)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get > /dev/null; then
    echo "install-system-deps: missing ${missing[*]} and cannot apt-get them (not root or not Debian);" \
         "the tests that need them will be skipped, saying so." >&2
    exit 0
  fi
  echo "install-system-deps: installing ${missing[*]}" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null; }; then
    echo "install-system-deps: could not install ${missing[*]}; the tests that need them will be skipped, saying so." >&2
  fi
fi
