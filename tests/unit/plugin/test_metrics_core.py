"""The plugin's metrics, checked with prometheus_client's own text parser (the format Prometheus reads)."""
import math

import pytest
from medimaging_plugin.metrics_core import Counter, GaugeMetricFamily, Histogram, Registry
from prometheus_client.parser import text_string_to_metric_families


def parse(registry):
    return {f.name: f for f in text_string_to_metric_families(registry.render().decode())}


def samples(family):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}


def test_counter_with_labels_renders_total_and_escapes_values():
    registry = Registry()
    sent = Counter("x_sent", "Things\nsent", ["destination"], registry=registry)
    sent.labels("cloud").inc()
    sent.labels("cloud").inc(2.5)
    sent.labels('we"ird\\name\n').inc()
    family = parse(registry)["x_sent"]
    assert family.type == "counter" and family.documentation == "Things\nsent"
    assert samples(family) == {("x_sent_total", (("destination", "cloud"),)): 3.5,
                               ("x_sent_total", (("destination", 'we"ird\\name\n'),)): 1.0}
    assert registry.get_sample_value("x_sent_total", {"destination": "cloud"}) == 3.5


def test_unlabelled_counter_and_total_suffix_not_doubled():
    registry = Registry()
    counter = Counter("bytes_total", "Bytes", registry=registry)
    counter.inc(10)
    assert registry.get_sample_value("bytes_total") == 10
    with pytest.raises(ValueError):
        counter.inc(-1)


def test_histogram_buckets_are_cumulative_with_inf_count_and_sum():
    registry = Registry()
    histogram = Histogram("t_seconds", "Time", ["server"], buckets=(0.1, 1.0), registry=registry)
    for value in (0.05, 0.5, 0.7, 3.0):
        histogram.labels("a").observe(value)
    got = samples(parse(registry)["t_seconds"])
    assert got[("t_seconds_bucket", (("le", "0.1"), ("server", "a")))] == 1
    assert got[("t_seconds_bucket", (("le", "1.0"), ("server", "a")))] == 3
    assert got[("t_seconds_bucket", (("le", "+Inf"), ("server", "a")))] == 4
    assert got[("t_seconds_count", (("server", "a"),))] == 4
    assert math.isclose(got[("t_seconds_sum", (("server", "a"),))], 4.25)


def test_collector_gauges_unregister_and_duplicates():
    registry = Registry()

    class Collector:
        def collect(self):
            gauge = GaugeMetricFamily("q_depth", "Depth", labels=["destination", "state"])
            gauge.add_metric(["cloud", "pending"], 7)
            yield gauge

    collector = Collector()
    registry.register(collector)
    assert registry.get_sample_value("q_depth", {"destination": "cloud", "state": "pending"}) == 7
    assert parse(registry)["q_depth"].type == "gauge"
    registry.unregister(collector)
    assert registry.render() == b""
    with pytest.raises(KeyError):
        registry.unregister(collector)
    Counter("dup", "first", registry=registry)
    with pytest.raises(ValueError, match="duplicate metric dup"):
        Counter("dup", "second", registry=registry)


def test_wrong_label_count_is_an_error():
    counter = Counter("c", "C", ["a", "b"])
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels("only-one")
    with pytest.raises(ValueError, match="call labels"):
        counter.inc()
