"""A browser whose server died, reconnected to another one (serve.py's proxy moves it to a live replica).

Streamlit's frontend reconnects without rerunning the page when the page's last run was a full one (it expects the
same server, which still holds the session). A new replica holds nothing for it: the page the dead replica drew stays
on screen, and its first fragment rerun (a latent pad release) names a fragment this session never registered, which
Streamlit ignores (app_session.request_rerun: "does not exist anymore"). The page looks alive and Python never
answers. Here, in such a session only (one that has not yet been asked for a full run), a fragment rerun it does not
hold runs the whole page instead, with the widget states the browser sent: the student's next release redraws the
page and Python hears it. They lose only their session (its model choice, lesson step ...), which died with the
replica. A normal session asks for a full run first, so nothing changes for it.

A patch of one Streamlit method (AppSession.request_rerun, 1.62-1.67); if Streamlit renames it, install() does
nothing and a moved student's first release is ignored (a click outside the pad, or a reload, brings the page back).
"""
from __future__ import annotations

RAN_PAGE = "_vae_asked_for_a_page_run"  # set on a session once a full (not fragment) run was requested


def install() -> bool:
    """Patch AppSession.request_rerun once per process. Returns whether it is (now) patched."""
    try:
        from streamlit.runtime.app_session import AppSession
    except ImportError:
        return False
    original = getattr(AppSession, "request_rerun", None)
    if original is None or not hasattr(AppSession, "has_fragment"):
        return False
    if getattr(original, "_vae_reconnect", False):
        return True

    def request_rerun(self, client_state=None):
        fragment_id = getattr(client_state, "fragment_id", "") if client_state is not None else ""
        if not fragment_id:
            setattr(self, RAN_PAGE, True)
        elif not getattr(self, RAN_PAGE, False) and not self.has_fragment(fragment_id):
            client_state.fragment_id = ""  # a page moved here from a dead replica: run it all
            setattr(self, RAN_PAGE, True)
        return original(self, client_state)

    request_rerun._vae_reconnect = True
    AppSession.request_rerun = request_rerun
    return True
