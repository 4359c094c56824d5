"""The closing table of the hybrid lab story."""


def table(ledger):
    steps = ledger.data["steps"]
    studies = ledger.studies
    rows = [("studies sent by the modality", len(studies)),
            ("instances sent", sum(len(s["sop_uids"]) for s in studies.values())),
            ("MB sent", round(sum(s["bytes"] for s in studies.values()) / 1e6, 1))]
    for label, values in steps.items():
        if "site_studies" in values:
            rows.append(("site at start: studies / router queue entries",
                         f"{values['site_studies']} / {values['site_queue_entries']}"))
        if "instances_per_second" in values:
            rows.append((f"{label}: C-STORE instances/s", values["instances_per_second"]))
        if "lost" in values:
            rows.append((f"{label}: on-prem / cloud / archive / LOST",
                         f"{values['onprem']} / {values['cloud']} / {values['archive']} / {values['lost']}"))
            rows.append((f"{label}: waited for the cloud (s)", values["waited_seconds"]))
        if "priors_retrieved" in values:
            rows.append((f"{label}: archived priors brought back / expected",
                         f"{values['priors_retrieved']} / {values['expected']}"))
        if values.get("drill") == "ransomware":
            rows.append(("ransomware drill: PACS host down / restored in (s)",
                         f"{'yes' if values['pacs_down_during_drill'] else 'NO'} / {values['pacs_restored_seconds']}"))
            rows.append(("ransomware drill: studies routed before / opened in the cloud viewer",
                         f"{values['routed_before_the_stop']} / {values['opened_in_cloud_viewer']}"))
            rows.append(("ransomware drill: cloud study list, patients / studies shown",
                         f"{values.get('patients_in_study_list')} of {values.get('patients_routed')} / "
                         f"{values.get('studies_in_study_list')} of {values['routed_before_the_stop']}"))
            rows.append(("ransomware drill: median seconds to first image", values["median_seconds_to_image"]))
    width = max(len(name) for name, _ in rows)
    lines = ["", "Hybrid lab summary", "-" * (width + 14)]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    lost = [v["lost"] for v in steps.values() if "lost" in v]
    lines += ["-" * (width + 14), f"{'anything lost'.ljust(width)}  {'NO' if lost and not any(lost) else 'YES: see above'}"]
    return "\n".join(lines)
