"""Image page: upload photos, see the top beam-search captions with their probabilities."""

import streamlit as st

st.title("Caption images")
