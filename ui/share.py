"""A link that reproduces the Explore view, so a teacher can paste "look at this point" into the class chat.

The page is in the URL's path (st.navigation); the query carries the model, z and the selected test digit:
    /?model=mnist-2d-beta1&z=0.52,-1.3&digit=1234
The model is read once per session, before the sidebar draws its picker (router.py); z and the digit wait until the
Explore page knows the model's latent size and test set. Anything unknown, the wrong length, out of range or not a
number is ignored with a one-line notice: a link never raises.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import streamlit as st

from ui import keys
from ui.state import model_choices, select_model

MODEL, Z, DIGIT = "model", "z", "digit"
MAX_Z = 512  # longer is garbage, not a latent vector this app trains


def model_id(path: str) -> str:
    """A model's name in a link: a bundled model's key (its file stem), a run's folder name."""
    p = Path(path)
    return p.parent.name if p.name == "checkpoint.pt" else p.stem


def _model_path(ident: str) -> tuple[str, str] | None:
    for choice in model_choices():
        if model_id(choice.path) == ident:
            return choice.path, choice.dataset
    return None


def read_link() -> None:
    """Adopt the link's model (once per session, before the sidebar); keep z and the digit for the Explore page."""
    if st.session_state.get(keys.LINK_READ):
        return
    st.session_state[keys.LINK_READ] = True
    params = st.query_params
    notes = []
    if MODEL in params:
        found = _model_path(params[MODEL])
        if found:
            select_model(*found)
        else:
            notes.append(f"no model called “{params[MODEL][:40]}” on this server")
    if Z in params:
        try:
            z = [float(v) for v in params[Z].split(",")][:MAX_Z + 1]
            if len(z) > MAX_Z or not all(math.isfinite(v) for v in z):
                raise ValueError
            st.session_state[keys.LINK_Z] = z
        except ValueError:
            notes.append("z is not a list of numbers")
    if DIGIT in params:
        try:
            st.session_state[keys.LINK_DIGIT] = int(params[DIGIT])
        except ValueError:
            notes.append("the digit is not a whole number")
    st.session_state[keys.LINK_NOTES] = notes


def apply_link(mu: np.ndarray) -> None:
    """On the Explore page: put the link's z and selected digit on the surface (once), and say what was ignored."""
    z = st.session_state.pop(keys.LINK_Z, None)
    digit = st.session_state.pop(keys.LINK_DIGIT, None)
    notes = st.session_state.pop(keys.LINK_NOTES, [])
    n, dim = mu.shape
    if digit is not None:
        if 0 <= digit < n:
            st.session_state[keys.EXPLORE_DIGIT] = digit
            st.session_state[keys.SELECT_NONCE] = st.session_state.get(keys.SELECT_NONCE, 0) + 1
            if z is None:
                z = mu[digit].tolist()
        else:
            notes.append(f"there is no test digit #{digit} (0 to {n - 1})")
    if z is not None:
        if len(z) == dim:
            st.session_state[keys.PAD_START] = z
            st.session_state[keys.PAD_NONCE] = st.session_state.get(keys.PAD_NONCE, 0) + 1
        else:
            notes.append(f"z has {len(z)} numbers where this model's has {dim}")
    if notes:
        st.caption("Part of the link was ignored: " + "; ".join(notes) + ".")


def write_link(z, digit: int | None) -> None:
    """Keep the address bar a link to what is on screen (it changes the URL only, no rerun)."""
    path = st.session_state.get(keys.MODEL_PATH)
    if not path:  # no model picked (none bundled, none trained or uploaded): nothing to link to
        return
    want = {MODEL: model_id(path), Z: ",".join(f"{v:.4g}" for v in z)}
    if digit is not None:
        want[DIGIT] = str(digit)
    if {k: st.query_params.get(k) for k in (MODEL, Z, DIGIT) if k in st.query_params} != want:
        st.query_params.from_dict(want)
