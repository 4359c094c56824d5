"""The orthanc_host role's HTTPS and DICOM TLS options, deployed for real on a systemd host and probed from outside.

Each class is one instance deployed by the role (ansible-playbook over containers.podman.podman) on a Debian 13 host
container that shares this machine's network, against the session PostgreSQL, with certificates from a private lab
CA; the last test of each class tears it down with the role (state absent). A finalizer registered before the
deployment tears it down too when anything fails (see the harness). Debian 12's refusal of HTTPS runs on a Debian 12
host container.
"""
import json
import os
import ssl
import stat

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lab.dicom_factory import make_dataset
from lab.proc import LOOPBACK
from orthanc_host_harness import DICOM_AET, SERVICE_GROUP, SERVICE_USER, Deployment, deploy_instance
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import Verification

SCU_AET = "TLSSCU"


# --- DICOM clients -----------------------------------------------------------------------------------------------

def tls_context(ca_file, cert=None, key=None):
    """A client context that verifies Orthanc against ca_file and, given cert/key, presents a client certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    if cert:
        context.load_cert_chain(cert, key)
    return context


def associate(port, context=None, contexts=(Verification,)):
    """An association to Orthanc on 127.0.0.1 (TLS with `context`, plain without); the caller releases it."""
    ae = AE(ae_title=SCU_AET)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30  # a loaded 2-core machine answers slowly
    for sop_class in contexts:
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    tls_args = (context, "localhost") if context else None
    return ae.associate(LOOPBACK, port, ae_title=DICOM_AET, tls_args=tls_args)


def c_echo(port, context):
    assoc = associate(port, context)
    try:
        if not assoc.is_established:
            return None
        status = assoc.send_c_echo()
        return status.Status if status else None
    finally:
        if assoc.is_established:
            assoc.release()


def assert_refused(host, port, context, log_pattern):
    """The association is not established, and Orthanc's log says why (the TLS layer, not the AE titles)."""
    since = len(host.log_text())
    assoc = associate(port, context)
    established = assoc.is_established
    if established:
        assoc.release()
    assert not established, "Orthanc accepted the association"
    assert host.wait_for_log(log_pattern, since=since), (
        f"Orthanc's log does not explain the refusal with {log_pattern!r}:\n{host.log_text()[since:][-2000:]}")


def local_mode_owner_group(path):
    """(mode, uid, gid) of a file of the test's own (the TLS sources, mounted into the host)."""
    info = os.stat(path)
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


def assert_torn_down(deployment):
    """The role's state=absent stops the systemd service and removes the instance."""
    orthanc = deployment.main_pid()
    assert orthanc and deployment.host.pid_alive(orthanc), "nothing runs before teardown"
    done = deployment.run("absent")
    deployment.torn_down = True
    assert done.returncode == 0, f"orthanc_host (absent) failed:\n{done.stdout[-3000:]}\n{done.stderr[-1000:]}"
    assert not deployment.host.pid_alive(orthanc), f"Orthanc (PID {orthanc}) still runs after state=absent"
    assert deployment.main_pid() == 0
    assert deployment.ports_closed(), "the HTTP or DICOM port still answers after state=absent"
    for path in (deployment.config_dir, deployment.data_dir, f"/etc/systemd/system/{deployment.service}.service"):
        assert not deployment.host.exists(path), f"{path} is left after state=absent (purge)"


# --- DICOM TLS (HTTPS off), client certificates required ---------------------------------------------------------

@pytest.fixture(scope="class")
def dicom_tls_host(request, tls_material, postgres_cluster):
    return deploy_instance(request, "pytest-dicomtls", tls_material, postgres_cluster, {
        "orthanc_host_dicom_tls_enabled": True,
        "orthanc_host_dicom_tls_certificate": tls_material.dicom_cert,
        "orthanc_host_dicom_tls_private_key": tls_material.dicom_key,
        "orthanc_host_dicom_tls_trusted_certificates": tls_material.trusted,
        "orthanc_host_dicom_tls_remote_certificate_required": True,
    })


class TestDicomTls:
    def test_the_role_configured_dicom_tls(self, dicom_tls_host, tls_material):
        system = dicom_tls_host.rest("GET", "/system")
        assert system.status_code == 200, system.text
        assert system.json()["DicomPort"] == dicom_tls_host.dicom_port
        assert system.json()["DicomAet"] == DICOM_AET
        assert "PostgreSQL" in (system.json().get("DatabaseBackendPlugin") or "")
        config = json.loads(dicom_tls_host.host.read(os.path.join(dicom_tls_host.config_dir, "orthanc.json")))
        assert {key: config.get(key) for key in ("DicomTlsEnabled", "DicomTlsCertificate", "DicomTlsPrivateKey",
                                                 "DicomTlsTrustedCertificates", "DicomTlsRemoteCertificateRequired",
                                                 "SslEnabled")} == {
            "DicomTlsEnabled": True, "DicomTlsCertificate": os.path.join(dicom_tls_host.config_dir, "dicom-tls.pem"),
            "DicomTlsPrivateKey": os.path.join(dicom_tls_host.config_dir, "dicom-tls.key"),
            "DicomTlsTrustedCertificates": os.path.join(dicom_tls_host.config_dir, "dicom-tls-trusted.pem"),
            "DicomTlsRemoteCertificateRequired": True, "SslEnabled": None}
        # The source key is root-only (0600); Orthanc reads the role's copy: root:orthanc 0640, same bytes.
        assert stat.S_IMODE(os.stat(tls_material.dicom_key).st_mode) == 0o600
        assert dicom_tls_host.host.stat(config["DicomTlsPrivateKey"]) == (0o640, "root", SERVICE_GROUP)
        with open(tls_material.dicom_key, "rb") as source:
            assert source.read() == dicom_tls_host.host.read(config["DicomTlsPrivateKey"])

    def test_c_echo_and_c_store_over_tls_with_a_client_certificate(self, dicom_tls_host, tls_material):
        context = tls_context(tls_material.ca.cert_path, tls_material.client_cert, tls_material.client_key)
        assert c_echo(dicom_tls_host.dicom_port, context) == 0x0000
        dataset = make_dataset(patient_id="TLS-STORE-1", modality="CT")
        assoc = associate(dicom_tls_host.dicom_port, context, contexts=(Verification, CTImageStorage))
        assert assoc.is_established
        try:
            status = assoc.send_c_store(dataset)
        finally:
            assoc.release()
        assert status is not None and status.Status == 0x0000, f"C-STORE status {status}"
        found = dicom_tls_host.rest("POST", "/tools/lookup", data=str(dataset.SOPInstanceUID))
        assert found.status_code == 200, found.text
        instances = [item for item in found.json() if item["Type"] == "Instance"]
        assert len(instances) == 1, found.json()
        tags = dicom_tls_host.rest("GET", f"/instances/{instances[0]['ID']}/simplified-tags").json()
        assert tags["PatientID"] == "TLS-STORE-1"
        assert tags["SOPInstanceUID"] == str(dataset.SOPInstanceUID)

    def test_tls_without_a_client_certificate_is_refused(self, dicom_tls_host, tls_material):
        assert_refused(dicom_tls_host, dicom_tls_host.dicom_port, tls_context(tls_material.ca.cert_path),
                       r"did not return a certificate|certificate required")

    def test_a_client_certificate_from_another_ca_is_refused(self, dicom_tls_host, tls_material):
        context = tls_context(tls_material.ca.cert_path, tls_material.rogue_cert, tls_material.rogue_key)
        assert_refused(dicom_tls_host, dicom_tls_host.dicom_port, context, r"certificate verify failed|unknown ca")

    def test_a_plain_association_is_refused(self, dicom_tls_host):
        assert_refused(dicom_tls_host, dicom_tls_host.dicom_port, None, r"TLS error")

    def test_orthanc_serves_on_after_the_refusals(self, dicom_tls_host, tls_material):
        context = tls_context(tls_material.ca.cert_path, tls_material.client_cert, tls_material.client_key)
        assert c_echo(dicom_tls_host.dicom_port, context) == 0x0000

    def test_secrets_on_disk_are_not_world_readable(self, dicom_tls_host, tls_material):
        host = dicom_tls_host.host
        # What the role writes: configuration folder, configuration (users and database password), environment.
        assert host.stat(dicom_tls_host.config_dir) == (0o750, "root", SERVICE_GROUP)
        for name in ("orthanc.json", "orthanc.env", "dicom-tls.key"):
            assert host.stat(os.path.join(dicom_tls_host.config_dir, name)) == (0o640, "root", SERVICE_GROUP), name
        # The source key the role was given is left as it is (root-only).
        assert local_mode_owner_group(tls_material.dicom_key) == (0o600, 0, 0)
        # Orthanc reads it as the service account, not as root.
        assert host.process_user(dicom_tls_host.main_pid()) == SERVICE_USER

    def test_state_absent_stops_orthanc(self, dicom_tls_host):
        assert_torn_down(dicom_tls_host)


# --- HTTPS and DICOM TLS together, client certificates optional --------------------------------------------------

def https_vars(material):
    return {
        "orthanc_host_https_enabled": True,
        "orthanc_host_https_certificate": material.https_cert,
        "orthanc_host_https_private_key": material.https_key,
        "orthanc_host_https_ca_certificate": material.ca.cert_path,
        "orthanc_host_dicom_tls_enabled": True,
        "orthanc_host_dicom_tls_certificate": material.dicom_cert,
        "orthanc_host_dicom_tls_private_key": material.dicom_key,
        "orthanc_host_dicom_tls_trusted_certificates": material.trusted,
        "orthanc_host_dicom_tls_remote_certificate_required": False,
    }


@pytest.fixture(scope="class")
def https_host(request, tls_material, postgres_cluster, civetweb_shim):
    # Debian 13's civetweb cannot serve HTTPS as packaged (test_https_is_refused shows the role refusing it): give
    # Orthanc the shim through the role's own orthanc_host_environment, so that the role's HTTPS wiring is what is tested.
    extra = dict(https_vars(tls_material), orthanc_host_environment={"LD_LIBRARY_PATH": civetweb_shim},
                 orthanc_host_https_platform_check=False)
    return deploy_instance(request, "pytest-https", tls_material, postgres_cluster, extra)


class TestHttps:
    def test_system_answers_over_https_with_the_ca(self, https_host):
        answer = https_host.rest("GET", "/system")
        assert answer.status_code == 200, answer.text
        assert answer.json()["IsHttpServerSecure"] is True
        assert answer.json()["HttpPort"] == https_host.http_port
        assert https_host.rest("GET", "/system", auth=None).status_code == 401

    def test_tls_verification_fails_without_the_ca(self, https_host):
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            https_host.rest("GET", "/system", verify=True)  # the public CAs (certifi) only

    def test_plain_http_on_the_https_port_gets_no_answer(self, https_host):
        orthanc = https_host.main_pid()
        plain = https_host.url.replace("https://", "http://")
        with requests.Session() as session, pytest.raises(requests.exceptions.ConnectionError):
            session.trust_env = False  # straight to 127.0.0.1, whatever the proxy variables say
            session.get(plain + "/system", auth=(https_host.user, https_host.password), timeout=10)
        assert https_host.main_pid() == orthanc and https_host.host.pid_alive(orthanc), "Orthanc restarted"
        assert https_host.rest("GET", "/system").status_code == 200

    def test_the_https_bundle_holds_the_certificate_and_its_key_and_is_not_world_readable(self, https_host,
                                                                                          tls_material):
        bundle = os.path.join(https_host.config_dir, "https-bundle.pem")
        assert https_host.host.stat(bundle) == (0o640, "root", SERVICE_GROUP)
        pem = https_host.host.read(bundle)
        key = serialization.load_pem_private_key(pem, password=None)
        certificate = x509.load_pem_x509_certificates(pem)[0]
        assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
        # The role read the sources as root and left them alone (0600, root).
        assert local_mode_owner_group(tls_material.https_key)[:2] == (0o600, 0)
        # The certificate Orthanc presents is the one in the bundle.
        served = ssl.get_server_certificate((LOOPBACK, https_host.http_port))
        assert x509.load_pem_x509_certificate(served.encode()) == certificate

    def test_dicom_tls_without_a_client_certificate_is_accepted_when_not_required(self, https_host, tls_material):
        assert c_echo(https_host.dicom_port, tls_context(tls_material.ca.cert_path)) == 0x0000
        # TLS itself is still required.
        assert_refused(https_host, https_host.dicom_port, None, r"TLS error")

    def test_state_absent_stops_orthanc(self, https_host):
        assert_torn_down(https_host)


# --- HTTPS with the distribution's packages as they are ------------------------------------------------------

@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_https_is_refused(request, tls_material, postgres_cluster, release):
    """Debian 12's civetweb 1.15 and Debian 13's 1.16+dfsg-2 crash with OpenSSL 3 on the first HTTPS connection
    (civetweb issue 1334; TestHttps without the shim showed it on Debian 13): the role refuses HTTPS there before it
    changes anything (no configuration, no service; on a fresh host, no package)."""
    host = Deployment(f"pytest-https-stock-{release}", tls_material, postgres_cluster, https_vars(tls_material),
                      release=release)
    request.addfinalizer(host.teardown)
    fresh = not host.host.exists("/usr/sbin/Orthanc")
    host.host.run("apt-get", "update")  # the role reads the candidate civetweb from apt's lists
    done = host.run("present")
    assert done.returncode != 0, f"the role accepted HTTPS on {release}"
    assert "crashes on its first HTTPS connection with OpenSSL 3" in done.stdout, done.stdout[-3000:]
    assert "Nothing was changed." in done.stdout
    assert not host.host.exists(host.config_dir) and not host.host.exists(host.data_dir)
    assert host.main_pid() == 0
    if fresh:
        assert not host.host.exists("/usr/sbin/Orthanc"), "packages were installed before the refusal"
