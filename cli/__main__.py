"""`python -m carepolicy.cli`: the same as the `carepolicy` command."""

from .entry import main

main()
