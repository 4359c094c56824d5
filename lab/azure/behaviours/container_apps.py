"""Container Apps as Microsoft.App runs them: managed environments, container apps and their revisions.

Refusals live in lab/azure/container_apps/checks.py, the realization (podman network, replicas, ingress, identity
endpoint) in lab/azure/container_apps/. Secret values and the Log Analytics shared key are write-only: kept in the
record's private part, never in a GET; listSecrets returns the app's secrets. A template change makes a new revision
(`<app>--<suffix>`); the app's update completes when it is ready (or fails, leaving the old one serving).
"""
import hashlib
import ipaddress
import secrets as random
import string
import threading

from lab.azure.behaviours import Behaviour
from lab.azure.container_apps import checks, network, replicas, revisions
from lab.azure.web import HttpError
from lab.proc import LOOPBACK, free_port, port_in_use

SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


def _hash(text, length=8):
    return hashlib.sha256(text.lower().encode()).hexdigest()[:length]


class ManagedEnvironment(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        analytics = (props.get("appLogsConfiguration") or {}).get("logAnalyticsConfiguration") or {}
        kept_analytics = (kept.get("appLogsConfiguration") or {}).get("logAnalyticsConfiguration") or {}
        if analytics and not analytics.get("sharedKey") and record["private"].get("logAnalyticsSharedKey") and \
                analytics.get("customerId") == kept_analytics.get("customerId"):
            analytics["sharedKey"] = record["private"]["logAnalyticsSharedKey"]  # unchanged: Azure keeps it
        log_key, subnet = checks.environment(ctx, body, kept)
        record["private"]["logAnalyticsSharedKey"] = log_key
        location = body["location"]
        props["defaultDomain"] = kept.get("defaultDomain") or \
            f"lab-{_hash(body['id'])}.{location}.azurecontainerapps.io"
        internal = (props.get("vnetConfiguration") or {}).get("internal")
        props["staticIp"] = str(list(ipaddress.ip_network(subnet).hosts())[-2]) if internal else LOOPBACK
        props.setdefault("zoneRedundant", False)
        props["eventStreamEndpoint"] = f"https://{location}.azurecontainerapps.dev/subscriptions/" \
                                       f"{body['id'].split('/')[2]}/managedEnvironments/{body['name']}/eventstream"
        props.setdefault("infrastructureResourceGroup", f"ME_{body['name']}_{body['id'].split('/')[4]}_{location}")
        props.setdefault("customDomainConfiguration", {})["customDomainVerificationId"] = _hash(body["id"], 64)

    def before_delete(self, ctx, record):
        env_id = record["body"]["id"].lower()
        apps = [r["body"]["name"] for r in ctx.store.resources(
            lambda r: r["body"]["type"].lower() == "microsoft.app/containerapps"
            and str(r["body"].get("properties", {}).get("managedEnvironmentId", "")).lower() == env_id)]
        if apps:
            raise HttpError(409, "ManagedEnvironmentHasContainerApps", f"Cannot delete managed environment "
                            f"'{record['body']['name']}' because it still has container apps: {', '.join(apps)}. "
                            "Delete them first.")

    def deprovision(self, ctx, record):
        revisions.teardown_environment(ctx, record["body"]["id"])

    shutdown = deprovision


class ContainerApp(Behaviour):
    def prepare(self, ctx, record, previous):
        body = record["body"]
        props = body.setdefault("properties", {})
        kept = (previous or {}).get("body", {}).get("properties", {})
        config = props.setdefault("configuration", {})
        stored = record["private"].get("secrets", {})
        given = config.get("secrets")
        if given and given == (kept.get("configuration") or {}).get("secrets"):
            for secret in given:  # the secrets as GET returns them (a PATCH that leaves them alone): values kept
                if not secret.get("keyVaultUrl") and secret["name"] in stored:
                    secret["value"] = stored[secret["name"]]
        env = checks.app(ctx, body)
        record["private"]["secrets"] = {s["name"]: s.pop("value") for s in config.get("secrets") or []
                                        if s.get("value") is not None}
        props["managedEnvironmentId"] = props["environmentId"] = env["body"]["id"]
        pending = self.name_revision(ctx, body, props, kept)
        if pending:
            record["private"]["pendingRevision"] = pending
        port = record["private"].setdefault("ingressPort", free_port())
        ingress = config.get("ingress")
        # The lab's ingress (*.azurecontainerapps.io does not resolve here): external on 127.0.0.1, internal on the
        # environment network's gateway (reached from the environment's replicas).
        host = LOOPBACK if not ingress or ingress.get("external") else network.ensure(ctx, env["body"]["id"])[1]
        address = f"{host}:{port}"
        if ingress:
            ingress["fqdn"] = address
            ingress.setdefault("transport", "auto")
            ingress.setdefault("allowInsecure", False)
            ingress.setdefault("traffic", [{"latestRevision": True, "weight": 100}])
        props["latestRevisionFqdn"] = address if ingress else ""
        self.map_ports(record, ingress)
        props["latestReadyRevisionName"] = kept.get("latestReadyRevisionName")
        props["outboundIpAddresses"] = [LOOPBACK]
        props["customDomainVerificationId"] = _hash(body["id"], 64)
        parts = body["id"].split("/")
        props["eventStreamEndpoint"] = f"https://{body['location']}.azurecontainerapps.dev/subscriptions/{parts[2]}/" \
                                       f"resourceGroups/{parts[4]}/containerApps/{body['name']}/eventstream"
        props["runningStatus"] = "Running"
        config.setdefault("activeRevisionsMode", "Single")

    @staticmethod
    def map_ports(record, ingress):
        """additionalPortMappings: each listens on 127.0.0.1 at its exposedPort (else targetPort) when free, else on a
        free port; the lab reports where in the mapping's read-only labAddress (Azure has no such field)."""
        taken = record["private"].get("portMappings", {})
        mapped = {}
        for mapping in (ingress or {}).get("additionalPortMappings") or []:
            key = str(mapping["targetPort"])
            wanted = mapping.get("exposedPort") or mapping["targetPort"]
            port = taken.get(key) or (wanted if not port_in_use(wanted) else free_port())
            mapped[key] = port
            mapping["labAddress"] = f"{LOOPBACK}:{port}"
        record["private"]["portMappings"] = mapped

    @staticmethod
    def name_revision(ctx, body, props, kept):
        template = props.get("template") or {}
        if kept and template == kept.get("template"):
            props["latestRevisionName"] = kept.get("latestRevisionName")
            return None
        suffix = template.get("revisionSuffix") or "".join(random.choice(SUFFIX_ALPHABET) for _ in range(7))
        name = f"{body['name']}--{suffix}"
        if ctx.store.get_resource(revisions.revision_id(body["id"], name)):
            raise HttpError(400, "ContainerAppRevisionSuffixInUse", f"Revision with suffix '{suffix}' already exists "
                            "for this container app: change template.revisionSuffix (or leave it out) when the "
                            "template changes.")
        props["latestRevisionName"] = name
        return name

    def provision(self, ctx, record):
        revisions.deploy(ctx, record["body"]["id"])

    def deprovision(self, ctx, record):
        revisions.close_ingress(record["body"]["id"])

    def shutdown(self, ctx, record):
        revisions.close_ingress(record["body"]["id"])
        for revision in revisions.revisions_of(ctx, record["body"]["id"]):
            replicas.stop(ctx, revision["body"]["id"])

    def resume(self, ctx, record):
        threading.Thread(target=revisions.resume, args=(ctx, record["body"]["id"]),
                         name=f"resume-{record['body']['name']}", daemon=True).start()

    def action_listSecrets(self, ctx, record, body):  # noqa: N802 - the ARM action's name
        stored = record["private"].get("secrets", {})
        out = []
        for secret in record["body"]["properties"].get("configuration", {}).get("secrets") or []:
            item = {"name": secret["name"]}
            if secret.get("keyVaultUrl"):
                item.update(keyVaultUrl=secret["keyVaultUrl"], identity=secret.get("identity"))
            else:
                item["value"] = stored.get(secret["name"], "")
            out.append(item)
        return 200, {"value": out}


class Revision(Behaviour):
    def prepare(self, ctx, record, previous):
        raise HttpError(405, "MethodNotAllowed", "Revisions are made by their container app: change the app's "
                        "template to make a new one.")

    @staticmethod
    def app_id(record):
        return record["body"]["id"].rsplit("/revisions/", 1)[0]

    def action_activate(self, ctx, record, body):
        revisions.activate(ctx, self.app_id(record), record)
        return 200, None

    def action_deactivate(self, ctx, record, body):
        revisions.deactivate(ctx, record)
        revisions.route(ctx, self.app_id(record))
        return 200, None

    def action_restart(self, ctx, record, body):
        if not record["body"]["properties"].get("active"):
            raise HttpError(400, "ContainerAppRevisionNotActive", f"Revision '{record['body']['name']}' is not "
                            "active: activate it instead of restarting it.")
        revisions.activate(ctx, self.app_id(record), record)
        return 200, None

    def deprovision(self, ctx, record):
        replicas.stop(ctx, record["body"]["id"])
