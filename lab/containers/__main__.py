"""python -m lab.containers build [NAME...] | list | clean OWNER|--all: the lab's images and labelled leftovers."""
import argparse
import sys

from lab.containers.images import IMAGES, built_digest, ensure, image_size_mb, inputs_digest
from lab.containers.runtime import ContainerError, remove_labelled


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab.containers")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build images whose inputs changed (default: all)")
    build.add_argument("names", nargs="*", metavar="NAME", help=", ".join(sorted(IMAGES)))
    sub.add_parser("list", help="each image, whether it is current, and its size")
    clean = sub.add_parser("clean", help="remove containers, pods, networks and volumes labelled for OWNER")
    clean.add_argument("owner", nargs="?")
    clean.add_argument("--all", action="store_true", help="every owner's")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for name in args.names or sorted(IMAGES):
                print(ensure(name))
        elif args.command == "list":
            for name, image in sorted(IMAGES.items()):
                current = built_digest(image.tag) == inputs_digest(name)
                size = f"{image_size_mb(image.tag)} MB" if current else "-"
                print(f"{name:20} {image.tag:45} {'current' if current else 'to build':9} {size}")
        else:
            if not args.owner and not args.all:
                parser.error("clean needs OWNER or --all")
            print(f"removed {remove_labelled(None if args.all else args.owner)}")
    except ContainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
