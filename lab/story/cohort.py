"""Synthetic patients and their studies: several modalities, dates spread over years (no real patient data)."""
import datetime
import random

MODALITIES = ("CT", "CR", "MR")


def cohort(patients, studies_per_patient, instances_per_study, seed=7, today=None):
    """A list of study plans: dict(patient_id, patient_name, modality, study_date, instances)."""
    rng = random.Random(seed)
    today = today or datetime.date.today()
    plans = []
    for number in range(1, patients + 1):
        patient_id = f"LAB{number:05d}"
        for index in range(studies_per_patient):
            # The first study of each patient is years old, the last recent: a realistic mix for archiving.
            age_days = int((studies_per_patient - index) * 400 * rng.uniform(0.6, 1.0)) if index < studies_per_patient - 1 \
                else rng.randint(0, 30)
            plans.append({"patient_id": patient_id, "patient_name": f"LAB^PATIENT{number:03d}",
                          "modality": MODALITIES[(number + index) % len(MODALITIES)],
                          "study_date": today - datetime.timedelta(days=age_days),
                          "instances": instances_per_study})
    return plans
