"""python -m lab.ee build [--force]: the collection's execution environment over the lab's Debian base (lab/ee)."""
import argparse
import sys

from lab.containers.images import image_size_mb
from lab.containers.runtime import ContainerError
from lab.ee.image import build


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.ee")
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="build the EE unless one with the same inputs exists")
    build_cmd.add_argument("--force", action="store_true", help="build even when the inputs did not change")
    args = parser.parse_args(argv)
    try:
        tag, seconds = build(force=args.force)
    except ContainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{tag}: {'built in %s s' % seconds if seconds else 'current'}, {image_size_mb(tag)} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
