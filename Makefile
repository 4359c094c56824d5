# medimaging.orthanc: the targets are the words a user says.
#   make lab     bring up the local hybrid lab and the on-prem Orthanc (the main job)
#   make test    everything CI runs: sanity, lint, unit, integration, molecule
#   make bench   benchmarks (ratios measured in one run; never part of make test)
#   make images  the lab's images (Debian bases, systemd hosts, the project's Orthanc image)
#   make image   the project's Orthanc image (images/orthanc) over the lab's Debian 13 Orthanc base
#   make clean-lab  remove every lab container and the image store under .cache/containers
#   make ee      the collection's execution environment (lab/ee) and a job run in it as AWX runs it
#   make docs    the documentation site (antsibull-docs + Sphinx, warnings are errors) in build/docs/html
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
STAMPS := .cache/stamps
COLLECTION_LINK := .cache/collections/ansible_collections/medimaging/orthanc
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/.cache/node/bin:$(CURDIR)/.cache/tools/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Keep __pycache__ out of the plugin tree that roles copy to hosts.
export PYTHONDONTWRITEBYTECODE := 1
# podman with the project's configuration (scripts/install-container-runtime.sh), never /etc's.
export CONTAINERS_CONF := $(CURDIR)/.cache/containers/containers.conf
export CONTAINERS_STORAGE_CONF := $(CURDIR)/.cache/containers/storage.conf
PYTEST := $(VENV)/bin/pytest -p no:cacheprovider

.PHONY: help setup lab lab-down test sanity lint unit integration molecule bench build clean images image clean-lab ee docs

help:
	@sed -n 's/^#   //p' Makefile

# ---- setup: each step re-runs only when its inputs change -------------------------------------------------
setup: $(STAMPS)/system $(STAMPS)/containers $(STAMPS)/venv $(STAMPS)/plugin-venv $(STAMPS)/node $(STAMPS)/kube \
       $(STAMPS)/checkov $(STAMPS)/browser $(COLLECTION_LINK)

$(STAMPS)/system: scripts/install-system-packages.sh
	bash scripts/install-system-packages.sh
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/containers: scripts/install-container-runtime.sh
	bash scripts/install-container-runtime.sh .cache/containers
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: requirements.txt requirements-dev.txt scripts/install-controller-venv.sh $(STAMPS)/system
	bash scripts/install-controller-venv.sh $(VENV)
	@touch $@

$(STAMPS)/plugin-venv: files/orthanc-plugin/requirements.txt scripts/install-plugin-venv.sh $(STAMPS)/system
	bash scripts/install-plugin-venv.sh .cache/plugin-venv
	@touch $@

$(STAMPS)/node: scripts/install-node-tools.sh
	bash scripts/install-node-tools.sh .cache/node
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/kube: scripts/install-kube-binaries.sh $(STAMPS)/venv
	bash scripts/install-kube-binaries.sh .cache/tools/bin
	@touch $@

# checkov scans the Helm chart (tests/unit/helm_chart); its pins would downgrade .venv's packages: its own venv.
$(STAMPS)/checkov: scripts/install-checkov.sh
	bash scripts/install-checkov.sh .cache/checkov
	@mkdir -p $(STAMPS) && touch $@

# The viewer tests' Chromium (Debian), Playwright and the pinned, checksum-verified OHIF build.
$(STAMPS)/browser: scripts/install-browser.sh roles/ohif_viewer/defaults/main.yml $(STAMPS)/venv
	bash scripts/install-browser.sh
	@touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@) && ln -sfn ../../../.. $@

# ---- the main job --------------------------------------------------------------------------------------
lab: setup
	ansible-playbook -i inventories/local lab/playbooks/hybrid_lab.yml

lab-down: setup
	ansible-playbook -i inventories/local lab/playbooks/hybrid_lab.yml -e hybrid_state=absent

# ---- tests ---------------------------------------------------------------------------------------------
test: setup
	bash scripts/run-tests.sh

sanity: setup
	bash scripts/run-sanity.sh

lint: setup
	ansible-lint --profile production
	yamllint -s .

unit: setup
	$(PYTEST) tests/unit

integration: setup
	$(PYTEST) tests/integration

molecule: setup
	bash scripts/run-molecule.sh

bench: setup
	bash scripts/run-benchmarks.sh

build: setup
	mkdir -p build && ansible-galaxy collection build --force --output-path build .

# ---- images: built locally from Debian, rebuilt only when their inputs change ------------------------------
images: setup
	python -m lab.containers build

image: setup
	python -m lab.containers build orthanc

# The EE takes minutes to build (too long for make test): its own target, then the job test that runs inside it.
ee: setup
	python -m lab.ee build
	LAB_EE=1 $(PYTEST) -q tests/integration/ee

docs: setup
	bash docs/build.sh

clean:
	rm -rf build .cache/stamps tests/output

# Every labelled container, pod, network and volume, then the image store itself.
clean-lab:
	-python -m lab.containers clean --all
	rm -rf .cache/containers/storage .cache/containers/run
