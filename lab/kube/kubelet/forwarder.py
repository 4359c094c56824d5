"""TCP forwarders on one asyncio loop (its own thread): each listener balances new connections round-robin over
its current backends; changing the backends never touches open connections or other listeners."""
import asyncio
import itertools
import logging
import threading

LOG = logging.getLogger("lab.kube.kubelet")
CONNECT_TIMEOUT = 3


class Forwarders:
    def __init__(self, name):
        self._loop = asyncio.new_event_loop()
        self._servers = {}            # key -> asyncio server
        self._backends = {}           # key -> [(host, port)]
        self._open = {}               # key -> the stream writers of its open connections (both sides)
        self._turn = itertools.count()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"forwarders-{name}", daemon=True)
        self._thread.start()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def listen(self, key, host, port, backends):
        """Listen on host:port (0 = any free port) unless key already listens; returns the bound port."""
        self._backends[key] = list(backends)
        if key not in self._servers:
            self._servers[key] = self._call(self._start(key, host, port))
        return self._servers[key].sockets[0].getsockname()[1]

    def set_backends(self, key, backends):
        self._backends[key] = list(backends)

    def close(self, key):
        server = self._servers.pop(key, None)
        self._backends.pop(key, None)
        if server is not None:
            self._call(self._stop(server, self._open.pop(key, set())))

    def keys(self):
        return list(self._servers)

    def shutdown(self):
        for key in list(self._servers):
            self.close(key)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _start(self, key, host, port):
        return await asyncio.start_server(lambda r, w: self._forward(key, r, w), host, port, reuse_address=True)

    @staticmethod
    async def _stop(server, writers):
        # Since Python 3.12 wait_closed() also waits for the open connections (a database client's can last for
        # hours): end them first, as a removed Service's do.
        server.close()
        for writer in list(writers):
            writer.transport.abort()
        await server.wait_closed()

    async def _forward(self, key, reader, writer):
        backends = list(self._backends.get(key) or [])
        upstream = None
        if backends:
            first = next(self._turn)
            for offset in range(len(backends)):
                host, port = backends[(first + offset) % len(backends)]
                try:
                    upstream = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
                    break
                except (OSError, asyncio.TimeoutError):
                    continue
        if upstream is None:          # no Ready endpoint: refuse, as a Service without endpoints does
            LOG.info("lab forwarder %s: refused a connection: %s", key,
                     "no Ready endpoint" if not backends else "no endpoint accepted within %ss" % CONNECT_TIMEOUT)
            writer.close()
            return
        up_reader, up_writer = upstream
        open_ = self._open.setdefault(key, set())
        open_.update((writer, up_writer))
        try:
            await asyncio.gather(self._copy(reader, up_writer), self._copy(up_reader, writer))
        finally:
            open_.difference_update((writer, up_writer))
            writer.close()
            up_writer.close()

    @staticmethod
    async def _copy(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, asyncio.IncompleteReadError):
            writer.close()
