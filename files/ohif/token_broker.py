"""The cloud viewer's token broker: nginx asks it (auth_request) for the bearer token to put on DICOMweb calls.

Why a broker and not OIDC in the browser: the browser never holds a token for the DICOM service nor any client
secret; the identity is the viewer host's own (managed identity, workload identity, or a client secret in a
root-only file), through the same token providers the Orthanc plugin uses (medimaging_plugin.tokens), configured
with the same DicomWebOAuth schema. The broker listens on loopback only and answers one question:

    GET /token  ->  204 with `X-Authorization: Bearer <token>`   (nginx copies it onto the proxied request)
                    503 with a JSON reason when no token can be had (no token value, no secret in it)
    GET /status ->  200 {"provider", "expires_in", "last_error"}   (no token)

A token is reused until RefreshMarginSeconds before its expiry (capped at half its lifetime), then one request
fetches a new one while the others wait on the same lock.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def log(text):
    """One line on stderr (the journal of the broker's unit, or the viewer container's log)."""
    print("token broker: " + text, file=sys.stderr, flush=True)


def load(config_path, server_name, plugin_path):
    if plugin_path:
        sys.path.insert(0, plugin_path)
    from medimaging_plugin.config.oauth import load_oauth_settings  # pylint: disable=import-outside-toplevel
    from medimaging_plugin.tokens.http import TokenHttpClient  # pylint: disable=import-outside-toplevel
    from medimaging_plugin.tokens.providers import build_provider  # pylint: disable=import-outside-toplevel
    with open(config_path, encoding="utf-8") as handle:
        settings = load_oauth_settings(json.load(handle))
    if settings is None or not settings.enabled:
        raise SystemExit("%s: no enabled DicomWebOAuth section" % config_path)
    servers = {s.name: s for s in settings.servers}
    if server_name not in servers:
        raise SystemExit("%s: no server %r in DicomWebOAuth.Servers (have: %s)"
                         % (config_path, server_name, ", ".join(sorted(servers))))
    provider = build_provider(servers[server_name], TokenHttpClient(settings.http_timeout))
    return TokenCache(provider, settings.refresh_margin)


class TokenCache:
    def __init__(self, provider, margin, clock=time.time):
        self.provider = provider
        self.margin = margin
        self.clock = clock
        self.token = None
        self.last_error = None
        self.lock = threading.Lock()

    def _fresh(self, now):
        token = self.token
        if token is None or token.expires_at is None:
            return False
        margin = min(self.margin, (token.expires_at - token.obtained_at) / 2)
        return now < token.expires_at - margin

    def get(self):
        """The current token value; raises the provider's TokenError when none can be had."""
        with self.lock:
            now = self.clock()
            if not self._fresh(now):
                try:
                    self.token = self.provider.acquire(now)
                    if self.last_error:
                        log("a token again (%s)" % self.provider.kind)
                    self.last_error = None
                except Exception as exc:  # TokenError: its message is safe to show (no secret, no token)
                    if str(exc) != self.last_error:  # once per new reason, not once per image frame
                        log("no token: %s" % exc)
                    self.last_error = str(exc)
                    if self.token is None or not self.token.is_valid(now):
                        raise
            return self.token.value

    def status(self):
        expires_in = None if self.token is None else round(self.token.expires_at - self.clock())
        return {"provider": self.provider.kind, "expires_in": expires_in, "last_error": self.last_error}


def handler_for(cache):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path == "/token":
                try:
                    value = cache.get()
                except Exception as exc:  # pylint: disable=broad-except
                    return self._json(503, {"error": "no token for the DICOM service: %s" % exc})
                self.send_response(204)
                self.send_header("X-Authorization", "Bearer " + value)
                self.end_headers()
                return None
            if self.path == "/status":
                return self._json(200, cache.status())
            return self._json(404, {"error": "unknown path"})

        def _json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass  # one line per image frame would drown the journal; errors are in /status

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="JSON with a DicomWebOAuth section (the plugin's schema)")
    parser.add_argument("--server", required=True, help="the server's name in DicomWebOAuth.Servers")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--plugin-path", help="folder holding the medimaging_plugin package")
    args = parser.parse_args(argv)
    cache = load(args.config, args.server, args.plugin_path)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(cache))
    server.daemon_threads = True
    print("token broker on 127.0.0.1:%d (%s)" % (args.port, cache.provider.kind), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
