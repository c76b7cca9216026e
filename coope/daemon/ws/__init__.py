"""Websocket transport: the per-client event stream (and, later, signalling and document sync)."""
