"""OCI and Docker image nouns: media types, descriptors, manifests, indexes, configs, platforms (pure)."""
