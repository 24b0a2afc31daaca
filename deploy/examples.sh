#!/usr/bin/env bash
# Installs what the example subscribers in examples/ need, for development and CI (called by
# `deploy/services.sh install examples|all`): the Python Kafka client and JSON Schema validator
# from PyPI, and the Go example's modules (franz-go) into the Go module cache, so the tests
# (packages/pipeline/test/subscribers.test.ts) can build and run both. Idempotent.
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$DEPLOY_DIR")"
KAFKA_PYTHON_VERSION="${HOPWATCH_KAFKA_PYTHON_VERSION:-3.0.12}"

log() { echo "examples: $*"; }
die() { echo "examples: error: $*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || die "python3 not found (the Python example needs it)"
if python3 -c "import kafka, jsonschema; assert kafka.__version__ == '$KAFKA_PYTHON_VERSION'" 2>/dev/null; then
  log "python: kafka-python $KAFKA_PYTHON_VERSION and jsonschema already installed"
else
  log "python: pip install kafka-python==$KAFKA_PYTHON_VERSION jsonschema"
  python3 -m pip install --quiet --disable-pip-version-check \
    "kafka-python==$KAFKA_PYTHON_VERSION" "jsonschema>=4.18,<5" || die "pip install failed"
fi

command -v go >/dev/null 2>&1 || die "go not found (the Go example needs it; install golang-go)"
log "go: module download for examples/subscriber-go"
(cd "$REPO_DIR/examples/subscriber-go" && go mod download) || die "go mod download failed"
