"""VAE latent-space explorer: `streamlit run app.py`. This file only declares the server: router.py routes every
run (the pages live in app_pages/, the maths in vae/), and the server, as it starts, imports what the first page
needs while the first browser is still loading Streamlit's frontend (ui.startup)."""
import streamlit as st

from ui.startup import ROUTER, lifespan

app = st.App(ROUTER, lifespan=lifespan)
