"""`python -m hailuo`: the `hailuo` command."""

from hailuo.cli import run

run()
