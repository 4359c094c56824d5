"""Counters, histograms, scrape-time gauges and a registry rendered in the Prometheus text format 0.0.4.

Why not prometheus_client: inside Orthanc every imported module stays resident, and importing it costs
about 6 MiB of Orthanc's memory (its package pulls in HTTP servers, WSGI, multiprocess support). The
plugin needs a few counters and histograms rendered on one endpoint; this is that, in the same shape
(Counter(name, doc, labelnames, registry=...).labels(...).inc(), *_total names, le buckets, collectors
yielding families), and the tests check the output with prometheus_client's own parser.
"""

import math
import threading

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


def _number(value):
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(value)


def _escape_label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text):
    return str(text).replace("\\", "\\\\").replace("\n", "\\n")


class MetricFamily:
    """One metric as rendered: name, type, help, and samples (suffixed name, {label: value}, value)."""

    def __init__(self, name, documentation, kind, labels=()):
        self.name, self.documentation, self.type = name, documentation, kind
        self.labels = list(labels)
        self.samples = []

    def add_sample(self, name, labels, value):
        self.samples.append((name, dict(labels), float(value)))


class GaugeMetricFamily(MetricFamily):
    """A gauge computed at scrape time by a collector: add_metric([label values], value)."""

    def __init__(self, name, documentation, labels=()):
        super().__init__(name, documentation, "gauge", labels)

    def add_metric(self, label_values, value):
        self.add_sample(self.name, zip(self.labels, label_values), value)


class _Metric:
    """A labelled metric: children per label-value tuple, created on first use."""

    kind = None

    def __init__(self, name, documentation, labelnames=(), registry=None):
        self.name, self.documentation = name, documentation
        self.labelnames = tuple(labelnames)
        self._children = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def labels(self, *values):
        if len(values) != len(self.labelnames):
            raise ValueError("%s takes labels %s, got %d values" % (self.name, self.labelnames, len(values)))
        key = tuple(str(v) for v in values)
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self._new_child()
            return child

    def _only_child(self):
        if self.labelnames:
            raise ValueError("%s has labels %s: call labels() first" % (self.name, self.labelnames))
        return self.labels()

    def _family(self):
        family = MetricFamily(self.exposed_name, self.documentation, self.kind, self.labelnames)
        with self._lock:
            children = sorted(self._children.items())
        for values, child in children:
            child.samples(family, dict(zip(self.labelnames, values)))
        return family

    def collect(self):
        return [self._family()]


class _CounterChild:
    def __init__(self, name):
        self._name = name
        self._value = 0.0
        self._lock = threading.Lock()

    def inc(self, amount=1):
        if amount < 0:
            raise ValueError("counters only go up")
        with self._lock:
            self._value += amount

    def samples(self, family, labels):
        family.add_sample(self._name, labels, self._value)


class Counter(_Metric):
    """Rendered as <name>_total, HELP and TYPE lines included, as prometheus_client's text format does
    (a trailing _total in `name` is not doubled)."""

    kind = "counter"

    def __init__(self, name, documentation, labelnames=(), registry=None):
        self.family_name = name[:-6] if name.endswith("_total") else name
        self.exposed_name = self.family_name + "_total"
        super().__init__(self.family_name, documentation, labelnames, registry)

    def _new_child(self):
        return _CounterChild(self.family_name + "_total")

    def inc(self, amount=1):
        self._only_child().inc(amount)


class _HistogramChild:
    def __init__(self, name, bounds):
        self._name, self._bounds = name, bounds
        self._counts = [0] * len(bounds)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value):
        with self._lock:
            self._sum += value
            for index, bound in enumerate(self._bounds):
                if value <= bound:
                    self._counts[index] += 1
                    break

    def samples(self, family, labels):
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative = 0
        for bound, count in zip(self._bounds, counts):
            cumulative += count
            family.add_sample(self._name + "_bucket", dict(labels, le=_number(bound)), cumulative)
        family.add_sample(self._name + "_count", labels, cumulative)
        family.add_sample(self._name + "_sum", labels, total)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name, documentation, labelnames=(), buckets=DEFAULT_BUCKETS, registry=None):
        bounds = sorted(float(b) for b in buckets)
        if not bounds or bounds[-1] != math.inf:
            bounds.append(math.inf)
        self._bounds = tuple(bounds)
        self.family_name = self.exposed_name = name
        super().__init__(name, documentation, labelnames, registry)

    def _new_child(self):
        return _HistogramChild(self.family_name, self._bounds)

    def observe(self, value):
        self._only_child().observe(value)


class Registry:
    """Collectors (metrics above, or any object with collect() -> families), rendered together."""

    def __init__(self):
        self._collectors = []
        self._lock = threading.Lock()

    def register(self, collector):
        name = getattr(collector, "family_name", None)
        with self._lock:
            if name and any(getattr(c, "family_name", None) == name for c in self._collectors):
                raise ValueError("duplicate metric %s in the registry" % name)
            self._collectors.append(collector)

    def unregister(self, collector):
        """KeyError when it is not registered (as prometheus_client does)."""
        with self._lock:
            for index, known in enumerate(self._collectors):
                if known is collector:
                    del self._collectors[index]
                    return
        raise KeyError("collector not registered")

    def collect(self):
        with self._lock:
            collectors = list(self._collectors)
        for collector in collectors:
            yield from collector.collect()

    def get_sample_value(self, name, labels=None):
        """The value of one sample (e.g. 'x_total', {'server': 'cloud'}), or None."""
        wanted = dict(labels or {})
        for family in self.collect():
            for sample_name, sample_labels, value in family.samples:
                if sample_name == name and sample_labels == wanted:
                    return value
        return None

    def render(self):
        """The text exposition format, as bytes."""
        lines = []
        for family in self.collect():
            lines.append("# HELP %s %s" % (family.name, _escape_help(family.documentation)))
            lines.append("# TYPE %s %s" % (family.name, family.type))
            for name, labels, value in family.samples:
                if labels:
                    pairs = ",".join('%s="%s"' % (k, _escape_label(v)) for k, v in labels.items())
                    lines.append("%s{%s} %s" % (name, pairs, _number(value)))
                else:
                    lines.append("%s %s" % (name, _number(value)))
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
