"""Classroom lessons: the five presets in order, each one click away. A lesson sets up its page and shows the
equation beside the widgets; the sidebar's lesson picker does the same from any page."""
import streamlit as st

from ui import keys, pages
from ui.lessons import LESSONS, active_lesson, end_lesson, start_lesson, wrap_formulas
from ui.state import init_state


def main() -> None:
    init_state()
    st.title("Classroom lessons")
    wrap_formulas()  # (no lesson box here: no lesson is set on this page; each opens its own)
    st.markdown("Five short lessons, in order. Each opens the right page already set up, with the equation in a box "
                "at the top and a **Next ▶** button. For a projector, switch on **Large type** in the sidebar.")
    current = active_lesson()
    for lesson in LESSONS:
        with st.container(border=True):
            left, right = st.columns([5, 1])
            with left:
                st.markdown(f"#### {lesson.number} · {lesson.title}")
                st.latex(lesson.equation)
                st.caption(lesson.text)
            with right:
                label = "Continue" if current is lesson else "Start"
                right.button(label, key=keys.lesson_start(lesson.number), on_click=start_lesson,
                             args=(lesson.number,), type="primary" if lesson.number == 1 else "secondary",
                             width="stretch")
                right.caption(f"Opens *{pages.PAGE_TITLES[lesson.page]}*")
    if current:
        st.button("End the current lesson", key=keys.LESSON_END_ALL, on_click=end_lesson)


main()
