"""The decision value, its JSON form, and its text rendering."""
