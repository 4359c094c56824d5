"""The orthanc_host role's HTTPS and DICOM TLS options, deployed for real on this machine and probed from outside.

Each class is one instance deployed by the role (ansible-playbook -c local) against the session PostgreSQL, with
certificates from a private lab CA; the last test of each class tears it down with the role (state absent).
A finalizer registered before the deployment tears it down too when anything fails (see the harness).
"""
import grp
import json
import os
import pwd
import re
import ssl
import stat

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lab.dicom_factory import make_dataset
from lab.proc import LOOPBACK, pid_alive
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
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
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


def mode_owner_group(path):
    info = os.stat(path)
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


def process_uid(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        return int(re.search(r"^Uid:\s+(\d+)", handle.read(), re.M).group(1))


def assert_torn_down(host):
    """The role's state=absent stops the supervisor and Orthanc (by their pidfiles) and removes the instance."""
    supervisor, orthanc = host.pids()
    assert supervisor and orthanc and pid_alive(supervisor) and pid_alive(orthanc), "nothing runs before teardown"
    done = host.run("absent")
    host.torn_down = True
    assert done.returncode == 0, f"orthanc_host (absent) failed:\n{done.stdout[-3000:]}\n{done.stderr[-1000:]}"
    assert not pid_alive(orthanc), f"Orthanc (PID {orthanc}) still runs after state=absent"
    assert not pid_alive(supervisor), f"its supervisor (PID {supervisor}) still runs after state=absent"
    assert host.ports_closed(), "the HTTP or DICOM port still answers after state=absent"
    for path in (host.config_dir, host.data_dir, host.supervisor_pidfile, host.orthanc_pidfile):
        assert not os.path.exists(path), f"{path} is left after state=absent (purge)"


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
        with open(os.path.join(dicom_tls_host.config_dir, "orthanc.json"), encoding="utf-8") as handle:
            config = json.load(handle)
        assert {key: config.get(key) for key in ("DicomTlsEnabled", "DicomTlsCertificate", "DicomTlsPrivateKey",
                                                 "DicomTlsTrustedCertificates", "DicomTlsRemoteCertificateRequired",
                                                 "SslEnabled")} == {
            "DicomTlsEnabled": True, "DicomTlsCertificate": os.path.join(dicom_tls_host.config_dir, "dicom-tls.pem"),
            "DicomTlsPrivateKey": os.path.join(dicom_tls_host.config_dir, "dicom-tls.key"),
            "DicomTlsTrustedCertificates": os.path.join(dicom_tls_host.config_dir, "dicom-tls-trusted.pem"),
            "DicomTlsRemoteCertificateRequired": True, "SslEnabled": None}
        # The source key is root-only (0600); Orthanc reads the role's copy: root:orthanc 0640, same bytes.
        assert stat.S_IMODE(os.stat(tls_material.dicom_key).st_mode) == 0o600
        copy = os.stat(config["DicomTlsPrivateKey"])
        assert (stat.S_IMODE(copy.st_mode), copy.st_uid, grp.getgrgid(copy.st_gid).gr_name) == (0o640, 0, "orthanc")
        with open(tls_material.dicom_key, "rb") as source, open(config["DicomTlsPrivateKey"], "rb") as copied:
            assert source.read() == copied.read()

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
        group = grp.getgrnam(SERVICE_GROUP).gr_gid
        # What the role writes: configuration folder, configuration (users and database password), environment.
        assert mode_owner_group(dicom_tls_host.config_dir) == (0o750, 0, group)
        for name in ("orthanc.json", "orthanc.env", "dicom-tls.key"):
            assert mode_owner_group(os.path.join(dicom_tls_host.config_dir, name)) == (0o640, 0, group), name
        # The source key the role was given is left as it is (root-only).
        assert mode_owner_group(tls_material.dicom_key) == (0o600, 0, group)
        # Orthanc reads it as the service account, not as root.
        _, orthanc = dicom_tls_host.pids()
        assert process_uid(orthanc) == pwd.getpwnam(SERVICE_USER).pw_uid

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
    extra = https_vars(tls_material)
    _, shim = civetweb_shim
    if shim:
        # The host's civetweb cannot serve HTTPS (test_https_with_the_stock_packages shows it): give Orthanc the
        # shim through the role's own orthanc_host_environment, so that the role's HTTPS wiring is what is tested.
        extra["orthanc_host_environment"] = {"LD_LIBRARY_PATH": shim}
        extra["orthanc_host_https_platform_check"] = False  # the role refuses HTTPS there otherwise
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
        supervisor, orthanc = https_host.pids()
        plain = https_host.url.replace("https://", "http://")
        with requests.Session() as session, pytest.raises(requests.exceptions.ConnectionError):
            session.trust_env = False  # straight to 127.0.0.1, whatever the proxy variables say
            session.get(plain + "/system", auth=(https_host.user, https_host.password), timeout=10)
        assert https_host.pids() == (supervisor, orthanc) and pid_alive(orthanc), "Orthanc restarted"
        assert https_host.rest("GET", "/system").status_code == 200

    def test_the_https_bundle_holds_the_certificate_and_its_key_and_is_not_world_readable(self, https_host,
                                                                                          tls_material):
        bundle = os.path.join(https_host.config_dir, "https-bundle.pem")
        assert mode_owner_group(bundle) == (0o640, 0, grp.getgrnam(SERVICE_GROUP).gr_gid)
        with open(bundle, "rb") as handle:
            pem = handle.read()
        key = serialization.load_pem_private_key(pem, password=None)
        certificate = x509.load_pem_x509_certificates(pem)[0]
        assert certificate.public_key().public_numbers() == key.public_key().public_numbers()
        # The role read the sources as root and left them alone (0600, root).
        assert mode_owner_group(tls_material.https_key)[:2] == (0o600, 0)
        # The certificate Orthanc presents is the one in the bundle.
        served = ssl.get_server_certificate((LOOPBACK, https_host.http_port))
        assert x509.load_pem_x509_certificate(served.encode()) == certificate

    def test_dicom_tls_without_a_client_certificate_is_accepted_when_not_required(self, https_host, tls_material):
        assert c_echo(https_host.dicom_port, tls_context(tls_material.ca.cert_path)) == 0x0000
        # TLS itself is still required.
        assert_refused(https_host, https_host.dicom_port, None, r"TLS error")

    def test_state_absent_stops_orthanc(self, https_host):
        assert_torn_down(https_host)


# --- HTTPS with the distribution's packages as they are ---------------------------------------------------------

def test_https_with_the_stock_packages(request, tls_material, postgres_cluster, civetweb_shim):
    """No shim: on a host whose civetweb cannot serve HTTPS, the role refuses HTTPS before it changes anything
    (it would otherwise start an Orthanc that dies with SIGSEGV on its first HTTPS connection)."""
    defect, _ = civetweb_shim
    if defect is None:
        https_host = deploy_instance(request, "pytest-https-stock", tls_material, postgres_cluster,
                                     https_vars(tls_material))
        assert https_host.rest("GET", "/system").status_code == 200
        return
    host = Deployment("pytest-https-stock", tls_material, postgres_cluster, https_vars(tls_material))
    request.addfinalizer(host.teardown)
    done = host.run("present")
    assert done.returncode != 0, f"the role accepted HTTPS although '{defect}'"
    assert "crashes on its first HTTPS connection with OpenSSL 3" in done.stdout, done.stdout[-3000:]
    assert "Nothing was changed." in done.stdout
    # Nothing was changed: no configuration, no data folder, no Orthanc started for this instance.
    assert not os.path.exists(host.config_dir) and not os.path.exists(host.data_dir)
    assert not os.path.exists(host.supervisor_pidfile) and not os.path.exists(host.orthanc_pidfile)
