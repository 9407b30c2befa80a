"""The Distribution API: one HTTP transport, auth, credentials, hosts (TLS, mirrors), client, Hub search."""
