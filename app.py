"""Launch the Newsdesk web app on NEWSDESK_HOST:NEWSDESK_PORT (default http://127.0.0.1:7860)."""

from assistant.config import Settings, offline_environment

if __name__ == "__main__":
    offline_environment()
    from assistant.ui.app import launch

    launch(Settings())
