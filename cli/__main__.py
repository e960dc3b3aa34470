"""`python -m carepolicy.cli`: the same as the `carepolicy` command."""

from .main import main

main()
