"""The tree's own checks, also run by .ci/run: ruff (pyproject.toml), the components' JavaScript parses, and no
deprecated Streamlit argument is left."""
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

COMPONENTS = sorted((ROOT / "ui" / "components").glob("*.js"))
NODE_CHECK = ["node", "--input-type=module", "--check"]  # as .ci/check_js: the source on stdin, as an ES module


def _node() -> None:
    if not shutil.which("node"):
        pytest.skip("node is not installed (.ci/run installs it)")


@pytest.mark.parametrize("path", COMPONENTS, ids=lambda p: p.name)
def test_component_javascript_parses(path):
    _node()
    out = subprocess.run(NODE_CHECK, input=path.read_text(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_the_javascript_check_catches_a_syntax_error():
    """`node --check FILE.js` exits 0 for a module with a syntax error (node 20); the stdin form must not."""
    _node()
    broken = "export default function (component) {\n  const x = ;\n}\n"
    assert subprocess.run(NODE_CHECK, input=broken, capture_output=True, text=True, timeout=60).returncode != 0


def test_ruff_passes():
    try:
        import ruff  # noqa: F401  (the wheel's module runs its binary: python -m ruff)
    except ImportError:
        pytest.skip("ruff is not installed (`pip install ruff -c constraints.txt`; .ci/run does)")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_deprecated_use_container_width():
    """Streamlit 1.67 deprecates use_container_width: width="stretch" (or "content") says it now."""
    found = [f"{p.relative_to(ROOT)}:{n}" for folder in ("app_pages", "ui", "vae", "bench", "tests")
             for p in (ROOT / folder).rglob("*.py") if p.name != "test_tooling.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\buse_container_width\b", line)]
    found += [f"{name}" for name in ("app.py", "router.py") if "use_container_width" in (ROOT / name).read_text()]
    assert not found


def _lines(name: str) -> list[str]:
    return [ln.split("#")[0].strip() for ln in (ROOT / name).read_text().splitlines() if ln.split("#")[0].strip()]


def test_constraints_pin_every_requirement_within_its_bounds():
    """constraints.txt (the versions the suite passes with) names an exact version of every package in
    requirements.txt, and each satisfies the requirement's lower bound."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in _lines("constraints.txt"):
        name, _, version = line.partition("==")
        assert version, f"not an exact pin: {line}"
        pins[canonicalize_name(name)] = version
    for line in _lines("requirements.txt"):
        req = Requirement(line)
        version = pins.get(canonicalize_name(req.name))
        assert version is not None, f"{req.name} has no pin in constraints.txt"
        assert req.specifier.contains(version, prereleases=True), (req.name, version, str(req.specifier))
