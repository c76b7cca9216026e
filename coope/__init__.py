"""Coope: terminal-first real-time collaboration around one daemon."""

__version__ = "0.1.0"
