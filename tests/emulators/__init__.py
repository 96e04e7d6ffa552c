"""Loopback emulators of the providers' APIs, for tests and benchmarks.

Each emulator is a real HTTP server on 127.0.0.1 speaking the provider's
documented protocol, with in-memory jobs and switches for every error path.
Use them as context managers or through the pytest fixtures in
`tests.emulators.fixtures` (add `pytest_plugins = ["tests.emulators.fixtures"]`).
"""
