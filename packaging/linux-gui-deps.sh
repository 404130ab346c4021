#!/usr/bin/env bash
# Qt's xcb platform plugin (the one that opens windows on X11) needs a few system libraries that
# minimal Debian/Ubuntu installs lack. Install them when we can (root with apt), else say which.
set -u
[ "$(uname -s)" = "Linux" ] || exit 0
[ -n "${DISPLAY:-}" ] || exit 0  # no X display: the app itself explains what to do
missing=()
for lib in libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1 \
           libxcb-cursor.so.0:libxcb-cursor0 libxkbcommon-x11.so.0:libxkbcommon-x11-0 \
           libxcb-render-util.so.0:libxcb-render-util0 libxcb-image.so.0:libxcb-image0 \
           libEGL.so.1:libegl1 libGL.so.1:libgl1 libfontconfig.so.1:libfontconfig1 \
           libdbus-1.so.3:libdbus-1-3; do
  file=${lib%%:*}; package=${lib##*:}
  ldconfig -p 2>/dev/null | grep -q "$file" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing the X11 libraries Qt needs: ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || {
    apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
else
  echo "Qt needs these system libraries to open a window: ${missing[*]}" >&2
  echo "Install them, e.g.: sudo apt-get install ${missing[*]}" >&2
fi
exit 0
