#!/usr/bin/env bash
# Node 22 (from the npm package node@22) with Azurite and oauth2-mock-server, under a local prefix.
set -euo pipefail
prefix=${1:-.cache/node}
mkdir -p "$prefix/bin"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error node@22 azurite@3 oauth2-mock-server@9
node22="$(cd "$prefix" && pwd)/node_modules/node/bin/node"
"$node22" --version | grep '^v22\.' >/dev/null || { echo "node@22 did not install a Node 22 binary" >&2; exit 1; }
ln -sfn ../node_modules/node/bin/node "$prefix/bin/node"
# Wrappers run each tool with Node 22 whatever node is first on PATH.
for tool in azurite oauth2-mock-server; do
    cat >"$prefix/bin/$tool" <<WRAPPER
#!/bin/sh
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/node" "\$here/../node_modules/.bin/$tool" "\$@"
WRAPPER
    chmod 0755 "$prefix/bin/$tool"
done
