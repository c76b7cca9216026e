"""Whether this machine can record and play sound: the PortAudio library and its devices.

`sounddevice` loads PortAudio when imported and raises `OSError` without it, so it is only
imported here, on demand, and the failure becomes an `Unavailable` that says what to do.
"""

from __future__ import annotations

from types import ModuleType

from coope.core.errors import Unavailable

FILES_HINT = "use --input FILE.wav --output FILE.wav to call with audio files"
PORTAUDIO_MISSING = (
    "the PortAudio library was not found, so there is no microphone or speaker: install it"
    f" (apt-get install libportaudio2) or {FILES_HINT}"
)
_DEVICE_NAMES = {"input": "input device (microphone)", "output": "output device (speaker)"}


def no_device_message(kinds: list[str]) -> str:
    """The message for missing devices, `kinds` being "input" and/or "output"."""
    names = " and no ".join(_DEVICE_NAMES[k] for k in kinds)
    return f"no audio {names} was found: {FILES_HINT}"


def load_sounddevice() -> ModuleType:
    """The `sounddevice` module, or `Unavailable` naming the missing PortAudio library."""
    try:
        import sounddevice  # type: ignore[import-untyped]
    except OSError as exc:
        raise Unavailable(PORTAUDIO_MISSING) from exc
    module: ModuleType = sounddevice
    return module


def missing_audio_device(kind: str) -> str | None:
    """Why the default `kind` device ("input" or "output") cannot be used, in a few words
    ("no audio output device (speaker) was found"), or None when it can."""
    try:
        sd = load_sounddevice()
    except Unavailable:
        return "the PortAudio library was not found"
    try:
        sd.query_devices(kind=kind)
    except sd.PortAudioError:
        return f"no audio {_DEVICE_NAMES[kind]} was found"
    return None


def require_audio_devices(*, input: bool = True, output: bool = True) -> None:
    """Raise `Unavailable` with a message naming what is missing: the PortAudio library, the
    default input device (when `input`) or the default output device (when `output`).

    Args:
        input: A microphone is needed.
        output: A speaker is needed.
    """
    if not (input or output):
        return
    sd = load_sounddevice()
    wanted = [kind for kind, needed in (("input", input), ("output", output)) if needed]
    missing = []
    for kind in wanted:
        try:
            sd.query_devices(kind=kind)
        except sd.PortAudioError:
            missing.append(kind)
    if missing:
        raise Unavailable(no_device_message(missing))
