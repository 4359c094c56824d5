"""What the ARM behaviours call: run a revision's replicas, decide which revision serves, and tear down.

A new revision (template change) starts beside the one serving; the app's update completes when it is ready. In
single revision mode traffic then moves to it and the old revision is deactivated (its containers removed); a new
revision that fails (missing image, a secret it cannot read, a replica that exits or never passes its probe) is
marked Failed, its containers go, the old revision keeps serving, and the update fails with Azure's message.
"""
import threading
import time

from lab.azure.container_apps import health, identity, network, private_access, replicas
from lab.azure.container_apps.ingress import Ingress
from lab.azure.container_apps.secrets import RevisionFailed, container_env, resolve
from lab.azure.lro import utcnow
from lab.azure.web import HttpError
from lab.containers.runtime import ContainerError
from lab.proc import LOOPBACK

REVISION_TYPE = "Microsoft.App/containerApps/revisions"
# A revision's provisioningState is Provisioning/Provisioned/Failed; the emulator's restart marks resources in a
# state it does not know as Succeeded (lab.azure.emulator.resume): read that as Provisioned.
PROVISIONED = ("Provisioned", "Succeeded")
_INGRESS = {}  # app id -> Ingress; (app id, target port) -> the listener of an additional port mapping
_LOCK = threading.Lock()
_WATCHING = []
_REVISIONS = threading.RLock()  # starts, stops and the health watcher, one at a time


def revision_id(app_id, name):
    return f"{app_id}/revisions/{name}"


def revision_body(app_body, name):
    props = app_body["properties"]
    return {"id": revision_id(app_body["id"], name), "name": name, "type": REVISION_TYPE, "properties": {
        "createdTime": utcnow(), "lastActiveTime": utcnow(), "fqdn": props.get("latestRevisionFqdn", ""),
        "template": props.get("template") or {}, "active": True, "replicas": 0, "trafficWeight": 0,
        "healthState": "None", "provisioningState": "Provisioning", "runningState": "Processing",
        "provisioningError": None}}


def replica_count(template):
    scale = template.get("scale") or {}
    return max(1, min(scale.get("minReplicas", 0) or 0, scale.get("maxReplicas", 10) or 10) or 1)


def _set(ctx, resource_id, **props):
    ctx.store.update_body(resource_id, lambda b, p: b["properties"].update(props))


def _env_of(ctx, app):
    props = app["body"]["properties"]
    return props.get("managedEnvironmentId") or props.get("environmentId")


def start(ctx, app, rev_name):
    """Start the revision's replicas and wait until they are ready; RevisionFailed with the reason otherwise.
    Holds the revisions lock: the health watcher never writes a state read before a (re)start finished."""
    with _REVISIONS:
        _start(ctx, app, rev_name)


def _start(ctx, app, rev_name):
    rev_id = revision_id(app["body"]["id"], rev_name)
    revision = ctx.store.get_resource(rev_id)
    template = revision["body"]["properties"]["template"]
    net, gateway = network.ensure(ctx, _env_of(ctx, app))
    values = resolve(ctx, app)
    base = {"CONTAINER_APP_NAME": app["body"]["name"], "CONTAINER_APP_REVISION": rev_name,
            "CONTAINER_APP_HOSTNAME": app["body"]["properties"].get("latestRevisionFqdn", "")}
    target_port = ((app["body"]["properties"].get("configuration") or {}).get("ingress") or {}).get("targetPort")
    if target_port:
        base["CONTAINER_APP_PORT"] = str(target_port)
    if app["private"].get("identityHeader"):
        base.update(IDENTITY_ENDPOINT=identity.ensure(ctx, gateway), IDENTITY_HEADER=app["private"]["identityHeader"])
    replicas.stop(ctx, rev_id)
    count = replica_count(template)
    for index in range(count):
        for container in template.get("containers") or []:
            name = replicas.start(ctx, rev_id, app["body"]["name"], container,
                                  {**base, **container_env(container, values)}, net, index)
            private_access.connect(ctx, name, gateway)
    probes = [health.probe_of(c, target_port) for c in template.get("containers") or []]
    deadline = time.monotonic() + max(health.start_deadline_seconds(c, target_port)
                                      for c in template.get("containers") or [])
    reason, running = "not ready", []
    while time.monotonic() < deadline:
        running = replicas.of_revision(ctx, rev_id)
        stopped = [r for r in running if r["state"] not in ("running", "created", "configured")]
        if stopped:
            raise RevisionFailed(f"replica container {stopped[0]['name']} {stopped[0]['state']} (it stopped before "
                                 "it was ready: read its log with podman logs).")
        checks = [health.check(r["ip"], probe) for r in running for probe in probes if r["ip"]]
        if running and checks and all(ok for ok, _ in checks):
            _set(ctx, rev_id, replicas=count, healthState="Healthy", runningState="Running",
                 provisioningState="Provisioned", lastActiveTime=utcnow())
            return
        reason = next((why for ok, why in checks if not ok), reason)
        time.sleep(0.5)
    # Azure points at Log Analytics here; the lab says what the replicas printed, so a failed test shows why.
    printed = "; ".join("%s printed: %s" % (r["name"], replicas.log_tail(r["name"]).replace("\n", " | ") or "nothing")
                        for r in running)
    raise RevisionFailed(f"the replicas did not become ready in time: probe {reason}. Lab: {printed or 'no replica'}.")


def watch(ctx, period=3.0):
    """Keep each active revision's health the containers' real one (started once per emulator, a daemon thread):
    a replica that stopped makes it Degraded/Unhealthy (Failed when none runs), a failing probe Unhealthy."""
    with _LOCK:
        if _WATCHING:
            return
        _WATCHING.append(True)

    def run():
        while True:
            time.sleep(period)
            try:
                observe(ctx)
            except Exception:  # noqa: BLE001 - a podman hiccup must not end the watch
                pass

    threading.Thread(target=run, name="container-apps-health", daemon=True).start()


def observe(ctx):
    for listed in ctx.store.resources(lambda r: r["body"]["type"] == REVISION_TYPE):
        with _REVISIONS:
            _observe(ctx, listed["body"]["id"])


def _observe(ctx, rev_id):
    revision = ctx.store.get_resource(rev_id)
    props = (revision or {}).get("body", {}).get("properties", {})
    if not props.get("active") or props.get("provisioningState") not in PROVISIONED:
        return
    app = ctx.store.get_resource(rev_id.rsplit("/revisions/", 1)[0])
    if not app or app["private"].get("pendingRevision"):
        return
    target = ((app["body"]["properties"].get("configuration") or {}).get("ingress") or {}).get("targetPort")
    probes = [health.probe_of(c, target) for c in props["template"].get("containers") or []]
    running = [r for r in replicas.of_revision(ctx, rev_id) if r["state"] == "running" and r["ip"]]
    ready = sum(all(health.check(r["ip"], p)[0] for p in probes) for r in running)
    wanted = replica_count(props["template"]) * len(props["template"].get("containers") or [1])
    state = ("Healthy", "Running") if running and ready == len(running) == wanted else \
        ("Unhealthy", "Failed") if not running else ("Unhealthy", "Degraded")
    if (props.get("healthState"), props.get("runningState")) != state:
        _set(ctx, rev_id, healthState=state[0], runningState=state[1], replicas=len(running))
        route(ctx, app["body"]["id"])


def deploy(ctx, app_id):
    """The app's provisioning (in the LRO worker): a pending revision is started, then traffic is routed."""
    app = ctx.store.get_resource(app_id)
    if app["body"].get("identity", {}).get("type", "None") != "None" and not app["private"].get("identityHeader"):
        header = ctx.entra.register_msi_host(app_id)["IDENTITY_HEADER"]
        ctx.store.update_body(app_id, lambda b, p: p.update(identityHeader=header))
        app = ctx.store.get_resource(app_id)
    pending = app["private"].get("pendingRevision")
    failure = None
    if pending:
        ctx.store.put_resource(revision_id(app_id, pending), {"private": {}, "body": revision_body(app["body"],
                                                                                                 pending)})
        try:
            start(ctx, app, pending)
        except (RevisionFailed, ContainerError) as err:  # podman refusing something fails the revision too
            failure = str(err)
            replicas.stop(ctx, revision_id(app_id, pending))
            _set(ctx, revision_id(app_id, pending), active=False, healthState="Unhealthy", runningState="Failed",
                 provisioningState="Failed", provisioningError=failure, replicas=0)
        ctx.store.update_body(app_id, lambda b, p: p.pop("pendingRevision", None))
        if not failure:
            # As Azure: traffic moves to the new revision first, then the old one stops (the other order left
            # clients a gap of 502s and hung requests during an update).
            ctx.store.update_body(app_id, lambda b, p: b["properties"].update(latestReadyRevisionName=pending))
            route(ctx, app_id)
            single = (app["body"]["properties"].get("configuration") or {}).get("activeRevisionsMode",
                                                                               "Single") == "Single"
            for other in revisions_of(ctx, app_id):
                if single and other["body"]["name"] != pending and other["body"]["properties"].get("active"):
                    deactivate(ctx, other)
    route(ctx, app_id)
    if failure:
        raise HttpError(400, "ContainerAppOperationError", f"Failed to provision revision for container app "
                        f"'{app['body']['name']}'. Error details: {failure}")


def revisions_of(ctx, app_id):
    return ctx.store.resources(lambda r: r["body"]["type"] == REVISION_TYPE
                               and r["body"]["id"].lower().startswith(app_id.lower() + "/revisions/"))


def route(ctx, app_id):
    """Point the ingress at the serving revisions' running replicas (and set their traffic weights)."""
    watch(ctx)
    app = ctx.store.get_resource(app_id)
    spec = (app["body"]["properties"].get("configuration") or {}).get("ingress")
    serving = [r for r in revisions_of(ctx, app_id) if r["body"]["properties"].get("active")
               and r["body"]["properties"].get("provisioningState") in PROVISIONED]
    if (app["body"]["properties"].get("configuration") or {}).get("activeRevisionsMode", "Single") == "Single":
        ready = app["body"]["properties"].get("latestReadyRevisionName")
        serving = [r for r in serving if r["body"]["name"] == ready]
    serving_ids = {r["body"]["id"] for r in serving}
    for revision in revisions_of(ctx, app_id):
        weight = 100 // len(serving) if revision["body"]["id"] in serving_ids else 0
        _set(ctx, revision["body"]["id"], trafficWeight=weight)
    if not spec:
        close_ingress(app_id)
        return
    with _LOCK:
        ingress = _INGRESS.get(app_id)
        address = LOOPBACK if spec.get("external") else network.ensure(ctx, _env_of(ctx, app))[1]
        if ingress and ingress.address != address:
            _INGRESS.pop(app_id).close()
            ingress = None
        if ingress is None:
            ingress = _INGRESS[app_id] = Ingress(ctx, address, app["private"]["ingressPort"])
    running = [r["ip"] for revision in serving for r in replicas.of_revision(ctx, revision["body"]["id"])
               if r["ip"] and r["state"] == "running"]
    ingress.configure(spec, [(ip, spec["targetPort"]) for ip in running])
    restrictions = spec.get("ipSecurityRestrictions") or []
    mappings = app["private"].get("portMappings", {})
    with _LOCK:
        gone = [_INGRESS.pop(k) for k in list(_INGRESS) if isinstance(k, tuple) and k[0] == app_id
                and k[1] not in mappings]
    for listener in gone:
        listener.close()
    for target, port in mappings.items():
        with _LOCK:
            if (app_id, target) not in _INGRESS:
                _INGRESS[(app_id, target)] = Ingress(ctx, LOOPBACK, port)
            mapped = _INGRESS[(app_id, target)]
        mapped.configure({"transport": "tcp", "ipSecurityRestrictions": restrictions},
                         [(ip, int(target)) for ip in running])


def deactivate(ctx, revision):
    with _REVISIONS:
        _deactivate(ctx, revision)


def _deactivate(ctx, revision):
    replicas.stop(ctx, revision["body"]["id"])
    _set(ctx, revision["body"]["id"], active=False, replicas=0, runningState="Stopped", healthState="None",
         trafficWeight=0)


def activate(ctx, app_id, revision):
    app = ctx.store.get_resource(app_id)
    _set(ctx, revision["body"]["id"], active=True, runningState="Processing")
    try:
        start(ctx, app, revision["body"]["name"])
    except (RevisionFailed, ContainerError) as err:
        replicas.stop(ctx, revision["body"]["id"])
        _set(ctx, revision["body"]["id"], healthState="Unhealthy", runningState="Failed", replicas=0,
             provisioningError=str(err))
    route(ctx, app_id)


def resume(ctx, app_id):
    """After an emulator restart: the app's active revisions run again and its ingress listens again."""
    time.sleep(1)  # let the emulator finish its own resume (it rewrites revision states it does not know)
    for revision in revisions_of(ctx, app_id):
        if revision["body"]["properties"].get("provisioningState") == "Succeeded":
            _set(ctx, revision["body"]["id"], provisioningState="Provisioned")
        if revision["body"]["properties"].get("active"):
            activate(ctx, app_id, ctx.store.get_resource(revision["body"]["id"]))
    route(ctx, app_id)


def close_ingress(app_id):
    """Close the app's ingress and its additional port mappings."""
    with _LOCK:
        keys = [k for k in _INGRESS if k == app_id or (isinstance(k, tuple) and k[0] == app_id)]
        listeners = [_INGRESS.pop(k) for k in keys]
    for listener in listeners:
        listener.close()


def teardown_environment(ctx, env_id):
    gateway = network.gateway(ctx, env_id)
    if gateway:
        identity.stop(gateway)
    network.remove(ctx, env_id)
