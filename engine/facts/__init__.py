"""Fact files -> validated bundles: the fact-bundle schema and the reader."""
