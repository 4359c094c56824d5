"""MedimagingPriors section: defaults, env form, bad keys named."""
import pytest

from medimaging_plugin.config.errors import ConfigError
from medimaging_plugin.priors.config import load_priors_settings

PG = {"Host": "127.0.0.1", "Port": 5433, "Database": "orthanc", "Username": "orthanc", "Password": "pw-secret"}
# The servers Server names (it must name one the configuration defines).
DICOMWEB = {"Servers": {"cloud": {"Url": "https://dicom.example/"}, "azure": {"Url": "https://azure.example/"}}}


def test_not_configured_is_none():
    assert load_priors_settings({}, {}) is None


def test_defaults_and_memory_window_without_postgresql():
    settings = load_priors_settings({"MedimagingPriors": {"Server": "cloud"}, "DicomWeb": DICOMWEB}, {})
    assert (settings.server, settings.count, settings.window, settings.workers) == ("cloud", 3, 86400.0, 1)
    assert settings.modalities == () and settings.body_parts == ()
    assert settings.db_params == {} and settings.public_view()["window_store"] == "memory"


def test_postgresql_window_when_orthanc_uses_postgresql():
    settings = load_priors_settings({"MedimagingPriors": {"Server": "cloud", "Modalities": ["ct"],
                                                          "BodyParts": ["chest"]}, "PostgreSQL": PG,
                                     "DicomWeb": DICOMWEB}, {})
    assert settings.db_params["host"] == "127.0.0.1" and settings.public_view()["window_store"] == "postgresql"
    assert settings.modalities == ("CT",) and settings.body_parts == ("CHEST",)
    assert "pw-secret" not in repr(settings) and "pw-secret" not in str(settings.public_view())


def test_environment_overrides_json():
    environ = {"ORTHANC__MEDIMAGING_PRIORS__COUNT": "5", "ORTHANC__MEDIMAGING_PRIORS__MODALITIES": "CT,MR",
               "ORTHANC__MEDIMAGING_PRIORS__WINDOW_SECONDS": "60"}
    settings = load_priors_settings({"MedimagingPriors": {"Server": "cloud", "Count": 2}, "DicomWeb": DICOMWEB}, environ)
    assert (settings.count, settings.modalities, settings.window) == (5, ("CT", "MR"), 60.0)
    only_env = load_priors_settings({"DicomWeb": DICOMWEB}, {"ORTHANC__MEDIMAGING_PRIORS__SERVER": "azure"})
    assert only_env.server == "azure"


def test_disabled():
    assert load_priors_settings({"MedimagingPriors": {"Enabled": False}}, {}).enabled is False


@pytest.mark.parametrize("section, key", [
    ({}, "MedimagingPriors.Server"),
    ({"Server": "bad name"}, "MedimagingPriors.Server"),
    ({"Server": "cloud", "Count": 0}, "MedimagingPriors.Count"),
    ({"Server": "cloud", "Count": 51}, "MedimagingPriors.Count"),
    ({"Server": "cloud", "Workers": 5}, "MedimagingPriors.Workers"),
    ({"Server": "cloud", "Modality": ["CT"]}, "MedimagingPriors.Modality"),
    ({"Server": "cloud", "BodyParts": "CHEST"}, "MedimagingPriors.BodyParts"),
    ({"Server": "cloud", "WindowSeconds": -1}, "MedimagingPriors.WindowSeconds"),
    ({"Server": "cloud", "Database": {"Port": 5432}}, "MedimagingPriors.Database"),
])
def test_bad_value_names_its_key(section, key):
    with pytest.raises(ConfigError) as caught:
        load_priors_settings({"MedimagingPriors": section}, {})
    assert caught.value.key == key


def test_unknown_key_suggestion_and_unknown_env_var():
    with pytest.raises(ConfigError) as caught:
        load_priors_settings({"MedimagingPriors": {"Server": "c", "Modality": ["CT"]}}, {})
    assert "did you mean Modalities?" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_priors_settings({}, {"ORTHANC__MEDIMAGING_PRIORS__CONT": "3"})
    assert caught.value.key == "ORTHANC__MEDIMAGING_PRIORS__CONT"
    with pytest.raises(ConfigError) as caught:
        load_priors_settings({"MedimagingPriors": "cloud"}, {})
    assert caught.value.key == "MedimagingPriors"
