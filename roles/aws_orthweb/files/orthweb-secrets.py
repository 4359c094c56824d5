"""Write what a service needs from AWS before it starts (systemd ExecStartPre, as root).

  orthweb-secrets orthanc   PostgreSQL login (TLS, verify-full) and Orthanc's users into /etc/orthanc, and the
                            medimaging plugin (Orthanc's files in S3) from the site's bucket, checked by its SHA-256
  orthweb-secrets nginx     the site's TLS certificate and key into /etc/nginx/orthweb

Credentials come from the instance role (IMDSv2) through boto3's default chain: no key on disk. Settings come from
/etc/default/orthweb (the unit's EnvironmentFile). Restarting the service re-reads the secret (password rotation).
"""
import grp
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.parse

import boto3


def client(service):
    return boto3.client(service, region_name=os.environ["ORTHWEB_REGION"],
                        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def secret(name):
    return json.loads(client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


def plugin():
    """Unpack the plugin archive named in /etc/default/orthweb unless that exact archive is unpacked already."""
    folder, wanted = os.environ["ORTHWEB_PLUGIN_DIR"], os.environ["ORTHWEB_PLUGIN_SHA256"]
    stamp = os.path.join(folder, ".sha256")
    if os.path.exists(stamp) and open(stamp, encoding="ascii").read().strip() == wanted:
        return
    body = client("s3").get_object(Bucket=os.environ["ORTHWEB_BUCKET"], Key=os.environ["ORTHWEB_PLUGIN_KEY"])
    data = body["Body"].read()
    if hashlib.sha256(data).hexdigest() != wanted:
        sys.exit("orthweb-secrets: the plugin archive in the bucket does not have SHA-256 %s: not installed" % wanted)
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    staging = tempfile.mkdtemp(dir=os.path.dirname(folder), prefix=".plugin-")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        if hasattr(tarfile, "data_filter"):  # Python with PEP 706: no path outside the folder, no device
            archive.extractall(staging, filter="data")
        else:  # the archive's hash was checked above: it is the one the role packed
            archive.extractall(staging)  # noqa: S202
    write(os.path.join(staging, ".sha256"), wanted, 0o644)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    os.chmod(folder, 0o755)


def write(path, text, mode, group="root"):
    """Atomically replace path with text, owned by root:group with mode."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".orthweb-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chown(temporary, 0, grp.getgrnam(group).gr_gid)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def orthanc():
    login = secret(os.environ["ORTHWEB_DB_SECRET"])
    uri = "postgresql://%s:%s@%s:%s/%s?sslmode=verify-full&sslrootcert=/etc/orthanc/database-ca.pem" % (
        urllib.parse.quote(login["username"], safe=""), urllib.parse.quote(login["password"], safe=""),
        os.environ["ORTHWEB_DB_HOST"], os.environ["ORTHWEB_DB_PORT"], os.environ["ORTHWEB_DB_NAME"])
    index = {"PostgreSQL": {"EnableIndex": True, "EnableStorage": False, "ConnectionUri": uri, "EnableSsl": True,
                            "Lock": False, "MaximumConnectionRetries": 10, "ConnectionRetryInterval": 2}}
    write("/etc/orthanc/postgresql.json", json.dumps(index, indent=2), 0o640, "orthanc")
    users = secret(os.environ["ORTHWEB_HOST_SECRET"]).get("orthanc_users", {})
    write("/etc/orthanc/credentials.json", json.dumps({"RegisteredUsers": users}, indent=2), 0o640, "orthanc")
    plugin()


def nginx():
    site = secret(os.environ["ORTHWEB_HOST_SECRET"])
    write("/etc/nginx/orthweb/site.crt", site["tls_certificate"], 0o644)
    write("/etc/nginx/orthweb/site.key", site["tls_private_key"], 0o600)


if __name__ == "__main__":
    {"orthanc": orthanc, "nginx": nginx}[sys.argv[1]]()
