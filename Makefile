# Two entry points on a fresh machine: `make demo` and `make test`.
# Everything installs into a virtual environment of its own (.venv); nothing relies on
# what happens to be installed on the machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.test-installed
DEMO_DIR ?= demo-out

.PHONY: demo test bench bench-models clean fixtures fuzz crash stress check-box-muller

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

# Test dependencies include real TensorFlow (tensorflow-cpu), the oracle for interop
# tests. The flowsaver package itself never imports it.
# tf.compat.v1.layers live in tf-keras (Keras 2), the oracle for the layers tests. It asks
# for the "tensorflow" distribution, which tensorflow-cpu provides under another name:
# installed without dependencies so that pip does not fetch a second TensorFlow.
$(TEST_STAMP): $(STAMP)
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps 'tf-keras==2.21.0'
	touch $@

demo: $(STAMP)
	$(PY) examples/demo.py $(DEMO_DIR)
	$(VENV)/bin/flowsaver inspect $(DEMO_DIR)
	$(VENV)/bin/flowsaver verify $(DEMO_DIR)

# The whole suite with compiled plans, then the op, session and training tests again with
# every plan run by the reference interpreter loop: both must give the same results.
INTERPRETED_TESTS := tests/ops tests/runtime tests/train tests/interop/test_math_ops_tf.py \
	tests/interop/test_array_ops_tf.py tests/interop/test_nn_ops_tf.py \
	tests/interop/test_training_tf.py tests/interop/test_gradients_tf.py \
	tests/interop/test_lstm_training_tf.py tests/interop/test_sampler_tf.py \
	tests/interop/test_unread_ops_tf.py tests/interop/test_space_batch_depth_tf.py

test: $(TEST_STAMP)
	$(PY) -m pytest
	FLOWSAVER_EXECUTOR=interpreter $(PY) -m pytest $(INTERPRETED_TESTS)

# The exhaustive checks of the float Box-Muller: the fast path against the step-by-step
# replica of glibc's logf/sincosf on all 2**23 inputs of each (a few seconds), then the
# replica against this machine's C library on the same inputs (about a minute; glibc only).
check-box-muller: $(STAMP)
	PYTHONPATH=. $(PY) tools/check_box_muller.py
	PYTHONPATH=. $(PY) tools/check_libm_float.py

# The fuzzing campaign (tools/fuzz): FUZZ_INPUTS mutated files for each of the readers'
# targets, each read in a forked child under a time and memory cap; fails on anything
# but clean reads and typed errors, keeping the findings' files in fuzz-findings/.
FUZZ_INPUTS ?= 100000
FUZZ_JOBS ?= 2
fuzz: $(TEST_STAMP)
	$(PY) -m tools.fuzz --inputs $(FUZZ_INPUTS) --jobs $(FUZZ_JOBS)

# The kill campaign (tools/crash): CRASH_KILLS SIGKILLs at chosen points of Saver.save
# loops and at random moments, for each store in CRASH_STORE; fails on any damaged latest
# checkpoint. local: mid-write, around each rename, during retention, in CRASH_DIR
# (default: a fresh temporary directory). s3: a moto S3 server on 127.0.0.1 started by
# the campaign; kills before, after and in the middle of each PUT of the commit protocol
# and around retention DELETEs, in CRASH_S3_URL (default: s3://<fresh bucket>/run).
CRASH_KILLS ?= 240
CRASH_STORE ?= local s3
crash: $(TEST_STAMP)
	set -e; for store in $(CRASH_STORE); do \
	  if [ $$store = s3 ]; then where="$(if $(CRASH_S3_URL),--dir $(CRASH_S3_URL))"; \
	  else where="$(if $(CRASH_DIR),--dir $(CRASH_DIR))"; fi; \
	  $(PY) -m tools.crash --store $$store --kills $(CRASH_KILLS) $$where; done

bench: $(TEST_STAMP)
	$(PIP) install -q -e '.[bench]'
	$(PY) bench/bench_bundle.py

# Two Savers with different prefixes in one directory, thousands of saves each: zero
# failures expected (the suite runs a few hundred).
stress: $(TEST_STAMP)
	PYTHONPATH=. $(PY) bench/stress_two_savers.py

# Real models and the Saver vs TensorFlow, idle and beside two busy processes (~20 min).
bench-models: $(TEST_STAMP)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) bench/bench_models.py --memory --write
	$(PY) bench/bench_saver.py --busy --write

# Regenerate the committed fixtures with real TensorFlow.
fixtures: $(TEST_STAMP)
	$(PY) tests/fixtures/make_fixtures.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .hypothesis fuzz-findings
