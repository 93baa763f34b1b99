"""Video page: caption sampled frames of a clip and watch it re-rendered with captions."""

import streamlit as st

st.title("Caption a video")
