"""The app side: everything that knows Streamlit (state, caches, figures, components, lessons, the training
supervisor). The maths lives in vae/, which never imports Streamlit."""
