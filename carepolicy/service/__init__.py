"""The HTTP service behind `carepolicy serve` (needs the `serve` extra): see app.py."""
