#!/usr/bin/env bash
# ansible-test sanity on exactly what ships: the built collection unpacked in a temporary
# ansible_collections/medimaging/orthanc tree (plus tests/sanity for the ignore files).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ansible-galaxy collection build --force --output-path "$work" . >/dev/null
tree="$work/ansible_collections/medimaging/orthanc"
mkdir -p "$tree"
tar -xzf "$work"/medimaging-orthanc-*.tar.gz -C "$tree"
mkdir -p "$tree/tests" && cp -r "$repo/tests/sanity" "$tree/tests/"
cd "$tree"
# ansible-test lists files through git when the tree is a repository: make it one.
git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm sanity
# A venv of its own with the ansible-core of the controller venv: --requirements installs the tool versions
# ansible-test pins (pylint, yamllint, voluptuous, ...) from PyPI without disturbing the controller venv.
# (--venv would need ansible-test's pip bootstrap script from a host this workplace cannot reach.)
sanity_venv="$repo/.cache/sanity-venv"
core_version=$("$repo/.venv/bin/python" -c 'import ansible; print(ansible.__version__)' 2>/dev/null \
               || "$repo/.venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
if [ ! -x "$sanity_venv/bin/ansible-test" ] || ! "$sanity_venv/bin/ansible-test" --version | grep "$core_version" >/dev/null; then
    rm -rf "$sanity_venv"
    "$repo/.venv/bin/python" -m venv "$sanity_venv"
    "$sanity_venv/bin/pip" install -q "ansible-core==$core_version"
fi
# ansible-test bootstraps pip in its per-test venvs with a script it downloads; give it ours (see the file).
pip_version=$(grep -oP "pip='\K[0-9.]+" "$sanity_venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py)
mkdir -p ~/.ansible/test/cache
cp "$repo/tests/sanity/pip_bootstrap.py" ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"
PATH="$sanity_venv/bin:$PATH" ansible-test sanity --local --requirements --python "$("$sanity_venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no "$@"
