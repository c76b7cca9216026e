"""`SignInScreen`: server, username and password, or one of the saved logins.

It only asks: the app logs in (`LoginWanted`) or uses the saved login picked (`SavedChosen`),
and tells the screen what went wrong (`show_error`).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from coope.client.profiles import Login
from coope.core.rules import visible


class SignInScreen(Screen[None]):
    BINDINGS = [Binding("ctrl+s", "submit", "Sign in")]

    class LoginWanted(Message):
        def __init__(self, server: str, username: str, password: str) -> None:
            super().__init__()
            self.server, self.username, self.password = server, username, password

    class SavedChosen(Message):
        def __init__(self, login: Login) -> None:
            super().__init__()
            self.login = login

    def __init__(self, server: str, saved: list[Login]) -> None:
        super().__init__()
        self.server = server
        self.saved = saved

    def compose(self) -> ComposeResult:
        with Vertical(id="signin-box") as box:
            box.border_title = "Sign in to coope"
            yield Input(self.server, placeholder="http://127.0.0.1:8765", id="server")
            yield Input(placeholder="username", id="username")
            yield Input(placeholder="password", password=True, id="password")
            yield Button("Sign in", id="signin", variant="primary")
            yield Static("", id="signin-error")
            if self.saved:
                yield Static("or use a saved login:", classes="hint")
                yield OptionList(
                    *(Option(_describe(x), id=str(i)) for i, x in enumerate(self.saved)),
                    id="saved",
                )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    def show_error(self, text: str) -> None:
        self.query_one("#signin-error", Static).update(visible(text))
        self.query_one("#signin", Button).disabled = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        for field in ("server", "username", "password"):
            box = self.query_one(f"#{field}", Input)
            if not box.value.strip():
                box.focus()
                return
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        server, username, password = (
            self.query_one(f"#{field}", Input).value for field in ("server", "username", "password")
        )
        if not (server.strip() and username.strip() and password):
            self.show_error("Fill in the server, your username and your password.")
            return
        self.query_one("#signin-error", Static).update("Signing in…")
        self.query_one("#signin", Button).disabled = True
        self.post_message(self.LoginWanted(server.strip(), username.strip(), password))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.SavedChosen(self.saved[int(event.option.id or 0)]))


def _describe(login: Login) -> str:
    name = f"{login.profile}: " if login.profile else ""
    return visible(f"{name}{login.username} on {login.server}")
