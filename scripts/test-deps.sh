#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing:
# nats-server (the tests start their own on a random port), chromium
# (browser tests drive it through playwright-core), haproxy and nginx (the
# tests of deploy/ check their configs and run them in front of edges).
# Needs root to install; otherwise it says what to install and fails.
set -euo pipefail
# haproxy and nginx live in /usr/sbin, which a user's PATH may leave out.
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
missing=()
has nats-server || missing+=(nats-server)
has chromium || missing+=(chromium)
has haproxy || missing+=(haproxy)
has nginx || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
