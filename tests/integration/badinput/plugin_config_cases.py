"""Bad plugin configurations, each one change to a valid whole configuration, and the key the refusal must name.

Shared by test_plugin_config.py (the deploy-time check, the plugin at start, the orthanc_host role).
"""
import copy
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PLUGIN_DIR = os.path.join(REPO_ROOT, "files", "orthanc-plugin")
# The interpreter orthanc-python embeds on Debian 12 (the check runs there on hosts); this one elsewhere.
PLUGIN_PYTHON = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else sys.executable
DELETE = object()

VALID = {
    "StableAge": 60,
    "PostgreSQL": {"Host": "127.0.0.1", "Port": 5432, "Database": "orthanc", "Username": "orthanc"},
    "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Servers": {"plain": {"Url": "https://pacs.example/dicom-web/"}}},
    "OrthancPeers": {"peer": {"Url": "https://peer.example/"}},
    "DicomWebOAuth": {"Servers": {"cloud": {
        "Url": "https://ws-dicom.dicom.azurehealthcareapis.com/v2/", "ClientId": "onprem",
        "TokenEndpoint": "https://login.example/tenant/oauth2/v2.0/token", "ClientSecretEnv": "CLOUD_SECRET"}}},
    "MedimagingRouter": {"Destinations": {
        "cloud": {"Modalities": ["CT"], "TagRule": {"Tag": "InstitutionName", "Regex": "General .*"}},
        "plain": {"TagRule": {"Tag": "0008,1010", "In": ["CT01", "CT02"]}},
        "archive": {"Type": "peer", "Server": "peer"}}},
    "MedimagingPriors": {"Server": "cloud"},
    "MedimagingArchive": {"ContainerUrl": "https://account.blob.core.windows.net/archive", "SasTokenEnv": "ARCHIVE_SAS"},
}
ENV = {"CLOUD_SECRET": "client-secret-value", "ARCHIVE_SAS": "sv=2025-11-05&sig=abc"}
ROUTER, DEST = ("MedimagingRouter",), ("MedimagingRouter", "Destinations")
RULE = DEST + ("cloud", "TagRule")

# id: (path of the key to change, new value, text the refusal must contain: the key)
JSON_CASES = {
    "router-batch-negative": (ROUTER + ("BatchSize",), -5, "MedimagingRouter.BatchSize"),
    "router-batch-1e9": (ROUTER + ("BatchSize",), 10 ** 9, "MedimagingRouter.BatchSize"),
    "router-batch-zero": (ROUTER + ("BatchSize",), 0, "MedimagingRouter.BatchSize"),
    "router-batch-fraction": (ROUTER + ("BatchSize",), 2.5, "MedimagingRouter.BatchSize"),
    "router-batch-string": (ROUTER + ("BatchSize",), "20", "MedimagingRouter.BatchSize"),
    "router-workers-17": (ROUTER + ("Workers",), 17, "MedimagingRouter.Workers"),
    "router-retry-nan": (ROUTER + ("RetryMinSeconds",), math.nan, "MedimagingRouter.RetryMinSeconds"),
    "router-retry-inf": (ROUTER + ("RetryMaxSeconds",), math.inf, "MedimagingRouter.RetryMaxSeconds"),
    "router-lease-minus-inf": (ROUTER + ("LeaseSeconds",), -math.inf, "MedimagingRouter.LeaseSeconds"),
    "router-lease-5": (ROUTER + ("LeaseSeconds",), 5, "MedimagingRouter.LeaseSeconds"),
    "router-poll-zero": (ROUTER + ("PollSeconds",), 0, "MedimagingRouter.PollSeconds"),
    "router-rejections-1e6": (ROUTER + ("MaxRejections",), 10 ** 6, "MedimagingRouter.MaxRejections"),
    "router-orphan-1e12": (ROUTER + ("OrphanAfterSeconds",), 1e12, "MedimagingRouter.OrphanAfterSeconds"),
    "router-destinations-list": (ROUTER + ("Destinations",), ["cloud"], "MedimagingRouter.Destinations"),
    "dest-batch-negative": (DEST + ("cloud", "BatchSize"), -1, "MedimagingRouter.Destinations.cloud.BatchSize"),
    "dest-unknown-server": (DEST + ("nowhere",), {}, "MedimagingRouter.Destinations.nowhere.Server"),
    "dest-misspelled-server": (DEST + ("cloud", "Server"), "clod", "MedimagingRouter.Destinations.cloud.Server"),
    "dest-unknown-peer": (DEST + ("archive", "Server"), "nopeer", "MedimagingRouter.Destinations.archive.Server"),
    "dest-type": (DEST + ("cloud", "Type"), "s3", "MedimagingRouter.Destinations.cloud.Type"),
    "dest-modalities-string": (DEST + ("cloud", "Modalities"), "CT", "MedimagingRouter.Destinations.cloud.Modalities"),
    "tag-misspelled": (RULE + ("Tag",), "InstitutonName", "TagRule.Tag"),
    "tag-short-hex": (RULE + ("Tag",), "0008,008", "TagRule.Tag"),
    "tag-list": (RULE + ("Tag",), ["InstitutionName"], "TagRule.Tag"),
    "tag-sequence": (RULE + ("Tag",), "ReferencedStudySequence", "TagRule.Tag"),
    "regex-nested": (RULE + ("Regex",), "(a+)+$", "TagRule.Regex"),
    "regex-nested-star": (RULE + ("Regex",), r"(\w*\s?)*END", "TagRule.Regex"),
    "regex-overlapping": (RULE + ("Regex",), "(x|xy)*z", "TagRule.Regex"),
    "regex-backreference": (RULE + ("Regex",), r"(a)\1", "TagRule.Regex"),
    "regex-unclosed": (RULE + ("Regex",), "[unclosed", "TagRule.Regex"),
    "regex-too-long": (RULE + ("Regex",), "a" * 300, "TagRule.Regex"),
    "rule-in-empty": (DEST + ("plain", "TagRule", "In"), [], "MedimagingRouter.Destinations.plain.TagRule.In"),
    "oauth-margin-nan": (("DicomWebOAuth", "RefreshMarginSeconds"), math.nan, "DicomWebOAuth.RefreshMarginSeconds"),
    "oauth-timeout-1e9": (("DicomWebOAuth", "HttpTimeoutSeconds"), 1e9, "DicomWebOAuth.HttpTimeoutSeconds"),
    "oauth-retry-negative": (("DicomWebOAuth", "RetryMinSeconds"), -1, "DicomWebOAuth.RetryMinSeconds"),
    "oauth-url-dotdot": (("DicomWebOAuth", "Servers", "cloud", "Url"), "https://ws.example/v2/../admin/",
                         "DicomWebOAuth.Servers.cloud.Url"),
    "oauth-url-space": (("DicomWebOAuth", "Servers", "cloud", "Url"), "https://ws.example/v2 /",
                        "DicomWebOAuth.Servers.cloud.Url"),
    "oauth-secret-env-unset": (("DicomWebOAuth", "Servers", "cloud", "ClientSecretEnv"), "NOT_SET_ANYWHERE",
                               "DicomWebOAuth.Servers.cloud.ClientSecretEnv"),
    "oauth-provider": (("DicomWebOAuth", "Servers", "cloud", "Provider"), "kerberos",
                       "DicomWebOAuth.Servers.cloud.Provider"),
    "priors-unknown-server": (("MedimagingPriors", "Server"), "nowhere", "MedimagingPriors.Server"),
    "priors-count-1e9": (("MedimagingPriors", "Count"), 10 ** 9, "MedimagingPriors.Count"),
    "priors-window-nan": (("MedimagingPriors", "WindowSeconds"), math.nan, "MedimagingPriors.WindowSeconds"),
    "archive-url-dotdot": (("MedimagingArchive", "ContainerUrl"), "https://account.blob.core.windows.net/archive/../other",
                           "MedimagingArchive.ContainerUrl"),
    "archive-url-encoded-dotdot": (("MedimagingArchive", "ContainerUrl"),
                                   "https://account.blob.core.windows.net/x/%2e%2e/archive", "MedimagingArchive.ContainerUrl"),
    "archive-url-empty-segment": (("MedimagingArchive", "ContainerUrl"), "https://account.blob.core.windows.net//archive",
                                  "MedimagingArchive.ContainerUrl"),
    "archive-concurrency-zero": (("MedimagingArchive", "Concurrency"), 0, "MedimagingArchive.Concurrency"),
    "archive-timeout-inf": (("MedimagingArchive", "HttpTimeoutSeconds"), math.inf, "MedimagingArchive.HttpTimeoutSeconds"),
    "archive-sas-env-unset": (("MedimagingArchive", "SasTokenEnv"), "NOT_SET_ANYWHERE", "MedimagingArchive.SasTokenEnv"),
}
# id: (environment variables added, text the refusal must contain)
ENV_CASES = {
    "env-router-batch-negative": ({"ORTHANC__MEDIMAGING_ROUTER__BATCH_SIZE": "-5"}, "MedimagingRouter.BatchSize"),
    "env-router-retry-nan": ({"ORTHANC__MEDIMAGING_ROUTER__RETRY_MIN_SECONDS": "nan"}, "MedimagingRouter.RetryMinSeconds"),
    "env-oauth-margin-inf": ({"ORTHANC__DICOMWEB_OAUTH__REFRESH_MARGIN_SECONDS": "inf"},
                             "DicomWebOAuth.RefreshMarginSeconds"),
    "env-priors-count-1e9": ({"ORTHANC__MEDIMAGING_PRIORS__COUNT": "1000000000"}, "MedimagingPriors.Count"),
    "env-router-misspelled-key": ({"ORTHANC__MEDIMAGING_ROUTER__BATCH_SIZ": "5"}, "ORTHANC__MEDIMAGING_ROUTER__BATCH_SIZ"),
    "env-dest-unknown-server": ({"ORTHANC__MEDIMAGING_ROUTER__DESTINATIONS__ELSEWHERE__TYPE": "dicomweb"},
                                "MedimagingRouter.Destinations.elsewhere.Server"),
}


def changed(config, path, value):
    """A deep copy of config with the key at path set to value (DELETE removes it)."""
    result = copy.deepcopy(config)
    node = result
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return result


def run_check(config, environ, workdir):
    """python3 -m medimaging_plugin.config.check on files in workdir, as the orthanc_host role runs it."""
    config_file = os.path.join(workdir, "orthanc.json")
    env_file = os.path.join(workdir, "orthanc.env")
    with open(config_file, "w", encoding="utf-8") as handle:
        json.dump(config, handle)  # NaN and Infinity as Python writes them (and Orthanc's JSON reader accepts)
    with open(env_file, "w", encoding="utf-8") as handle:
        handle.write("# as the role writes it\n" + "".join("%s=%s\n" % item for item in environ.items()))
    return subprocess.run([PLUGIN_PYTHON, "-m", "medimaging_plugin.config.check", "--env-file", env_file, config_file],
                          cwd=PLUGIN_DIR, capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
