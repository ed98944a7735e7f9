#!/bin/sh
# Hardhat's EDR (the embedded dev chain) ships its native binding as an optional dependency that
# declares Node >= 22, so npm running under the system's Node 20 skips it. Run the install a second
# time under the Node 24 that the first pass put in node_modules/.bin, once, only when needed.
# Then build the provider's bundle (src/cli/providerBundle.ts); a provider builds it itself if this fails.
set -eu
[ -n "${CONUN_SECOND_INSTALL_PASS:-}" ] && exit 0
if ! node_modules/.bin/node -e "import('@nomicfoundation/edr').then(() => process.exit(0), () => process.exit(1))" 2>/dev/null; then
  echo "conun: installing Node 24 native bindings (second npm pass)…" >&2
  CONUN_SECOND_INSTALL_PASS=1 PATH="$PWD/node_modules/.bin:$PATH" npm install --no-audit --no-fund --ignore-scripts
fi
node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/build-provider.ts || true
