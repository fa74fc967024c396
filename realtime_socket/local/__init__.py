"""The local runtime: what the stack program declares, served on localhost with AWS semantics."""
