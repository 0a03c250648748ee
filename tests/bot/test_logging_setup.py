import logging
import stat
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


def test_data_folder_and_log_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    (data_dir / "logs").mkdir(mode=0o755)
    old_log = data_dir / "logs" / "foundrycord.log"
    old_log.write_text("from an older version\n")
    old_log.chmod(0o644)
    setup_logging("INFO", data_dir)
    try:
        logging.getLogger("test.private").warning("a line")
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((data_dir / "logs").stat().st_mode) == 0o700
        assert stat.S_IMODE(old_log.stat().st_mode) == 0o600
        assert "a line" in old_log.read_text()
        old_log.unlink()  # a file the handler creates itself is 0600 too
        fresh = setup_logging("INFO", data_dir)
        assert fresh is not None
        logging.getLogger("test.private").warning("another line")
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert stat.S_IMODE(old_log.stat().st_mode) == 0o600
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
