"""coope call ...: join a room's call from the terminal (audio), list live calls, share a link.

Rooms are named as in `coope chat`: `@alice`, `#team` or a room id. Audio comes from the
microphone and goes to the speakers (PortAudio), or from and to WAV files with --input and
--output, which needs no sound hardware at all. With one file and no device for the other side
(a bot that only speaks or only listens), silence is sent or what is heard is discarded, and a
warning says so.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.cli.args import RoomArg
from coope.cli.audio_args import DeviceOpt, InputOpt, OutputOpt
from coope.client.names import room_label
from coope.core.errors import InvalidInput

if TYPE_CHECKING:
    from coope.cli.call_view import CallView
    from coope.client import CoopeClient
    from coope.core.social_schemas import RoomOut
    from coope.media.call_audio import CallAudio

app = typer.Typer(help="Calls: join a room's call, list live calls.", no_args_is_help=True)

REFRESH_S = 0.2  # the live view, and how often speaking is checked


@app.command()
@runtime.command
async def join(
    client: CoopeClient,
    json: bool,
    room: RoomArg,
    audio_only: Annotated[
        bool,
        typer.Option(
            "--audio-only/--video",
            help="Audio only (the default). --video is refused for now: video from a terminal"
            " is not supported yet.",
        ),
    ] = True,
    input: InputOpt = None,
    output_file: OutputOpt = None,
    device: DeviceOpt = None,
    takeover: Annotated[
        bool,
        typer.Option("--takeover", help="Move the call here if you are in it on another device."),
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option(min=0.0, help="Leave after this many seconds (for scripts and bots)."),
    ] = None,
) -> None:
    """Join the call in a room and talk until Ctrl-C (or --duration).

    Shows who is in the call and who is speaking (with --json: call events as JSON lines).

    Without --input and --output: needs PortAudio (apt-get install libportaudio2) and devices.
    With one of them, a missing device on the other side means silence sent, or nothing played.
    """
    from coope.media.call_audio import CallAudio, open_sink, open_source
    from coope.media.choice import AudioChoice, parse_device

    if not audio_only:
        raise InvalidInput("--video: video from a terminal is not supported yet; calls are audio")
    choice = AudioChoice(input, output_file, parse_device(device))
    choice.check()
    # A file that cannot be played fails before any network.
    source = open_source(choice, output.warning)
    try:
        target = await client.chat.resolve(room)
        sink = open_sink(choice, output.warning)
        audio = CallAudio(source, sink, asyncio.get_running_loop().time)
        await _talk(client, target, audio, takeover, duration, json)
    finally:
        source.stop()


async def _talk(
    client: CoopeClient,
    room: RoomOut,
    audio: CallAudio,
    takeover: bool,
    duration: float | None,
    json: bool,
) -> None:
    """Be in the call until the duration is up, SIGTERM, Ctrl-C, or the call ends us."""
    from coope.cli.call_view import CallView, emit_event
    from coope.core.events import CallConnected, CallConnectedData, Event

    loop = asyncio.get_running_loop()

    def on_event(event: Event) -> None:
        view.event(event)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        session = client.calls.join(
            room.id,
            takeover=takeover,
            audio=audio.source,
            on_audio=audio.on_audio,
            on_event=on_event,
        )
        view = CallView(session, room_label(room), audio.meter, json_lines=json, duration=duration)
        async with session:
            if json:
                connected = CallConnectedData(room_id=room.id, user=session.username)
                emit_event(CallConnected(data=connected))
            await session.run_until(
                audio.mixer.run(), _show_view(view), stop=stop, duration_s=duration
            )
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await audio.aclose()
    if not json:
        output.success(f"left the call in {room_label(room)}")


async def _show_view(view: CallView) -> None:
    """Keep the call on screen until cancelled."""
    from coope.cli.call_view import CallDisplay

    with CallDisplay(view) as display:
        while True:
            display.refresh()
            await asyncio.sleep(REFRESH_S)


@app.command("list")
@runtime.command
async def list_(client: CoopeClient, json: bool) -> None:
    """The calls going on in your rooms, and who is in them."""
    calls = await client.calls.list()
    labels = {r.id: room_label(r) for r in await client.chat.rooms()} if calls else {}
    if json:
        output.emit_json({"calls": calls})
    elif not calls:
        output.note("no calls going on in your rooms")
    else:
        output.table(
            ["room id", "room", "participants"],
            [
                [str(call.room_id), labels.get(call.room_id, "?"), ", ".join(call.participants)]
                for call in calls
            ],
        )


@app.command()
@runtime.command
async def link(client: CoopeClient, json: bool, room: RoomArg) -> None:
    """A link to the room's call for a browser: the server's URL, /call/, the room's id."""
    target = await client.chat.resolve(room)
    url = client.calls.link(target.id)
    if json:
        output.emit_json({"room_id": target.id, "url": url})
    else:
        output.info(output.escape(url))
