# The two commands of the README, and their parts.
#   make run    install dependencies, build, run the main job on the default model
#   make test   install dependencies, build, run every test
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PYTHON := /usr/bin/python3
RUN_MODEL ?= $(BUILD)/models/tiny-random

.PHONY: deps configure build run test test-fast test-slow test-sanitize clean model

deps:
	@scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS); fi

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: the shipped reasoning model (models/frugal-r1-tiny, built by
# `make model`) answers a Countdown problem, its thinking shown apart from the
# answer; interactive chat when stdin is a terminal. Until that model is
# committed, a small random-weight model runs the same pipeline (meaningless tokens).
SHIPPED_MODEL := models/frugal-r1-tiny
SAMPLE_PROBLEM := Using the numbers [3, 5, 7], create an equation that equals 22. You can use basic arithmetic operations (+, -, *, /) and each number must be used exactly once. Think it through in <think> </think> and give the equation in <answer> </answer>.
run: build
	@if [ -f $(SHIPPED_MODEL)/config.json ]; then \
	  if [ -t 0 ]; then $(BUILD)/frugal chat -m $(SHIPPED_MODEL); \
	  else $(BUILD)/frugal run -m $(SHIPPED_MODEL) -p "$(SAMPLE_PROBLEM)" --temperature 1 --seed 12 --max-tokens 256; fi; \
	else \
	  if [ ! -f $(RUN_MODEL)/config.json ]; then $(BUILD)/frugal synth --like tiny --seed 1 -o $(RUN_MODEL); fi; \
	  echo "frugal run: no trained model in $(SHIPPED_MODEL) yet (make model builds it); $(RUN_MODEL) has RANDOM weights"; \
	  $(BUILD)/frugal run -m $(RUN_MODEL) --tokens "0 17 42 99 7" --max-tokens 32 --temperature 0.8 --seed 1; \
	fi

# Every test, then the fast ones again under ASan + UBSan (CONVENTIONS.md, Tests 6).
test: build
	@cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 900
	@$(MAKE) --no-print-directory test-sanitize

test-sanitize: deps
	@if [ ! -f $(BUILD)-asan/build.ninja ]; then cmake -S . -B $(BUILD)-asan -G Ninja -DFRUGAL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug; fi
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@cd $(BUILD)-asan && ctest -j $(JOBS) -L fast --output-on-failure --timeout 900

test-fast: build
	@cd $(BUILD) && ctest -j $(JOBS) -L fast --output-on-failure

test-slow: build
	@cd $(BUILD) && ctest -j $(JOBS) -L slow --output-on-failure

# The shipped reasoning model from scratch (hours on 2 cores; resumable: run it again).
model: build
	@scripts/make-model.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan
