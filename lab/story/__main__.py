"""python -m lab.story CONTEXT.json STEP [options]: one step of the hybrid lab's story; prints JSON.

Steps: start (what the site holds before the story), send (the modality sends studies), check (where every sent instance is now; --wait-cloud waits for routing),
outage start --mode drop|reject | end (cut the PACS host's network to the cloud for real: packets dropped silently,
or refused with TCP resets; lab.site.cut), drill (the ransomware drill: the PACS host stopped, every routed study opened
in a cloud viewer, the host restored; lab/story/drill.py), summary (the closing table).
CONTEXT.json (written by lab/playbooks/hybrid_story.yml) names the endpoints; secrets are read from the lab's own files.
"""
import argparse
import json
import os
import sys
import time

from lab.story.cohort import cohort
from lab.story.ledger import Ledger
from lab.story.modality import send
from lab.story.places import Archive, Cloud, OnPrem
from lab.story.summary import table


def _context(path):
    with open(path, encoding="utf-8") as handle:
        context = json.load(handle)
    with open(context["identity_file"], encoding="utf-8") as handle:
        context["identity"] = json.load(handle)
    with open(context["onprem_password_file"], encoding="utf-8") as handle:
        context["onprem_password"] = handle.read().strip()
    return context


def step_send(context, ledger, args):
    plans = cohort(args.patients, args.studies, args.instances, seed=args.seed)
    if args.patient:
        plans = [dict(p, patient_id=args.patient) for p in plans][:1]
        plans[0]["study_date"] = plans[0]["study_date"].today()
    sent, instances, size, seconds = send(plans, context["dicom_host"], context["dicom_port"], context["dicom_aet"],
                                          seed=args.seed, implicit_vr=args.implicit_vr)
    for study in sent:
        ledger.add_study(study["study_uid"], study["patient_id"], study["modality"], study["study_date"],
                         study["sop_uids"], study["bytes"], patient_name=study["patient_name"])
    result = {"studies": len(sent), "instances": instances, "bytes": size, "seconds": round(seconds, 2),
              "instances_per_second": round(instances / seconds, 1) if seconds else None,
              "study_uids": [s["study_uid"] for s in sent]}
    ledger.record(args.label, {k: v for k, v in result.items() if k != "study_uids"})
    return result


def places(context):
    onprem = OnPrem(context["onprem_url"], context["onprem_user"], context["onprem_password"])
    cloud = Cloud(context["cloud_url"], context["identity"], context["ca_bundle"], context["cloud_scope"])
    archive = Archive(context["archive_container_url"], context["identity"], context["ca_bundle"],
                      context["authority_host"])
    return onprem, cloud, archive


def step_start(context, ledger, args):
    """What the site holds before the story begins: nothing after `make lab-down` (studies, the router's queue)."""
    onprem = OnPrem(context["onprem_url"], context["onprem_user"], context["onprem_password"])
    result = {"site_studies": onprem.study_count(), "site_queue_entries": onprem.queue_entries()}
    ledger.record("site_at_start", result)
    return result


def step_check(context, ledger, args):
    onprem, cloud, archive = places(context)
    started = time.monotonic()
    deadline = started + args.wait_cloud
    while True:
        counts = {"onprem": 0, "cloud": 0, "archive": 0, "lost": 0, "instances": 0}
        presence = {}
        missing_in_cloud = 0
        for study_uid, study in ledger.studies.items():
            wanted = set(study["sop_uids"])
            here, there, archived = onprem.instances(study_uid), cloud.instances(study_uid), archive.instances(study_uid)
            counts["instances"] += len(wanted)
            counts["onprem"] += len(wanted & here)
            counts["cloud"] += len(wanted & there)
            counts["archive"] += len(wanted & archived)
            counts["lost"] += len(wanted - here - there - archived)
            missing_in_cloud += len(wanted - there)
            presence[study_uid] = {"onprem": bool(wanted & here), "cloud": wanted <= there, "archive": wanted <= archived}
        if not missing_in_cloud or time.monotonic() >= deadline:
            break
        time.sleep(2)
    counts["cloud_complete"] = missing_in_cloud == 0
    counts["waited_seconds"] = round(time.monotonic() - started, 1)
    ledger.record(args.label, counts)
    ledger.data.setdefault("presence", {})[args.label] = presence
    return counts


def step_priors(context, ledger, args):
    """Wait until the returning patient's older studies, archived away, are on-prem again (the priors feature)."""
    onprem = OnPrem(context["onprem_url"], context["onprem_user"], context["onprem_password"])
    archived = ledger.data.get("presence", {}).get("archived", {})
    # The priors are the patient's N most recent earlier studies (the returning study itself was not in the
    # 'archived' check); those among them that archiving removed locally must come back.
    earlier = sorted((study["study_date"], uid) for uid, study in ledger.studies.items()
                     if study["patient_id"] == args.patient and uid in archived)
    most_recent = [uid for _date, uid in earlier[-args.count:]]
    gone = [uid for uid in most_recent if not archived[uid]["onprem"]]
    expected = len(gone)
    started = time.monotonic()
    while True:
        # a study is back when all of it is: the priors job retrieves it instance by instance
        back = [uid for uid in gone if set(ledger.studies[uid]["sop_uids"]) <= onprem.instances(uid)]
        if len(back) >= expected or time.monotonic() - started >= args.wait:
            break
        time.sleep(2)
    result = {"patient": args.patient, "archived_away": len(gone), "expected": expected, "priors_retrieved": len(back),
              "waited_seconds": round(time.monotonic() - started, 1)}
    ledger.record("priors", result)
    return result


def step_outage(context, ledger, args):
    """The hospital's link to the cloud is cut for real in the PACS host's network namespace, then healed."""
    from lab.site import cut
    from lab.site.host import cloud_ports, site_for

    site = site_for(context["lab_dir"])
    if args.action == "start":
        rules = cut.cut(site.plan.pacs_container, site.plan.gateway, cloud_ports(context["lab_dir"]), args.mode)
        result = {"outage": "start", "mode": args.mode, "rules": len(rules)}
    else:
        result = {"outage": "end", "rules_removed": cut.heal(site.plan.pacs_container)}
    ledger.record(f"outage_{args.action}" + (f"_{args.mode}" if args.action == "start" else ""),
                  dict(result, at=time.time()))
    return result


def step_drill(context, ledger, args):
    """The PACS host is lost; every study routed before is opened in the cloud viewer; the host comes back."""
    from lab.story import drill

    with open(context["viewer_identity_file"], encoding="utf-8") as handle:
        identity = json.load(handle)
    result = drill.run(context, ledger, identity, os.path.join(os.path.dirname(context["ledger"]), "drill"))
    ledger.record("ransomware_drill", result)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.story")
    parser.add_argument("context")
    sub = parser.add_subparsers(dest="step", required=True)
    send_parser = sub.add_parser("send")
    send_parser.add_argument("--label", default="send")
    send_parser.add_argument("--patients", type=int, default=4)
    send_parser.add_argument("--studies", type=int, default=3)
    send_parser.add_argument("--instances", type=int, default=5)
    send_parser.add_argument("--seed", type=int, default=1)
    send_parser.add_argument("--patient", help="one new study for this returning patient")
    send_parser.add_argument("--implicit-vr", action="store_true",
                             help="an older modality: Implicit VR Little Endian only (Azure refuses it untranscoded)")
    check = sub.add_parser("check")
    check.add_argument("--label", default="check")
    check.add_argument("--wait-cloud", type=float, default=0)
    outage = sub.add_parser("outage")
    outage.add_argument("action", choices=["start", "end"])
    outage.add_argument("--mode", choices=["drop", "reject"], default="drop",
                        help="drop: packets vanish (silent WAN failure); reject: TCP resets (a refusing firewall)")
    priors = sub.add_parser("priors")
    priors.add_argument("--patient", required=True)
    priors.add_argument("--count", type=int, default=2, help="the plugin's MedimagingPriors.Count")
    priors.add_argument("--wait", type=float, default=120)
    sub.add_parser("start", help="what the site holds before the story (studies, router queue entries)")
    sub.add_parser("drill", help="the ransomware drill (needs the cloud viewer's identity: viewer_identity_file)")
    sub.add_parser("summary")
    args = parser.parse_args(argv)
    context = _context(args.context)
    ledger = Ledger(context["ledger"])
    if args.step == "summary":
        print(table(ledger))
        return 0
    steps = {"start": step_start, "send": step_send, "check": step_check, "outage": step_outage, "priors": step_priors,
             "drill": step_drill}
    result = steps[args.step](context, ledger, args)
    ledger.save()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
