"""The OHIF viewer container's start: the ohif_viewer role's own files, rendered from the environment, then nginx.

Settings are the role's variables as environment variables (ohif_viewer_dicomweb_url -> OHIF_VIEWER_DICOMWEB_URL).
They are checked with the role's own rules (tasks/validate.yml), then the role's templates (nginx site, app-config.js,
the page for an unreachable archive) are rendered with the role's defaults and vars, the way Ansible renders them:
one copy of the viewer's logic, for hosts and containers. Only what the container needs of Ansible's Jinja is here
(a few filters, lazy variables, a single expression keeps its type).

OHIF_VIEWER_MODE=onprem (default): the viewer and Orthanc's DICOMweb on one origin, the viewer's Orthanc login passed
through; nginx is the only process (exec). OHIF_VIEWER_MODE=cloud: the cloud DICOM service through the role's token
broker (files/ohif/token_broker.py with the Orthanc plugin's token providers), configured by OHIF_VIEWER_OAUTH (the
plugin's DicomWebOAuth server keys as JSON) and checked with the plugin's own schema before anything starts; the
broker listens on 127.0.0.1 and starts before nginx. This script then supervises both: when either exits, the other
is stopped and the container ends, saying which one died and how.
"""
import hashlib
import json
import os
import posixpath
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import jinja2
import yaml

HOME = "/usr/share/ohif-viewer"
ROLE = f"{HOME}/role"
DIST = f"{HOME}/dist"
RUN = "/tmp/ohif-viewer"
LIB = f"{HOME}/lib"  # token_broker.py and the plugin's medimaging_plugin package
PREFIX = "OHIF_VIEWER_"
MANAGED = "Rendered at container start by images/ohif-viewer/entrypoint.py from the ohif_viewer role; do not edit"

# What a container may set (role variable -> the container's default; None: required; DEFAULT: the role's default,
# which may depend on the mode). Everything else is fixed.
DEFAULT = object()
SETTINGS = {
    "ohif_viewer_mode": "onprem",
    "ohif_viewer_dicomweb_url": None,
    "ohif_viewer_dicomweb_path": "/dicom-web",
    "ohif_viewer_server_name": "localhost",
    "ohif_viewer_listen_address": "",
    "ohif_viewer_listen_port": "8443",
    "ohif_viewer_tls_cert_path": "",
    "ohif_viewer_tls_key_path": "",
    "ohif_viewer_tls_offloaded": "false",  # true: a front (Container Apps' ingress) ends TLS and sends plain HTTP
    "ohif_viewer_qido_supports_include_field": DEFAULT,  # the role's: true for the cloud service, false for Orthanc
    # cloud mode only
    "ohif_viewer_dicomweb_ca_path": "",
    "ohif_viewer_htpasswd_path": "",
    "ohif_viewer_sso_front": "false",
}
CLOUD_ONLY = ("ohif_viewer_dicomweb_ca_path", "ohif_viewer_htpasswd_path", "ohif_viewer_sso_front")
OAUTH = "OHIF_VIEWER_OAUTH"  # cloud mode: ohif_viewer_oauth as JSON (not an nginx value: checked by the plugin)
# The container's own settings (not the role's): the probes' plain-HTTP port, how long to wait for the upstream's
# name to resolve (nginx resolves it once, at start; a Service's DNS name may lag its creation), the broker's port.
CONTAINER_SETTINGS = {"OHIF_VIEWER_HEALTH_PORT": "8081", "OHIF_VIEWER_RESOLVE_TIMEOUT": "60",
                      "OHIF_VIEWER_BROKER_PORT": "18765"}
# Secrets never sit in the environment (podman inspect and kubectl describe show it): a mounted file only.
INLINE_SECRETS = ("ClientSecret", "ClientSecretEnv", "StaticToken")
# cloud: the htpasswd's lines (user:hash, separated by spaces or line breaks) as one value, for platforms that hand a
# secret store's values to containers only as environment variables (Container Apps' Key Vault references: the app's
# configuration holds the reference, never the value). Hashes, never passwords; written under /tmp at start.
HTPASSWD = "OHIF_VIEWER_HTPASSWD"
HTPASSWD_LINE = re.compile(r"[A-Za-z0-9._@-]{1,64}:(\$apr1\$|\$2[aby]\$|\$5\$|\$6\$)[^\s:]+")


class SettingsError(Exception):
    """The environment cannot make a working viewer; the message says which variable and what to do."""


# --- The part of Ansible's Jinja the role's files use -------------------------------------------------------------

def _bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def _urlsplit(value, query=""):
    parts = urllib.parse.urlsplit(value)
    fields = {name: getattr(parts, name) for name in ("scheme", "netloc", "path", "query", "fragment", "username",
                                                      "password", "hostname", "port")}
    return fields[query] if query else fields


def _regex_replace(value, pattern="", replacement="", ignorecase=False, multiline=False, count=0):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.sub(pattern, replacement, str(value), count=count, flags=flags)


def jinja_environment(search_path):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(search_path), trim_blocks=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters.update({
        "bool": _bool, "urlsplit": _urlsplit, "regex_replace": _regex_replace, "dirname": posixpath.dirname,
        "to_json": json.dumps,
        "to_nice_json": lambda value, indent=4: json.dumps(value, indent=indent, sort_keys=True,
                                                           separators=(",", ": ")),
    })
    env.tests["match"] = lambda value, pattern, ignorecase=False: bool(
        re.match(pattern, str(value), re.I if ignorecase else 0))
    return env


_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)


def template_value(env, value, variables):
    """One variable's value templated as Ansible does: a lone {{ expression }} keeps its type (bool, dict ...)."""
    if isinstance(value, dict):
        return {key: template_value(env, item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [template_value(env, item, variables) for item in value]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value
    single = _SINGLE_EXPRESSION.match(value)
    if single:
        return env.compile_expression(single.group("expr"), undefined_to_none=False)(**variables)
    return env.from_string(value).render(**variables)


def resolve(env, raw, literal):
    """Template every variable in dependency order (Ansible is lazy; the role's variables form no cycle).

    `literal` values are taken as they are (the environment's: never templated, as Ansible's unsafe values).
    Variables that need what a container has not (role_path, gathered facts) stay unresolved and unused."""
    done = dict(literal)
    pending = {name: value for name, value in raw.items() if name not in literal}
    while pending:
        progress = False
        for name, value in list(pending.items()):
            try:
                done[name] = template_value(env, value, done)
            except (jinja2.UndefinedError, TypeError):  # TypeError: a filter given an undefined value
                continue
            del pending[name]
            progress = True
        if not progress:
            break
    return done


# --- The viewer's settings -----------------------------------------------------------------------------------------

def _load_yaml(relative):
    with open(os.path.join(ROLE, relative), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def settings_from_environment(environ):
    """Role variables from OHIF_VIEWER_* variables, and the container's ports; refused by name when unusable."""
    known = {name.upper(): name for name in SETTINGS}
    unknown = sorted(key for key in environ if key.startswith(PREFIX) and key not in known
                     and key not in CONTAINER_SETTINGS and key not in (OAUTH, HTPASSWD))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; this image reads "
                            f"{', '.join(sorted([*known, *CONTAINER_SETTINGS, OAUTH, HTPASSWD]))}")
    values = {name: environ.get(env_name, SETTINGS[name]) for env_name, name in known.items()
              if env_name in environ or SETTINGS[name] is not DEFAULT}
    for env_name, name in known.items():  # they land in nginx's configuration: no way to end or add a directive
        if values.get(name) and not re.fullmatch(r"[^\s;{}\"'\\$#]+", values[name]):
            raise SettingsError(f"{env_name}={values[name]!r}: spaces, quotes, ;, {{, }}, $, # and backslashes are not "
                                "allowed (the value goes into nginx's configuration)")
    if values["ohif_viewer_sso_front"].lower() not in ("true", "false"):
        raise SettingsError(f"OHIF_VIEWER_SSO_FRONT={values['ohif_viewer_sso_front']}: give true (an SSO front "
                            "authenticates users before this container) or false")
    values["ohif_viewer_sso_front"] = values["ohif_viewer_sso_front"].lower() == "true"
    if values["ohif_viewer_tls_offloaded"].lower() not in ("true", "false"):
        raise SettingsError(f"OHIF_VIEWER_TLS_OFFLOADED={values['ohif_viewer_tls_offloaded']}: give true (a front such "
                            "as Container Apps' ingress ends TLS and sends plain HTTP) or false")
    values["ohif_viewer_tls_offloaded"] = values["ohif_viewer_tls_offloaded"].lower() == "true"
    if values["ohif_viewer_tls_offloaded"] and values["ohif_viewer_tls_cert_path"]:
        raise SettingsError("OHIF_VIEWER_TLS_OFFLOADED=true serves plain HTTP to the front that ends TLS: give no "
                            "OHIF_VIEWER_TLS_CERT_PATH/OHIF_VIEWER_TLS_KEY_PATH with it")
    mode = values["ohif_viewer_mode"]
    if mode not in ("onprem", "cloud"):
        raise SettingsError(f"OHIF_VIEWER_MODE={mode}: give onprem (Orthanc's DICOMweb, the viewer's Orthanc login "
                            "passed through) or cloud (the cloud DICOM service through the token broker)")
    if mode == "onprem":
        given = [name.upper() for name in CLOUD_ONLY if name.upper() in environ] + \
            [name for name in (OAUTH, HTPASSWD) if name in environ]
        if given:
            raise SettingsError(f"{', '.join(given)}: for OHIF_VIEWER_MODE=cloud only (this container is on-prem: "
                                "Orthanc checks each viewer's own login)")
    else:
        values["ohif_viewer_oauth"] = oauth_from_environment(environ)
        if HTPASSWD in environ and values["ohif_viewer_htpasswd_path"]:
            raise SettingsError(f"give {HTPASSWD} (the lines) or OHIF_VIEWER_HTPASSWD_PATH (a mounted file), not both")
    if not re.fullmatch(r"[A-Za-z0-9.-]+", values["ohif_viewer_server_name"]):
        raise SettingsError(f"OHIF_VIEWER_SERVER_NAME={values['ohif_viewer_server_name']}: give a host name")
    if not values["ohif_viewer_dicomweb_url"]:
        raise SettingsError("OHIF_VIEWER_DICOMWEB_URL is required: Orthanc's DICOMweb root as this container reaches "
                            "it, e.g. http://orthanc:8042/dicom-web (cloud mode: the DICOM service's URL, e.g. "
                            "https://WORKSPACE-SERVICE.dicom.azurehealthcareapis.com/v2)")
    if bool(values["ohif_viewer_tls_cert_path"]) != bool(values["ohif_viewer_tls_key_path"]):
        raise SettingsError("give both OHIF_VIEWER_TLS_CERT_PATH and OHIF_VIEWER_TLS_KEY_PATH, or neither (then the "
                            "container makes a self-signed certificate at start)")
    ports = {name: environ.get(name, default) for name, default in CONTAINER_SETTINGS.items() if name.endswith("PORT")}
    ports["OHIF_VIEWER_LISTEN_PORT"] = values["ohif_viewer_listen_port"]
    for env_name, port in ports.items():
        if not (port.isdigit() and 1024 <= int(port) <= 65535) or list(ports.values()).count(port) > 1:
            raise SettingsError(f"{env_name}={port}: give an unprivileged port (1024-65535; the container runs "
                                f"without root), different from the other ports ({', '.join(sorted(ports))})")
    return values, {name: int(port) for name, port in ports.items()}


def oauth_from_environment(environ):
    """ohif_viewer_oauth from OHIF_VIEWER_OAUTH: a JSON object of the plugin's DicomWebOAuth server keys."""
    text = environ.get(OAUTH, "")
    example = ('e.g. {"Provider": "client_credentials", "ClientId": "...", "TokenEndpoint": "https://login.'
               'microsoftonline.com/TENANT/oauth2/v2.0/token", "ClientSecretFile": "/run/secrets/viewer/client-secret"} '
               'or {"Provider": "managed_identity"} or {"Provider": "workload_identity"}')
    try:
        oauth = json.loads(text) if text else None
    except ValueError as exc:
        raise SettingsError(f"{OAUTH} is not valid JSON ({exc}): give the plugin's DicomWebOAuth server keys, "
                            f"{example}") from None
    if not isinstance(oauth, dict) or not oauth.get("Provider"):
        raise SettingsError(f"{OAUTH} is required in cloud mode: a JSON object of the plugin's DicomWebOAuth server "
                            f"keys with a Provider, {example}")
    inline = [key for key in INLINE_SECRETS if key in oauth]
    if inline:
        raise SettingsError(f"{OAUTH}: {', '.join(inline)} would put a secret in the container's environment, which "
                            "podman inspect and kubectl describe show: mount the secret as a file (a Kubernetes "
                            "Secret volume) and give its path as ClientSecretFile (StaticTokenFile for a static token)")
    return oauth


def write_htpasswd(environ, run):
    """OHIF_VIEWER_HTPASSWD's lines as the htpasswd file nginx reads (0600, this start only); its path."""
    lines = environ[HTPASSWD].split()
    bad = [index + 1 for index, line in enumerate(lines) if not HTPASSWD_LINE.fullmatch(line)]
    if not lines or bad:
        raise SettingsError(f"{HTPASSWD}: entry {', '.join(map(str, bad)) or '1'} is not user:hash (give hashed "
                            "lines, e.g. from `openssl passwd -apr1` or `htpasswd -nB`, separated by spaces or line "
                            "breaks; never a plain password)")
    path = os.path.join(run, "htpasswd")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def broker_settings(variables):
    """The broker's configuration (the role's broker.yml writes the same): the server named viewer, no secret value."""
    server = {**variables["ohif_viewer_oauth"], "Url": variables["ohif_viewer_dicomweb_url"]}
    return {"DicomWebOAuth": {"Servers": {"viewer": server}}}


def check_with_plugin_schema(config, environ):
    """The plugin's own check of the token settings: a wrong key, a missing file or client id stops the start."""
    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    from medimaging_plugin.config.errors import ConfigError  # pylint: disable=import-outside-toplevel
    from medimaging_plugin.config.oauth import load_oauth_settings  # pylint: disable=import-outside-toplevel
    try:
        load_oauth_settings(config, dict(environ))
    except ConfigError as exc:
        server = "DicomWebOAuth.Servers.viewer"
        where = ("OHIF_VIEWER_DICOMWEB_URL" if exc.key == f"{server}.Url"  # Url comes from there
                 else exc.key.replace(f"{server}.", f"{OAUTH}.").replace(server, OAUTH))
        raise SettingsError(f"{where}: {exc.problem}{f' ({exc.hint})' if exc.hint else ''}") from None


def role_variables(env, settings, run):
    """The role's defaults and vars with the container's settings and fixed paths, all templated."""
    raw = {**_load_yaml("defaults/main.yml"), **_load_yaml("vars/main.yml"),
           "ohif_viewer_instance": "main", "ohif_viewer_install_dir": HOME,
           "ohif_viewer_manage_services": False, "ohif_viewer_tarball": "",
           "__ohif_viewer_release_dir": DIST, "__ohif_viewer_config_dir": f"{run}/config",
           # Named in the site's "no token" answer ("see the journal of ..."): here the broker logs to the container's.
           "__ohif_viewer_broker_unit": "the token broker (in the log of the viewer container)",
           "ansible_managed": MANAGED}
    return resolve(env, raw, settings)


def check_with_role_rules(env, variables):
    """The role's own input check (its first assert task), so the container refuses what the role refuses."""
    task = _load_yaml("tasks/validate.yml")[0]
    variables = {**variables, **template_value(env, task.get("vars", {}), variables)}
    check = task["ansible.builtin.assert"]
    failed = [rule for rule in check["that"] if not env.compile_expression(rule)(**variables)]
    if failed:
        message = " ".join(env.from_string(check["fail_msg"]).render(**variables).split())
        raise SettingsError(f"{message} (In this container each ohif_viewer_* setting is the environment variable "
                            f"OHIF_VIEWER_*; failed: {'; '.join(failed)})")


def self_signed(run, server_name):
    """A certificate for this start only, when none is mounted: the viewer is HTTPS only, as the role's site."""
    folder = os.path.join(run, "tls")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    cert, key = os.path.join(folder, "tls.crt"), os.path.join(folder, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "30", "-subj", f"/CN={server_name}", "-addext", f"subjectAltName=DNS:{server_name}",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(cert, "rb") as handle:
        fingerprint = hashlib.sha256(handle.read()).hexdigest()[:16]
    print(f"ohif-viewer: no certificate mounted, serving a self-signed one for {server_name} ({fingerprint}...); "
          "mount a real one with OHIF_VIEWER_TLS_CERT_PATH/OHIF_VIEWER_TLS_KEY_PATH", file=sys.stderr)
    return cert, key


def render(environ, run=RUN):
    """Write nginx's configuration, app-config.js, the error page and (cloud) the broker's settings under run.

    Returns the role's variables with the container's ports and the paths of nginx.conf and broker.json."""
    env = jinja_environment([f"{ROLE}/templates", HOME])
    settings, ports = settings_from_environment(environ)
    os.makedirs(f"{run}/config", exist_ok=True)
    if HTPASSWD in environ and settings["ohif_viewer_mode"] == "cloud":
        settings["ohif_viewer_htpasswd_path"] = write_htpasswd(environ, run)
    if not settings["ohif_viewer_tls_cert_path"] and not settings["ohif_viewer_tls_offloaded"]:
        cert, key = self_signed(run, settings["ohif_viewer_server_name"])
        settings.update(ohif_viewer_tls_cert_path=cert, ohif_viewer_tls_key_path=key)
    if settings["ohif_viewer_mode"] == "cloud":
        settings["ohif_viewer_broker_port"] = ports["OHIF_VIEWER_BROKER_PORT"]
    variables = role_variables(env, settings, run)
    check_with_role_rules(env, variables)
    variables.update(run=run, health_port=ports["OHIF_VIEWER_HEALTH_PORT"], nginx_conf=os.path.join(run, "nginx.conf"),
                     broker_conf=os.path.join(run, "broker.json"))
    if variables["ohif_viewer_mode"] == "cloud":
        config = broker_settings(variables)
        check_with_plugin_schema(config, environ)
        with open(variables["broker_conf"], "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
    for template, target in (("app-config.js.j2", "config/app-config.js"),
                             ("unavailable.html.j2", "config/unavailable.html"),
                             ("nginx-site.conf.j2", "site.conf"), ("nginx.conf.j2", "nginx.conf")):
        with open(os.path.join(run, target), "w", encoding="utf-8") as handle:
            handle.write(env.get_template(template).render(**variables))
    return variables


def wait_for_upstream_name(url, timeout):
    """nginx refuses to start on a name that does not resolve: wait for it, then say which name and what to do."""
    host = urllib.parse.urlsplit(url).hostname
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.getaddrinfo(host, None)
            return
        except socket.gaierror as exc:
            if time.monotonic() >= deadline:
                raise SettingsError(f"the host name {host} of OHIF_VIEWER_DICOMWEB_URL does not resolve "
                                    f"({exc.strerror}) after {timeout:.0f} s: check the URL (in Kubernetes, on-prem: "
                                    "the Orthanc Service's name and namespace; cloud: the DNS the pod uses)") from exc
            time.sleep(1)


def nginx_check(conf):
    done = subprocess.run(["nginx", "-t", "-q", "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    if done.returncode != 0:
        raise SettingsError(f"nginx refuses the rendered configuration: {done.stdout.strip()}")


SELF_TESTS = (  # at build time: the role's files render in both modes and nginx accepts them
    {"OHIF_VIEWER_DICOMWEB_URL": "http://127.0.0.1:8042/dicom-web"},
    {"OHIF_VIEWER_MODE": "cloud", "OHIF_VIEWER_DICOMWEB_URL": "https://127.0.0.1:8043/v2",
     "OHIF_VIEWER_OAUTH": '{"Provider": "managed_identity"}', "OHIF_VIEWER_SSO_FRONT": "true"},
    {"OHIF_VIEWER_MODE": "cloud", "OHIF_VIEWER_DICOMWEB_URL": "https://127.0.0.1:8043/v2",  # as on Container Apps
     "OHIF_VIEWER_OAUTH": '{"Provider": "managed_identity"}', "OHIF_VIEWER_TLS_OFFLOADED": "true",
     "OHIF_VIEWER_HTPASSWD": "viewer:$apr1$abcdefgh$0123456789abcdefghijkl"},
)


def self_test():
    for environ in SELF_TESTS:
        work = tempfile.mkdtemp(prefix="ohif-viewer-")
        try:
            nginx_check(render(environ, run=work)["nginx_conf"])
        finally:
            shutil.rmtree(work)


def serve_cloud(variables):
    """The broker on 127.0.0.1, then nginx; both supervised (supervise.py). Returns the container's exit code."""
    from supervise import Supervisor  # pylint: disable=import-outside-toplevel
    supervisor = Supervisor()
    port = variables["ohif_viewer_broker_port"]
    broker = supervisor.start("the token broker", [sys.executable, f"{LIB}/token_broker.py", "--config",
                                                   variables["broker_conf"], "--server", "viewer", "--port", str(port),
                                                   "--plugin-path", LIB])
    if not supervisor.wait_listening(broker, port):
        return supervisor.shutdown(1)
    supervisor.start("nginx", ["nginx", "-c", variables["nginx_conf"]], stop_signal=signal.SIGQUIT)  # graceful
    return supervisor.wait()


def main(argv):
    try:
        if argv[1:] == ["--self-test"]:
            self_test()
            return 0
        variables = render(os.environ)
        timeout = os.environ.get("OHIF_VIEWER_RESOLVE_TIMEOUT", CONTAINER_SETTINGS["OHIF_VIEWER_RESOLVE_TIMEOUT"])
        if not timeout.isdigit():
            raise SettingsError(f"OHIF_VIEWER_RESOLVE_TIMEOUT={timeout}: give whole seconds")
        wait_for_upstream_name(os.environ["OHIF_VIEWER_DICOMWEB_URL"], int(timeout))
        nginx_check(variables["nginx_conf"])
    except SettingsError as exc:
        print(f"ohif-viewer: {exc}. Nothing was started.", file=sys.stderr)
        return 2
    served = "HTTP behind a TLS front" if variables["ohif_viewer_tls_offloaded"] else "HTTPS"
    print(f"ohif-viewer: OHIF ({variables['ohif_viewer_mode']}) on port {variables['ohif_viewer_listen_port']} "
          f"({served}), DICOMweb from {variables['ohif_viewer_dicomweb_url']}", file=sys.stderr, flush=True)
    if variables["ohif_viewer_mode"] == "cloud":
        return serve_cloud(variables)
    os.execvp("nginx", ["nginx", "-c", variables["nginx_conf"]])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))
