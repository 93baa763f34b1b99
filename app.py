"""im2txt web app: `streamlit run app.py`. Page setup, navigation and the shared sidebar."""

import streamlit as st

from ui import fetch, models

st.set_page_config(page_title="im2txt · Show and Tell captioner", page_icon="🖼️", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/image.py", title="Image", icon=":material/image:"),
        st.Page("pages/video.py", title="Video", icon=":material/movie:"),
    ]
)
fetch.fetch_configured_model_on_start()
models.model_sidebar()
navigation.run()
