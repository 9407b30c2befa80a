"""The command-line front end: docker's flag grammar, one module per command group, rendering only."""
