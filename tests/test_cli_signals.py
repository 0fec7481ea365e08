"""The shared error boundary of both command lines: internal errors (one line and a
traceback file, ``--debug`` prints it), Ctrl-C at any moment (exit 130) and SIGTERM (exit 143)
with every temporary removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from ivit_hls import ir
from ivit_hls.cli import main as hls_main
from ivit_host.cli import main as host_main


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_model("deit_tiny", depth=1, img_size=32, calib_random=1)
    return ir.save(model, tmp_path_factory.mktemp("sig") / "m.ivit")


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("main, module, command, argv", [
    (hls_main, "ivit_hls.commands.info", "run", ["info", "x.ivit"]),
    (host_main, "ivit_host.cli", "check", ["check", "--project", "x"]),
])
def test_internal_error_is_one_line_naming_the_traceback_file(main, module, command, argv,
                                                              monkeypatch, capsys):
    import importlib

    def boom(_args, *rest):
        raise ZeroDivisionError("something the code did not expect")

    monkeypatch.setattr(importlib.import_module(module), command, boom)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "internal error: ZeroDivisionError: something the code did not expect" in err[0]
    path = Path(err[0].split("full traceback in ")[1].split(";")[0])
    try:
        text = path.read_text()
        assert text.startswith("Traceback") and "ZeroDivisionError" in text and "boom" in text
    finally:
        path.unlink()
    assert main(["--debug", *argv]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err
    assert main([*argv, "--debug"]) == 1  # accepted anywhere on the line
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_interrupt_and_terminate_in_process(monkeypatch, capsys):
    import ivit_hls.commands.info as info

    def interrupted(_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "run", interrupted)
    before = signal.getsignal(signal.SIGINT)
    assert hls_main(["info", "x.ivit"]) == 130
    assert capsys.readouterr().err == "ivit-hls info: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handlers are restored

    def terminated(_args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        raise AssertionError("SIGTERM was not turned into an exception")

    monkeypatch.setattr(info, "run", terminated)
    assert hls_main(["info", "x.ivit"]) == 143
    assert capsys.readouterr().err == "ivit-hls info: terminated\n"


@pytest.mark.parametrize("force", [False, True])
def test_sigterm_while_writing_a_project_leaves_nothing(small_file, tmp_path, monkeypatch,
                                                        capsys, force):
    """SIGTERM arrives while the project's files are being written: exit 143, no temporary
    folder, and with --force the previous project is intact."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "proj"
    if force:
        assert hls_main(["generate", "--ivit", str(small_file), "--out", "proj",
                         "--array", "2x2"]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} if force else {}
    tree = _tree(tmp_path)
    calls = {"n": 0}
    real = Path.write_bytes

    def write_then_kill(self, data):
        calls["n"] += 1
        if calls["n"] == 5:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_then_kill)
    # without --force: into folders that do not exist yet (they must go again too)
    target = "proj" if force else "new/deeper/proj"
    args = ["generate", "--ivit", str(small_file), "--out", target, "--array", "2x2"]
    assert hls_main(args + (["--force"] if force else [])) == 143
    assert capsys.readouterr().err.strip().splitlines()[-1] == "ivit-hls generate: terminated"
    assert calls["n"] >= 5
    assert _tree(tmp_path) == tree
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def _spawn(argv, cwd):
    """Start the CLI as a program and return once it catches SIGTERM: the first thing
    ``ivit_hls.cli`` does (with SIGINT). A signal before that meets the interpreter's
    defaults, not the program; on a loaded machine the interpreter's own start-up can take
    longer than a test's delay, so the delays count from here."""
    proc = subprocess.Popen([sys.executable, "-m", "ivit_hls.cli", *argv], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    status = Path(f"/proc/{proc.pid}/status")
    while time.monotonic() < deadline and proc.poll() is None:
        caught = next((int(line.split()[1], 16) for line in status.read_text().splitlines()
                       if line.startswith("SigCgt:")), 0)
        if caught >> (signal.SIGTERM - 1) & 1:
            return proc
        time.sleep(0.005)
    raise AssertionError("the CLI did not install its signal handlers within 60 s")


@pytest.mark.parametrize("delay", [0.2, 0.6, 1.5])
def test_ctrl_c_while_importing(tmp_path, delay):
    """Ctrl-C during the first seconds (while torch and timm import): exit 130, one line."""
    proc = _spawn(["generate", "--model", "deit_tiny", "--out", "o"], tmp_path)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["ivit-hls generate: interrupted"], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("delay", [0.5, 2.5])
def test_sigterm_as_a_process(small_file, tmp_path, delay):
    """A real SIGTERM at some moment of `generate`: exit 143 with nothing left, or (if it had
    already finished) a complete project."""
    proc = _spawn(["generate", "--ivit", str(small_file), "--out", "o", "--array", "2x2"],
                  tmp_path)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    if proc.returncode == 143:
        assert err.strip().splitlines()[-1] == "ivit-hls generate: terminated"
        assert list(tmp_path.iterdir()) == []
    else:
        assert proc.returncode == 0, err
        assert (tmp_path / "o" / "manifest.json").is_file()
        assert [p.name for p in tmp_path.iterdir()] == ["o"]
