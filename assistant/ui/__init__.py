"""The Gradio web app: thin callbacks over assistant.pipeline."""
