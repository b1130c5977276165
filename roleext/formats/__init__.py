"""File formats beyond the platform's: the curated dataset, chat-format rows, a Hugging Face folder.

One module per format; `importing` reads back what they write. `exports` keeps the
platform's own files (fine-tuning JSONL, alpaca, test CSV, submission).
"""
