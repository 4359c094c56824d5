"""moto in server mode on 127.0.0.1: the AWS APIs for the aws_orthweb role and its tests.

One moto server per lab folder (with the gap fixes of lab/aws/gaps.py), started detached with a pidfile and stopped
by that PID. AWS managed policies (AmazonSSMManagedInstanceCore) are loaded: the role attaches one. The credentials
are moto's throwaway ones (moto accepts any); the environment points amazon.aws / community.aws and boto3 at it
(AWS_URL is the endpoint_url fallback of every amazon.aws module).
"""
import contextlib
import os
import shutil
import sys
import tempfile

from lab import proc

REGION = "us-east-1"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class MotoServer:
    def __init__(self, lab_dir, port=None):
        self.lab_dir = lab_dir
        self.port = port
        self.pidfile = os.path.join(lab_dir, "moto.pid")
        self.logfile = os.path.join(lab_dir, "moto.log")

    @property
    def endpoint(self):
        return "http://%s:%d" % (proc.LOOPBACK, self.port)

    def start(self, timeout=60.0):
        os.makedirs(self.lab_dir, exist_ok=True)
        self.port = self.port or proc.free_port()
        if proc.port_in_use(self.port):
            raise proc.LabError("port %d is taken: pick another for moto" % self.port)
        pid = proc.start_daemon([sys.executable, "-m", "lab.aws.server", "-H", proc.LOOPBACK, "-p", str(self.port)],
                                self.logfile, self.pidfile, cwd=REPO_ROOT,
                                env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
        proc.wait_for_http(self.endpoint + "/moto-api/", timeout=timeout, pid=pid, logfile=self.logfile)
        return self

    def stop(self):
        return proc.stop_pid(proc.read_pidfile(self.pidfile))

    def environment(self):
        """Variables that send boto3 and the amazon.aws / community.aws modules to this server."""
        return {"AWS_URL": self.endpoint, "AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


@contextlib.contextmanager
def throwaway_moto(prefix="medimaging-aws-"):
    """A started MotoServer in a new temporary folder (its lab_dir); stopped and the folder removed after."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    moto = MotoServer(workdir).start()
    try:
        yield moto
    finally:
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)
