"""Cluster extensions and Flux configurations (Microsoft.KubernetesConfiguration), extension resources of a cluster.

Refused as the resource provider refuses: an extension type it does not offer, a changed type or scope, both
scopes at once, a namespace scope for cluster-only types, a pinned version with minor auto-upgrade on, an unknown
release train; a Flux configuration without the microsoft.flux extension on its cluster, a source kind without
its definition, a URL that is not a Git URL, not exactly one repository ref, kustomization names or dependencies
that do not hold together, a changed scope or namespace, an HTTPS key that is not base64.

Protected settings (configurationProtectedSettings) are kept aside and never returned, as on Azure. Nothing is
installed in a cluster: no extension operator or Flux controller runs in the lab, so Flux reports Pending.
"""
import base64
import binascii
import re

from lab.azure.behaviours import Behaviour
from lab.azure.behaviours.aks import bad

# The extension types the lab's cluster offers (lower case), and those that install only cluster-wide.
EXTENSION_TYPES = ("microsoft.azuremonitor.containers", "microsoft.policyinsights",
                   "microsoft.azurekeyvaultsecretsprovider", "microsoft.flux", "microsoft.azuredefender.kubernetes",
                   "microsoft.openservicemesh", "microsoft.dapr", "microsoft.azureml.kubernetes")
CLUSTER_ONLY = ("microsoft.azuremonitor.containers", "microsoft.policyinsights",
                "microsoft.azurekeyvaultsecretsprovider", "microsoft.flux", "microsoft.azuredefender.kubernetes")
RELEASE_TRAINS = ("stable", "preview")
PROTECTED = "configurationProtectedSettings"
GIT_URL = re.compile(r"(https?://|ssh://|git@)\S+\Z")
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")
SOURCES = {"gitrepository": "gitRepository", "bucket": "bucket", "azureblob": "azureBlob",
           "ocirepository": "ociRepository"}


def keep_protected(record, props):
    """Move protected settings out of the body (Azure never returns them); a write without them keeps the old."""
    given = props.pop(PROTECTED, None)
    if given is not None:
        record.setdefault("private", {})[PROTECTED] = given


def unchanged(props, kept, path, what):
    old, new = kept.get(path), props.get(path)
    if kept and old is not None and new is not None and old != new:
        bad(f"{what} cannot be changed (from {old!r} to {new!r}); delete it and create it again.",
            "PropertyChangeNotAllowed")


class Extension(Behaviour):
    def prepare(self, ctx, record, previous):
        props = record["body"].setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        kind = props.get("extensionType") or kept.get("extensionType")
        if not isinstance(kind, str) or kind.lower() not in EXTENSION_TYPES:
            bad(f"properties.extensionType {kind!r} is not an extension type offered for this cluster "
                f"({', '.join(EXTENSION_TYPES)}).", "ExtensionTypeNotFound")
        props["extensionType"] = kind
        if kept and kept.get("extensionType", "").lower() != kind.lower():
            bad(f"properties.extensionType cannot be changed (from {kept['extensionType']!r} to {kind!r}).",
                "PropertyChangeNotAllowed")
        scope = props.get("scope") or kept.get("scope") or {"cluster": {"releaseNamespace": kind.split(".")[-1]}}
        if "cluster" in scope and "namespace" in scope:
            bad("properties.scope takes either cluster or namespace, not both.")
        if "namespace" in scope and kind.lower() in CLUSTER_ONLY:
            bad(f"Extension type {kind} can only be installed cluster-wide (scope.cluster).")
        unchanged({"scope": scope}, kept, "scope", "properties.scope")
        props["scope"] = scope
        if props.get("version") and props.get("autoUpgradeMinorVersion", True) is not False:
            bad("properties.version can be set only with autoUpgradeMinorVersion false.")
        train = props.get("releaseTrain")
        if train is not None and (not isinstance(train, str) or train.lower() not in RELEASE_TRAINS):
            bad(f"properties.releaseTrain {train!r} is not one of Stable, Preview.")
        keep_protected(record, props)
        props.setdefault("autoUpgradeMinorVersion", kept.get("autoUpgradeMinorVersion", True))
        props.setdefault("releaseTrain", kept.get("releaseTrain", "Stable"))
        props.update(currentVersion=props.get("version") or kept.get("currentVersion") or "1.0.0",
                     isSystemExtension=False, statuses=[])


class FluxConfiguration(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        self.require_flux_extension(ctx, body["id"])
        for field in ("scope", "namespace"):
            unchanged(props, kept, field, f"properties.{field}")
        props.setdefault("scope", kept.get("scope", "cluster"))
        props.setdefault("namespace", kept.get("namespace", "default"))
        if props["scope"] not in ("cluster", "namespace"):
            bad(f"properties.scope {props['scope']!r} is not one of cluster, namespace.")
        kind = props.setdefault("sourceKind", kept.get("sourceKind", "GitRepository"))
        field = SOURCES.get(str(kind).lower())
        if field is None or not isinstance(props.get(field), dict):
            bad(f"properties.sourceKind {kind!r} needs its properties.{field or 'gitRepository'} definition.")
        if field == "gitRepository":
            self.check_git(props["gitRepository"])
        self.check_kustomizations(props.get("kustomizations") or {})
        protected = props.get(PROTECTED) or {}
        for name in ("httpsKey", "sshPrivateKey"):
            if name in protected:
                try:
                    base64.b64decode(protected[name], validate=True)
                except (binascii.Error, ValueError, TypeError):
                    bad(f"properties.{PROTECTED}.{name} must be base64-encoded.")
        keep_protected(record, props)
        props.update(complianceState="Pending", statuses=[], errorMessage=None,
                     repositoryPublicKey=kept.get("repositoryPublicKey"))

    @staticmethod
    def require_flux_extension(ctx, flux_id):
        cluster = flux_id[:flux_id.lower().index("/providers/microsoft.kubernetesconfiguration/")].lower()
        prefix = cluster + "/providers/microsoft.kubernetesconfiguration/extensions/"
        found = ctx.store.resources(lambda r: r["body"]["id"].lower().startswith(prefix) and
                                    (r["body"].get("properties") or {}).get("extensionType", "").lower() ==
                                    "microsoft.flux")
        if not found:
            bad("The microsoft.flux extension is not installed on the cluster: install it first (extensionType "
                "microsoft.flux), as `az k8s-configuration flux create` does.", "FluxExtensionNotFound")

    @staticmethod
    def check_git(git):
        if not isinstance(git.get("url"), str) or not GIT_URL.match(git["url"]):
            bad(f"properties.gitRepository.url {git.get('url')!r} is not a Git URL (https://, http://, ssh:// or "
                "git@host:path).")
        refs = [k for k, v in (git.get("repositoryRef") or {}).items() if v is not None]
        if len(refs) != 1 or refs[0] not in ("branch", "tag", "semver", "commit"):
            bad("properties.gitRepository.repositoryRef needs exactly one of branch, tag, semver and commit.")
        if git.get("httpsUser") and not git["url"].startswith("https://"):
            bad("properties.gitRepository.httpsUser needs an https:// URL.")

    @staticmethod
    def check_kustomizations(kustomizations):
        if not isinstance(kustomizations, dict):
            bad("properties.kustomizations must be an object keyed by kustomization name.")
        for name, item in kustomizations.items():
            if not DNS_LABEL.match(name):
                bad(f"Kustomization name {name!r} must be a lower-case DNS label.")
            for dependency in (item or {}).get("dependsOn") or []:
                if dependency not in kustomizations or dependency == name:
                    bad(f"Kustomization {name!r} depends on {dependency!r}, which is not another kustomization of "
                        "this configuration.")
            if item is not None:
                item["name"] = name
