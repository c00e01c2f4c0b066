"""The Streamlit app of GAN Studio: `app/main.py` is the entry script, one file per page."""
