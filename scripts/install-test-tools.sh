#!/bin/sh
# The tests compile C fixtures to WebAssembly (to prove that modules from any toolchain run), which
# needs clang with the wasm32-wasi target and libc; the Docker runtime's tests need a Docker Engine
# and busybox-static (the test image's rootfs); the browser tests drive Debian's chromium; the NAT
# tests build network namespaces with iproute2 and NAT routers with iptables; the sequence search
# example reads emboss-test's protein sequences and checks its scores with EMBOSS water (emboss,
# with its matrices from emboss-data); the animation example encodes and decodes its video with
# ffmpeg; the WebGPU runtime's tests run Dawn on chromium's SwiftShader Vulkan driver, through the
# Vulkan loader (libvulkan1). Installs what is
# missing from Debian's packages and starts dockerd when its socket is absent.
set -eu
have_wasi() {
  command -v clang >/dev/null 2>&1 && command -v wasm-ld >/dev/null 2>&1 && [ -f /usr/include/wasm32-wasi/stdio.h ] &&
    ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1
}
have_docker() {
  # The test image copies /bin/busybox into an empty rootfs, so it must be busybox-static's.
  command -v dockerd >/dev/null 2>&1 && dpkg -s busybox-static >/dev/null 2>&1
}
packages=""
have_wasi || packages="clang lld wasi-libc libclang-rt-14-dev-wasm32"
have_docker || packages="$packages docker.io busybox-static"
[ -x /usr/bin/chromium ] || packages="$packages chromium"
command -v ip >/dev/null 2>&1 || packages="$packages iproute2"
command -v iptables >/dev/null 2>&1 || packages="$packages iptables"
{ command -v water >/dev/null 2>&1 && [ -f /usr/share/EMBOSS/data/EBLOSUM62 ] && [ -f /usr/share/EMBOSS/test/swiss/seq.dat ]; } ||
  packages="$packages emboss emboss-data emboss-test"
command -v ffmpeg >/dev/null 2>&1 || packages="$packages ffmpeg"
dpkg -s libvulkan1 >/dev/null 2>&1 || packages="$packages libvulkan1"
if [ -n "$packages" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need these Debian packages:$packages. Install them, or run as root on Debian to have them installed." >&2
    exit 1
  fi
  echo "installing$packages for the tests…" >&2
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi
# An engine answering on its socket is all the tests need (a stale socket is not enough).
[ -S /var/run/docker.sock ] && docker version >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "The Docker runtime's tests need a Docker Engine at /var/run/docker.sock; start dockerd (as root)." >&2
  exit 1
fi
# No iptables or default bridge: task containers run with no network at all.
echo "starting dockerd (log: /tmp/conun-dockerd.log)…" >&2
setsid dockerd --iptables=false --bridge=none >/tmp/conun-dockerd.log 2>&1 </dev/null &
waited=0
until [ -S /var/run/docker.sock ] && docker version >/dev/null 2>&1; do
  waited=$((waited + 1))
  if [ "$waited" -gt 60 ]; then
    echo "dockerd did not come up in 60 s; see /tmp/conun-dockerd.log" >&2
    exit 1
  fi
  sleep 1
done
