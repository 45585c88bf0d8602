"""ui.reconnect: in a session that never ran the page (a browser the proxy moved here from a dead replica), a fragment
rerun this session does not hold runs the page; everywhere else Streamlit's own handling is unchanged. End to end in
Chromium: tests/test_e2e_hall.py (without this, the moved student's pad releases never reached Python)."""
from __future__ import annotations

from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.runtime.app_session import AppSession

from ui import reconnect


class FakeSession:
    def __init__(self, fragments=()):
        self.fragments = set(fragments)

    def has_fragment(self, fragment_id: str) -> bool:
        return fragment_id in self.fragments


def test_only_a_session_that_never_ran_the_page_turns_an_unknown_fragment_into_a_page_run(monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(AppSession, "request_rerun", lambda self, cs=None: asked.append(cs.fragment_id))
    assert reconnect.install() and reconnect.install()  # once, however often called

    moved = FakeSession()
    AppSession.request_rerun(moved, ClientState(fragment_id="pad"))  # its first message: a pad release
    AppSession.request_rerun(moved, ClientState(fragment_id="gone"))  # afterwards: Streamlit's rule again
    assert asked == ["", "gone"]

    asked.clear()
    normal = FakeSession({"pad"})
    AppSession.request_rerun(normal, ClientState())  # a browser opening the page asks for a page run first
    AppSession.request_rerun(normal, ClientState(fragment_id="pad"))
    AppSession.request_rerun(normal, ClientState(fragment_id="removed"))  # dropped by a full run: still ignored
    assert asked == ["", "pad", "removed"]
