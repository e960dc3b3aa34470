"""Editor support: `carepolicy lsp`, a language server for rule files.

`analysis` checks a policy folder with the editor's unsaved texts laid over the files on disk;
`features` answers hover, definition, completion and outline from that analysis; `server` wires
both to the Language Server Protocol (pygls, stdio) over `protocol`, pygls's JSON-RPC corrected
where it departs from the protocol. Only `server` and `protocol` import pygls.
"""
