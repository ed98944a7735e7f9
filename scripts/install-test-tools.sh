#!/bin/sh
# The tests compile C fixtures to WebAssembly (to prove that modules from any toolchain run), which
# needs clang with the wasm32-wasi target and libc; the browser tests drive Debian's chromium.
# Installs them from Debian's packages if missing.
set -eu
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "The browser tests need Debian's chromium at /usr/bin/chromium. Install it, or run as root on Debian to have it installed." >&2
    exit 1
  fi
  echo "installing chromium for the browser tests…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if command -v clang >/dev/null 2>&1 && command -v wasm-ld >/dev/null 2>&1 && [ -f /usr/include/wasm32-wasi/stdio.h ] && ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need clang, lld, wasi-libc and libclang-rt-14-dev-wasm32 (Debian package names). Install them, or run as root on Debian to have them installed." >&2
  exit 1
fi
echo "installing clang, lld and wasi-libc for the WASI test fixtures…" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang lld wasi-libc libclang-rt-14-dev-wasm32 >/dev/null
