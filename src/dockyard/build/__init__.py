"""Dockerfile parsing, shell-word expansion, change instructions and (later) the builder."""
