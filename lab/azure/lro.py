"""Long-running operations: a record per operation, a worker thread that provisions, and the poll answers."""
import datetime
import threading
import time
import uuid

from lab.azure.web import HttpError, Response

TERMINAL = ("Succeeded", "Failed", "Canceled")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Operations:
    def __init__(self, store, base_url, subscription_id, retry_after):
        self.store, self.base_url, self.subscription_id = store, base_url, subscription_id
        self.retry_after = str(retry_after)

    def urls(self, namespace, location, op_id, api_version):
        prefix = (f"{self.base_url}/subscriptions/{self.subscription_id}/providers/{namespace}/locations/"
                  f"{location or 'global'}")
        return (f"{prefix}/operationStatuses/{op_id}?api-version={api_version}",
                f"{prefix}/operationResults/{op_id}?api-version={api_version}")

    def begin(self, kind, resource_id, namespace, location, api_version, work):
        """Record an operation and run work() in a thread; work's exception (HttpError) fails it."""
        op_id = str(uuid.uuid4())
        status_url, result_url = self.urls(namespace, location, op_id, api_version)
        self.store.put("operations", op_id, {"id": op_id, "kind": kind, "resourceId": resource_id,
                                             "status": "InProgress", "startTime": utcnow(),
                                             "statusUrl": status_url, "resultUrl": result_url})

        def run():
            error = None
            try:
                work()
            except HttpError as err:
                error = {"code": err.code, "message": err.message}
            except Exception as err:  # noqa: BLE001 - a data-plane failure fails the operation, ARM style
                error = {"code": "InternalServerError", "message": f"{type(err).__name__}: {err}"}
            record = self.store.get("operations", op_id)
            record.update(status="Failed" if error else "Succeeded", endTime=utcnow())
            if error:
                record["error"] = error
            self.store.put("operations", op_id, record)

        threading.Thread(target=run, name=f"lro-{op_id[:8]}", daemon=True).start()
        return status_url, result_url

    def headers(self, shape, status_url, result_url):
        headers = {"Retry-After": self.retry_after}
        if shape in ("201-async", "202-async-location"):
            headers["Azure-AsyncOperation"] = status_url
        if shape in ("202-location", "202-async-location"):
            headers["Location"] = result_url
        return headers

    def status(self, op_id):
        record = self._get(op_id)
        body = {"id": record["statusUrl"].split("?")[0].replace(self.base_url, ""), "name": op_id,
                "status": record["status"], "startTime": record["startTime"]}
        if record.get("endTime"):
            body["endTime"] = record["endTime"]
        if record.get("error"):
            body["error"] = record["error"]
        headers = {} if record["status"] in TERMINAL else {"Retry-After": self.retry_after}
        return Response(200, body, headers)

    def result(self, op_id, current_body):
        """The Location answer: 202 while running; then 200 with the resource (PUT) or 204 (DELETE)."""
        record = self._get(op_id)
        if record["status"] not in TERMINAL:
            return Response(202, None, {"Location": record["resultUrl"], "Retry-After": self.retry_after})
        if record["status"] == "Failed":
            raise HttpError(400, record["error"]["code"], record["error"]["message"])
        if record["kind"] == "delete" or current_body is None:
            return Response(204)
        return Response(200, current_body)

    def _get(self, op_id):
        record = self.store.get("operations", op_id)
        if not record:
            raise HttpError(404, "OperationNotFound", f"The operation '{op_id}' could not be found.")
        return record


def settle_delay(seconds):
    """Real provisioning takes a while; the lab takes a moment so clients really poll."""
    if seconds > 0:
        time.sleep(seconds)
