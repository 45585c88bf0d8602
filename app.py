"""VAE latent-space explorer: the router and the shared sidebar. Pages live in pages/, the maths in vae/."""
import streamlit as st

from ui.state import sidebar


def run() -> None:
    st.set_page_config(page_title="VAE latent-space explorer", page_icon="🔢", layout="wide")
    page = st.navigation({
        "Explore": [
            st.Page("pages/explore.py", title="Explore the latent space", icon="🧭", default=True),
            st.Page("pages/reconstruct.py", title="Reconstruct a digit", icon="✍️"),
        ],
        "Learn": [
            st.Page("pages/kl_lab.py", title="KL lab", icon="⚖️"),
            st.Page("pages/train.py", title="Train a VAE", icon="🏋️"),
        ],
    })
    sidebar()
    page.run()


run()
