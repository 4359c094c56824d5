# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for Orthanc's REST API, for modules that act on a running Orthanc.

One requests.Session (keep-alive matters: archiving makes several calls per instance), basic auth,
a CA bundle for https (verification is never turned off), a timeout on every call, and errors that
say what was asked, what Orthanc answered and what to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import traceback

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

ORTHANC_REST_ARGUMENT_SPEC = dict(
    orthanc_url=dict(type='str', required=True),
    orthanc_username=dict(type='str'),
    orthanc_password=dict(type='str', no_log=True),
    ca_bundle=dict(type='path'),
    timeout=dict(type='int', default=60),
)

_HINTS = {
    401: 'check orthanc_username and orthanc_password',
    403: 'the Orthanc user lacks the right for this call',
    404: 'the resource does not exist in this Orthanc (or the plugin providing the route is not loaded)',
}


# An attachment's ETag (Orthanc >= 1.9.2) is "revision-md5", the MD5 being the one recorded when the file was stored.
_ETAG_MD5_RE = re.compile(r'"?[0-9]+-([0-9a-fA-F]{32})"?\Z')


def md5_from_etag(etag):
    """The recorded MD5 (lower-case hex) in an attachment's ETag; None when absent or without an MD5."""
    match = _ETAG_MD5_RE.match((etag or '').strip())
    return match.group(1).lower() if match else None


class OrthancError(Exception):
    """A failed call to Orthanc; status is the HTTP code or None when Orthanc could not be reached."""

    def __init__(self, method, path, status, message, hint=None):
        self.method, self.path, self.status, self.message = method, path, status, message
        self.hint = hint or _HINTS.get(status, '')
        text = 'Orthanc %s %s answered %s: %s' % (method, path, status if status else 'nothing', message)
        if self.hint:
            text += ' (%s)' % self.hint
        super(OrthancError, self).__init__(text)


def _answer_message(response):
    """Orthanc's own error text (JSON 'Message'/'Details') or the start of the body; never credentials."""
    try:
        body = response.json()
        if isinstance(body, dict):
            parts = [body.get('Message'), body.get('Details')]
            return ': '.join(str(p) for p in parts if p) or json.dumps(body)[:300]
    except ValueError:
        pass
    return (response.text or response.reason or '')[:300]


class OrthancClient(object):
    """Orthanc at base_url; paths are absolute ('/studies/ID')."""

    def __init__(self, base_url, username=None, password=None, ca_bundle=None, timeout=60, session=None):
        if not base_url or not base_url.lower().startswith(('http://', 'https://')):
            raise ValueError('orthanc_url must be an http:// or https:// URL, got %r' % (base_url,))
        if bool(username) != bool(password):
            raise ValueError('orthanc_username and orthanc_password go together: set both or neither')
        self.base_url = base_url.rstrip('/')
        self.timeout = timeout
        self.session = session or requests.Session()
        if username:
            self.session.auth = (username, password)
        self.session.verify = ca_bundle if ca_bundle else True
        # Orthanc gzips answers when asked; pixel data hardly compresses and gzip cut reads to ~1/6 (measured).
        self.session.headers['Accept-Encoding'] = 'identity'

    @classmethod
    def from_params(cls, params):
        return cls(params['orthanc_url'], params.get('orthanc_username'), params.get('orthanc_password'),
                   params.get('ca_bundle'), params.get('timeout') or 60)

    def request(self, method, path, expected=(200,), **kwargs):
        kwargs.setdefault('timeout', self.timeout)
        try:
            response = self.session.request(method, self.base_url + path, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise OrthancError(method, path, None, 'TLS failure: %s' % exc,
                               'set ca_bundle to the CA that signed Orthanc\'s certificate')
        except requests.exceptions.RequestException as exc:
            raise OrthancError(method, path, None, '%s: %s' % (type(exc).__name__, exc),
                               'check orthanc_url and that Orthanc is running')
        if response.status_code not in expected:
            raise OrthancError(method, path, response.status_code, _answer_message(response))
        return response

    def get_json(self, path, **kwargs):
        return self.request('GET', path, **kwargs).json()

    def get_bytes(self, path):
        return self._read_body('GET', path, self.request('GET', path, stream=True))

    def get_attachment(self, path):
        """(bytes, recorded MD5 or None) of an attachment's /data route, in one request (see md5_from_etag)."""
        response = self.request('GET', path, stream=True)
        return self._read_body('GET', path, response), md5_from_etag(response.headers.get('ETag'))

    @staticmethod
    def _read_body(method, path, response):
        # One read of the whole answer: .content reads it in 10 KB slices, which costs more Python time than
        # the transfer itself for 0.5 MB instances (2.9 -> 1.4 ms per instance, measured). Fully read, the
        # connection goes back to the pool for the next call.
        try:
            return b''.join(response.iter_content(chunk_size=None))
        except requests.exceptions.RequestException as exc:
            raise OrthancError(method, path, response.status_code,
                               'answer cut short: %s: %s' % (type(exc).__name__, exc), 'check that Orthanc is running')

    def post_json(self, path, body):
        return self.request('POST', path, json=body).json()

    def exists(self, path):
        return self.request('GET', path, expected=(200, 404)).status_code == 200

    def delete(self, path):
        self.request('DELETE', path)

    def upload_instance(self, data):
        """POST /instances; returns Orthanc's answer ({'ID', 'Status': 'Success' | 'AlreadyStored'})."""
        return self.request('POST', '/instances', data=data,
                            headers={'Content-Type': 'application/dicom'}).json()
