"""The AI chat pane, driven with the pilot against the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.content import Content
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input
from typer.testing import CliRunner

from coope.cli.main import app as cli_app
from coope.notes.ai_chat import ChatHistory
from coope.notes.openai_api import NOT_CONFIGURED
from coope.tui.ai_chat import AIChatPane
from coope.tui.dialogs import ConfirmScreen
from tests.notes.openai_server import FakeOpenAI
from tests.tui.conftest import until


class PaneApp(App[None]):
    """The smallest app that mounts the pane, as the TUI does: no arguments, settings from env."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: list[AIChatPane.ReplyFinished] = []
        self.cleared: list[AIChatPane.HistoryCleared] = []

    def compose(self) -> ComposeResult:
        yield AIChatPane()

    def on_mount(self) -> None:
        self.query_one(AIChatPane).focus()

    def on_ai_chat_pane_reply_finished(self, message: AIChatPane.ReplyFinished) -> None:
        self.finished.append(message)

    def on_ai_chat_pane_history_cleared(self, message: AIChatPane.HistoryCleared) -> None:
        self.cleared.append(message)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as running:
        yield running


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing of the developer's own configuration leaks in; the history goes under tmp_path."""
    for key in [k for k in os.environ if k.startswith(("COOPE_", "OPENAI_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("COOPE_OPENAI_RETRIES", "0")
    monkeypatch.setenv("COOPE_OPENAI_TIMEOUT_S", "20")
    return tmp_path / "data"


@pytest.fixture
def configured(server: FakeOpenAI, data_home: Path, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setenv("COOPE_OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("COOPE_CHAT_MODEL", "fake-model")
    return server


def shown(widget: Widget) -> str:
    """The text the widget and everything inside it draw, one widget per line."""
    lines = []
    for node in [widget, *widget.query("*")]:
        rendered = node.render()
        if isinstance(rendered, Content) and node.display:
            lines.append(rendered.plain)
    return "\n".join(lines)


async def ask(pilot: Pilot[None], question: str) -> None:
    pane = pilot.app.query_one(AIChatPane)
    await until(pilot, lambda: pane.ready, "the pane is ready")
    field = pane.query_one("#ai-chat-input", Input)
    assert field.has_focus
    field.value = question
    await pilot.press("enter")


def error_notifications(app: App[None]) -> list[str]:
    """The error toasts on screen, as the person reads them (title, then message)."""
    return [shown(toast) for toast in app.screen.query("Toast.-error")]


def cli_history() -> list[dict[str, object]]:
    """What `coope ai history --json` shows, in this test's environment."""
    result = CliRunner().invoke(cli_app, ["ai", "history", "--json"])
    assert result.exit_code == 0, result.output
    history: list[dict[str, object]] = json.loads(result.stdout)
    return history


async def test_a_question_gets_a_reply_streamed_in_as_markdown(configured: FakeOpenAI) -> None:
    configured.queue_chat("Here is **bold** and a list:\n\n- first\n- second")
    held = configured.hold_stream(after_chunks=2)
    app = PaneApp()
    async with app.run_test() as pilot:
        pane = app.query_one(AIChatPane)
        assert "fake-model" in shown(pane.query_one("#ai-chat-title"))

        await ask(pilot, "show me markdown")

        await until(pilot, lambda: "Here is" in shown(pane), "the first pieces are shown")
        assert held.reached.is_set()
        assert pane.replying
        assert "list" not in shown(pane)  # a partial reply, before the end
        held.release.set()
        await until(pilot, lambda: not pane.replying, "the reply ends")
        text = shown(pane)
        assert "Here is bold and a list:" in text  # rendered Markdown, not the raw asterisks
        assert "first" in text and "second" in text
        assert "show me markdown" in text
        await until(pilot, lambda: bool(app.finished), "the pane tells the app")
        assert [(m.reply, m.model) for m in app.finished] == [
            ("Here is **bold** and a list:\n\n- first\n- second", "fake-model")
        ]
    assert configured.chat_requests[0]["model"] == "fake-model"
    assert configured.chat_requests[0]["stream"] is True


async def test_the_history_persists_across_panes_in_the_cli_file(configured: FakeOpenAI) -> None:
    async with PaneApp().run_test() as pilot:
        pane = pilot.app.query_one(AIChatPane)
        await ask(pilot, "first question")
        await until(pilot, lambda: "echo: first question" in shown(pane), "the first reply")
        await until(pilot, lambda: not pane.replying, "the reply ends")

    assert [(m["role"], m["content"]) for m in cli_history()] == [
        ("user", "first question"),
        ("assistant", "echo: first question"),
    ]

    async with PaneApp().run_test() as pilot:
        pane = pilot.app.query_one(AIChatPane)
        await until(pilot, lambda: "echo: first question" in shown(pane), "the kept turn")
        await ask(pilot, "second question")
        await until(pilot, lambda: "echo: second question" in shown(pane), "the second reply")
        await until(pilot, lambda: not pane.replying, "the reply ends")

    # The kept turn went to the server as context.
    assert [m["content"] for m in configured.chat_requests[1]["messages"][1:]] == [
        "first question",
        "echo: first question",
        "second question",
    ]
    assert [m["model"] for m in cli_history()] == [None, "fake-model", None, "fake-model"]


async def test_escape_stops_a_held_reply_and_keeps_nothing(configured: FakeOpenAI) -> None:
    configured.queue_chat("the start of a long answer that never gets shown in full")
    held = configured.hold_stream(after_chunks=3)
    async with PaneApp().run_test() as pilot:
        pane = pilot.app.query_one(AIChatPane)
        await ask(pilot, "tell me a long story")
        await until(pilot, lambda: "the start of" in shown(pane), "the first pieces")
        assert held.reached.is_set()

        await pilot.press("escape")

        await until(pilot, lambda: not pane.replying, "the reply stops")
        assert "stopped" in shown(pane)
        held.release.set()  # the rest arrives now, and is dropped
        await ask(pilot, "something short")
        await until(pilot, lambda: "echo: something short" in shown(pane), "the next reply")
        await until(pilot, lambda: not pane.replying, "the next reply ends")
        assert "never gets shown" not in shown(pane)

    assert [m["content"] for m in cli_history()] == ["something short", "echo: something short"]


async def test_escape_without_a_reply_is_left_to_the_app(configured: FakeOpenAI) -> None:
    escapes: list[str] = []

    class EscapingApp(PaneApp):
        BINDINGS = [("escape", "note_escape", "")]

        def action_note_escape(self) -> None:
            escapes.append("app")

    async with EscapingApp().run_test() as pilot:
        pane = pilot.app.query_one(AIChatPane)
        await until(pilot, lambda: pane.ready, "the pane is ready")
        await pilot.press("escape")
        await until(pilot, lambda: escapes == ["app"], "the app's own Escape ran")


async def test_clear_asks_first_then_forgets(configured: FakeOpenAI) -> None:
    ChatHistory().add("user", "an old question")
    async with PaneApp().run_test() as pilot:
        app = pilot.app
        assert isinstance(app, PaneApp)
        pane = app.query_one(AIChatPane)
        await until(pilot, lambda: "an old question" in shown(pane), "the kept turn")

        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.click("#no")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "kept")
        assert len(ChatHistory().messages()) == 1
        assert "an old question" in shown(pane)

        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked again")
        await pilot.click("#yes")
        await until(pilot, lambda: "an old question" not in shown(pane), "the turn disappears")
        await until(pilot, lambda: len(app.cleared) == 1, "the pane tells the app")
        assert app.cleared[0].count == 1

    assert cli_history() == []


async def test_not_configured_shows_how_to_configure(server: FakeOpenAI, data_home: Path) -> None:
    async with PaneApp().run_test() as pilot:
        pane = pilot.app.query_one(AIChatPane)
        await until(pilot, lambda: NOT_CONFIGURED in shown(pane), "the explanation")
        assert pane.query_one(Input).disabled
        assert not pane.ready
        await pilot.press("h", "i", "enter")
        await pilot.pause()
        assert not pane.replying
    assert server.requests == []


async def test_a_bad_setting_is_shown_in_the_pane(
    data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COOPE_OPENAI_TIMEOUT_S", "soon")
    async with PaneApp().run_test() as pilot:
        pane = pilot.app.query_one(AIChatPane)
        await until(pilot, lambda: "COOPE_OPENAI_TIMEOUT_S" in shown(pane), "the explanation")
        assert pane.query_one(Input).disabled


async def test_a_server_error_is_a_notification_in_plain_words(configured: FakeOpenAI) -> None:
    configured.fail_next(1)
    async with PaneApp().run_test(notifications=True) as pilot:
        app = pilot.app
        pane = app.query_one(AIChatPane)
        await ask(pilot, "are you there?")

        await until(pilot, lambda: bool(error_notifications(app)), "an error notification")
        [message] = error_notifications(app)
        assert "HTTP 500" in message and configured.base_url in message
        assert "Traceback" not in message
        await until(pilot, lambda: not pane.replying, "the turn ends")
        assert "no reply" in shown(pane)
        assert pane.query_one(Input).value == "are you there?"  # ready to ask again

        await pilot.press("enter")
        await until(pilot, lambda: "echo: are you there?" in shown(pane), "the retried reply")
        await until(pilot, lambda: not pane.replying, "the reply ends")

    assert [m["content"] for m in cli_history()] == ["are you there?", "echo: are you there?"]


async def test_an_unreadable_history_is_a_notification_and_clear_recovers(
    configured: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Brackets in the path: the message is plain text, never read as Textual markup.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "[b]data"))
    path = ChatHistory().path
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    async with PaneApp().run_test(notifications=True) as pilot:
        app = pilot.app
        assert isinstance(app, PaneApp)
        pane = app.query_one(AIChatPane)
        await until(pilot, lambda: bool(error_notifications(app)), "an error notification")
        [message] = error_notifications(app)
        assert str(path) in message and "coope ai clear" in message

        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: len(app.cleared) == 1, "the history is forgotten")
        await ask(pilot, "fresh start")
        await until(pilot, lambda: "echo: fresh start" in shown(pane), "a reply")
        await until(pilot, lambda: not pane.replying, "the reply ends")

    assert [m.content for m in ChatHistory().messages()] == ["fresh start", "echo: fresh start"]


async def test_control_characters_in_a_reply_are_shown_not_obeyed(configured: FakeOpenAI) -> None:
    configured.queue_chat("red \x1b[31malert\x1b[0m")
    async with PaneApp().run_test() as pilot:
        pane = pilot.app.query_one(AIChatPane)
        await ask(pilot, "colour me")
        await until(pilot, lambda: not pane.replying and "alert" in shown(pane), "the reply")
        assert "\x1b" not in shown(pane)
        assert "\u241b[31malert" in shown(pane)
