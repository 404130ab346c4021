#!/usr/bin/env bash
# The TLS tests (tests/test_private_ca.py) put the identity provider behind HAProxy, which serves
# a certificate from a CA the test makes; the facility tests (tests/facility/) balance two catalogs
# with it and back their database up with pg_dump/pg_restore. Install HAProxy and the PostgreSQL
# client tools when missing and we can (root with apt), else say which package: those tests then
# skip, and fail under CI=true. The real-X test (tests/ui/test_real_x_flow.py) starts Xvfb and
# opens the window on Qt's xcb platform, which needs the X11 libraries of linux-gui-deps.sh.
set -u
[ "$(uname -s)" = "Linux" ] || exit 0
if ! command -v Xvfb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Xvfb for the real-X test"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends xvfb >/dev/null || {
      apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends xvfb >/dev/null; } ||
      echo "Could not install xvfb." >&2
  else
    echo "Xvfb is missing: the real-X test will skip (fail under CI=true)." >&2
  fi
fi
# The libraries Qt's xcb plugin loads (that script acts only where a display is named).
DISPLAY="${DISPLAY:-:0}" bash "$(dirname "$0")/linux-gui-deps.sh"
if ! command -v pg_dump >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing the PostgreSQL client tools for the facility tests"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-client \
      >/dev/null || echo "Could not install postgresql-client (pg_dump)." >&2
  else
    echo "pg_dump is missing: the facility backup test will skip (fail under CI=true)." >&2
  fi
fi
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing HAProxy for the TLS tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends haproxy >/dev/null || {
    apt-get update >/dev/null && apt-get install -y -q --no-install-recommends haproxy >/dev/null; }
  # The tests start their own HAProxy on a free port; the machine needs no haproxy service.
  if [ -d /run/systemd/system ]; then systemctl disable --now haproxy >/dev/null 2>&1 || true; fi
else
  echo "HAProxy is missing: the TLS tests will skip (fail under CI=true)." >&2
  echo "Install it, e.g.: sudo apt-get install haproxy" >&2
fi
exit 0
