"""The `carepolicy` command line: thin click commands over the engine API (carepolicy.engine).

Each command parses its options, calls the engine, renders the result and returns an exit code
(see `exit_codes.py`). The engine is imported inside the command functions, so `carepolicy --help`
does not pay for lark, PyYAML and jsonschema.
"""
