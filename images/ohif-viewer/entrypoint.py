"""The OHIF viewer container's start: the ohif_viewer role's own files, rendered from the environment, then nginx.

Settings are the role's variables as environment variables (ohif_viewer_dicomweb_url -> OHIF_VIEWER_DICOMWEB_URL).
They are checked with the role's own rules (tasks/validate.yml), then the role's templates (nginx site, app-config.js,
the page for an unreachable archive) are rendered with the role's defaults and vars, the way Ansible renders them:
one copy of the viewer's logic, for hosts and containers. Only what the container needs of Ansible's Jinja is here
(a few filters, lazy variables, a single expression keeps its type).

On-prem mode only: the viewer and Orthanc's DICOMweb on one origin, the viewer's Orthanc login passed through.
The cloud viewer needs the token broker and its secret, which the ohif_viewer role runs on a host.
"""
import hashlib
import json
import os
import posixpath
import re
import shutil
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
PREFIX = "OHIF_VIEWER_"
MANAGED = "Rendered at container start by images/ohif-viewer/entrypoint.py from the ohif_viewer role; do not edit"

# What a container may set (role variable -> the container's default; None: required). Everything else is fixed.
SETTINGS = {
    "ohif_viewer_dicomweb_url": None,
    "ohif_viewer_dicomweb_path": "/dicom-web",
    "ohif_viewer_server_name": "localhost",
    "ohif_viewer_listen_address": "",
    "ohif_viewer_listen_port": "8443",
    "ohif_viewer_tls_cert_path": "",
    "ohif_viewer_tls_key_path": "",
    "ohif_viewer_qido_supports_include_field": "false",
}
# The container's own settings (not the role's): the probes' plain-HTTP port, and how long to wait for the
# upstream's name to resolve (nginx resolves it once, at start; a Service's DNS name may lag its creation).
CONTAINER_SETTINGS = {"OHIF_VIEWER_HEALTH_PORT": "8081", "OHIF_VIEWER_RESOLVE_TIMEOUT": "60"}


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
    """Role variables from OHIF_VIEWER_* variables; unknown names and the cloud mode are refused by name."""
    known = {name.upper(): name for name in SETTINGS}
    unknown = sorted(key for key in environ if key.startswith(PREFIX) and key not in known
                     and key not in CONTAINER_SETTINGS and key != "OHIF_VIEWER_MODE")
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; this image reads "
                            f"{', '.join(sorted([*known, *CONTAINER_SETTINGS, 'OHIF_VIEWER_MODE']))}")
    if environ.get("OHIF_VIEWER_MODE", "onprem") != "onprem":
        raise SettingsError(f"OHIF_VIEWER_MODE={environ['OHIF_VIEWER_MODE']}: this image serves the on-prem viewer "
                            "only (OHIF and Orthanc's DICOMweb on one origin, the viewer's Orthanc login passed "
                            "through). The cloud viewer needs the token broker: deploy it with the ohif_viewer role.")
    values = {name: environ.get(env_name, SETTINGS[name]) for env_name, name in known.items()}
    for env_name, name in known.items():  # they land in nginx's configuration: no way to end or add a directive
        if values[name] and not re.fullmatch(r"[^\s;{}\"'\\$#]+", values[name]):
            raise SettingsError(f"{env_name}={values[name]!r}: spaces, quotes, ;, {{, }}, $, # and backslashes are not "
                                "allowed (the value goes into nginx's configuration)")
    if not re.fullmatch(r"[A-Za-z0-9.-]+", values["ohif_viewer_server_name"]):
        raise SettingsError(f"OHIF_VIEWER_SERVER_NAME={values['ohif_viewer_server_name']}: give a host name")
    if not values["ohif_viewer_dicomweb_url"]:
        raise SettingsError("OHIF_VIEWER_DICOMWEB_URL is required: Orthanc's DICOMweb root as this container reaches "
                            "it, e.g. http://orthanc:8042/dicom-web")
    if bool(values["ohif_viewer_tls_cert_path"]) != bool(values["ohif_viewer_tls_key_path"]):
        raise SettingsError("give both OHIF_VIEWER_TLS_CERT_PATH and OHIF_VIEWER_TLS_KEY_PATH, or neither (then the "
                            "container makes a self-signed certificate at start)")
    health = environ.get("OHIF_VIEWER_HEALTH_PORT", CONTAINER_SETTINGS["OHIF_VIEWER_HEALTH_PORT"])
    for env_name, port in (("OHIF_VIEWER_LISTEN_PORT", values["ohif_viewer_listen_port"]),
                           ("OHIF_VIEWER_HEALTH_PORT", health)):
        if not (port.isdigit() and 1024 <= int(port) <= 65535) or (env_name.endswith("HEALTH_PORT")
                                                                   and port == values["ohif_viewer_listen_port"]):
            raise SettingsError(f"{env_name}={port}: give an unprivileged port (1024-65535; the container runs "
                                "without root), different from the other port")
    return values, int(health)


def role_variables(env, settings, run):
    """The role's defaults and vars with the container's settings and fixed paths, all templated."""
    raw = {**_load_yaml("defaults/main.yml"), **_load_yaml("vars/main.yml"),
           "ohif_viewer_mode": "onprem", "ohif_viewer_instance": "main", "ohif_viewer_install_dir": HOME,
           "ohif_viewer_manage_services": False, "ohif_viewer_htpasswd_path": "", "ohif_viewer_tarball": "",
           "__ohif_viewer_release_dir": DIST, "__ohif_viewer_config_dir": f"{run}/config",
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
    """Write nginx's configuration, app-config.js and the error page under run; returns the main nginx.conf."""
    env = jinja_environment([f"{ROLE}/templates", HOME])
    settings, health_port = settings_from_environment(environ)
    os.makedirs(f"{run}/config", exist_ok=True)
    if not settings["ohif_viewer_tls_cert_path"]:
        cert, key = self_signed(run, settings["ohif_viewer_server_name"])
        settings.update(ohif_viewer_tls_cert_path=cert, ohif_viewer_tls_key_path=key)
    variables = role_variables(env, settings, run)
    check_with_role_rules(env, variables)
    variables.update(run=run, health_port=health_port)
    for template, target in (("app-config.js.j2", "config/app-config.js"),
                             ("unavailable.html.j2", "config/unavailable.html"),
                             ("nginx-site.conf.j2", "site.conf"), ("nginx.conf.j2", "nginx.conf")):
        with open(os.path.join(run, target), "w", encoding="utf-8") as handle:
            handle.write(env.get_template(template).render(**variables))
    return os.path.join(run, "nginx.conf")


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
                                    f"({exc.strerror}) after {timeout:.0f} s: check the URL (in Kubernetes: the "
                                    "Orthanc Service's name and namespace)") from exc
            time.sleep(1)


def nginx_check(conf):
    done = subprocess.run(["nginx", "-t", "-q", "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    if done.returncode != 0:
        raise SettingsError(f"nginx refuses the rendered configuration: {done.stdout.strip()}")


def main(argv):
    try:
        if argv[1:] == ["--self-test"]:  # at build time: the role's files render and nginx accepts them
            work = tempfile.mkdtemp(prefix="ohif-viewer-")
            try:
                nginx_check(render({"OHIF_VIEWER_DICOMWEB_URL": "http://127.0.0.1:8042/dicom-web"}, run=work))
            finally:
                shutil.rmtree(work)
            return 0
        conf = render(os.environ)
        timeout = os.environ.get("OHIF_VIEWER_RESOLVE_TIMEOUT", CONTAINER_SETTINGS["OHIF_VIEWER_RESOLVE_TIMEOUT"])
        if not timeout.isdigit():
            raise SettingsError(f"OHIF_VIEWER_RESOLVE_TIMEOUT={timeout}: give whole seconds")
        wait_for_upstream_name(os.environ["OHIF_VIEWER_DICOMWEB_URL"], int(timeout))
        nginx_check(conf)
    except SettingsError as exc:
        print(f"ohif-viewer: {exc}. Nothing was started.", file=sys.stderr)
        return 2
    print(f"ohif-viewer: OHIF on port {os.environ.get('OHIF_VIEWER_LISTEN_PORT', '8443')} (HTTPS), DICOMweb from "
          f"{os.environ['OHIF_VIEWER_DICOMWEB_URL']}", file=sys.stderr)
    os.execvp("nginx", ["nginx", "-c", conf])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))
