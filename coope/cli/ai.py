"""coope ai chat|history|clear: chat with a model, the conversation kept on this machine.

The server is OpenAI (COOPE_OPENAI_API_KEY) or any OpenAI-compatible one
(COOPE_OPENAI_BASE_URL); COOPE_CHAT_MODEL picks the model. openai, tinydb and rich are
imported inside the commands, so that `coope --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from coope.cli import output, runtime
from coope.core.errors import CoopeError, InvalidInput

if TYPE_CHECKING:
    from rich.console import Console

    from coope.notes.ai_chat import ChatHistory, ChatMessage
    from coope.notes.settings import NotesSettings

app = typer.Typer(
    help="Chat with an AI model: OpenAI, or a compatible server (COOPE_OPENAI_BASE_URL).",
    no_args_is_help=True,
)

PromptArg = Annotated[
    str | None,
    typer.Argument(
        help="Ask this once and exit. Without it: chat until an empty line, Ctrl-D or Ctrl-C."
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(help="The chat model (default: COOPE_CHAT_MODEL, else gpt-4o-mini)."),
]
ContextOpt = Annotated[
    int | None,
    typer.Option(
        "--context-tokens",
        envvar="COOPE_AI_CONTEXT_TOKENS",
        show_envvar=True,
        min=0,
        metavar="N",
        help="At most this many tokens of the kept history go along as context, the newest"
        " turns first (estimated as characters / 4; 0: none). Default: 4000.",
    ),
]


@app.command()
@runtime.command(login=None)
def chat(
    json: bool,
    prompt: PromptArg = None,
    model: ModelOpt = None,
    context_tokens: ContextOpt = None,
) -> None:
    """Chat with the model. The newest kept messages that fit --context-tokens are sent along
    as context; replies are kept. Interactive, the line can be edited, and the arrows bring
    back lines typed before (kept in the data dir, mode 0600).

    Needs COOPE_OPENAI_API_KEY (OpenAI) or COOPE_OPENAI_BASE_URL (a compatible server).
    """
    from coope.notes import openai_api
    from coope.notes.ai_chat import ChatHistory
    from coope.notes.settings import NotesSettings

    settings = NotesSettings.from_env()
    openai_api.require_configured(settings)
    chosen = model or settings.chat_model
    history = ChatHistory()
    if prompt is None and json:
        raise InvalidInput("--json needs a PROMPT: the interactive chat is for people")
    if prompt is not None and not prompt.strip():
        raise InvalidInput("the prompt is empty")
    # A plain function, not a coroutine: it waits on the keyboard and on a streamed reply, and
    # Ctrl-C must interrupt it where it is, not at an event loop's next turn.
    turn = _Turn(settings, history, chosen, context_tokens)
    if prompt is None:
        _interactive(turn)
        return
    reply = turn.exchange(prompt, show=not json)
    if json:
        output.emit_json({"reply": reply, "model": chosen})


@app.command()
@runtime.command(login=None)
def history(json: bool) -> None:
    """Show the kept conversation: the last 7 days, at most 100 messages."""
    from coope.notes.ai_chat import ChatHistory

    messages = ChatHistory().messages()
    if json:
        output.emit_json([_message_json(m) for m in messages])
        return
    if not messages:
        output.note("no AI chat history")
        return
    from rich.markdown import Markdown

    for message in messages:
        who = "you" if message.role == "user" else (message.model or "assistant")
        output.info(f"[bold]{output.escape(who)}[/bold] [dim]{_when(message.at)}[/dim]")
        if message.role == "user":
            output.info(output.escape(message.content))
        else:
            output.print_renderable(Markdown(message.content))
        output.info("")


@app.command()
@runtime.command(login=None)
def clear(json: bool) -> None:
    """Forget the AI chat history (an unreadable history file too)."""
    from coope.notes.ai_chat import ChatHistory

    count = ChatHistory().clear()
    output.done(json, {"cleared": count}, f"forgot {count} message{'s' if count != 1 else ''}")


def _interactive(turn: _Turn) -> None:
    from coope.cli.ai_prompt import Prompt

    console = _console()
    prompt = Prompt(styled=console.is_terminal and not console.no_color)
    console.print(f"[dim]{output.escape(turn.model)}: an empty line or Ctrl-D ends the chat[/dim]")
    while True:
        try:
            line = prompt.ask()
        except (EOFError, KeyboardInterrupt):
            console.print()  # end the prompt's line
            return
        if not line.strip():
            return
        try:
            turn.exchange(line, show=True)
            console.print()  # a blank line between a reply and the next prompt
        except KeyboardInterrupt:
            console.print("[dim](interrupted)[/dim]")
            return
        except CoopeError as exc:
            # One failed turn (a server hiccup) need not end the conversation.
            output.error(exc.message)


@dataclass
class _Turn:
    """What every turn of one chat shares: where to ask, what to keep, how much context."""

    settings: NotesSettings
    history: ChatHistory
    model: str
    context_tokens: int | None

    def exchange(self, prompt: str, *, show: bool) -> str:
        """Ask, show the reply while it streams (if `show`), and keep both turns."""
        from coope.notes.ai_chat import stream_reply

        pieces = stream_reply(
            self.settings,
            self.history.messages(),
            prompt,
            self.model,
            context_tokens=self.context_tokens,
        )
        reply = _show_streaming(pieces) if show else "".join(pieces)
        # Kept only once the reply is complete: a failed turn leaves no question without answer.
        self.history.add_exchange(prompt, reply, model=self.model)
        return reply


def _show_streaming(pieces: Iterator[str]) -> str:
    """Markdown redrawn live on a terminal; elsewhere (a pipe, a file) the raw text as it comes."""
    import sys

    console = _console()
    text = ""
    if not console.is_terminal:
        for piece in pieces:
            text += piece
            sys.stdout.write(piece)
            sys.stdout.flush()
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        return text
    from rich.live import Live
    from rich.markdown import Markdown

    with Live(Markdown(""), console=console, refresh_per_second=10) as live:
        for piece in pieces:
            text += piece
            live.update(Markdown(output.visible(text)))  # a model's text is untrusted too
    return text


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, emoji=False)


def _message_json(message: ChatMessage) -> dict[str, object]:
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(message.at, UTC).isoformat()
    return {"role": message.role, "content": message.content, "at": at, "model": message.model}


def _when(at: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")
