"""Job: runs pods until `completions` succeeded (at most `parallelism` at once) or `backoffLimit` failed, then
sets the Complete or Failed condition (with SuccessCriteriaMet / FailureTarget, as Kubernetes 1.31+ does)."""
from lab.kube.api.store import now_rfc3339
from lab.kube.controllers.base import CONTROLLER_USER, Controller, keep_transition, pod_ready
from lab.kube.controllers.replicaset import pod_from_template


def _job_condition(kind, reason, message, now):
    return {"type": kind, "status": "True", "reason": reason, "message": message, "lastProbeTime": now,
            "lastTransitionTime": now}


class JobController(Controller):
    name = "job"
    watches = (("batch/v1", "jobs"), ("v1", "pods"))

    def reconcile(self):
        for job in self.store.list("batch/v1", "jobs"):
            if not job["metadata"].get("deletionTimestamp"):
                self.sync(job)

    def sync(self, job):
        spec, status = job["spec"], dict(job.get("status") or {})
        if any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in status.get("conditions") or []):
            return
        pods = [p for p in self.owned("v1", "pods", job) if not p["metadata"].get("deletionTimestamp")]
        phases = [p.get("status", {}).get("phase", "Pending") for p in pods]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        active = [p for p, phase in zip(pods, phases) if phase not in ("Succeeded", "Failed")]
        completions = spec.get("completions", 1)
        now = now_rfc3339()
        status.setdefault("startTime", now)
        conditions = []
        if succeeded >= completions:
            for pod in active:
                self.store.delete("v1", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                                  CONTROLLER_USER)
            active = []
            message = "Reached expected number of succeeded pods"
            conditions = [_job_condition("SuccessCriteriaMet", "CompletionsReached", message, now),
                          _job_condition("Complete", "CompletionsReached", message, now)]
            status["completionTime"] = now
        elif failed > spec.get("backoffLimit", 6):
            for pod in active:
                self.store.delete("v1", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                                  CONTROLLER_USER)
            active = []
            message = "Job has reached the specified backoff limit"
            conditions = [_job_condition("FailureTarget", "BackoffLimitExceeded", message, now),
                          _job_condition("Failed", "BackoffLimitExceeded", message, now)]
        elif not spec.get("suspend"):
            room = min(spec.get("parallelism", 1), completions - succeeded) - len(active)
            for _ in range(max(0, room)):
                created = self.store.create(pod_from_template(job, spec["template"]), CONTROLLER_USER)
                active.append(created)
        status.update(active=len(active), succeeded=succeeded, failed=failed,
                      ready=sum(1 for p in active if pod_ready(p)), terminating=0,
                      uncountedTerminatedPods={})
        for field in ("active", "succeeded", "failed"):
            if not status[field]:
                status.pop(field)
        if conditions:
            status["conditions"] = keep_transition(status.get("conditions"), conditions)
        self.write_status(job, status)
