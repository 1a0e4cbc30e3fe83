# netport developer set-up. README's two commands are all a newcomer needs:
#   make demo   build the environments if needed, then run the main job on the bundled examples
#   make test   build the environments if needed, then run the whole test suite
# Each environment is rebuilt only when pyproject.toml or requirements/constraints.txt changes.

PYTHON ?= python3.11
VENV := .venv
VENV_CHAINER5 := .venv-chainer5
VENV_LEGACY := .venv-legacy
PYTEST_ARGS ?=

# Install traps, solved here rather than in the user's head (see requirements/constraints.txt):
# setuptools<81 for Chainer's build, numpy<2 for Chainer, torch pinned to the local CPU build.
export PIP_CONSTRAINT := $(CURDIR)/requirements/constraints.txt
# Chainer 7 imports numpy.distutils, which fails under setuptools>=74 (which torch 2.13 wants)
# unless setuptools is told to leave the standard library's distutils alone.
export SETUPTOOLS_USE_DISTUTILS := stdlib
export PIP_DISABLE_PIP_VERSION_CHECK := 1

STAMP := .netport-installed
DEPS := pyproject.toml requirements/constraints.txt $(wildcard requirements/*.pth)
PIP_QUIET := --quiet
SITE_PACKAGES = sh -c '$$0/bin/python -c "import sysconfig; print(sysconfig.get_paths()[\"purelib\"])"'

.PHONY: demo test envs clean-envs

envs: $(VENV)/$(STAMP) $(VENV_CHAINER5)/$(STAMP) $(VENV_LEGACY)/$(STAMP)

# Main environment: netport (editable, with dev tools), Chainer 7.8.1 and torch 2.13.0.
$(VENV)/$(STAMP): $(DEPS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) 'numpy<2' chainer==7.8.1 torch==2.13.0
	$(VENV)/bin/pip install $(PIP_QUIET) -e '.[dev]'
	@# The variable above only lives in make; this start-up shim makes `import chainer` work in
	@# .venv for anyone (requirements/README.md).
	cp requirements/chainer7-stdlib-distutils.pth "$$($(SITE_PACKAGES) $(VENV))/00-netport-stdlib-distutils.pth"
	touch $@

# Chainer 5.4.0: the version migrated code is checked on (the seed question's version).
$(VENV_CHAINER5)/$(STAMP): $(DEPS)
	$(PYTHON) -m venv $(VENV_CHAINER5)
	$(VENV_CHAINER5)/bin/pip install $(PIP_QUIET) 'numpy<2' chainer==5.4.0
	$(VENV_CHAINER5)/bin/pip install $(PIP_QUIET) --no-deps -e .
	touch $@

# Chainer 1.24.0, the last v1: ground truth for what a legacy program computes.
$(VENV_LEGACY)/$(STAMP): $(DEPS)
	$(PYTHON) -m venv $(VENV_LEGACY)
	$(VENV_LEGACY)/bin/pip install $(PIP_QUIET) 'numpy<2' chainer==1.24.0
	$(VENV_LEGACY)/bin/pip install $(PIP_QUIET) --no-deps -e .
	@# Chainer 1.24 predates Python 3.10's removal of collections.Iterable (requirements/README.md).
	cp requirements/chainer1-py311-compat.pth "$$($(SITE_PACKAGES) $(VENV_LEGACY))/00-netport-chainer1-compat.pth"
	touch $@

DEMO_OUT := build/demo
DEMO_SAE_ARGS := --unit 256,64,2 --epoch_pre 2 --epoch_fine 2 --n_train 2000
# a 2-D code, relu layers with a linear code layer and a sigmoid output: about 20 s on 2 cores
DEMO_TRAIN_SAE_ARGS := --units 256,64,2 --activation relu --linear-code --output-activation sigmoid --loss bce \
  --epochs-pre 2 --epochs-fine 20 --device cpu

demo: $(VENV)/$(STAMP) $(VENV_LEGACY)/$(STAMP)
	@echo "== netport $$($(VENV)/bin/netport --version)"
	@echo "== the embedded MNIST subset"
	$(VENV)/bin/netport mnist-info
	@echo
	@echo "== legacy_examples/mnist_sae on real Chainer 1.24 (tiny settings, embedded data)"
	cd legacy_examples/mnist_sae && ../../$(VENV_LEGACY)/bin/python train_mnist_sae.py \
	  $(DEMO_SAE_ARGS) --out ../../$(DEMO_OUT)/legacy_sae
	@echo
	@echo "== netport run: the same program, unchanged, on Chainer 7.8.1 (migrated in memory, nothing written): same losses"
	cd legacy_examples/mnist_sae && $(CURDIR)/$(VENV)/bin/python -W ignore -m netport run -q train_mnist_sae.py \
	  $(DEMO_SAE_ARGS) --out ../../$(DEMO_OUT)/run_sae
	@echo
	@echo "== netport migrate legacy_examples/mnist_sae (Chainer v1 -> Chainer 5+): report and diff summary"
	rm -rf $(DEMO_OUT)/mnist_sae_chainer
	$(VENV)/bin/netport migrate legacy_examples/mnist_sae -o $(DEMO_OUT)/mnist_sae_chainer \
	  --report $(DEMO_OUT)/mnist_sae_chainer.report.txt
	@grep "^by rule" $(DEMO_OUT)/mnist_sae_chainer.report.txt
	@echo "(every change, by line: $(DEMO_OUT)/mnist_sae_chainer.report.txt;" \
	  "the diff: diff -ru legacy_examples/mnist_sae $(DEMO_OUT)/mnist_sae_chainer)"
	@echo
	@echo "== the migrated SAE on Chainer 7.8.1, same settings: the same losses as on Chainer 1.24"
	cd $(DEMO_OUT)/mnist_sae_chainer && $(CURDIR)/$(VENV)/bin/python -W ignore train_mnist_sae.py \
	  $(DEMO_SAE_ARGS) --out ../migrated_sae
	@echo
	@echo "== netport migrate --to torch: the SAE as a PyTorch program"
	rm -rf $(DEMO_OUT)/mnist_sae_torch
	$(VENV)/bin/netport migrate legacy_examples/mnist_sae --to torch -o $(DEMO_OUT)/mnist_sae_torch \
	  --report $(DEMO_OUT)/mnist_sae_torch.report.txt
	@grep "^by rule" $(DEMO_OUT)/mnist_sae_torch.report.txt
	cd $(DEMO_OUT)/mnist_sae_torch && $(CURDIR)/$(VENV)/bin/python train_mnist_sae.py \
	  $(DEMO_SAE_ARGS) --out ../torch_sae
	@echo
	@echo "== netport verify: legacy SAE on Chainer 1.24 vs the torch migration, same weights, layer by layer"
	$(VENV)/bin/netport verify tests/verify/factories/legacy_sae.py:build \
	  tests/verify/factories/torch_migrated_sae.py:build --input-shape 8,784 --legacy-python $(VENV_LEGACY)/bin/python
	$(VENV)/bin/netport convert-weights $(DEMO_OUT)/legacy_sae/sae.model -o $(DEMO_OUT)/legacy_sae.pt > /dev/null
	@echo
	@echo "== netport check-shapes: the pretraining bug of legacy_examples/mnist_sae_pretrain_bug, found without running it"
	-$(VENV)/bin/netport check-shapes legacy_examples/mnist_sae_pretrain_bug/train_mnist_sae.py --chainer-version 1.24
	@echo "(exit status 1 above means: errors found, as expected)"
	@echo
	@echo "== the same bug confirmed by running the program tiny on Chainer 1.24 with synthetic data (--run)"
	-$(VENV)/bin/netport check-shapes legacy_examples/mnist_sae_pretrain_bug/train_mnist_sae.py --run \
	  --python $(VENV_LEGACY)/bin/python | grep -E "error\[|raised|hint|check-shapes"
	@echo
	@echo "== netport train-sae: instead of porting a trainer, import one (greedy pretraining, then fine-tuning)"
	$(VENV)/bin/netport train-sae $(DEMO_TRAIN_SAE_ARGS) --no-progress --out $(DEMO_OUT)/train_sae
	@echo
	@echo "== netport doctor: why a program does not learn (raw 0-255 pixels into a sigmoid layer, read, then run)"
	-$(VENV)/bin/netport doctor tests/doctor/fixtures/q4_raw_pixels_sigmoid.py
	-$(VENV)/bin/netport doctor --run tests/doctor/fixtures/q4_raw_pixels_sigmoid.py
	@echo "== netport doctor --gradcheck: a hand-written XOR backprop whose bias update is wrong"
	-$(VENV)/bin/netport doctor --gradcheck tests/doctor/fixtures/xor_backprop_bias_bug.py
	@echo "(exit status 1 above means: warnings found, as expected)"

# pytest exits 5 when it collects nothing; say so loudly instead of failing the run.
test: envs
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests"; rc=0; fi; exit $$rc

clean-envs:
	rm -rf $(VENV) $(VENV_CHAINER5) $(VENV_LEGACY)
