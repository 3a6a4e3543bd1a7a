# flannel-ansible: two commands matter.
#   make demo   set everything up, boot a 3-host lab, run site.yml on it
#   make test   set everything up and run the whole suite (lint, unit, molecule)
# Everything else is a step of those two. The lab needs root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
CACHE_DIR ?= $(CURDIR)/.cache
N ?= 3
RELEASE ?= trixie
INVENTORY ?= inventory/lab/hosts.yml
# Molecule runs of `make test`, in order: scenario[:VAR=value,...]. The flannel
# role runs with vxlan, and with ipip and wireguard, which skip (reason printed)
# where the kernel lacks them, as the lab's does; the full cluster runs once per
# Debian release (vxlan): bookworm in the `cluster` scenario, with the lease and
# Docker options files moved to other directories, which every part must follow;
# trixie in the `faults` scenario, which runs the cluster checks and the
# collection's FQCN run on its freshly converged lab before its fault cases
# (among them vxlan -> host-gw -> udp -> vxlan on the running cluster); then
# day2 on one lab: etcd from a controller-local archive, backup, upgrade
# refusals, the rolling upgrade of etcd and flanneld under loss probes, the
# disaster restore, and the removal and return of a node.
SCENARIOS ?= smoke etcd flannel:FLANNEL_BACKEND=vxlan flannel:FLANNEL_BACKEND=ipip \
	flannel:FLANNEL_BACKEND=wireguard docker cluster:LAB_RELEASE=bookworm,CLUSTER_SUBNET_FILE=/run/flannel-lease/subnet.env,CLUSTER_OPTS_FILE=/run/flannel-docker/options.env \
	faults:CLUSTER_COLLECTION=1 day2

# The flanneld pin lives in one place: the flannel role's defaults.
FLANNEL_VERSION := $(shell sed -n 's/^flannel_version: *"\{0,1\}\(v[0-9][0-9.]*\)"\{0,1\}.*/\1/p' roles/flannel/defaults/main.yml)
FLANNELD := $(CACHE_DIR)/flanneld/$(FLANNEL_VERSION)/flanneld

# The day-2 scenario's versions (lab only): etcd is installed from release-shaped
# archives built from etcd's Go modules (scripts/build-etcd.sh) and upgraded from
# ETCD_OLD to ETCD_NEW, adjacent minor releases; flanneld from FLANNEL_OLD to the
# pin above. They reach the scenario through the environment.
ETCD_OLD := 3.5.35
ETCD_NEW := 3.6.16
FLANNEL_OLD := v0.28.4
ETCD_ARCHIVES := $(foreach v,$(ETCD_OLD) $(ETCD_NEW),$(CACHE_DIR)/etcd/etcd-v$(v)-linux-amd64.tar.gz)
FLANNELD_OLD := $(CACHE_DIR)/flanneld/$(FLANNEL_OLD)/flanneld

# Docker 29 for the lab (lab/engines.py, lab/dockerce.py): dockerd and docker-proxy
# built from moby's Go module, whose v2.0.0-beta.N versions are the 29.x engines.
MOBY_MODULE := v2.0.0-beta.24
MOBY_ENGINE := 29.8.1
DOCKERD := $(CACHE_DIR)/dockerd/$(MOBY_ENGINE)

export FLAB_DOCKERD := $(DOCKERD)
export FLAB_ETCD_OLD := $(ETCD_OLD)
export FLAB_ETCD_NEW := $(ETCD_NEW)
export FLAB_FLANNEL_OLD := $(FLANNEL_OLD)
export FLAB_FLANNEL_NEW := $(FLANNEL_VERSION)
export FLAB_CACHE := $(CACHE_DIR)
export FLAB_FLANNELD := $(FLANNELD)
export PATH := $(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

.PHONY: help setup venv host-deps flanneld dockerd day2-artifacts lint unit plan collection lab-up lab-down lab-status molecule test check demo bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

setup: venv host-deps flanneld dockerd ## venv with the pinned tools, lab packages, flanneld and dockerd builds

venv: $(VENV)/.installed ## the project venv with requirements.txt
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

host-deps: ## Debian packages the lab needs on this machine (only what is missing)
	scripts/host-deps.sh

flanneld: $(FLANNELD) ## build flanneld $(FLANNEL_VERSION) from its Go module (cached)
$(FLANNELD): scripts/build-flanneld.sh
	scripts/build-flanneld.sh $(FLANNEL_VERSION) $@

dockerd: $(DOCKERD)/dockerd ## build Docker $(MOBY_ENGINE)'s dockerd and docker-proxy from moby's Go module (cached)
$(DOCKERD)/dockerd: scripts/build-dockerd.sh
	scripts/build-dockerd.sh $(MOBY_MODULE) $(MOBY_ENGINE) $(DOCKERD)

day2-artifacts: $(ETCD_ARCHIVES) $(FLANNELD_OLD) ## etcd $(ETCD_OLD) and $(ETCD_NEW) archives, flanneld $(FLANNEL_OLD) (cached)
$(CACHE_DIR)/etcd/etcd-v%-linux-amd64.tar.gz: scripts/build-etcd.sh
	scripts/build-etcd.sh $* $(CACHE_DIR)/etcd
$(FLANNELD_OLD): scripts/build-flanneld.sh
	scripts/build-flanneld.sh $(FLANNEL_OLD) $@

lint: venv ## yamllint, ansible-lint (production, offline), ruff
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --offline -q
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: venv ## pytest: unit and controller-side tests
	$(BIN)/pytest -q tests

# make plan: ansible.cfg's inventory unless INVENTORY is given; ARGS='-e k=v ...' is
# passed on; exits non-zero when the plan has errors.
plan: venv ## print the flannel plan (INVENTORY=..., ARGS='-e ...'); touches no host
	$(BIN)/ansible-playbook $(if $(filter command line environment,$(origin INVENTORY)),-i $(INVENTORY)) playbooks/plan.yml $(ARGS)

collection: venv ## build dist/flannel_ansible-flannel-<version>.tar.gz (version: galaxy.yml)
	$(BIN)/python scripts/build_collection.py

lab-up: setup ## boot the lab: N=3 RELEASE=trixie
	$(BIN)/python -m lab up --hosts $(N) --release $(RELEASE) --flanneld $(FLANNELD)

lab-down: ## remove the lab and anything a killed run left
	$(PYTHON) -m lab down

lab-status: ## show the lab's hosts
	$(PYTHON) -m lab status

molecule: setup day2-artifacts ## every molecule scenario on the lab
	@mkdir -p $(CACHE_DIR)/logs; for run in $(SCENARIOS); do \
	  s=$${run%%:*}; vars=""; \
	  if [ "$$s" != "$$run" ]; then vars=$$(echo "$${run#*:}" | tr ',' ' '); fi; \
	  log=$(CACHE_DIR)/logs/molecule-$$(echo "$$run" | tr ':=,/' '----').log; \
	  echo "=== $$vars molecule test -s $$s (log: $$log)"; start=$$(date +%s); \
	  env $$vars $(BIN)/molecule test -s $$s 2>&1 | tee "$$log" || { \
	    echo "=== $$run FAILED; the last errors in its log ($$log; expected failures included):"; \
	    grep -n -E "fatal: |UNREACHABLE|^\[ERROR\]|^E  " "$$log" | tail -15 | cut -c1-400; exit 1; }; \
	  skip=$$(sed -n 's/^SKIP (kernel): //p' "$$log" | head -1); \
	  if [ -n "$$skip" ]; then echo "=== $$run SKIPPED in $$(( $$(date +%s) - start ))s: $$skip"; \
	  else echo "=== $$run passed in $$(( $$(date +%s) - start ))s"; fi; \
	done

test: setup ## the whole suite; leaves nothing running
	@start=$$(date +%s); rc=0; \
	$(MAKE) --no-print-directory lab-down >/dev/null 2>&1 || true; \
	$(MAKE) --no-print-directory lint unit molecule || rc=$$?; \
	$(MAKE) --no-print-directory lab-down || rc=$${rc:-1}; \
	echo "make test: $$([ $$rc -eq 0 ] && echo PASSED || echo FAILED) in $$(( $$(date +%s) - start ))s"; \
	exit $$rc

check: setup ## the inner loop: lint, unit tests and one full-cluster scenario (trixie)
	@start=$$(date +%s); rc=0; \
	$(MAKE) --no-print-directory lab-down >/dev/null 2>&1 || true; \
	$(MAKE) --no-print-directory lint unit molecule SCENARIOS=cluster:LAB_RELEASE=trixie,CLUSTER_COLLECTION=1 || rc=$$?; \
	$(MAKE) --no-print-directory lab-down || rc=$${rc:-1}; \
	echo "make check: $$([ $$rc -eq 0 ] && echo PASSED || echo FAILED) in $$(( $$(date +%s) - start ))s"; \
	exit $$rc

demo: lab-up ## boot a 3-host lab and run site.yml on it
	$(BIN)/ansible-playbook -i $(INVENTORY) site.yml

bench: setup ## measure converge, scale and data plane on the lab: reports/bench.{json,md}
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

clean: lab-down ## remove the lab, the build caches and dist/
	rm -rf $(CACHE_DIR) dist
