"""Session state in one place (issue 9): keys are named in ui.keys, the selected model is written by
ui.state.select_model only, and every tab a lesson opens is one its page draws (ui.pages)."""
import ast

import pytest

from conftest import ROOT
from ui import keys, pages
from ui.lessons import LESSONS

# The pages whose open tab a lesson can set: page id -> (its tabs' state key, its tabs).
KEYED_TABS = {pages.MATHS: (keys.MATHS_TAB, pages.MATHS_TABS), pages.KL_LAB: (keys.KL_LAB_TAB, pages.KL_LAB_TABS)}

APP_FILES = [ROOT / "app.py", ROOT / "router.py", *sorted((ROOT / "app_pages").glob("*.py")),
             *sorted((ROOT / "ui").rglob("*.py"))]
KEY_NAMES = {name: value for name, value in vars(keys).items() if name.isupper() and isinstance(value, str)}


def _is_model_path(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and node.value == keys.MODEL_PATH
            or isinstance(node, ast.Attribute) and node.attr == "MODEL_PATH"
            or isinstance(node, ast.Name) and node.id == "MODEL_PATH")


def _is_session_state(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "session_state" or \
        isinstance(node, ast.Name) and node.id in ("session_state", "ss")


def model_path_writes(source: str) -> list[tuple[int, str]]:
    """(line, enclosing function) of every statement that writes the selected model's key: an assignment to
    [MODEL_PATH] (alone or in a tuple), del, or session_state.setdefault / pop / update / __setitem__ with it."""
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple)
                                                               else [target])]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        if any(isinstance(t, ast.Subscript) and _is_model_path(t.slice) for t in targets):
            found.append((node.lineno, function))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_session_state(node.func.value):
            method, args = node.func.attr, node.args
            if method in ("setdefault", "pop", "__setitem__", "__delitem__") and args and _is_model_path(args[0]) \
                    or method == "update" and args and isinstance(args[0], ast.Dict) \
                    and any(k is not None and _is_model_path(k) for k in args[0].keys) \
                    or method == "update" and any(kw.arg == keys.MODEL_PATH for kw in node.keywords):
                found.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), "<module>")
    return found


def test_the_detector_finds_the_ways_a_page_wrote_the_model():
    # Each of these once selected a model somewhere in the app (share, train, state, lessons).
    for snippet in ('st.session_state["model_path"], st.session_state["dataset"] = found',
                    'st.session_state["model_path"] = path',
                    'st.session_state[keys.MODEL_PATH] = path',
                    'st.session_state.setdefault("model_path", str(p))',
                    'st.session_state.update({"model_path": p})',
                    'ss.pop(MODEL_PATH, None)'):
        assert model_path_writes(snippet), snippet
    assert not model_path_writes('p = st.session_state["model_path"]\nq = st.session_state.get(keys.MODEL_PATH)')


def test_only_select_model_writes_the_selected_model():
    writes = [f"{path.relative_to(ROOT)}:{line} in {function}()" for path in APP_FILES
              for line, function in model_path_writes(path.read_text())
              if not (path == ROOT / "ui" / "state.py" and function == "select_model")]
    assert not writes, "write the selected model with ui.state.select_model, not: " + ", ".join(writes)
    assert model_path_writes((ROOT / "ui" / "state.py").read_text())  # (select_model itself is found)


def literal_keys(source: str) -> list[tuple[int, str]]:
    """Session-state keys written as string literals: session_state[...], session_state.get / setdefault / pop
    (...), "..." in session_state, and key=... of any call (a widget's key is a session-state key)."""
    found = []
    literal = lambda n: isinstance(n, (ast.Constant, ast.JoinedStr)) and not (  # noqa: E731
        isinstance(n, ast.Constant) and not isinstance(n.value, str))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_session_state(node.value) and literal(node.slice):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and _is_session_state(f.value) and node.args and literal(node.args[0]):
                found.append((node.lineno, ast.unparse(node)))
            found += [(node.lineno, ast.unparse(kw)) for kw in node.keywords if kw.arg == "key" and literal(kw.value)]
        elif isinstance(node, ast.Compare) and literal(node.left) and any(_is_session_state(c)
                                                                          for c in node.comparators):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_session_state_keys_are_named_in_ui_keys():
    example = 'st.session_state["x"] = 1\nst.button("b", key="y")\nss.get(f"{k}_z")\nif "w" in st.session_state: pass'
    assert len(literal_keys(example)) == 4 and not literal_keys("st.session_state[keys.X] = st.button(key=keys.Y)")
    literals = [f"{path.relative_to(ROOT)}:{line}: {code}" for path in APP_FILES if path.name != "keys.py"
                for line, code in literal_keys(path.read_text())]
    assert not literals, "name these keys in ui/keys.py: " + "; ".join(literals)
    assert len(set(KEY_NAMES.values())) == len(KEY_NAMES), "two names for one key"


def _drawn_tabs(page: str) -> list[tuple[str, list[str]]]:
    """(state key, labels) of each keyed st.tabs(pages.X, key=keys.Y) call in a page's source."""
    drawn = []
    for node in ast.walk(ast.parse((ROOT / pages.PAGES[page]).read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "tabs":
            key = next((kw.value for kw in node.keywords if kw.arg == "key"), None)
            if key is not None:
                assert isinstance(node.args[0], ast.Attribute) and isinstance(key, ast.Attribute), ast.unparse(node)
                drawn.append((getattr(keys, key.attr), getattr(pages, node.args[0].attr)))
    return drawn


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: f"lesson{l.number}")
def test_every_tab_a_lesson_names_is_on_its_page(lesson):
    assert lesson.page in pages.PAGES
    assert set(lesson.state) <= set(KEY_NAMES.values()), "a lesson sets a key ui.keys does not name"
    tab_keys = {key for key, _ in KEYED_TABS.values()}
    for key, value in lesson.state.items():
        if key in tab_keys:
            assert lesson.page in KEYED_TABS and KEYED_TABS[lesson.page][0] == key, \
                f"lesson {lesson.number} opens a tab of another page"
            assert value in KEYED_TABS[lesson.page][1]
            assert _drawn_tabs(lesson.page) == [KEYED_TABS[lesson.page]]  # the page draws those tabs
