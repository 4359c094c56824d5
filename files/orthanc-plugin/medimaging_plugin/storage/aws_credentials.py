"""The default AWS credential chain without boto: environment, web identity (IRSA / EKS), instance role (IMDSv2).

Order as in the AWS SDKs: 1 AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]; 2
AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: STS AssumeRoleWithWebIdentity (an unsigned call; the token file is
re-read at each exchange, the kubelet rotates it); 3 IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-
ttl-seconds), then GET /latest/meta-data/iam/security-credentials/[ROLE] with X-aws-ec2-metadata-token.
Temporary credentials are renewed REFRESH_MARGIN before their Expiration. No key is ever stored by the plugin.
"""

import datetime
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlencode
from xml.etree import ElementTree

from ..http_client import HttpError

REFRESH_MARGIN = 300.0
IMDS_DEFAULT = "http://169.254.169.254"
IMDS_TOKEN_TTL = "21600"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


class CredentialError(Exception):
    pass


@dataclass(frozen=True)
class AwsCredentials:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: Optional[str] = field(default=None, repr=False)
    expires_at: Optional[float] = None  # epoch seconds; None: long-lived (environment)
    source: str = "environment"


def _parse_time(text):
    """ISO 8601 from STS/IMDS ('2026-12-03T12:00:00Z') -> epoch seconds."""
    text = text.strip().replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp()


def from_environment(environ):
    key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return AwsCredentials(key, secret, environ.get("AWS_SESSION_TOKEN") or None, None, "environment")
    return None


def _answer(http, method, url, **kwargs):
    try:
        return http.request(method, url, **kwargs)
    except HttpError as exc:
        raise CredentialError("cannot reach %s: %s" % (url.split("?")[0], exc)) from None


def from_web_identity(http, environ, sts_endpoint, now):
    token_file, role = environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"), environ.get("AWS_ROLE_ARN")
    if not (token_file and role):
        return None
    try:
        with open(token_file, "r", encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise CredentialError("cannot read AWS_WEB_IDENTITY_TOKEN_FILE %s: %s" % (token_file, type(exc).__name__)) \
            from None
    session = environ.get("AWS_ROLE_SESSION_NAME") or "medimaging-orthanc-%d" % int(now)
    form = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": role,
            "RoleSessionName": session[:64], "WebIdentityToken": token}
    answer = _answer(http, "POST", sts_endpoint, data=urlencode(form).encode("ascii"),
                     headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/xml"})
    if answer.status_code != 200:
        code = re.search(rb"<Code>([^<]{1,64})</Code>", answer.content or b"")
        raise CredentialError("STS AssumeRoleWithWebIdentity for %s answered HTTP %d %s" % (
            role, answer.status_code, code.group(1).decode("ascii", "replace") if code else ""))
    try:
        root = ElementTree.fromstring(answer.content)
        creds = root.find(".//%sCredentials" % STS_NS)
        if creds is None:
            creds = root.find(".//Credentials")
        values = {child.tag.split("}")[-1]: (child.text or "") for child in creds}
        return AwsCredentials(values["AccessKeyId"], values["SecretAccessKey"], values["SessionToken"],
                              _parse_time(values["Expiration"]), "web_identity")
    except (ElementTree.ParseError, KeyError, TypeError, ValueError):
        raise CredentialError("STS AssumeRoleWithWebIdentity answered without usable Credentials") from None


def from_imds(http, imds_endpoint, role=None):
    base = imds_endpoint.rstrip("/")
    answer = _answer(http, "PUT", base + "/latest/api/token",
                     headers={"X-aws-ec2-metadata-token-ttl-seconds": IMDS_TOKEN_TTL})
    if answer.status_code != 200:
        raise CredentialError("IMDSv2 token request answered HTTP %d (hop limit too low for containers? "
                              "the launch template needs HttpPutResponseHopLimit 2)" % answer.status_code)
    headers = {"X-aws-ec2-metadata-token": answer.content.decode("ascii", "replace").strip()}
    path = base + "/latest/meta-data/iam/security-credentials/"
    if not role:
        listing = _answer(http, "GET", path, headers=headers)
        if listing.status_code != 200 or not listing.content.strip():
            raise CredentialError("IMDS lists no instance role (HTTP %d): attach an instance profile"
                                  % listing.status_code)
        role = listing.content.decode("utf-8", "replace").split()[0]
    answer = _answer(http, "GET", path + role, headers=headers)
    try:
        body = answer.json() if answer.status_code == 200 else {}
        return AwsCredentials(body["AccessKeyId"], body["SecretAccessKey"], body.get("Token"),
                              _parse_time(body["Expiration"]), "instance_role")
    except (KeyError, TypeError, ValueError):
        raise CredentialError("IMDS answered HTTP %d without usable credentials for role %s"
                              % (answer.status_code, role)) from None


class CredentialChain:
    """get() -> AwsCredentials, cached until REFRESH_MARGIN before expiry; thread-safe. On a failed renewal the
    current credentials are used while they are still valid."""

    def __init__(self, http, environ=None, sts_endpoint="https://sts.amazonaws.com/",
                 imds_endpoint=IMDS_DEFAULT, clock=time.time):
        self.http = http
        self.environ = os.environ if environ is None else environ
        self.sts_endpoint = sts_endpoint
        self.imds_endpoint = imds_endpoint
        self.clock = clock
        self._current = None
        self._lock = threading.Lock()

    def _resolve(self, now):
        found = from_environment(self.environ)
        if found is None:
            found = from_web_identity(self.http, self.environ, self.sts_endpoint, now)
        if found is None:
            found = from_imds(self.http, self.imds_endpoint)
        return found

    def get(self):
        with self._lock:
            now = self.clock()
            current = self._current
            if current is not None and (current.expires_at is None or now < current.expires_at - REFRESH_MARGIN):
                return current
            try:
                self._current = self._resolve(now)
            except CredentialError:
                if current is not None and current.expires_at and now < current.expires_at - 10:
                    return current
                raise
            return self._current
