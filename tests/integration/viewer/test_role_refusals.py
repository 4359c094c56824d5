"""Inputs the ohif_viewer role refuses before it changes anything (one ansible-playbook run, four viewers)."""
import os

from lab.viewer.deploy import Viewers, ensure_browser_and_ohif


def test_bad_inputs_are_refused_with_a_reason_and_nothing_is_written(tmp_path):
    tarball = ensure_browser_and_ohif()
    viewers = Viewers(str(tmp_path), "/etc/ssl/viewer.pem", "/etc/ssl/viewer.key", tarball)
    cloud = {"ohif_viewer_mode": "cloud", "ohif_viewer_dicomweb_url": "https://dicom.example/v2",
             "ohif_viewer_sso_front": True, "ohif_viewer_oauth": {"Provider": "managed_identity"}}
    viewers.add("plainhttp", **{**cloud, "ohif_viewer_dicomweb_url": "http://dicom.example/v2"})
    viewers.add("inlinesecret", **{**cloud, "ohif_viewer_oauth": {"Provider": "client_credentials",
                                                                    "ClientSecret": "s3cret-value"}})
    viewers.add("nologin", **{**cloud, "ohif_viewer_sso_front": False})
    viewers.add("rootmismatch", ohif_viewer_mode="onprem", ohif_viewer_dicomweb_url="http://127.0.0.1:8042/dicomweb")
    viewers.add("badtarball", ohif_viewer_mode="onprem", ohif_viewer_dicomweb_url="http://127.0.0.1:8042/dicom-web",
                ohif_viewer_tarball=str(tmp_path / "viewers.json"))
    rc, stats, changed, output = viewers.apply()
    assert rc != 0 and changed == []
    assert all(host["failures"] == 1 for host in stats.values()), stats
    assert output.count("Nothing was changed") >= 5
    assert "same path as Orthanc's DicomWeb.Root" in output and "is pinned at" in output
    assert "s3cret-value" not in output
    assert not os.path.exists(tmp_path / "opt") and not os.listdir(tmp_path / "sites")


def test_check_mode_on_a_new_host_reports_the_changes_and_writes_nothing(tmp_path):
    viewers = Viewers(str(tmp_path), "/etc/ssl/viewer.pem", "/etc/ssl/viewer.key", ensure_browser_and_ohif())
    viewers.add("onprem", ohif_viewer_mode="onprem", ohif_viewer_dicomweb_url="http://127.0.0.1:8042/dicom-web")
    rc, _, changed, output = viewers.apply(check=True)
    assert rc == 0, output[-3000:]
    assert any("Write the nginx site" in task for task in changed)
    assert not os.path.exists(tmp_path / "opt") and not os.listdir(tmp_path / "sites")
