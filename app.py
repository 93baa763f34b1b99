"""im2txt web app: `streamlit run app.py`. Page setup, navigation and the shared sidebar."""

import streamlit as st

import ui

st.set_page_config(page_title="im2txt · Show and Tell captioner", page_icon="🖼️", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/image.py", title="Image", icon=":material/image:"),
        st.Page("pages/video.py", title="Video", icon=":material/movie:"),
    ]
)
ui.fetch_configured_model_on_start()
ui.model_sidebar()
navigation.run()
