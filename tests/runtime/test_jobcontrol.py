"""Job control's wake-up when a signal lands on a thread other than the main one (the
masker's build, the stdin copy): the main thread waits in select and must wake up."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import threading

from vaultline.runtime.jobcontrol import JobControl


def test_a_signal_taken_by_another_thread_wakes_the_main_loop() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with JobControl(child, None, None, None, lambda: None, lambda: None) as jobs:
            jobs.handle()  # the look it takes when it starts
            started, done = threading.Event(), threading.Event()

            def other() -> None:
                started.set()
                done.wait(10)

            thread = threading.Thread(target=other)
            thread.start()
            started.wait(10)
            assert thread.ident is not None
            signal.pthread_kill(thread.ident, signal.SIGCHLD)  # taken by that thread only
            ready, _, _ = select.select([jobs.fd], [], [], 5)
            done.set()
            thread.join(10)
        assert ready == [jobs.fd]
    finally:
        child.kill()
        child.wait()
