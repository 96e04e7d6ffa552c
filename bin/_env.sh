# Shared by bin/run and bin/test: a virtual environment with the locked packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  "$PYTHON" -m venv .venv
fi
# The development lock: the run-time packages (requirements.lock) plus the test and lint tools.
# Reinstall only when a lock file changed since the last install.
stamp=.venv/.requirements.sha256
want="$(sha256sum requirements.lock requirements-dev.lock | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing packages from requirements-dev.lock ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements-dev.lock
  echo "$want" > "$stamp"
fi
# Our own Python client (clients/python: the `hailuo` package, CLI and MCP server), installed editable from
# this checkout. Reinstalled when its pyproject.toml changes, or when the environment points at another checkout.
client_stamp=.venv/.hailuo-client.sha256
if [ -f clients/python/pyproject.toml ]; then
  want_client="$( (sha256sum clients/python/pyproject.toml; echo "$ROOT") | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$client_stamp" 2>/dev/null)" != "$want_client" ]; then
    echo "Installing the hailuo client package from clients/python ..."
    .venv/bin/python -m pip install --quiet --no-deps -e clients/python
    echo "$want_client" > "$client_stamp"
  fi
fi
export DEBUG="${DEBUG:-1}"
