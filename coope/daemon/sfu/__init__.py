"""The SFU: calls whose media aiortc forwards between participants without re-encoding.

aiortc specifics (and its internals that forwarding relies on) stay inside this package.
"""
