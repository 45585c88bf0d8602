"""reconstruct page (being written)."""
import streamlit as st

from ui.state import current_checkpoint, init_state


def main() -> None:
    init_state()
    ck = current_checkpoint()
    st.title("reconstruct")
    st.write(ck.name)


main()
