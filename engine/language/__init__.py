"""Policy text -> AST: sources and spans, the grammar's parser, the AST and the value types."""
