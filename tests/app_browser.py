"""AppTest, driven the way a browser drives the server: two things a real browser does that AppTest does not model.

1. A widget drawn inside an st.fragment reruns only that fragment. The rest of the page, the sidebar included, keeps
   what it showed, and its widgets send back what they showed with the next interaction (a page switch too).
2. A selectbox keeps the *label* it shows. The server sends a new one only when the value changed on the server
   (`set_value`); when the options' labels change under an unchanged value, the browser keeps showing, and later
   sends back, its old label. Streamlit hands the script a label that is no longer an option as that str.

`Browser.interact(widget)` sends what a browser would after the user changed that widget (staged with AppTest's own
API: `set_value`, `select_index`, `click`). Only the widget's own new value is taken from AppTest; every other
widget sends what the browser holds. Private AppTest internals are used (`_run`, `_tree`, `_page_hash`,
`_fragment_storage`): this is test code written against the Streamlit in constraints.txt (1.67.0), the version the
suite passed with; a newer Streamlit may move them (requirements.txt holds lower bounds only).
"""
from __future__ import annotations

from functools import partial

from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.runtime.scriptrunner import RerunData
from streamlit.testing.v1 import AppTest, element_tree, local_script_runner
from streamlit.testing.v1.element_tree import Selectbox, Widget


def _element_id(msg) -> str:
    """The widget id of a new_element delta, "" for anything else."""
    if msg.delta.WhichOneof("type") != "new_element":
        return ""
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    return getattr(getattr(element, kind), "id", "") if kind else ""


class Browser:
    def __init__(self, at: AppTest, monkeypatch):
        self.at = at
        self.monkeypatch = monkeypatch
        self.shown: list = []  # the ForwardMsgs of what the page shows
        self.held: dict[str, WidgetState] = {}  # what each widget on the page sends back
        self.fragment_of: dict[str, str] = {}  # widget id -> the fragment it was drawn in
        self.full_runs = 0
        self.fragment_runs = 0
        self._captured: list = []

        def capture(messages):
            self._captured = list(messages)
            return element_tree.parse_tree_from_messages(messages)

        monkeypatch.setattr(local_script_runner, "parse_tree_from_messages", capture)

    # ---- what the user does -------------------------------------------------------------------------------------

    def load(self) -> AppTest:
        """Open the app (no widget values yet)."""
        return self._run(WidgetStates(), fragment=None)

    def rerun(self) -> AppTest:
        """A full rerun with what the page shows (R, or a page's own rerun)."""
        return self._run(self._states(), fragment=None)

    def switch_page(self, path: str) -> AppTest:
        """A click in the navigation: the sidebar's widgets go along with what they show."""
        self.at.switch_page(path)
        return self._run(self._states(), fragment=None)

    def interact(self, widget: Widget, state: WidgetState | None = None) -> AppTest:
        """The user changed `widget`: to `state` (what the browser sends), or else to the value staged on it with
        AppTest's own API. Every other widget sends what the browser holds."""
        staged = state if state is not None else widget._widget_state
        if isinstance(widget, Selectbox):
            self.held[widget.id] = staged  # it shows the picked label until the server sends another
        return self._run(self._states(staged), fragment=self.fragment_of.get(widget.id) or None)

    def tick(self, fragment_id: str) -> AppTest:
        """A fragment's own timer (st.fragment(run_every=...)) fires: it reruns alone."""
        return self._run(self._states(), fragment=fragment_id)

    def shown_label(self, selectbox: Selectbox) -> str | None:
        """The label the browser shows in a selectbox."""
        state = self.held.get(selectbox.id)
        return state.string_value if state is not None and state.HasField("string_value") else None

    # ---- the machinery ------------------------------------------------------------------------------------------

    def _states(self, staged: WidgetState | None = None) -> WidgetStates:
        states = WidgetStates()
        for wid, state in self.held.items():
            if staged is None or wid != staged.id:
                states.widgets.append(state)
        if staged is not None:
            states.widgets.append(staged)
        return states

    def _run(self, states: WidgetStates, fragment: str | None) -> AppTest:
        at = self.at
        if fragment:
            with self.monkeypatch.context() as m:  # AppTest always reruns the whole app; ask for the fragment only
                m.setattr(local_script_runner, "RerunData",
                          partial(RerunData, fragment_id_queue=[fragment], is_fragment_scoped_rerun=True))
                at._run(states)
        else:
            at._run(states)
        at._page_hash = ""  # later runs follow the page the app is on (st.switch_page), like the browser's URL
        new = self._captured
        full = any(m.HasField("delta") and not m.delta.fragment_id for m in new)  # a callback may widen the run
        if full:
            self.full_runs += 1
            shown = new
        else:
            self.fragment_runs += 1
            ran = {m.delta.fragment_id for m in new if m.HasField("delta")} | {fragment}
            shown = [m for m in self.shown if not (m.HasField("delta") and m.delta.fragment_id in ran)] + new
        previously_shown = set(self.held)
        self.shown = shown
        tree = element_tree.parse_tree_from_messages(shown)
        tree._runner = at
        at._tree = tree
        redrawn = {_element_id(m) for m in new} - {""}
        self.fragment_of = {_element_id(m): m.delta.fragment_id for m in shown if _element_id(m)}
        held = {}
        for node in tree:
            if not isinstance(node, Widget):
                continue
            if node.id not in redrawn and node.id in self.held:
                held[node.id] = self.held[node.id]  # not part of this run: the browser keeps it as it was
                continue
            state = self._browser_state(node, self.held.get(node.id) if node.id in previously_shown else None)
            if state is not None:
                held[node.id] = state
        self.held = held
        return at

    @staticmethod
    def _browser_state(node: Widget, before: WidgetState | None) -> WidgetState | None:
        """What the browser holds for a widget the server just drew."""
        if isinstance(node, Selectbox):
            proto = node.proto
            state = WidgetState(id=node.id)
            if proto.set_value:
                if proto.HasField("raw_value"):
                    state.string_value = proto.raw_value
            elif before is not None:
                return before  # same widget, no new value from the server: it keeps its label
            elif proto.HasField("default") and proto.options:
                state.string_value = proto.options[proto.default]
            return state
        try:
            return node._widget_state  # the value the server has: what the browser shows after this run
        except (KeyError, ValueError, TypeError):
            return None
