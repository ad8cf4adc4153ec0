"""The CSM workspace: a Streamlit multipage app over the serving snapshot (docs/workspace.md)."""
