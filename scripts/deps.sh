#!/bin/sh
# Installs what building and testing ocagent needs on Debian: the -dev packages of the libraries,
# the compilers and test tools, and the npm test dependencies pinned in package-lock.json.
# Does nothing (and needs no root) when everything is already there.
set -e
cd "$(dirname "$0")/.."

# Build: compiler, pkg-config, the libraries, protoc-c. Test: cmocka, clang with libFuzzer,
# node/npm for the integration suite (real clients), the openssl CLI for test certificates, curl
# and nghttp2-client (nghttp, h2load) as HTTP/1.1 and HTTP/2 clients, prometheus for promtool (it
# checks the text of the agent's own /metrics), libcurl (the exporters' outbound HTTP/1.1 and HTTP/2
# client, driven by the libuv loop through its multi-socket interface).
PACKAGES="build-essential pkg-config libuv1-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler
libyaml-dev libssl-dev zlib1g-dev libzstd-dev libjson-c-dev libcmocka-dev clang libclang-rt-dev nodejs npm openssl
curl nghttp2-client libhttp-parser-dev prometheus libcurl4-openssl-dev"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" && continue
    # Node from another Debian-packaged source (nodesource's nodejs ships npm inside).
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    missing="$missing $p"
done

if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# npm test dependencies, exactly as locked; only when the lock changed since the last install.
stamp=node_modules/.ocagent-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    mkdir -p node_modules && touch "$stamp"
fi
