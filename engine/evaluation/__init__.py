"""Compiled policy set + bundle -> valid codes, the chosen coding, prices and shares."""
