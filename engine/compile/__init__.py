"""Checked policy set -> compiled form: expressions, month plans and generated code."""
