"""What real programs print when they show a secret by accident, through the masker.

Each program reads the secret from its environment, as a command under ``vaultline run``
does, and prints it the way that program prints a string: HTML and XML escaped, quoted for
a shell, YAML, SQL or CSV, as a ``bytes`` repr, or as wrapped base64. Every case first checks
that the program does not print the value as it is (so the form is really another one), then
that the masked output shows none of it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vaultline.redact import Masker
from vaultline.redact._matchers import Backend

PASSWORD = "Kx9'vQm3&m<2>\"pL7/w+z=Rt5 q%u@h:~"
NON_ASCII = "Zq7ü-Tr0ub4dör-Wx9é"
PEM = ("-----BEGIN PRIVATE KEY-----\n"
       "MC4CAQAwBQYDK2VwBCIEIDx1Zk7aQ4b0n3mJq8Y2vR6tW5uX1yZ0aB9cD8eF7gH6\n"
       "-----END PRIVATE KEY-----\n")
PY = sys.executable

JAVA_XML = """
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

public class Main {
    public static void main(String[] args) throws Exception {
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().newDocument();
        var element = doc.createElement("datasource");
        element.setAttribute("password", System.getenv("SECRET"));
        element.setTextContent(System.getenv("SECRET"));
        doc.appendChild(element);
        var out = TransformerFactory.newInstance().newTransformer();
        out.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
        out.transform(new DOMSource(doc), new StreamResult(System.out));
    }
}
"""
JAVA_MIME = """
public class Main {
    public static void main(String[] args) throws Exception {
        byte[] value = System.getenv("SECRET").getBytes("UTF-8");
        System.out.println(java.util.Base64.getMimeEncoder().encodeToString(value));
    }
}
"""

# name: (secret, command); "{java}" is a Java source file holding the program after it.
PROGRAMS: dict[str, tuple[str, list[str]]] = {
    "python html.escape": (PASSWORD, [PY, "-c", "import html, os; print(html.escape("
                                      "os.environ['SECRET']))"]),
    "jinja2 autoescape": (PASSWORD, [PY, "-c", "import jinja2, os; print(jinja2.Environment("
                                     "autoescape=True).from_string('<td>{{ v }}</td>')"
                                     ".render(v=os.environ['SECRET']))"]),
    "python ElementTree": (PASSWORD, [PY, "-c", "import os, xml.etree.ElementTree as ET; "
                                      "e = ET.Element('p', v=os.environ['SECRET']); "
                                      "e.text = os.environ['SECRET']; "
                                      "print(ET.tostring(e).decode())"]),
    "java Transformer": (PASSWORD, ["{java}", JAVA_XML]),
    "bash set -x": (PASSWORD, ["bash", "-xc", 'curl -su "app:$SECRET" http://db >/dev/null '
                               "2>&1 || true"]),
    "bash ${v@Q}": (PASSWORD, ["bash", "-c", 'echo "export SECRET=${SECRET@Q}"']),
    "python shlex.join": (PASSWORD, [PY, "-c", "import os, shlex; print('running', shlex.join("
                                     "['psql', '-W', os.environ['SECRET']]))"]),
    "pyyaml single-quoted": (PASSWORD, [PY, "-c", "import os, yaml; print(yaml.safe_dump("
                                        "{'password': '@' + os.environ['SECRET']}))"]),
    "sqlite3 iterdump": (PASSWORD, [PY, "-c", "import os, sqlite3; c = sqlite3.connect(':memory:');"
                                    " c.execute('create table t(v)'); c.execute("
                                    "'insert into t values (?)', (os.environ['SECRET'],)); "
                                    "print('\\n'.join(c.iterdump()))"]),
    "python csv": (PASSWORD, [PY, "-c", "import csv, os, sys; csv.writer(sys.stdout).writerow("
                              "['db', os.environ['SECRET']])"]),
    "python bytes repr": (NON_ASCII, [PY, "-c", "import subprocess; print('got', subprocess.run("
                                      "['printenv', 'SECRET'], capture_output=True).stdout)"]),
    "python os.environb": (NON_ASCII, [PY, "-c", "import os; print(os.environb[b'SECRET'])"]),
    "pyyaml non-ascii": (NON_ASCII, [PY, "-c", "import os, yaml; print(yaml.safe_dump("
                                     "{'db': {'password': os.environ['SECRET']}}))"]),
    "coreutils base64": (PEM, ["sh", "-c", 'printf %s "$SECRET" | base64']),
    "coreutils base64 of echo": (PEM, ["sh", "-c", 'echo "$SECRET" | base64']),
    "python base64.encodebytes": (PEM, [PY, "-c", "import base64, os; print(base64.encodebytes("
                                        "os.environ['SECRET'].encode()).decode())"]),
    "openssl base64": (PEM, ["sh", "-c", 'printf %s "$SECRET" | openssl base64']),
    "perl encode_base64": (PEM, ["perl", "-MMIME::Base64", "-e",
                                 "print encode_base64($ENV{SECRET})"]),
    "java getMimeEncoder": (PEM, ["{java}", JAVA_MIME]),
}


@functools.cache
def printed(name: str, tmp: Path) -> str:
    secret, command = PROGRAMS[name]
    if command[0] == "{java}":
        source = tmp / name.replace(" ", "_") / "Main.java"
        source.parent.mkdir(parents=True)
        source.write_text(command[1])
        command = ["java", str(source)]
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed")  # the repository pins these programs
    env = {**os.environ, "SECRET": secret}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def shown(masked: str, secret: str) -> list[str]:
    """The secret's runs of three ASCII letters or digits or more that the masked text still shows;
    for a base64 form, what is left besides the mask and line ends, but for the last group
    and its padding (at most four characters, which mix in bytes after the value)."""
    if secret is PEM:
        rest = re.sub(r"\s", "", masked.replace("********", ""))
        return [rest] if len(rest) > 4 else []
    return [run for run in re.findall(r"[A-Za-z0-9]{3,}", secret) if run in masked]


@pytest.fixture(scope="module")
def programs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("programs")


@pytest.mark.parametrize("name", PROGRAMS)
def test_what_a_program_prints_is_masked(name: str, backend: Backend, programs_dir: Path) -> None:
    secret = PROGRAMS[name][0]
    output = printed(name, programs_dir)
    assert shown(output, secret), output  # the secret is in there, readable
    assert secret not in output and secret.rstrip("\n") not in output, output  # another form
    masked = Masker([secret], backend=backend).mask_str(output)
    assert "********" in masked and not shown(masked, secret), masked


# What Apache Commons Text 1.12 prints for PASSWORD (StringEscapeUtils on Java 17): pinned
# here, as the library is not part of the repository's toolchain.
PRINTED_BY_COMMONS_TEXT = {
    "escapeXml10": "Kx9&apos;vQm3&amp;m&lt;2&gt;&quot;pL7/w+z=Rt5 q%u@h:~",
    "escapeHtml4": "Kx9'vQm3&amp;m&lt;2&gt;&quot;pL7/w+z=Rt5 q%u@h:~",
}


@pytest.mark.parametrize("name", PRINTED_BY_COMMONS_TEXT)
def test_what_commons_text_prints_is_masked(name: str, backend: Backend) -> None:
    output = f"<password>{PRINTED_BY_COMMONS_TEXT[name]}</password>\n"
    masked = Masker([PASSWORD], backend=backend).mask_str(output)
    assert masked == "<password>********</password>\n", masked
