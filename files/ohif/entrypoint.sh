#!/bin/sh
# The container's start: the token broker when a cloud configuration is mounted, then nginx in the foreground.
set -eu
lib=/opt/ohif-viewer/main/lib
config=/opt/ohif-viewer/main/config
if [ -f "$config/broker.json" ]; then
    # Runs as nobody: it needs no file but its configuration and the secret the platform mounts.
    setpriv --reuid=nobody --regid=nogroup --clear-groups python3 "$lib/token_broker.py" --config "$config/broker.json" \
        --server viewer --port "${OHIF_VIEWER_BROKER_PORT:-18765}" --plugin-path "$lib" &
fi
nginx -t -q
exec nginx -g 'daemon off;'
