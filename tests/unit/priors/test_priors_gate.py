"""Once per patient per window, with a fake clock; patients are keyed by a hash (no PHI kept)."""
import hashlib

from medimaging_plugin.priors.gate import MemoryGate, patient_key


class Clock:
    def __init__(self):
        self.now = 5_000.0

    def __call__(self):
        return self.now


def test_once_per_patient_per_window():
    clock = Clock()
    gate = MemoryGate(3600, clock=clock)
    assert gate.claim("PAT1") is True
    assert gate.claim("PAT1") is False
    clock.now += 3599
    assert gate.claim("PAT1") is False
    clock.now += 1
    assert gate.claim("PAT1") is True  # window over: look again
    assert gate.claim("PAT1") is False  # and a new window starts


def test_a_refused_claim_does_not_extend_the_window():
    clock = Clock()
    gate = MemoryGate(100, clock=clock)
    gate.claim("PAT1")
    clock.now += 90
    assert gate.claim("PAT1") is False
    clock.now += 10
    assert gate.claim("PAT1") is True


def test_patients_are_independent():
    gate = MemoryGate(3600, clock=Clock())
    assert gate.claim("PAT1") and gate.claim("PAT2")
    assert not gate.claim("PAT1") and not gate.claim("PAT2")


def test_no_phi_in_the_gate_state():
    gate = MemoryGate(3600, clock=Clock())
    gate.claim("DOE^JOHN-12345")
    assert "DOE^JOHN-12345" not in repr(gate._seen)
    assert patient_key("DOE^JOHN-12345") == hashlib.sha256(b"DOE^JOHN-12345").hexdigest()
