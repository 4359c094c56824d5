"""Write what a service needs from Secrets Manager before it starts (systemd ExecStartPre, as root).

  orthweb-secrets orthanc   PostgreSQL login (TLS, verify-full) and Orthanc's users into /etc/orthanc
  orthweb-secrets nginx     the site's TLS certificate and key into /etc/nginx/orthweb

Credentials come from the instance role (IMDSv2) through boto3's default chain: no key on disk. Settings come from
/etc/default/orthweb (the unit's EnvironmentFile). Restarting the service re-reads the secret (password rotation).
"""
import grp
import json
import os
import sys
import tempfile
import urllib.parse

import boto3


def secret(name):
    client = boto3.client("secretsmanager", region_name=os.environ["ORTHWEB_REGION"],
                          endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    return json.loads(client.get_secret_value(SecretId=name)["SecretString"])


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


def nginx():
    site = secret(os.environ["ORTHWEB_HOST_SECRET"])
    write("/etc/nginx/orthweb/site.crt", site["tls_certificate"], 0o644)
    write("/etc/nginx/orthweb/site.key", site["tls_private_key"], 0o600)


if __name__ == "__main__":
    {"orthanc": orthanc, "nginx": nginx}[sys.argv[1]]()
