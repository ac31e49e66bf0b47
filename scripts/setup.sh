#!/usr/bin/env bash
# Installs what gridmap needs on Debian bookworm, idempotently: only missing packages are fetched.
# Usage: scripts/setup.sh [build|test]   (build = compile + run deps; test adds the test tools)
set -euo pipefail
need="${1:-build}"

pkgs=(postgresql-15 postgresql-15-postgis-3 libproj-dev libclang-dev pkg-config clang fonts-noto-cjk)
if [ "$need" = test ]; then
  # GDAL's ogrinfo decodes our vector tiles independently; Chromium runs the page tests, with a
  # CJK font so Chinese labels render offline; python3-venv holds schemathesis (below); zbarimg
  # reads the pairing QR codes back; nginx balances two nodes in the replication test.
  pkgs+=(gdal-bin chromium fonts-noto-cjk poppler-utils python3-venv zbar-tools nginx)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the package lists are older than a day or missing.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null | head -n1)" ]; then
    $SUDO apt-get update -qq
  fi
  # Debian's postgresql-common would create and start a system cluster; we run our own private one.
  if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; then
    $SUDO mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  # No package may start a system service (nginx on :80, a PostgreSQL cluster): the tests run
  # their own. policy-rc.d is Debian's switch for that, kept only for the install.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
  fi
  $SUDO apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
  [ -z "$policy" ] || $SUDO rm -f "$policy"
fi

# Node dependencies of the web pages (MapLibre GL JS, playwright-core), only when the lock changed.
if [ -f web/package-lock.json ]; then
  stamp=web/node_modules/.gridmap-lock
  if [ ! -f "$stamp" ] || ! cmp -s web/package-lock.json "$stamp"; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    cp web/package-lock.json "$stamp"
  fi
fi

# schemathesis (scripts/schemathesis.sh) in its own venv, every package pinned; only when the pins
# changed or the venv is missing or broken.
if [ "$need" = test ]; then
  venv=var/venv-schemathesis
  reqs=scripts/schemathesis-requirements.txt
  stamp=$venv/.gridmap-requirements
  if [ ! -f "$stamp" ] || ! cmp -s "$reqs" "$stamp" || ! "$venv/bin/st" --version >/dev/null 2>&1; then
    echo "setup: installing schemathesis into $venv"
    rm -rf "$venv"
    py=/usr/bin/python3
    [ -x "$py" ] || py=python3
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$reqs"
    cp "$reqs" "$stamp"
  fi
fi
