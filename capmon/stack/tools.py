"""Finding Java and Maven, with errors that say how to install them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from capmon.stack.errors import StackError

MIN_JAVA = 17

# `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` or, before 9,
# `java version "1.8.0_292"`; the vendor prefix varies, the quoted version does not.
_JAVA_VERSION = re.compile(r'version "(?P<version>[^"]+)"')


def parse_java_major(version_output: str) -> int | None:
    """Major Java version from ``java -version`` output (1.8 -> 8), None if unreadable."""
    match = _JAVA_VERSION.search(version_output)
    if match is None:
        return None
    parts = re.split(r"[._+-]", match.group("version"))
    try:
        major = int(parts[0])
        return int(parts[1]) if major == 1 and len(parts) > 1 else major
    except ValueError:
        return None


def find_java() -> Path:
    """The ``java`` to run Kafka with: $JAVA_HOME/bin/java, else the one on PATH; 17+."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    if candidate is None or not candidate.exists():
        found = shutil.which("java")
        candidate = Path(found) if found else None
    if candidate is None:
        raise StackError(
            f"Java {MIN_JAVA} or newer is needed to run Kafka, and no `java` was found "
            "(checked $JAVA_HOME and PATH). Install one, e.g. "
            "`apt-get install openjdk-17-jre-headless` or `brew install openjdk@17`."
        )
    try:
        result = subprocess.run(
            [str(candidate), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"cannot run {candidate} -version: {exc}") from exc
    major = parse_java_major(result.stderr + result.stdout)
    if major is None or major < MIN_JAVA:
        found_version = "an unknown version" if major is None else f"Java {major}"
        raise StackError(
            f"Kafka needs Java {MIN_JAVA} or newer; {candidate} is {found_version}. "
            "Install a newer JDK/JRE and put it on PATH or set JAVA_HOME."
        )
    return candidate


def find_maven() -> Path:
    """The ``mvn`` used to fetch the Kafka jars from Maven Central."""
    found = shutil.which("mvn")
    if found is None:
        raise StackError(
            "Maven (`mvn`) is needed once to fetch the Kafka jars from Maven Central, "
            "and it is not on PATH. Install it, e.g. `apt-get install maven` or "
            "`brew install maven`."
        )
    return Path(found)
