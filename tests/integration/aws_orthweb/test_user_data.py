"""The hosts' user data as the converge stored it in the launch template: valid cloud-config, a valid nginx proxy
(HTTPS and the DICOM TLS stream), valid Orthanc JSON and a secrets script that compiles."""
import json
import os
import py_compile
import subprocess

import pytest
import yaml

NAME = "orthweb-lab"


@pytest.fixture(scope="module")
def user_data(converged, tmp_path_factory):
    text = converged["user_data"]
    path = tmp_path_factory.mktemp("user-data") / "user-data.yml"
    path.write_text(text)
    return path, yaml.safe_load(text)


def _file(config, path):
    return [f["content"] for f in config["write_files"] if f["path"] == path][0]


def test_cloud_init_accepts_the_user_data(user_data):
    done = subprocess.run(["cloud-init", "schema", "--config-file", str(user_data[0])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Valid cloud-config" in done.stdout, done.stdout + done.stderr


def test_user_data_installs_the_stack_and_holds_no_secret(user_data):
    config = user_data[1]
    assert {"orthanc", "orthanc-postgresql", "nginx-light", "libnginx-mod-stream", "python3-boto3"} <= set(
        config["packages"])
    settings = _file(config, "/etc/default/orthweb")
    assert "ORTHWEB_DB_SECRET=%s/database" % NAME in settings and "ORTHWEB_DB_HOST=" in settings
    text = user_data[0].read_text()
    assert "BEGIN" not in text  # no key, no certificate: they are in the host secret
    orthanc = json.loads(_file(config, "/etc/orthanc/orthanc.json"))
    assert orthanc["AuthenticationEnabled"] and not orthanc["RemoteAccessAllowed"]
    assert "PostgreSQL" not in orthanc and "RegisteredUsers" not in orthanc  # written at start from the secrets
    storage = orthanc["MedimagingStorage"]  # Orthanc's files in the bucket, no key: the instance role
    assert (storage["Backend"], storage["Bucket"], storage["RootPath"]) == ("s3", NAME + "-studies", "orthanc")
    assert storage["KmsKeyId"].startswith("arn:aws:kms:") and not {"AccessKey", "SecretKey"} & set(storage)
    python = json.loads(_file(config, "/etc/orthanc/python.json"))
    assert python["PythonScript"] == "/usr/local/lib/orthweb/medimaging-plugin/entrypoint.py"
    assert "orthanc-python" in config["packages"] and "ORTHWEB_PLUGIN_SHA256=" in settings


def test_user_data_fits_ec2s_limit(user_data):
    assert len(user_data[0].read_bytes()) <= 16384  # EC2 refuses more (before base64): the plugin comes from S3


def test_secrets_script_compiles(user_data, tmp_path):
    text = _file(user_data[1], "/usr/local/sbin/orthweb-secrets")
    assert text.startswith("#!/usr/bin/python3\n")  # systemd's ExecStartPre runs the file itself
    script = tmp_path / "orthweb-secrets.py"
    script.write_text(text)
    py_compile.compile(str(script), doraise=True)


def test_nginx_accepts_the_https_and_dicom_tls_proxy(user_data, tmp_path):
    if not os.path.exists("/usr/lib/nginx/modules/ngx_stream_module.so"):
        pytest.skip("libnginx-mod-stream is not installed (make setup installs it)")
    key, cert = tmp_path / "site.key", tmp_path / "site.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=site", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    config = user_data[1]
    for name, path in (("https.conf", "/etc/nginx/sites-available/default"),
                       ("stream.conf", "/etc/nginx/modules-enabled/60-orthweb-dicom-tls.conf")):
        text = _file(config, path).replace("/etc/nginx/orthweb/site.crt", str(cert))
        (tmp_path / name).write_text(text.replace("/etc/nginx/orthweb/site.key", str(key)))
    main = tmp_path / "nginx.conf"
    main.write_text("load_module /usr/lib/nginx/modules/ngx_stream_module.so;\npid %s/nginx.pid;\n"
                    "error_log stderr;\nevents {}\nhttp { include %s/https.conf; }\ninclude %s/stream.conf;\n"
                    % (tmp_path, tmp_path, tmp_path))
    done = subprocess.run(["nginx", "-t", "-c", str(main), "-p", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
