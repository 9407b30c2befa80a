"""dockyard: a daemonless, Docker-compatible container image manager."""

__version__ = "0.1.0"

__all__ = ["__version__"]
