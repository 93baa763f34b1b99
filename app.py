"""im2txt web app: `streamlit run app.py`. Page setup, navigation and the shared sidebar."""

import streamlit as st

from ui import fetch, models

st.set_page_config(page_title="im2txt · Show and Tell captioner", page_icon="🖼️", layout="wide")

# The pages live in app_pages/, not pages/: Streamlit treats a folder named pages/ beside the entry
# script as its older automatic navigation, which the server uses until some session has run
# st.navigation, so a link to /image on a fresh server skipped this script (issue 17).
navigation = st.navigation(
    [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/image.py", title="Image", icon=":material/image:"),
        st.Page("app_pages/video.py", title="Video", icon=":material/movie:"),
    ]
)
fetch.fetch_configured_model_on_start()
models.model_sidebar()
navigation.run()
