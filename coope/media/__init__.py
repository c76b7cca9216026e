"""Audio in and out of calls: sources to publish, a mixer and sinks for what is heard.

`coope.media.sources` (a WAV file, the microphone), `coope.media.sinks` (a mixer writing to a
WAV file or the speakers), `coope.media.levels` (who is speaking), `coope.media.devices`
(whether this machine has a microphone and speakers at all). Everything here works on 48 kHz,
16-bit PCM in 20 ms frames, the rate Opus runs at in calls. Heavy modules (numpy, aiortc,
sounddevice) are imported by the submodules, not by this package.
"""
