"""Entry point of the container image: `python main.py spec|check|discover|read ...`."""
from source_haloitsm.run import run

if __name__ == "__main__":
    run()
