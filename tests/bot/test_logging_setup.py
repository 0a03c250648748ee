import logging
from pathlib import Path

from bot.logging_setup import setup_logging


def test_secrets_are_redacted_in_every_handler(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    buffer = setup_logging("INFO", tmp_path, ["tok-SECRET-123", "pw-hunter2"])
    log = logging.getLogger("test.redaction")
    try:
        log.info("connecting with %s to postgresql://u:%s@db", "tok-SECRET-123", "pw-hunter2")
        try:
            raise RuntimeError("login failed for tok-SECRET-123")
        except RuntimeError:
            log.exception("boom")
    finally:
        for handler in logging.getLogger().handlers:
            handler.flush()
    file_text = (tmp_path / "logs" / "foundrycord.log").read_text()
    stderr = capsys.readouterr().err
    buffered = "\n".join(buffer.lines())
    for text in (file_text, stderr, buffered):
        assert "tok-SECRET-123" not in text and "pw-hunter2" not in text
        assert "connecting with *** to postgresql://u:***@db" in text
    assert "login failed for ***" in file_text
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
