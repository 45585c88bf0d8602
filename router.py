"""VAE latent-space explorer: the router and the shared sidebar, run on every visit and rerun (app.py serves it).
Pages live in app_pages/, the maths in vae/."""
import streamlit as st

from ui import keys, pages
from ui.lessons import follow_lesson_switch, lesson_sidebar
from ui.pages import favicon, skip_direct_run_check
from ui.share import read_link
from ui.state import sidebar, warm_up_torch

# Streamlit sizes text in rem, so scaling the root font enlarges all of it (widgets, tables, LaTeX) for a projector.
# A projector's 720 rows are few: titles shrink back and the page starts higher, so a page's content (not its
# heading) fills the first screen. The header (its height in rem, 82 px here) keeps its normal 60 px, so the title
# starts below it, not under it. Displayed formulas wrap (pages.FORMULA_WRAP_CSS). A metric's number, already
# large, keeps about its normal size (2.25rem would be 50 px: "7.6815 ± 0.0316" did not fit its column).
LARGE_TYPE_CSS = """<style>
html { font-size: 22px; }
[data-testid="stSidebar"] { min-width: 380px; }
.katex { font-size: 1.3em; }
[data-testid="stMetricValue"] { font-size: 1.75rem; }
h1 { font-size: 1.9rem !important; padding-top: 0 !important; }
[data-testid="stHeader"] { height: 60px !important; min-height: 60px !important; }
[data-testid="stMainBlockContainer"] { padding-top: 2.8rem; }
%s
</style>""" % pages.FORMULA_WRAP_CSS


def run() -> None:
    skip_direct_run_check()
    st.set_page_config(page_title="VAE latent-space explorer", page_icon=favicon(), layout="wide")
    page = st.navigation({section: [st.Page(p.path, title=p.title, icon=p.icon, default=p.id == pages.DEFAULT)
                                    for p in group] for section, group in pages.NAVIGATION.items()})
    follow_lesson_switch(page.url_path)  # a lesson picked in the sidebar (or a lesson box's Next) opens its page
    read_link()  # a shared link's model, before the sidebar draws its picker
    sidebar()
    with st.sidebar:
        lesson_sidebar()
    st.html(pages.ACCESSIBILITY_CSS)  # focus rings, contrast, reduced motion
    st.html(f"<style>{pages.TABS_WRAP_CSS} {pages.HIDDEN_CSS}</style>")  # every page's tabs: whole labels, all shown
    if st.session_state.get(keys.LARGE_TYPE):
        st.html(LARGE_TYPE_CSS)
    page.run()
    warm_up_torch()  # after the page is drawn: the first page needs no torch, the others do


run()
