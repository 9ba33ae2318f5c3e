"""emotag: multi-label emotion classification for short social-media text."""

__version__ = "0.1.0"
