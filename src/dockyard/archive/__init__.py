"""Images in files: docker-save and OCI archives (save, load), OCI layout directories, rootfs import."""
