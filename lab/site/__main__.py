"""python -m lab.site [--lab-dir DIR] up|down|status|cut drop|reject|heal: the hybrid lab's hospital site.

up     the site network, the PACS host container (Debian 12, systemd, the site's PostgreSQL with a database for
       Orthanc) and the relay to the lab's cloud side (needs `python -m lab up` first); prints the state as JSON
down   removes all of it: relay, container (with the site's data), network, labelled volumes, <lab>/site
cut    cuts the PACS host's traffic to the cloud side for real: drop (silent) or reject (TCP reset)
heal   removes the cut
"""
import argparse
import json
import sys

from lab.proc import LabError
from lab.site import cut
from lab.site.host import cloud_ports, site_for


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab-dir", help="lab directory (default: $LAB_DIR or <repo>/.lab)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up")
    sub.add_parser("down")
    sub.add_parser("status")
    cut_parser = sub.add_parser("cut")
    cut_parser.add_argument("mode", choices=sorted(cut.TARGETS))
    sub.add_parser("heal")
    args = parser.parse_args(argv)
    site = site_for(args.lab_dir)
    try:
        if args.command == "up":
            state = site.up(cloud_ports(args.lab_dir), log=lambda line: print(line, file=sys.stderr))
            print(json.dumps({k: v for k, v in state.items() if k != "postgres"}))
        elif args.command == "down":
            print(json.dumps({"removed": site.down()}))
        elif args.command == "status":
            print(json.dumps(site.status(), indent=2))
        elif args.command == "cut":
            rules = cut.cut(site.plan.pacs_container, site.plan.gateway, cloud_ports(args.lab_dir), args.mode)
            print(json.dumps({"cut": args.mode, "rules": rules}))
        else:
            print(json.dumps({"healed": cut.heal(site.plan.pacs_container)}))
    except LabError as err:
        print(f"lab.site: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
