"""What the modality sent, kept on disk so every later step can check nothing was lost."""
import json
import os


class Ledger:
    def __init__(self, path):
        self.path = path
        self.data = {"studies": {}, "steps": {}}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                self.data = json.load(handle)

    def add_study(self, study_uid, patient_id, modality, study_date, sop_uids, size, patient_name=None):
        self.data["studies"][study_uid] = {"patient_id": patient_id, "modality": modality, "study_date": study_date,
                                           "sop_uids": sorted(sop_uids), "bytes": size, "patient_name": patient_name}

    def record(self, step, values):
        self.data["steps"][step] = values

    @property
    def studies(self):
        return self.data["studies"]

    def save(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, indent=1)  # insertion order = the order of the story
        os.replace(tmp, self.path)
