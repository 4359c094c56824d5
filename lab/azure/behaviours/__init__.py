"""What happens beyond storing a resource: server-set properties, and the real data plane behind it.

A behaviour implements any of:
  prepare(ctx, record, previous)  synchronous, before the answer: set read-only properties, refuse input
  provision(ctx, record)          in the LRO worker (inline for sync types): start or change the data plane
  before_delete(ctx, record)      synchronous, before a delete is accepted: refuse what Azure refuses
  deprovision(ctx, record)        on delete
  resume(ctx, record)             at emulator start, for resources that already exist
  shutdown(ctx, record)           at emulator stop
  action_<name>(ctx, record, body) -> (status, body)   POST actions (listKeys...)
"""
import importlib


class Behaviour:
    def prepare(self, ctx, record, previous):
        pass

    def provision(self, ctx, record):
        pass

    def before_delete(self, ctx, record):
        pass

    def deprovision(self, ctx, record):
        pass

    def resume(self, ctx, record):
        pass

    def shutdown(self, ctx, record):
        pass


_PLAIN = Behaviour()
_CACHE = {}


def load(spec):
    """'module:Class' under lab.azure.behaviours -> a shared instance; None -> the plain behaviour."""
    if not spec:
        return _PLAIN
    if spec not in _CACHE:
        module_name, class_name = spec.split(":")
        module = importlib.import_module(f"lab.azure.behaviours.{module_name}")
        _CACHE[spec] = getattr(module, class_name)()
    return _CACHE[spec]
